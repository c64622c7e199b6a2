"""What a failed model call means: the retry rule, the wait before a retry, and the one-line error.

One rule for every call: `RETRYABLE_STATUS`, connection errors and timeouts are retried with backoff
that honours `Retry-After`; other 4xx never are. Failures the user can act on become a `ModelError`
of one line that names the endpoint and the fix and never holds the API key; anything else is our bug
and keeps its traceback.
"""

from __future__ import annotations

import json
import random
from typing import Any

from cliffhanger.agents.errors import ModelError, one_line
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig, redact

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class Truncated(Exception):
    """The server stopped the answer at the output token limit (openai raised LengthFinishReasonError)."""

    def __init__(self, text: str, usage: dict[str, int] | None, retries: int) -> None:
        super().__init__("truncated")
        self.text, self.usage, self.retries = text, usage, retries


class NotChatCompletion(ValueError):
    """A 200 answer that is not a chat completion (an HTML page, an error object, no choices)."""


def retryable(exc: Exception) -> bool:
    import openai

    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500
    # APIConnectionError includes APITimeoutError; a stream whose next chunk is late raises
    # langchain-openai's StreamChunkTimeoutError, a TimeoutError.
    return isinstance(exc, openai.APIConnectionError | TimeoutError)


def retry_after(exc: Exception) -> float | None:
    """The seconds the server asked us to wait (`retry-after-ms`, else `retry-after`); None when it did not."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                seconds = float(value) * scale
            except ValueError:
                continue
            if seconds >= 0:
                return seconds
    return None


def retry_delay(exc: Exception, retry: int, policy: CallPolicy) -> float:
    """Seconds to wait before retry number `retry + 1`: the server's Retry-After, else jittered backoff."""
    asked = retry_after(exc)
    if asked is not None:
        return min(asked, policy.backoff_max_s)
    base = min(policy.backoff_base_s * (2**retry), policy.backoff_max_s)
    return base * (0.5 + random.random() / 2)


def endpoint_pause(exc: Exception, policy: CallPolicy) -> float | None:
    """Of a 429 with Retry-After: how long every call to that endpoint waits (whichever run gets it)."""
    import openai

    if not isinstance(exc, openai.APIStatusError) or exc.status_code != 429:
        return None
    asked = retry_after(exc)
    return None if asked is None else min(asked, policy.backoff_max_s)


def tokens_used(result: Any) -> int:
    """Tokens (in and out) a call's answer reports: an AIMessage, with_structured_output's dict, a streamed
    `Answer`, or usage as `usage_dict` gives it; 0 when it reports none."""
    if isinstance(result, dict) and "raw" not in result:
        usage: Any = result  # usage itself (usage_dict's)
    else:
        raw = result.get("raw") if isinstance(result, dict) else result
        usage = getattr(raw, "usage_metadata", None) or getattr(raw, "usage", None)
    if not isinstance(usage, dict):
        return 0
    return int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0)


def translate(exc: Exception, endpoint: EndpointConfig, role: str, retries: int = 0) -> ModelError | None:
    """A one-line ModelError for failures the user can act on; None for our own bugs."""
    import openai

    ep = endpoint
    where = f"{ep.base_url} (provider {ep.provider}, model {ep.model})"
    tries = f" after {retries + 1} tries" if retries else ""
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        msg = (f"{where} refused the API key ({exc.status_code}): set a valid key in OPENAI_API_KEY "
               "or CLIFFHANGER_API_KEY")
    elif isinstance(exc, openai.NotFoundError):
        msg = (f"{where} answered 404 (model or path not found): check the model name for role "
               f"{role} and that the base URL ends in /v1")
    elif isinstance(exc, openai.BadRequestError):
        msg = f"{where} rejected the request (400: {_api_message(exc)})"
    elif isinstance(exc, openai.RateLimitError):
        msg = f"{where} kept rate-limiting{tries} (429): lower --concurrency or try again later"
    elif isinstance(exc, openai.APITimeoutError | TimeoutError):
        msg = f"{where} gave no answer within {ep.timeout_s:g} s{tries}: raise timeout_s or check the server"
    elif isinstance(exc, openai.APIConnectionError):
        msg = f"cannot reach {ep.base_url}{tries}: is the server running? check --base-url"
    elif isinstance(exc, openai.APIStatusError):
        msg = f"{where} failed with HTTP {exc.status_code}{tries}: {_api_message(exc)}"
    elif isinstance(exc, NotChatCompletion) or (
            isinstance(exc, AttributeError | TypeError | ValueError | json.JSONDecodeError) and _not_api(exc)):
        msg = (f"{ep.base_url} did not answer like an OpenAI-compatible API (an HTML page or proxy?): "
               "check --base-url; it usually ends in /v1")
    else:
        return None
    return ModelError(one_line(redact(msg, ep.api_key), 400))


def usage_dict(usage: Any) -> dict[str, Any] | None:
    """An openai `CompletionUsage` as langchain's usage_metadata keys, cached prompt tokens included."""
    if usage is None:
        return None
    out: dict[str, Any] = {"input_tokens": usage.prompt_tokens or 0, "output_tokens": usage.completion_tokens or 0}
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or getattr(usage, "prompt_cache_hit_tokens", None)  # OpenAI, DeepSeek
    if cached:
        out["input_token_details"] = {"cache_read": int(cached)}
    return out


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", exc))


def _not_api(exc: Exception) -> bool:
    """A decode failure inside the openai/langchain response handling, not in our code."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    filename = tb.tb_frame.f_code.co_filename if tb else ""
    return any(part in filename for part in ("openai", "langchain", "pydantic", "json"))
