"""OpenAI's JSON shapes: chat.completion, chat.completion.chunk, usage and error bodies.

`created` is a fixed instant so that the same seed and request give byte-identical bodies; the ids
are derived from the request for the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cliffhanger.agents.sim.answers import Answer

SIM_CREATED = 1735689600  # 2025-01-01T00:00:00Z
FINGERPRINT = "fp_cliffhanger_sim"
_PIECE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]{1,2}|\s*[^\s\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+|\s+")


def usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> dict[str, Any]:
    """The usage object with cached prompt tokens in both providers' words: OpenAI's
    `prompt_tokens_details.cached_tokens` and DeepSeek's `prompt_cache_hit_tokens` / `_miss_tokens`."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
        "prompt_cache_hit_tokens": cached_tokens,
        "prompt_cache_miss_tokens": prompt_tokens - cached_tokens,
    }


def error_body(message: str, kind: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _message(a: Answer) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": a.content, "refusal": None, "tool_calls": None}
    if a.tool_call is not None:
        msg["tool_calls"] = [{
            "id": a.tool_call.id, "type": "function",
            "function": {"name": a.tool_call.name, "arguments": a.tool_call.arguments},
        }]
    return msg


def completion_body(cid: str, model: str, answers: list[Answer], prompt_tokens: int,
                    with_usage: bool, cached_tokens: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion",
        "created": SIM_CREATED,
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {"index": i, "message": _message(a), "logprobs": None, "finish_reason": a.finish_reason}
            for i, a in enumerate(answers)
        ],
    }
    if with_usage:
        body["usage"] = usage(prompt_tokens, sum(a.completion_tokens for a in answers), cached_tokens)
    return body


def pieces(text: str, per_piece: int = 2) -> list[str]:
    """`text` in streaming-sized pieces (a couple of words or CJK pairs) that join back exactly."""
    parts = _PIECE.findall(text)
    return ["".join(parts[i : i + per_piece]) for i in range(0, len(parts), per_piece)]


def stream_chunks(cid: str, model: str, answers: list[Answer], usage_field: bool) -> Iterator[tuple[dict[str, Any], float]]:
    """The chunks of a streamed completion, each with the number of tokens it carries (for pacing).

    `usage_field` adds `"usage": null` to every chunk, as OpenAI does when usage was asked for; the
    usage chunk itself is the caller's.
    """

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": cid, "object": "chat.completion.chunk", "created": SIM_CREATED, "model": model,
            "system_fingerprint": FINGERPRINT,
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if usage_field:
            out["usage"] = None
        return out

    for i, a in enumerate(answers):
        # Run-on whitespace goes out one token a chunk, as a server samples it.
        pad = [" "] * a.pad
        if a.tool_call is not None:
            call = a.tool_call
            yield chunk(i, {"role": "assistant", "content": None, "tool_calls": [{
                "index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""},
            }]}), 0.0
            args = pieces(call.arguments[: len(call.arguments) - a.pad], 3)
            for piece in args:
                yield chunk(i, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), (
                    (a.completion_tokens - a.pad) / len(args))
            for piece in pad:
                yield chunk(i, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), 1.0
        else:
            yield chunk(i, {"role": "assistant", "content": "", "refusal": None}), 0.0
            content = a.content or ""
            parts = pieces(content[: len(content) - a.pad])
            for piece in parts:
                yield chunk(i, {"content": piece}), (a.completion_tokens - a.pad) / len(parts)
            for piece in pad:
                yield chunk(i, {"content": piece}), 1.0
        yield chunk(i, {}, a.finish_reason), 0.0


def usage_chunk(cid: str, model: str, prompt_tokens: int, completion_tokens: int,
                cached_tokens: int = 0) -> dict[str, Any]:
    return {
        "id": cid, "object": "chat.completion.chunk", "created": SIM_CREATED, "model": model,
        "system_fingerprint": FINGERPRINT, "choices": [], "usage": usage(prompt_tokens, completion_tokens, cached_tokens),
    }
