"""Flattening JSON schemas for generation: follow `$ref`, fold `allOf` into one schema.

`merge` intersects two schemas keyword by keyword (properties merge, required unions, bounds
tighten, enums and types intersect). Later `anyOf`/`oneOf` lists that collide with an earlier one
are queued under `MORE_CHOICES` and resolved one after the other by the generator.
"""

from __future__ import annotations

import math
from typing import Any

from cliffhanger.agents.sim.schema_check import _equal, resolve_ref

MORE_CHOICES = "x-sim-more-choices"
_LOWER = ("minimum", "minLength", "minItems", "minProperties", "minContains")
_UPPER = ("maximum", "maxLength", "maxItems", "maxProperties", "maxContains")


class Impossible(Exception):
    """No value can satisfy this schema (or this branch of it)."""


def as_dict(schema: Any) -> dict[str, Any]:
    if schema is True or schema is None:
        return {}
    if schema is False:
        raise Impossible("false schema")
    if not isinstance(schema, dict):
        return {}
    return schema


def flatten(schema: Any, root: dict[str, Any], stack: tuple[str, ...] = ()) -> tuple[dict[str, Any], tuple[str, ...]]:
    """`schema` with its `$ref` chain and `allOf` parts merged in, and the refs followed on the way."""
    s = dict(as_dict(schema))
    hops = 0
    while "$ref" in s and hops < 32:
        ref = s.pop("$ref")
        stack = (*stack, ref)
        s = merge(dict(as_dict(resolve_ref(ref, root))), s)
        hops += 1
    if "allOf" in s:
        parts = s.pop("allOf")
        for part in parts if isinstance(parts, list) else []:
            flat, stack = flatten(part, root, stack)
            s = merge(s, flat)
        if "$ref" in s:
            return flatten(s, root, stack)
    return s, stack


def _intersect_types(a: Any, b: Any) -> list[str]:
    la = a if isinstance(a, list) else [a]
    lb = b if isinstance(b, list) else [b]
    out = [t for t in la if t in lb]
    if "number" in la and "integer" in lb and "integer" not in out:
        out.append("integer")
    if "integer" in la and "number" in lb and "integer" not in out:
        out.append("integer")
    return out


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Both schemas at once (best effort for keywords that do not intersect simply)."""
    out = dict(a)
    for k, v in b.items():
        if k == MORE_CHOICES:
            out[k] = [*out.get(k, []), *v]
            continue
        if k not in out:
            out[k] = v
            continue
        cur = out[k]
        if k == "properties" and isinstance(cur, dict) and isinstance(v, dict):
            props = dict(cur)
            for name, sub in v.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            out[k] = props
        elif k == "required":
            out[k] = list(dict.fromkeys([*cur, *v]))
        elif k in _LOWER:
            out[k] = max(cur, v)
        elif k in _UPPER:
            out[k] = min(cur, v)
        elif k in ("exclusiveMinimum", "exclusiveMaximum"):
            if isinstance(cur, bool) and isinstance(v, bool):
                out[k] = cur or v
            elif not isinstance(cur, bool) and not isinstance(v, bool):
                out[k] = max(cur, v) if k == "exclusiveMinimum" else min(cur, v)
        elif k == "enum":
            out[k] = [e for e in cur if any(_equal(e, x) for x in v)]
            if not out[k]:
                raise Impossible("enums do not intersect")
        elif k == "const":
            if not _equal(cur, v):
                raise Impossible("consts differ")
        elif k == "type":
            types = _intersect_types(cur, v)
            if not types:
                raise Impossible(f"types {cur} and {v} do not intersect")
            out[k] = types if len(types) > 1 else types[0]
        elif k in ("items", "contains", "propertyNames", "not") and isinstance(cur, dict) and isinstance(v, dict):
            out[k] = {"allOf": [cur, v]} if k != "not" else {"anyOf": [cur, v]}
        elif k == "additionalProperties":
            if cur is False or v is False:
                out[k] = False
            elif isinstance(cur, dict) and isinstance(v, dict):
                out[k] = {"allOf": [cur, v]}
            else:
                out[k] = v if isinstance(v, dict) else cur
        elif k == "multipleOf":
            if isinstance(cur, int) and isinstance(v, int):
                out[k] = cur * v // math.gcd(cur, v)
            else:
                out[k] = max(cur, v)
        elif k in ("anyOf", "oneOf"):
            out[MORE_CHOICES] = [*out.get(MORE_CHOICES, []), {k: v}]
        elif k == "uniqueItems":
            out[k] = bool(cur) or bool(v)
        # Anything else (descriptions, titles, defaults, formats): the first one stands.
    return out
