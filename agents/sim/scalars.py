"""Numbers and strings for `schema_fill`: bounds, multipleOf, formats, patterns, lengths.

Numbers fall in a range that suits the field name (`episode` 1-60, `duration_s` 3-15, `score`
1-10) when the schema's bounds allow it, and inside the bounds always.
"""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

from cliffhanger.agents.sim.drama_text import DramaText, key_words
from cliffhanger.agents.sim.regex_gen import matches, pattern_candidates
from cliffhanger.agents.sim.schema_check import _number_ok, is_multiple

_RANGES: tuple[tuple[frozenset[str], tuple[float, float]], ...] = (
    (frozenset({"confidence", "probability", "weight", "ratio", "share", "temperature"}), (0, 1)),
    (frozenset({"episode", "episodes", "ep"}), (1, 60)),
    (frozenset({"season"}), (1, 3)),
    (frozenset({"scene", "act"}), (1, 6)),
    (frozenset({"runtime", "length"}), (60, 120)),
    (frozenset({"start", "offset", "timestamp", "at"}), (0, 90)),
    (frozenset({"duration", "seconds", "secs", "s", "sec"}), (3, 15)),
    (frozenset({"age"}), (18, 45)),
    (frozenset({"score", "rating", "grade", "tension", "intensity"}), (1, 10)),
    (frozenset({"priority", "severity", "level", "rank"}), (1, 5)),
    (frozenset({"year"}), (2018, 2026)),
    (frozenset({"count", "number", "num", "index", "order", "position", "total", "n"}), (1, 12)),
    (frozenset({"tokens", "words", "chars"}), (20, 400)),
    (frozenset({"price", "cost", "amount", "money"}), (1, 500)),
)
_FALLBACK_STRINGS = ("a", "x1", "abc", "item_1", "A1", "0", "1", "42", "2025-01-01", "a-b", "ok", "AB-12")


def default_range(key: str | None) -> tuple[float, float]:
    words = set(key_words(key))
    for vocab, span in _RANGES:
        if words & vocab:
            return span
    return (0, 100)


def _bounds(s: dict[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    lo, hi = s.get("minimum"), s.get("maximum")
    lo_open = hi_open = False
    ex_lo, ex_hi = s.get("exclusiveMinimum"), s.get("exclusiveMaximum")
    if ex_lo is True:
        lo_open = lo is not None
    elif isinstance(ex_lo, int | float) and not isinstance(ex_lo, bool) and (lo is None or ex_lo >= lo):
        lo, lo_open = ex_lo, True
    if ex_hi is True:
        hi_open = hi is not None
    elif isinstance(ex_hi, int | float) and not isinstance(ex_hi, bool) and (hi is None or ex_hi <= hi):
        hi, hi_open = ex_hi, True
    return lo, lo_open, hi, hi_open


def _window(lo: float | None, hi: float | None, dlo: float, dhi: float) -> tuple[float, float]:
    """The field's natural range cut to the bounds, or a window inside the bounds when they miss it."""
    a = dlo if lo is None else max(lo, dlo)
    b = dhi if hi is None else min(hi, dhi)
    if a <= b:
        return a, b
    width = dhi - dlo
    if lo is not None and hi is not None:
        return lo, hi
    if lo is not None:
        return lo, lo + width
    assert hi is not None
    return hi - width, hi


def fill_number(s: dict[str, Any], kind: str, key: str | None, rng: random.Random) -> int | float:
    lo, lo_open, hi, hi_open = _bounds(s)
    step = s.get("multipleOf")
    step = step if isinstance(step, int | float) and not isinstance(step, bool) and step > 0 else None
    if kind == "integer":
        if lo is not None:
            lo = math.floor(lo) + 1 if lo_open else math.ceil(lo)
        if hi is not None:
            hi = math.ceil(hi) - 1 if hi_open else math.floor(hi)
        lo_open = hi_open = False
    a, b = _window(lo, hi, *default_range(key))
    candidates: list[float] = []
    if step is not None:
        for span in ((a, b), (lo, hi)):
            if span[0] is None or span[1] is None:
                continue
            k_lo, k_hi = math.ceil(span[0] / step), math.floor(span[1] / step)
            if k_lo <= k_hi:
                ks = list(range(k_lo, min(k_hi, k_lo + 60) + 1))
                rng.shuffle(ks)
                candidates += [k * step for k in ks]
                break
    elif kind == "integer":
        candidates += [rng.randint(math.ceil(a), math.floor(b))] if math.ceil(a) <= math.floor(b) else []
    else:
        candidates.append(round(rng.uniform(a, b), 2))
        candidates.append((a + b) / 2)
    for extra in (lo, hi, (lo + hi) / 2 if lo is not None and hi is not None else None, a, b, 0):
        if extra is not None:
            candidates.append(extra)
    for value in candidates:
        value = _tidy(value, kind, step)
        if _number_ok(value, s) and (step is None or is_multiple(value, step)):
            return value
    return _tidy(candidates[0], kind, step) if candidates else 0


def _tidy(value: float, kind: str, step: float | None) -> int | float:
    if kind == "integer":
        return int(round(value))
    if step is not None:
        digits = max(0, -math.floor(math.log10(step))) + 6 if step < 1 else 6
        value = round(value, digits)
    return int(value) if float(value).is_integer() and kind == "number" and step is not None else value


def fill_string(s: dict[str, Any], key: str | None, rng: random.Random, text: DramaText) -> str:
    low, high = s.get("minLength", 0), s.get("maxLength")
    pattern, fmt = s.get("pattern"), s.get("format")

    def fits(c: str) -> bool:
        return len(c) >= low and (high is None or len(c) <= high) and (pattern is None or matches(pattern, c))

    formatted = format_value(fmt, key, rng, text) if isinstance(fmt, str) else None
    if pattern is None:
        if formatted is not None and fits(formatted):
            return formatted
        drafts = [text.for_key(key, rng) for _ in range(4)]
        return next((d for d in drafts if fits(d)), text.fit(drafts[0], rng, low, high))
    candidates = [formatted] if formatted is not None else []
    candidates += [text.for_key(key, rng), text.ident(key, rng)]
    candidates += pattern_candidates(pattern, rng, 10, min_len=low)
    candidates += _FALLBACK_STRINGS
    for c in candidates:
        if c is not None and fits(c):
            return c
    return next((c for c in candidates if c and matches(pattern, c)), candidates[0] or "")


def format_value(fmt: str, key: str | None, rng: random.Random, text: DramaText) -> str | None:
    """A value in a JSON schema string `format`, or None for formats we do not know."""
    y, mo, d = rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28)
    h, mi, se = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    slug = text.ident(key, rng)
    return {
        "date-time": f"{y}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{se:02d}Z",
        "date": f"{y}-{mo:02d}-{d:02d}",
        "time": f"{h:02d}:{mi:02d}:{se:02d}",
        "email": f"{slug.replace('_', '.')}@example.com",
        "idn-email": f"{slug.replace('_', '.')}@example.com",
        "uri": f"https://example.com/{slug}",
        "url": f"https://example.com/{slug}",
        "iri": f"https://example.com/{slug}",
        "uri-reference": f"/{slug}",
        "iri-reference": f"/{slug}",
        "uri-template": f"https://example.com/{{{slug}}}",
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "hostname": f"{slug.replace('_', '-')}.example.com",
        "idn-hostname": f"{slug.replace('_', '-')}.example.com",
        "ipv4": f"192.0.2.{rng.randint(1, 254)}",
        "ipv6": f"2001:db8::{rng.randint(1, 9999):x}",
        "duration": f"PT{rng.randint(3, 90)}S",
        "json-pointer": f"/{slug}/0",
        "relative-json-pointer": "0",
        "regex": "^[a-z_]+$",
        "binary": text.word(rng),
    }.get(fmt)
