"""Reading a `/v1/chat/completions` body: validation with OpenAI-style 400 messages, and its mode.

The mode decides what kind of answer the sim writes: `tools` for a forced tool call, `json_schema`
and `json_object` for response formats, `text` otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from cliffhanger.agents.sim.prompt_reading import message_text

Mode = Literal["text", "json_schema", "json_object", "tools"]
_TRANSPORT = frozenset({"stream", "stream_options"})
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class BadRequest(Exception):
    """A body the sim refuses with 400, as OpenAI would."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    max_tokens: int | None
    n: int
    mode: Mode
    schema: dict[str, Any] | None  # json_schema's schema or the forced tool's parameters
    tool_name: str | None
    has_tools: bool
    canonical: str  # the body as canonical JSON: the sim's notion of "the same request"
    content_key: str  # the same without transport options: streamed or not, the answer is the same
    extra_prompt: str  # tool and schema definitions, counted as prompt tokens


def canonical_json(body: Any) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _int_or_none(body: dict[str, Any], name: str, low: int, high: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadRequest(f"Invalid '{name}': expected an integer {bound}, got {json.dumps(value)}.", name)
    return value


def parse_request(body: Any) -> ChatRequest:
    """A validated request, or BadRequest with the message OpenAI would give."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("You must provide a model parameter.", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array of message objects.", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise BadRequest(
                f"Invalid 'messages[{i}]': each message needs a 'role' of {', '.join(sorted(_ROLES))}.",
                f"messages[{i}].role",
            )
        content = m.get("content")
        if content is not None and not isinstance(content, str | list):
            raise BadRequest(f"Invalid 'messages[{i}].content': expected a string or an array of parts.",
                             f"messages[{i}].content")
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise BadRequest("Invalid 'stream': expected a boolean.", "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise BadRequest("Invalid 'stream_options': expected an object.", "stream_options")
    max_tokens = _int_or_none(body, "max_completion_tokens", 1)
    if max_tokens is None:
        max_tokens = _int_or_none(body, "max_tokens", 1)
    n = _int_or_none(body, "n", 1, 8) or 1
    tools = _tools(body.get("tools"))
    tool_name = _forced_tool(body.get("tool_choice"), tools)
    fmt_type, fmt_schema = _response_format(body.get("response_format"))
    mode: Mode
    schema: dict[str, Any] | None
    if tool_name is not None:
        mode, schema = "tools", tools[tool_name]
    elif fmt_type in ("json_schema", "json_object"):
        mode, schema = fmt_type, fmt_schema
    else:
        mode, schema = "text", None
    extra = ""
    if body.get("tools"):
        extra += json.dumps(body["tools"], ensure_ascii=False)
    if fmt_type == "json_schema":
        extra += json.dumps(body["response_format"], ensure_ascii=False)
    return ChatRequest(
        model=model, messages=messages, stream=stream, include_usage=bool(options.get("include_usage")),
        max_tokens=max_tokens, n=n, mode=mode, schema=schema, tool_name=tool_name, has_tools=bool(tools),
        canonical=canonical_json(body), extra_prompt=extra,
        content_key=canonical_json({k: v for k, v in body.items() if k not in _TRANSPORT}),
    )


def _tools(raw: Any) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise BadRequest("Invalid 'tools': expected an array of tool objects.", "tools")
    out: dict[str, dict[str, Any]] = {}
    for i, tool in enumerate(raw):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(fn, dict):
            raise BadRequest(f"Invalid 'tools[{i}]': expected {{\"type\": \"function\", \"function\": {{...}}}}.",
                             f"tools[{i}]")
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest(f"Missing required parameter: 'tools[{i}].function.name'.", f"tools[{i}].function.name")
        params = fn.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(params, dict):
            raise BadRequest(f"Invalid 'tools[{i}].function.parameters': expected a JSON schema object.",
                             f"tools[{i}].function.parameters")
        out[name] = params
    return out


def _forced_tool(choice: Any, tools: dict[str, dict[str, Any]]) -> str | None:
    if choice is None or choice in ("auto", "none"):
        return None
    if choice in ("required", "any"):
        if not tools:
            raise BadRequest(f"Invalid 'tool_choice': {choice!r} needs 'tools'.", "tool_choice")
        return next(iter(tools))
    if isinstance(choice, dict):
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else choice.get("name")
        if not isinstance(name, str):
            raise BadRequest("Invalid 'tool_choice': expected {\"type\": \"function\", \"function\": {\"name\": ...}}.",
                             "tool_choice")
        if name not in tools:
            raise BadRequest(f"Invalid 'tool_choice': function {name!r} is not among 'tools'.", "tool_choice")
        return name
    raise BadRequest("Invalid 'tool_choice': use 'none', 'auto', 'required' or a named function.", "tool_choice")


def _response_format(raw: Any) -> tuple[str, dict[str, Any] | None]:
    if raw is None:
        return "text", None
    if not isinstance(raw, dict) or raw.get("type") not in ("text", "json_object", "json_schema"):
        raise BadRequest("Invalid 'response_format.type': use 'text', 'json_object' or 'json_schema'.",
                         "response_format.type")
    if raw["type"] != "json_schema":
        return raw["type"], None
    spec = raw.get("json_schema")
    if not isinstance(spec, dict):
        raise BadRequest("Missing required parameter: 'response_format.json_schema'.", "response_format.json_schema")
    schema = spec.get("schema", {})
    if not isinstance(schema, dict):
        raise BadRequest("Invalid 'response_format.json_schema.schema': expected an object.",
                         "response_format.json_schema.schema")
    return "json_schema", schema


def prompt_pairs(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) pairs for token counting; tool calls count as their JSON."""
    pairs = []
    for m in messages:
        text = message_text(m.get("content"))
        if m.get("tool_calls"):
            text += json.dumps(m["tool_calls"], ensure_ascii=False)
        pairs.append((str(m.get("role")), text))
    return pairs
