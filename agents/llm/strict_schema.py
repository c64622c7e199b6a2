"""OpenAI's strict structured-output subset of JSON Schema, derived from any pydantic model."""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel

_DROPPED_FOR_STRICT = ("default", "discriminator", "minLength", "maxLength", "uniqueItems", "title")


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema rewritten into OpenAI's strict structured-output subset.

    Every object lists all its properties as required with additionalProperties false (optional
    fields stay nullable), oneOf becomes anyOf, `$ref`s with siblings are inlined, and keywords
    outside the subset are dropped; string length bounds are kept as a hint in the description.
    The pydantic model still enforces every bound when the answer is parsed.
    """
    root = model.model_json_schema()
    defs = root.get("$defs", {})

    def fix(node: Any) -> Any:
        if isinstance(node, list):
            return [fix(n) for n in node]
        if not isinstance(node, dict):
            return node
        node = dict(node)
        if "$ref" in node and len(node) > 1:
            target = copy.deepcopy(defs[node.pop("$ref").split("/")[-1]])
            node = {**target, **node}
        if "maxLength" in node:
            low = node.get("minLength", 0)
            hint = f"({low}-{node['maxLength']} characters)" if low else f"(at most {node['maxLength']} characters)"
            node["description"] = f"{node['description']} {hint}" if node.get("description") else hint
        for key in _DROPPED_FOR_STRICT:
            node.pop(key, None)
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        if node.get("type") == "object" or "properties" in node:
            node["additionalProperties"] = False
            node["required"] = list(node.get("properties", {}))
        return {k: (fix(v) if k != "properties" else {p: fix(s) for p, s in v.items()}) for k, v in node.items()}

    return fix(root)


_DROPPED_FOR_GRAMMAR = ("format", "uniqueItems", "default", "discriminator")
GRAMMAR_MAX_LENGTH = 100
GRAMMAR_MAX_ITEMS = 4
EXCLUSIVE_STEP = 0.1  # how far inside an exclusive float bound a clamped value lands


def grammar_json_schema(model: type[BaseModel], max_length: int = GRAMMAR_MAX_LENGTH,
                        max_items: int | None = GRAMMAR_MAX_ITEMS) -> dict[str, Any]:
    """`model`'s schema with bounds a grammar-based server can compile.

    llama-cpp-python turns a JSON schema into a GBNF grammar and unrolls bounds into nested rules:
    `maxLength: 4000` or `maxItems: 200` make a grammar the server cannot parse. Small caps keep the
    grammar compilable and, as important with a small model, force strings and lists to end, so the
    answer completes within the token limit. `max_items=None` allows exactly `minItems` (at least one):
    the smallest answer that validates, for a model that proves the pipeline rather than writes. A cap
    never goes below the schema's own minimum. Patterns are left to pydantic, which validates every answer.
    """

    def fix(node: Any) -> Any:
        if isinstance(node, list):
            return [fix(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key in _DROPPED_FOR_GRAMMAR:
                continue
            if key == "maxLength":
                value = min(value, max(max_length, node.get("minLength", 0)))
            elif key == "pattern" and isinstance(value, str):
                value = re.sub(r"\{(\d+),(\d+)\}", lambda m: f"{{{m[1]},{min(int(m[2]), 30)}}}", value)
            elif key == "maxItems":
                value = min(value, max(max_items if max_items is not None else 1, node.get("minItems", 0)))
            out[key] = {p: fix(s) for p, s in value.items()} if key in ("properties", "$defs") else fix(value)
        if node.get("type") == "string" and "maxLength" not in node and "enum" not in node and "pattern" not in node:
            out["maxLength"] = max(max_length, node.get("minLength", 0))
        if node.get("type") == "array" and "maxItems" not in node and max_items is None:
            out["maxItems"] = max(1, node.get("minItems", 0))
        return out

    return fix(model.model_json_schema())


def clamp_to_schema(data: Any, schema: dict[str, Any]) -> Any:
    """Numbers pulled into their schema bounds (minimum/maximum) and too-short strings padded, recursively.

    For grammar-constrained servers, whose grammars do not enforce every bound: a strength of 7 on a
    1-5 scale or an empty beat is a complete answer with one out-of-range value, not a reason to
    throw the whole answer away (and a small local model would make the same slip on every retry).
    """
    defs = schema.get("$defs", {})

    def walk(value: Any, node: dict[str, Any]) -> Any:
        if "$ref" in node:
            node = {**defs.get(node["$ref"].split("/")[-1], {}), **{k: v for k, v in node.items() if k != "$ref"}}
        for key in ("anyOf", "oneOf", "allOf"):
            for branch in node.get(key, []):
                value = walk(value, branch)
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            low, text = node.get("minLength", 0), value.strip()  # artifacts strip whitespace before checking
            return text + "…" * (low - len(text)) if len(text) < low else value
        if isinstance(value, int | float):
            if "minimum" in node and value < node["minimum"]:
                value = type(value)(node["minimum"])
            if "maximum" in node and value > node["maximum"]:
                value = type(value)(node["maximum"])
            # gt/lt bounds: the nearest value inside (a duration of 0 s becomes the shortest one allowed).
            step = 1 if isinstance(value, int) else EXCLUSIVE_STEP
            if "exclusiveMinimum" in node and value <= node["exclusiveMinimum"]:
                value = type(value)(node["exclusiveMinimum"] + step)
            if "exclusiveMaximum" in node and value >= node["exclusiveMaximum"]:
                value = type(value)(node["exclusiveMaximum"] - step)
            return value
        if isinstance(value, dict):
            props = node.get("properties", {})
            return {k: walk(v, props[k]) if k in props else v for k, v in value.items()}
        if isinstance(value, list):
            items = node.get("items")
            return [walk(v, items) for v in value] if isinstance(items, dict) else value
        return value

    return walk(data, schema)
