"""Strings that match a regular expression, for JSON schema `pattern`.

Walks the parse tree of Python's own regex parser (`re._parser`), so literals, classes, categories,
groups, alternation, repeats and back-references all work. Lookarounds are skipped: callers check
every candidate with `re.search` and fall back to other candidates when one does not match.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any

try:  # Python 3.11+: the parser lives in re._parser; older: sre_parse
    import re._constants as _c
    import re._parser as _parser
except ImportError:  # pragma: no cover
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

_MAX_EXTRA_REPEAT = 3
_NICE = string.ascii_lowercase + string.digits
_CATEGORY_CHARS = {
    _c.CATEGORY_DIGIT: string.digits,
    _c.CATEGORY_NOT_DIGIT: string.ascii_lowercase,
    _c.CATEGORY_SPACE: " ",
    _c.CATEGORY_NOT_SPACE: string.ascii_lowercase + string.digits,
    _c.CATEGORY_WORD: string.ascii_lowercase + string.digits + "_",
    _c.CATEGORY_NOT_WORD: "-. ",
}
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)}


class _Walker:
    def __init__(self, rng: random.Random, minimal: bool, extra: int = _MAX_EXTRA_REPEAT, longest: bool = False) -> None:
        self.rng = rng
        self.minimal = minimal
        self.extra = extra
        self.longest = longest
        self.groups: dict[int, str] = {}

    def seq(self, items: Any) -> str:
        return "".join(self.node(op, av) for op, av in items)

    def node(self, op: Any, av: Any) -> str:
        if op is _c.LITERAL:
            return chr(av)
        if op is _c.NOT_LITERAL:
            return next(ch for ch in self._shuffled(_NICE) if ord(ch) != av)
        if op is _c.ANY:
            return self.rng.choice(string.ascii_lowercase)
        if op is _c.IN:
            return self._in(av)
        if op in _REPEATS:
            low, high, sub = av
            top = low + (0 if self.minimal else self.extra)
            top = top if high == _c.MAXREPEAT else min(high, top)
            count = top if self.longest else self.rng.randint(low, top)
            return "".join(self.seq(sub) for _ in range(count))
        if op is _c.SUBPATTERN:
            group, _add, _del, sub = av
            text = self.seq(sub)
            if group is not None:
                self.groups[group] = text
            return text
        if op is _c.BRANCH:
            _, alternatives = av
            return self.seq(self.rng.choice(alternatives))
        if op is _c.GROUPREF:
            return self.groups.get(av, "")
        if op is getattr(_c, "GROUPREF_EXISTS", None):
            group, yes, no = av
            return self.seq(yes) if group in self.groups else (self.seq(no) if no else "")
        if op is getattr(_c, "ATOMIC_GROUP", None):
            return self.seq(av)
        if op is _c.CATEGORY:
            return self.rng.choice(_CATEGORY_CHARS.get(av, _NICE))
        # AT (anchors), ASSERT, ASSERT_NOT: no text of their own.
        return ""

    def _in(self, items: list[tuple[Any, Any]]) -> str:
        if items and items[0][0] is _c.NEGATE:
            pool = _NICE + string.ascii_uppercase + "-_ ."
            for ch in self._shuffled(pool):
                if not _in_class(ord(ch), items[1:]):
                    return ch
            return "~"
        op, av = self.rng.choice(items)
        if op is _c.LITERAL:
            return chr(av)
        if op is _c.RANGE:
            low, high = av
            return chr(self.rng.randint(low, high))
        if op is _c.CATEGORY:
            return self.rng.choice(_CATEGORY_CHARS.get(av, _NICE))
        return self.rng.choice(_NICE)

    def _shuffled(self, chars: str) -> list[str]:
        out = list(chars)
        self.rng.shuffle(out)
        return out


def _in_class(code: int, items: list[tuple[Any, Any]]) -> bool:
    ch = chr(code)
    for op, av in items:
        if op is _c.LITERAL and av == code:
            return True
        if op is _c.RANGE and av[0] <= code <= av[1]:
            return True
        if op is _c.CATEGORY and ch in _CATEGORY_CHARS.get(av, "") and av in (
            _c.CATEGORY_DIGIT, _c.CATEGORY_SPACE, _c.CATEGORY_WORD
        ):
            return True
        if op is _c.CATEGORY and av in (_c.CATEGORY_NOT_DIGIT, _c.CATEGORY_NOT_SPACE, _c.CATEGORY_NOT_WORD):
            positive = {_c.CATEGORY_NOT_DIGIT: string.digits, _c.CATEGORY_NOT_SPACE: " \t\n",
                        _c.CATEGORY_NOT_WORD: string.ascii_letters + string.digits + "_"}[av]
            if ch not in positive:
                return True
    return False


def pattern_candidates(pattern: str, rng: random.Random, count: int = 8, min_len: int = 0) -> list[str]:
    """Strings generated from `pattern`: the shortest first, then varied ones. May be empty.

    With `min_len`, half of the candidates repeat open-ended parts often enough to reach it.

    Not every candidate is guaranteed to match (lookarounds are ignored); check with `re.search`.
    """
    try:
        tree = _parser.parse(pattern)
    except (re.error, RecursionError, ValueError, TypeError):
        return []
    out: list[str] = []
    for i in range(count):
        try:
            long = bool(min_len) and i % 2 == 1
            walker = _Walker(rng, minimal=i == 0, extra=max(_MAX_EXTRA_REPEAT, min_len) if long else _MAX_EXTRA_REPEAT,
                             longest=long)
            text = walker.seq(tree)
        except (RecursionError, ValueError, IndexError, StopIteration):
            continue
        if text not in out:
            out.append(text)
    return out


def matches(pattern: str, text: str) -> bool:
    """JSON schema semantics: `pattern` is not anchored, it must be found somewhere in `text`."""
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return True  # a pattern Python cannot compile cannot be checked here either
