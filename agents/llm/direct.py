"""A structured call straight through the openai client, without langchain's runnable machinery.

`with_structured_output(...).ainvoke` costs about 5 ms a call on top of the HTTP request (callback
managers, config merging, a RunnableMap of two branches, the response turned into openai's pydantic
objects, then an AIMessage, then parsed again by an output parser whose result we ignore) — more than
everything else a call does together. Here the request body is langchain's own (`_get_request_payload`
with the kwargs `bind`/`bind_tools` pass, as `ModelClient._bound` builds them), so the server sees the
request it saw before, byte for byte; it goes out through the same openai client (its retries off,
its errors and timeouts as before), and the answer is read from the JSON the server sent.

A model that langchain sends to the Responses API instead of chat completions gets `None` from
`request_body`, and the caller takes langchain's path.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pydantic import BaseModel

from cliffhanger.agents.llm.failures import NotChatCompletion
from cliffhanger.agents.llm.streamed_answer import Answer


def request_body(chat: Any, messages: list[Any], bound: dict[str, Any]) -> dict[str, Any] | None:
    """The chat-completions body langchain would send for `messages` with `bound` kwargs; None when
    langchain would use the Responses API for this model (then call it through langchain)."""
    payload = chat._get_request_payload(messages, **bound)
    if "messages" not in payload:
        return None
    extra = payload.pop("extra_body", None) or {}
    return {**payload, **extra}  # openai merges extra_body over the body the same way


async def complete(chat: Any, body: dict[str, Any]) -> Answer:
    """POST `body` to /chat/completions with `chat`'s openai client; the answer as `Answer`.

    Raises what the openai client raises (status errors, connection errors, timeouts) and
    `NotChatCompletion` for a 200 that is not a chat completion (an HTML page, an error object)."""
    data = await chat.root_async_client.post("/chat/completions", body=body, cast_to=object)
    return answer_of(data)


def answer_of(data: Any) -> Answer:
    """The text, finish reason and usage of a chat completion as the server sent it (JSON)."""
    if not isinstance(data, dict):
        raise NotChatCompletion(f"not a JSON object: {str(data)[:200]!r}")
    if data.get("error"):
        raise NotChatCompletion(f"an error object: {str(data['error'])[:200]}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise NotChatCompletion(f"no choices (keys {sorted(data)[:10]})")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise NotChatCompletion("a choice without a message")
    return Answer(message_text(message), choice.get("finish_reason"), usage_metadata(data.get("usage")))


def message_text(message: dict[str, Any]) -> str:
    """What `raw_text` reads from the AIMessage langchain would build of `message`: the first tool
    call whose arguments parse (parsed and written back, as its `tool_calls[0]["args"]`), else the first
    one's arguments as sent (its `invalid_tool_calls`), else the content."""
    calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict) and isinstance(c.get("function"), dict)]
    for call in calls:
        args = call["function"].get("arguments")
        try:
            parsed = (json.loads(args, strict=False) if args else None) or {}
            return json.dumps(parsed, ensure_ascii=False)
        except (RecursionError, TypeError, ValueError):
            continue
    if calls:
        return str(calls[0]["function"].get("arguments") or "")
    content = message.get("content") or ""
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def usage_metadata(usage: Any) -> dict[str, Any] | None:
    """A completion's `usage` in langchain's usage_metadata keys, with the prompt tokens read from cache
    (OpenAI's `prompt_tokens_details.cached_tokens`, DeepSeek's `prompt_cache_hit_tokens`)."""
    if not isinstance(usage, dict):
        return None
    tin, tout = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    out: dict[str, Any] = {"input_tokens": tin, "output_tokens": tout,
                           "total_tokens": int(usage.get("total_tokens") or tin + tout)}
    details = usage.get("prompt_tokens_details")
    cached = (details.get("cached_tokens") if isinstance(details, dict) else None) or usage.get("prompt_cache_hit_tokens")
    if cached:
        out["input_token_details"] = {"cache_read": int(cached)}
    return out


@functools.lru_cache(maxsize=128)
def json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """`schema.model_json_schema()`, built once per model class (read only: never change what it returns)."""
    return schema.model_json_schema()


def raw_text(msg: Any) -> str:
    """The answer text of an AIMessage: the first tool call's arguments, else the content."""
    calls = getattr(msg, "tool_calls", None) or []
    if calls:
        try:
            return json.dumps(calls[0].get("args", {}), ensure_ascii=False)
        except (RecursionError, ValueError):
            # Arguments nested too deeply to write back out: hand on the text the server sent, which
            # parsing refuses with a message the model can act on.
            raw = ((getattr(msg, "additional_kwargs", None) or {}).get("tool_calls") or [{}])[0]
            return str((raw.get("function") or {}).get("arguments") or "")
    bad = getattr(msg, "invalid_tool_calls", None) or []
    if bad:
        return str(bad[0].get("args") or "")
    content = getattr(msg, "content", "")
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def role_of(m: Any) -> str:
    return m[0] if isinstance(m, tuple) else getattr(m, "type", "user")


def content_of(m: Any) -> str:
    content = m[1] if isinstance(m, tuple) else getattr(m, "content", "")
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
