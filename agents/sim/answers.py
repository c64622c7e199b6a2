"""What the sim answers to a chat request: content or a tool call, a finish reason, token counts.

Pure functions of (request, seed, quirks, fault): no I/O, no clock. The server adds latency,
streaming and the wire format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cliffhanger.agents.sim import hostile
from cliffhanger.agents.sim.chat_request import ChatRequest, prompt_pairs
from cliffhanger.agents.sim.drama_text import DramaText
from cliffhanger.agents.sim.faults import cut_tokens, malform, seeded, truncate_half
from cliffhanger.agents.sim.prompt_reading import embedded_schema
from cliffhanger.agents.sim.schema_fill import fill
from cliffhanger.memory.tokens import count_message_tokens, count_tokens

# What json_object mode writes when the prompt carries no schema.
GENERIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "characters": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 3},
        "hook": {"type": "string"},
    },
    "required": ["title", "summary", "characters", "hook"],
}
_TOOL_CALL_TOKENS = 7  # framing OpenAI counts around a tool call


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Answer:
    """One choice of a completion."""

    content: str | None
    tool_call: ToolCall | None
    finish_reason: str
    completion_tokens: int
    pad: int = 0  # whitespace tokens sent after the value (quirk run-on), counted in completion_tokens


RUN_ON_WITHOUT_LIMIT = 2048  # tokens of whitespace after the value when a run-on request sets no max_tokens


def prompt_tokens(req: ChatRequest) -> int:
    return count_message_tokens(prompt_pairs(req.messages), req.model) + count_tokens(req.extra_prompt, req.model)


def answer(req: ChatRequest, seed: int, quirks: frozenset[str], fault: str | None, index: int = 0) -> Answer:
    """Choice `index` of the answer to `req`. The same arguments always give the same answer."""
    rng = seeded(seed, "answer", req.content_key, index)
    text = DramaText.from_messages(req.messages)
    structured = req.mode != "text"
    shape = hostile.shape(fault, rng)
    if req.mode == "text":
        body = text.prose(rng)
        if shape is not None:
            body = hostile.text_answer(body, shape, rng)
    else:
        schema = req.schema
        if req.mode == "json_object":
            schema = embedded_schema(req.messages) or GENERIC_SCHEMA
        value = fill(schema or GENERIC_SCHEMA, rng, text,
                     strings=hostile.Payloads(rng) if shape == "inject" else None)
        if shape in ("huge", "nested"):
            body = hostile.structured_body(value, shape, rng)
        else:
            body = json.dumps(value, ensure_ascii=False)
    if fault == "malformed" and structured:
        body = malform(body, rng)
    if req.mode != "tools" and ("think" in quirks or fault == "think"):
        body = text.think(rng) + body
    # A malformed answer claims to be complete: the client cannot tell it from a good one by finish_reason.
    finish = "tool_calls" if req.mode == "tools" and fault != "malformed" else "stop"
    if fault == "truncate":
        body, finish = truncate_half(body, req.model), "length"
    # A server that sends 100,000 characters does not honour max_tokens either.
    honours_limit = shape not in ("huge", "nested")
    if honours_limit and req.max_tokens is not None and count_tokens(body, req.model) > req.max_tokens:
        body, finish = cut_tokens(body, req.max_tokens, req.model), "length"
    tokens = count_tokens(body, req.model)
    pad = 0
    if "run-on" in quirks and structured and finish != "length":
        # A grammar that allows whitespace after the value: the server samples it until the limit.
        limit = req.max_tokens if req.max_tokens is not None else tokens + RUN_ON_WITHOUT_LIMIT
        pad = max(0, limit - tokens)
        finish = "length"
    if req.mode == "tools":
        assert req.tool_name is not None
        call = ToolCall(f"call_{rng.getrandbits(96):024x}", req.tool_name, body + " " * pad)
        return Answer(None, call, finish, tokens + pad + _TOOL_CALL_TOKENS, pad)
    return Answer(body + " " * pad, None, finish, tokens + pad, pad)
