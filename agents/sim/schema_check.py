"""A small JSON schema checker for the keywords `schema_fill` generates from.

The sim runs without `jsonschema` (a dev dependency); this is enough to pick a `oneOf` branch that
matches only once, honour `not`, and re-draw the rare value a generator got wrong.
"""

from __future__ import annotations

import json
import math
from typing import Any

from cliffhanger.agents.sim.regex_gen import matches

_MAX_DEPTH = 40


def resolve_ref(ref: str, root: dict[str, Any]) -> Any:
    """A local `#/...` JSON pointer into `root`; {} (anything goes) when it cannot be followed."""
    if not ref.startswith("#"):
        return {}
    node: Any = root
    for part in ref[1:].lstrip("/").split("/") if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return {}
    return node


def type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "unknown"


def _type_ok(value: Any, wanted: Any) -> bool:
    kinds = wanted if isinstance(wanted, list) else [wanted]
    actual = type_of(value)
    return actual in kinds or (actual == "integer" and "number" in kinds)


def is_multiple(value: float, step: float) -> bool:
    """jsonschema's own test: an integral quotient for float steps, a zero remainder for ints."""
    if isinstance(step, float):
        try:
            quotient = value / step
            return int(quotient) == quotient
        except (OverflowError, ZeroDivisionError):
            return False
    return value % step == 0


def conforms(value: Any, schema: Any, root: Any = None, depth: int = 0) -> bool:
    """True when `value` is valid against `schema` (local refs resolved against `root`)."""
    root = schema if root is None else root
    if schema is True or schema == {}:
        return True
    if schema is False or not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return schema is not False
    d = depth + 1
    if "$ref" in schema and not conforms(value, resolve_ref(schema["$ref"], root), root, d):
        return False
    if "type" in schema and not _type_ok(value, schema["type"]):
        return False
    if "const" in schema and not _equal(value, schema["const"]):
        return False
    if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
        return False
    if any(not conforms(value, s, root, d) for s in schema.get("allOf", [])):
        return False
    if "anyOf" in schema and not any(conforms(value, s, root, d) for s in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(conforms(value, s, root, d) for s in schema["oneOf"]) != 1:
        return False
    if "not" in schema and conforms(value, schema["not"], root, d):
        return False
    kind = type_of(value)
    if kind in ("integer", "number"):
        return _number_ok(value, schema)
    if kind == "string":
        return _string_ok(value, schema)
    if kind == "array":
        return _array_ok(value, schema, root, d)
    if kind == "object":
        return _object_ok(value, schema, root, d)
    return True


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) or (
        isinstance(a, int | float) and isinstance(b, int | float) and a == b
    )


def _number_ok(value: float, s: dict[str, Any]) -> bool:
    if not math.isfinite(value):
        return False
    if "minimum" in s and value < s["minimum"]:
        return False
    if "maximum" in s and value > s["maximum"]:
        return False
    ex_min, ex_max = s.get("exclusiveMinimum"), s.get("exclusiveMaximum")
    if ex_min is True and "minimum" in s and value <= s["minimum"]:
        return False
    if ex_max is True and "maximum" in s and value >= s["maximum"]:
        return False
    if isinstance(ex_min, int | float) and not isinstance(ex_min, bool) and value <= ex_min:
        return False
    if isinstance(ex_max, int | float) and not isinstance(ex_max, bool) and value >= ex_max:
        return False
    step = s.get("multipleOf")
    return not (isinstance(step, int | float) and step > 0 and not is_multiple(value, step))


def _string_ok(value: str, s: dict[str, Any]) -> bool:
    if len(value) < s.get("minLength", 0):
        return False
    if "maxLength" in s and len(value) > s["maxLength"]:
        return False
    return not ("pattern" in s and not matches(s["pattern"], value))


def _array_ok(value: list[Any], s: dict[str, Any], root: Any, d: int) -> bool:
    if len(value) < s.get("minItems", 0) or ("maxItems" in s and len(value) > s["maxItems"]):
        return False
    if s.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
        return False
    prefix = s.get("prefixItems") or (s["items"] if isinstance(s.get("items"), list) else [])
    rest = s.get("items") if "prefixItems" in s or not isinstance(s.get("items"), list) else s.get(
        "additionalItems", True)
    for i, item in enumerate(value):
        sub = prefix[i] if i < len(prefix) else rest
        if sub is not None and not conforms(item, sub, root, d):
            return False
    if "contains" in s and not any(conforms(v, s["contains"], root, d) for v in value):
        return False
    return True


def _object_ok(value: dict[str, Any], s: dict[str, Any], root: Any, d: int) -> bool:
    if any(k not in value for k in s.get("required", [])):
        return False
    if len(value) < s.get("minProperties", 0) or ("maxProperties" in s and len(value) > s["maxProperties"]):
        return False
    props = s.get("properties", {})
    extra = s.get("additionalProperties", True)
    for k, v in value.items():
        if k in props:
            if not conforms(v, props[k], root, d):
                return False
        elif any(matches(p, k) for p in s.get("patternProperties", {})):
            if not all(conforms(v, ps, root, d) for p, ps in s["patternProperties"].items() if matches(p, k)):
                return False
        elif not conforms(v, extra, root, d):
            return False
    return True
