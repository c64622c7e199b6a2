"""The sim's prompt cache: cached prompt tokens for a repeated prefix, as OpenAI and DeepSeek report them.

The rule is OpenAI's documented one: a prompt is cached from its start in 128-token steps, and only a
hit of at least 1,024 tokens counts; so the cached tokens are the longest prefix shared with any
earlier request of the same model, rounded down to a multiple of 128, and 0 when that is under 1,024
(a short prompt is never cached, and the same short request twice gives byte-identical answers).
DeepSeek's rule differs only in the grain (64-token units, no minimum); the prompts of this project
are thousands of tokens long, where the two agree within a unit.

The prompt's tokens are the ones `prompt_tokens` counts, in the order a provider sends them: tool and
schema definitions first, then each message (framing, then content), then the reply framing. Each
model keeps a bounded LRU of unit hashes (each hash covers the whole prefix up to its unit, as a
radix tree of prefixes would); the same requests in the same order always give the same answers.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from cliffhanger.agents.sim.chat_request import prompt_pairs
from cliffhanger.memory.tokens import encoding_for

UNIT = 128  # OpenAI's cache step, in tokens
MIN_HIT = 1024  # OpenAI's minimum: shorter shared prefixes are not served from the cache
MAX_UNITS = 1 << 16  # per model: about 4M prompt tokens remembered
_FRAME = -1  # stands for a framing token (OpenAI counts 4 per message and 3 for the reply)
_REPLY = -2


def request_tokens(messages: list[dict[str, Any]], extra_prompt: str, model: str | None) -> list[int]:
    """The prompt as the sim counts it: len() of this is the request's prompt_tokens."""
    enc = encoding_for(model)
    tokens: list[int] = list(enc.encode(extra_prompt, disallowed_special=())) if extra_prompt else []
    for role, content in prompt_pairs(messages):
        role_mark = -3 - (int(hashlib.blake2b(role.encode(), digest_size=2).hexdigest(), 16))
        tokens += (_FRAME, _FRAME, _FRAME, role_mark)
        if content:
            tokens += enc.encode(content, disallowed_special=())
    tokens += (_REPLY, _REPLY, _REPLY)
    return tokens


def shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _unit_keys(tokens: Sequence[int]) -> list[bytes]:
    """One key per whole unit: the hash of the prompt from its start to that unit's end."""
    keys: list[bytes] = []
    h = hashlib.blake2b(digest_size=16)
    for start in range(0, len(tokens) - UNIT + 1, UNIT):
        h.update(repr(tuple(tokens[start:start + UNIT])).encode())
        keys.append(h.copy().digest())
    return keys


class PromptCache:
    """Per model, the prompt prefixes of recent requests (least recently used forgotten first)."""

    def __init__(self, max_units: int = MAX_UNITS) -> None:
        self.max_units = max_units
        self._units: dict[str, OrderedDict[bytes, None]] = {}
        self._lock = threading.Lock()

    def hit(self, model: str, tokens: Sequence[int]) -> int:
        """Cached tokens of a request with this prompt (0, or a multiple of UNIT of at least MIN_HIT), and
        remember its prefix."""
        keys = _unit_keys(tokens)
        with self._lock:
            seen = self._units.setdefault(model, OrderedDict())
            hits = 0
            for key in keys:
                if key not in seen:
                    break
                hits += 1
            for key in keys:
                seen[key] = None
                seen.move_to_end(key)
            while len(seen) > self.max_units:
                seen.popitem(last=False)
        return hits * UNIT if hits * UNIT >= MIN_HIT else 0
