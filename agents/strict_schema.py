"""OpenAI's strict structured-output subset of JSON Schema, derived from any pydantic model."""

from __future__ import annotations

import copy
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
