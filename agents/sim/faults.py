"""Fault injection: which fault hits a request, and what malformed or truncated output looks like.

A request's fault is drawn from an RNG seeded by (seed, request, n), n being how many times the
same request came before: an identical retry can escape a 500, and a whole run still replays.
"""

from __future__ import annotations

import hashlib
import random

from cliffhanger.agents.sim.config import FaultPlan, parse_faults, parse_quirks
from cliffhanger.memory.tokens import encoding_for

# parse_faults/parse_quirks live in config; they are importable from here too.
__all__ = ["FaultPlan", "cut_tokens", "draw_fault", "malform", "parse_faults", "parse_quirks", "seeded",
           "truncate_half"]


def seeded(*parts: object) -> random.Random:
    """An RNG that depends only on `parts` (not on PYTHONHASHSEED)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def draw_fault(plan: FaultPlan, seed: int, canonical: str, n: int) -> str | None:
    if not plan:
        return None
    return plan.draw(seeded(seed, "fault", canonical, n).random())


def malform(text: str, rng: random.Random) -> str:
    """`text` (valid JSON) turned into something no JSON parser accepts."""
    stripped = text.rstrip()
    if stripped.endswith(("}", "]")) and len(stripped) > 2 and rng.random() < 0.5:
        return stripped[:-1]  # the closing brace went missing
    if stripped.endswith(("}", "]")):
        return stripped[:-1] + "," + stripped[-1]  # a trailing comma
    return stripped + "}"


def cut_tokens(text: str, limit: int, model: str | None) -> str:
    """The first `limit` tokens of `text`, never ending in half a character."""
    enc = encoding_for(model)
    tokens = enc.encode(text, disallowed_special=())
    if len(tokens) <= limit:
        return text
    return enc.decode(tokens[:limit]).rstrip("\ufffd")


def truncate_half(text: str, model: str | None) -> str:
    enc = encoding_for(model)
    count = len(enc.encode(text, disallowed_special=()))
    return cut_tokens(text, max(1, count // 2), model)
