"""Values that validate against a JSON schema, written as micro-drama where strings are free.

`fill(schema, rng, text)` is a pure function of its arguments: the same schema and the same RNG
state give the same value. Supported: local `$ref`/`$defs`/`definitions` (recursion is cut short),
`allOf`, `anyOf`/`oneOf`, `not`, `enum`, `const`, type lists, objects (required, optional,
additionalProperties, min/maxProperties), arrays (items, prefixItems, min/maxItems, uniqueItems,
contains), strings (min/maxLength, format, pattern), numbers (bounds, exclusive bounds, multipleOf),
booleans and null.

Where an object asks for evidence or a quote of the prompt, `quoting` fills it around a line the prompt
shows (verbatim), and a list of canon facts holds the facts the prompt's script shows.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from cliffhanger.agents.sim.drama_text import DramaText, key_words
from cliffhanger.agents.sim.quoting import Anchor, Quoter
from cliffhanger.agents.sim.scalars import fill_number, fill_string
from cliffhanger.agents.sim.schema_check import conforms
from cliffhanger.agents.sim.schema_merge import MORE_CHOICES, Impossible, flatten, merge

MAX_RECURSION = 2  # a $ref met this many times on one path: generate the smallest valid value
MAX_DEPTH = 32
_OPTIONAL_RATE = 0.7
_NON_NULL_RATE = 0.85


def fill(schema: dict[str, Any] | bool, rng: random.Random, text: DramaText | None = None, *,
         strings: Callable[[str, dict[str, Any]], str] | None = None) -> Any:
    """A value valid against `schema`. Retries a few draws and returns the last one if none validates.

    `strings(value, string_schema)` may rewrite every generated string (the hostile fault's payloads).
    """
    filler = _Filler(schema if isinstance(schema, dict) else {}, rng, text or DramaText(), strings)
    value: Any = None
    for _ in range(4):
        try:
            value = filler.value(schema, None, 0, ())
        except Impossible:
            return None
        if conforms(value, schema, filler.root):
            return value
    return value


def singular(key: str | None) -> str | None:
    """The key one item of an array field would have: `characters` -> `character`."""
    if not key:
        return key
    if key.endswith("ies") and len(key) > 4:
        return key[:-3] + "y"
    if key.endswith("s") and not key.endswith("ss") and len(key) > 3:
        return key[:-1]
    return key


class _Filler:
    def __init__(self, root: dict[str, Any], rng: random.Random, text: DramaText,
                 strings: Callable[[str, dict[str, Any]], str] | None = None) -> None:
        self.root = root
        self.rng = rng
        self.text = text
        self.strings = strings
        self.quoter = Quoter(text.material, root) if text.material else None
        self._anchor: Anchor | None = None  # handed by _array to the next object it fills

    def value(self, schema: Any, key: str | None, depth: int, stack: tuple[str, ...]) -> Any:
        s, stack = flatten(schema, self.root, stack)
        shallow = depth > MAX_DEPTH or any(stack.count(r) > MAX_RECURSION for r in set(stack))
        if "anyOf" in s or "oneOf" in s or MORE_CHOICES in s:
            return self._choose(s, key, depth, stack, shallow)
        if "const" in s:
            return s["const"]
        if "enum" in s:
            rest = {k: v for k, v in s.items() if k not in ("enum", "default", "title", "description")}
            options = [e for e in s["enum"] if conforms(e, rest, self.root)] or list(s["enum"])
            return self.rng.choice(options)
        kind = self._type(s, key, shallow)
        value = self._by_type(kind, s, key, depth, stack, shallow)
        if "not" in s:
            for _ in range(6):
                if not conforms(value, s["not"], self.root):
                    break
                value = self._by_type(kind, s, key, depth, stack, shallow)
        return value

    def _choose(self, s: dict[str, Any], key: str | None, depth: int, stack: tuple[str, ...], shallow: bool) -> Any:
        base = dict(s)
        queue = list(base.pop(MORE_CHOICES, []))
        if "anyOf" in base or "oneOf" in base:
            comb = "oneOf" if "oneOf" in base else "anyOf"
            queue.insert(0, {comb: base.pop(comb)})
            if "anyOf" in base:  # both at once: the other one waits its turn
                queue.append({"anyOf": base.pop("anyOf")})
        (comb, branches), = queue.pop(0).items()
        if queue:
            base[MORE_CHOICES] = queue
        fallback: list[Any] = []
        for branch in self._branch_order(branches, stack, shallow):
            try:
                flat, branch_stack = flatten(branch, self.root, stack)
                merged = merge(base, flat)
            except Impossible:
                continue
            for _ in range(3 if comb == "oneOf" else 1):
                try:
                    value = self.value(merged, key, depth, branch_stack)
                except Impossible:
                    break
                if comb == "anyOf" or sum(conforms(value, b, self.root) for b in branches) == 1:
                    return value
                fallback.append(value)
        if fallback:
            return fallback[0]  # oneOf branches that overlap everywhere: the best we can do
        raise Impossible(f"no branch of {comb} could be generated")

    def _branch_order(self, branches: list[Any], stack: tuple[str, ...], shallow: bool) -> list[Any]:
        nulls = [b for b in branches if _is_null(b)]
        others = [b for b in branches if not _is_null(b)]
        self.rng.shuffle(others)
        if shallow:
            # Cut recursion: null first, then branches that do not recurse into a ref on the path.
            others.sort(key=lambda b: isinstance(b, dict) and b.get("$ref") in stack)
            return nulls + others
        if nulls and self.rng.random() >= _NON_NULL_RATE:
            return nulls + others
        return others + nulls

    def _type(self, s: dict[str, Any], key: str | None, shallow: bool) -> str:
        t = s.get("type")
        if t is None:
            return _infer_type(s)
        types = t if isinstance(t, list) else [t]
        if not types:
            raise Impossible("empty type list")
        real = [x for x in types if x != "null"]
        if not real or (shallow and "null" in types):
            return "null"
        if "null" in types and self.rng.random() >= _NON_NULL_RATE:
            return "null"
        return real[0] if len(real) == 1 else self.rng.choice(real)

    def _by_type(self, kind: str, s: dict[str, Any], key: str | None, depth: int, stack: tuple[str, ...],
                 shallow: bool) -> Any:
        if kind == "object":
            return self._object(s, key, depth, stack, shallow)
        if kind == "array":
            return self._array(s, key, depth, stack, shallow)
        if kind in ("integer", "number"):
            return fill_number(s, kind, key, self.rng)
        if kind == "string":
            value = fill_string(s, key, self.rng, self.text)
            return self.strings(value, s) if self.strings is not None else value
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        raise Impossible(f"unknown type {kind!r}")

    def _object(self, s: dict[str, Any], key: str | None, depth: int, stack: tuple[str, ...], shallow: bool) -> Any:
        props: dict[str, Any] = s.get("properties") or {}
        required = [r for r in s.get("required", []) if isinstance(r, str)]
        extra = s.get("additionalProperties", True)
        low, high = s.get("minProperties", 0), s.get("maxProperties")
        out: dict[str, Any] = {}
        optional_kept: list[str] = []
        anchor, self._anchor = self._anchor, None
        quoted = self.quoter.values(s, anchor, self.rng) if self.quoter is not None and props and not shallow else {}
        for name, sub in props.items():
            if name in quoted:
                out[name] = quoted[name]
            elif name in required:
                out[name] = self.value(sub, name, depth + 1, stack)
            elif not shallow and sub is not False and self.rng.random() < _OPTIONAL_RATE:
                out[name] = self.value(sub, name, depth + 1, stack)
                optional_kept.append(name)
        for name in required:
            if name not in out:
                out[name] = self.value(extra if isinstance(extra, dict) else {}, name, depth + 1, stack)
        for name in props:  # minProperties: bring back skipped optional properties first
            if len(out) >= low:
                break
            if name not in out and props[name] is not False:
                out[name] = self.value(props[name], name, depth + 1, stack)
        wants_map = isinstance(extra, dict) and not props and not shallow
        if extra is not False:
            target = max(low, self.rng.randint(1, 3) if wants_map else 0)
            if high is not None:
                target = min(target, high)
            tries = 0
            while len(out) < target and tries < 20:
                tries += 1
                name = self.text.ident(singular(key) if key else None, self.rng)
                if name not in out and name not in props:
                    out[name] = self.value(extra if isinstance(extra, dict) else {}, name, depth + 1, stack)
        while high is not None and len(out) > high and optional_kept:
            out.pop(optional_kept.pop())
        return out

    def _array(self, s: dict[str, Any], key: str | None, depth: int, stack: tuple[str, ...], shallow: bool) -> Any:
        items = s.get("items")
        prefix: list[Any] = list(s.get("prefixItems") or (items if isinstance(items, list) else []))
        rest: Any = s.get("additionalItems", True) if isinstance(items, list) else items
        if rest is None:
            rest = {}
        low, high = s.get("minItems", 0), s.get("maxItems")
        if rest is False:
            high = len(prefix) if high is None else min(high, len(prefix))
        if prefix:
            count = max(low, len(prefix))
        elif shallow:
            count = low
        else:
            lo = max(low, 1)
            hi = max(lo, 4 if high is None else min(high, 4))
            count = self.rng.randint(lo, hi)
        if high is not None:
            count = max(min(count, high), min(low, high))
        anchors = self._anchors(s, rest, stack, shallow) if not prefix else None
        if anchors is not None:
            count = len(anchors)
        item_key = singular(key)
        unique = bool(s.get("uniqueItems"))
        # A list of characters (a bible's, a scene's cast): at least two people, and different ones (by id or
        # name), drawn from those the prompt lists by id when it lists some.
        people = self.text.material.living
        cast = not prefix and not shallow and anchors is None and _is_people_key(item_key)
        if cast:
            count = max(count, 2 if high is None else min(2, high))
            if len(people) >= 2:
                count = min(count, len(people))
            count = max(count, low)
        out: list[Any] = []
        seen: set[str] = set()
        people_seen: set[str] = set()
        tries = 0
        while len(out) < count and tries < count * 8 + 12:
            tries += 1
            sub = prefix[len(out)] if len(out) < len(prefix) else rest
            self._anchor = anchors[len(out)] if anchors is not None else None
            value = self.value(sub, item_key, depth + 1, stack)
            self._anchor = None
            mark = json.dumps(value, sort_keys=True, ensure_ascii=False)
            if cast and _person(value) in people_seen and tries < count * 8:
                continue
            people_seen.add(_person(value))
            if unique and mark in seen:
                value = _vary(value, len(out) + tries, sub, self.root)
                mark = json.dumps(value, sort_keys=True, ensure_ascii=False)
                if value is None or mark in seen:
                    continue
            seen.add(mark)
            out.append(value)
        contains = s.get("contains")
        if isinstance(contains, dict) and not any(conforms(v, contains, self.root) for v in out):
            wanted = self.value(merge(contains, rest if isinstance(rest, dict) else {}), item_key, depth + 1, stack)
            if high is None or len(out) < high:
                out.append(wanted)
            elif out:
                out[-1] = wanted
        return out

    def _anchors(self, s: dict[str, Any], rest: Any, stack: tuple[str, ...], shallow: bool) -> list[Anchor] | None:
        """The anchors of an array of quoting objects (see `quoting`), or None."""
        if self.quoter is None or shallow or not isinstance(rest, dict):
            return None
        try:
            item, _ = flatten(rest, self.root, stack)
        except Impossible:
            return None
        if "properties" not in item:
            return None
        return self.quoter.plan_items(s, item, self.rng)


def _vary(value: Any, n: int, schema: Any, root: dict[str, Any]) -> Any:
    """A distinct variant of a duplicate string, if the schema allows one; else None."""
    if not isinstance(value, str):
        return None
    for candidate in (f"{value} {n}", f"{value}{n}", f"{value}_{n}", str(n)):
        if conforms(candidate, schema, root):
            return candidate
    return None


def _person(value: Any) -> str:
    """Who a cast entry is: the id or name itself, or a character object's name."""
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"]
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _is_people_key(key: str | None) -> bool:
    words = key_words(key)
    return bool(words) and words[0] in ("character", "char", "speaker", "person", "cast", "member", "participant")


def _is_null(branch: Any) -> bool:
    return isinstance(branch, dict) and (
        branch.get("type") == "null" or ("const" in branch and branch["const"] is None)
        or branch.get("enum") == [None]
    )


def _infer_type(s: dict[str, Any]) -> str:
    if any(k in s for k in ("properties", "required", "additionalProperties", "minProperties", "patternProperties")):
        return "object"
    if any(k in s for k in ("items", "prefixItems", "minItems", "maxItems", "contains", "uniqueItems")):
        return "array"
    if any(k in s for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "string"

