"""The model layer: one `ModelClient` per role over langchain-openai's `ChatOpenAI`.

Every call goes through here. The contract:
- structured calls return a validated pydantic object or raise `ModelOutputError`; truncated output
  (`finish_reason == "length"`) is never accepted, invalid output is retried with the problem fed back;
- transport failures follow one retry rule (`RETRYABLE_STATUS`, connection errors, timeouts), with
  backoff that honours `Retry-After`; 4xx other than 408/409/429 are never retried;
- every call appends one record to the usage log;
- errors the user can fix become `ModelError` with one line that names the endpoint and the fix, and
  never contains the API key.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, SecretStr

from cliffhanger.agents.errors import ModelError, ModelOutputError, one_line
from cliffhanger.agents.llm import failures
from cliffhanger.agents.llm.call_limits import Budget, CallLimiter, TokenTick
from cliffhanger.agents.llm.direct import complete, request_body
from cliffhanger.agents.llm.direct import content_of as _content_of
from cliffhanger.agents.llm.direct import json_schema as _json_schema
from cliffhanger.agents.llm.direct import raw_text as _raw_text
from cliffhanger.agents.llm.direct import role_of as _role_of
from cliffhanger.agents.llm.endpoint import NO_KEY, CallPolicy, EndpointConfig, redact
from cliffhanger.agents.llm.failures import Truncated, retry_delay, retryable, translate, usage_dict
from cliffhanger.agents.llm.parsing import (
    OutputProblem,
    ThinkStreamFilter,
    parse_output,
    strip_think,
)
from cliffhanger.agents.llm.profiles import Price, StructuredMethod, price_for
from cliffhanger.agents.llm.streamed_answer import Answer, stream_until_complete
from cliffhanger.agents.llm.strict_schema import clamp_to_schema, grammar_json_schema, strict_json_schema
from cliffhanger.agents.llm.usage import Outcome, UsageLog, UsageRecord
from cliffhanger.agents.llm.usage import cached_tokens as _cached_in
from cliffhanger.agents.llm.usage import response_usage as _usage_of
from cliffhanger.agents.prompts import render
from cliffhanger.memory.tokens import count_message_tokens, count_tokens

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_openai import ChatOpenAI


T = TypeVar("T", bound=BaseModel)
RUNNABLE_CACHE = 64  # structured-output runnables kept per client (schemas x methods)
Messages = Sequence["BaseMessage | tuple[str, str]"]


class StructuredModel(Protocol):
    """What the room needs from a model: `ModelClient`, or `ScriptedClient` in tests."""

    async def structured(self, schema: type[T], messages: Any, *, episode: int | None = None,
                         prompt: str | None = None, repair: Callable[[Any], Any] | None = None) -> T: ...


class ModelClient:
    """Calls one endpoint for one role and logs every call."""

    def __init__(
        self,
        role: str,
        endpoint: EndpointConfig,
        usage: UsageLog,
        policy: CallPolicy | None = None,
        prices: dict[str, Price] | None = None,
    ) -> None:
        self.role = role
        self.endpoint = endpoint
        self.usage = usage
        self.policy = policy or CallPolicy()
        self._price = price_for(endpoint.model, endpoint.provider, prices)
        self._chat: ChatOpenAI | None = None
        self._chat_loop: object = None
        # Learned per client: a 400 for json_schema moves us down the method list once, not per call.
        self._method: StructuredMethod = endpoint.method
        self.allow_fallback = True
        self.budget: Budget | None = None
        # Caps calls in flight; the crew gives all its clients one limiter, a run its own.
        self.limiter: CallLimiter = CallLimiter()
        self.on_tokens: TokenTick | None = None

    @property
    def price(self) -> Price | None:
        """This model's price from the price table; None when unknown (its calls' cost is logged as unknown)."""
        return self._price

    @property
    def model_name(self) -> str:
        return self.endpoint.model

    @property
    def chat(self) -> ChatOpenAI:
        # The async HTTP client belongs to the event loop that first used it; a new loop (another
        # asyncio.run) needs a new client.
        try:
            loop: object = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self._chat is None or self._chat_loop is not loop:
            from langchain_openai import ChatOpenAI

            self._chat_loop = loop

            ep = self.endpoint
            profile = ep.profile
            max_tokens = ep.max_tokens or profile.default_max_tokens
            extra_body = dict(profile.extra_body)
            if profile.legacy_max_tokens and max_tokens:
                extra_body["max_tokens"] = max_tokens
            import openai

            self._chat = ChatOpenAI(
                model=ep.model,
                # Our own async client: langchain-openai's shared one is cached per base URL and
                # stays bound to the first event loop that used it.
                http_async_client=openai.DefaultAsyncHttpxClient(verify=shared_ssl_context()),
                base_url=ep.base_url,
                api_key=ep.api_key or SecretStr(NO_KEY),
                temperature=ep.temperature,
                timeout=ep.timeout_s,
                # No chunk timer of langchain's: it wraps every chunk in asyncio.wait_for, which on Python
                # 3.11 can swallow a cancellation (Ctrl-C) that lands as a chunk arrives. httpx's read
                # timeout (`timeout`) already limits the wait between chunks.
                stream_chunk_timeout=None,
                max_retries=0,  # our own rule below
                max_tokens=None if profile.legacy_max_tokens else max_tokens,
                stream_usage=profile.stream_usage,
                extra_body=extra_body or None,
                seed=ep.seed,
            )
        return self._chat

    # ---- structured -------------------------------------------------------------------------

    async def structured(
        self,
        schema: type[T],
        messages: Messages,
        *,
        episode: int | None = None,
        prompt: str | None = None,
        repair: Callable[[Any], Any] | None = None,
    ) -> T:
        """A validated `schema` instance, or ModelOutputError after `max_attempts` tries.

        `repair` fixes cross-field consistency of complete answers before validation (see parsing).
        """
        from langchain_core.messages import AIMessage, HumanMessage

        history: list[Any] = list(messages)
        if self._method == "json_mode":
            history = _with_schema_prompt(history, schema)
        started = time.monotonic()
        tin = tout = retries = cached = 0
        estimated = False
        problem = "no attempt made"
        outcome: Outcome = "failed"
        held: list[float] = []  # this call's reservations against the budget, released when it ends
        try:
            for attempt in range(1, self.policy.max_attempts + 1):
                held.append(await self._reserve_budget(history, schema))
                try:
                    if self.endpoint.profile.stream_structured:
                        answer, n_retries = await self._send(
                            lambda h=history: self._stream_structured(schema, h, episode))
                    else:
                        answer, n_retries = await self._send(lambda h=history: self._complete(schema, h))
                except Truncated as exc:
                    retries += exc.retries
                    i, o, est = self._count(history, exc.text, exc.usage)
                    tin, tout, estimated, cached = tin + i, tout + o, estimated or est, cached + _cached_in(exc.usage)
                    problem = "the answer was cut off at the output token limit"
                    history += [AIMessage(content=exc.text[:2000] or "(cut off)"), HumanMessage(render("structured.retry_truncated").text)]
                    continue
                except ModelError as exc:
                    if self._fallback_method(exc):
                        history = _with_schema_prompt(list(messages), schema) if self._method == "json_mode" else history
                        continue
                    self._log("structured", started, tin, tout, estimated, attempt, retries, "failed", episode, prompt, str(exc),
                              cached_in=cached)
                    raise
                retries += n_retries
                text = answer.text
                i, o, est = self._count(history, text, answer.usage)
                tin, tout, estimated, cached = tin + i, tout + o, estimated or est, cached + _cached_in(answer.usage)
                if answer.finish_reason == "length":
                    problem = "the answer was cut off at the output token limit"
                    history += [AIMessage(content=text[:2000] or "(cut off)"), HumanMessage(render("structured.retry_truncated").text)]
                    continue
                # langchain's `parsed` is ignored on purpose: its JSON parsers complete truncated objects.
                fix = repair
                if self.endpoint.profile.grammar_schema:
                    bounds = _json_schema(schema)

                    def fix(data: Any, _b: dict[str, Any] = bounds) -> Any:
                        data = clamp_to_schema(data, _b)
                        return repair(data) if repair else data
                try:
                    value, cleaned = parse_output(text, schema, fix)
                except OutputProblem as exc:
                    problem = str(exc)
                    history += [AIMessage(content=text[:4000] or "(empty)"), HumanMessage(_feedback(problem))]
                    continue
                outcome = "ok" if attempt == 1 and not cleaned else "repaired"
                self._log("structured", started, tin, tout, estimated, attempt, retries, outcome, episode, prompt,
                          cached_in=cached)
                return value
            msg = (
                f"{self.role}: {self.endpoint.model} at {self.endpoint.base_url} gave no valid {schema.__name__} "
                f"in {self.policy.max_attempts} attempts (last: {problem}); use a stronger model for this role "
                "or raise max_attempts"
            )
            self._log("structured", started, tin, tout, estimated, self.policy.max_attempts, retries, "failed",
                      episode, prompt, problem, cached_in=cached)
            raise ModelOutputError(one_line(redact(msg, self.endpoint.api_key), 400))
        finally:
            self._release_budget(held)

    def _output_schema(self, schema: type[T]) -> Any:
        """What we hand to with_structured_output for the current method (built once per method and schema:
        pydantic builds a JSON schema anew at every ask, about a millisecond for an episode script).

        For json_schema we send a plain dict: given a pydantic class, the openai client parses the
        content itself and raises on think tags or bad JSON before we see the raw answer.
        """
        return self._cached(("output_schema", self._method, schema), lambda: self._make_output_schema(schema))

    def _cached(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        """One client's memo of what it builds per schema and method (runnables, bindings, schemas)."""
        cache = self.__dict__.setdefault("_runnables", {})
        if key not in cache:
            if len(cache) >= RUNNABLE_CACHE:
                cache.clear()
            cache[key] = make()
        return cache[key]

    def _make_output_schema(self, schema: type[T]) -> Any:
        if self.endpoint.profile.grammar_schema:
            profile = self.endpoint.profile
            relaxed = grammar_json_schema(schema, profile.grammar_max_length, profile.grammar_max_items)
            relaxed.setdefault("description", (schema.__doc__ or schema.__name__).strip()[:500])
            relaxed["title"] = schema.__name__
            return relaxed if self._method != "json_schema" else {
                "name": schema.__name__, "description": relaxed["description"], "schema": relaxed, "strict": False}
        if self._method != "json_schema":
            return schema
        strict = self.endpoint.profile.strict
        return {
            "name": schema.__name__,
            "description": (schema.__doc__ or schema.__name__).strip()[:500],
            "schema": strict_json_schema(schema) if strict else _json_schema(schema),
            "strict": strict,
        }

    def _structured_runnable(self, schema: type[T]) -> Any:
        """`with_structured_output` for `schema` the current way, built once per (chat model, method, schema):
        building it converts the schema again on every call."""
        chat = self.chat
        return self._cached(("runnable", id(chat), self._method, schema),
                            lambda: chat.with_structured_output(self._output_schema(schema), method=self._method,
                                                                include_raw=True))

    async def _complete(self, schema: type[T], history: list[Any]) -> Answer:
        """One structured request, not streamed: langchain's request body through the openai client, without
        langchain's runnable machinery (see direct.py); through `with_structured_output` for a model langchain
        sends to the Responses API."""
        chat = self.chat
        body = request_body(chat, history, self._bound(schema).kwargs)
        if body is None:
            out = await self._structured_runnable(schema).ainvoke(history)
            return Answer(_raw_text(out["raw"]), (out["raw"].response_metadata or {}).get("finish_reason"),
                          _usage_of(out["raw"]))
        return await complete(chat, body)

    def _bound(self, schema: type[T]) -> Any:
        """The chat model bound to ask for `schema` the current way, as with_structured_output would (built once
        per chat model, method and schema)."""
        chat = self.chat
        return self._cached(("bound", id(chat), self._method, schema), lambda: self._bind(chat, schema))

    def _bind(self, chat: Any, schema: type[T]) -> Any:
        out_schema = self._output_schema(schema)
        if self._method == "function_calling":
            from langchain_core.utils.function_calling import convert_to_openai_tool

            name = convert_to_openai_tool(out_schema)["function"]["name"]
            return chat.bind_tools([out_schema], tool_choice=name, parallel_tool_calls=False)
        if self._method == "json_schema":
            return chat.bind(response_format={"type": "json_schema", "json_schema": out_schema})
        return chat.bind(response_format={"type": "json_object"})

    async def _stream_structured(self, schema: type[T], history: list[Any], episode: int | None) -> Answer:
        tick = None
        if self.on_tokens is not None:
            on_tokens, role = self.on_tokens, self.role

            def tick(n: int, seconds: float) -> None:
                on_tokens(role, episode, n, seconds)

        return await stream_until_complete(self._bound(schema), history,
                                           tool_mode=self._method == "function_calling", tick=tick)

    def _fallback_method(self, exc: ModelError) -> bool:
        """On a 400 that rejects our structured-output method, move to the next one (sticky)."""
        text = str(exc).lower()
        if not self.allow_fallback or "(400" not in text or not any(k in text for k in ("response_format", "json_schema", "tool")):
            return False
        order: list[StructuredMethod] = ["json_schema", "function_calling", "json_mode"]
        nxt = order.index(self._method) + 1
        if nxt >= len(order):
            return False
        self._method = order[nxt]
        return True

    # ---- text -------------------------------------------------------------------------------

    async def text(self, messages: Messages, *, episode: int | None = None, prompt: str | None = None) -> str:
        """A plain completion with think tags removed."""
        started = time.monotonic()
        held = [await self._reserve_budget(list(messages))]
        try:
            msg, retries = await self._send(lambda: self.chat.ainvoke(list(messages)))
        except ModelError as exc:
            self._log("text", started, 0, 0, False, 1, 0, "failed", episode, prompt, str(exc))
            raise
        finally:
            self._release_budget(held)
        text = _raw_text(msg)
        usage = _usage_of(msg)
        i, o, est = self._count(list(messages), text, usage)
        self._log("text", started, i, o, est, 1, retries, "ok", episode, prompt, cached_in=_cached_in(usage))
        return strip_think(text)

    async def stream(
        self, messages: Messages, *, episode: int | None = None, prompt: str | None = None
    ) -> AsyncIterator[str]:
        """Yield answer text as it arrives (think blocks filtered out); logs usage when done or cancelled."""
        started = time.monotonic()
        filt = ThinkStreamFilter()
        pieces: list[str] = []
        usage = None
        outcome: Outcome = "cancelled"
        held = [await self._reserve_budget(list(messages))]
        try:
            async with self.limiter.slot(self.endpoint):  # a one-slot server takes this reply after a draft call
                async for chunk in self.chat.astream(list(messages)):
                    if chunk.usage_metadata:
                        usage = chunk.usage_metadata
                    piece = chunk.content if isinstance(chunk.content, str) else ""
                    pieces.append(piece)
                    visible = filt.feed(piece)
                    if visible:
                        yield visible
            tail = filt.flush()
            if tail:
                yield tail
            outcome = "ok"
        except Exception as exc:  # noqa: BLE001 - translated, logged, re-raised
            err = self._translate(exc)
            if err is None:
                raise
            outcome = "failed"
            raise err from None
        finally:
            i, o, est = self._count(list(messages), "".join(pieces), usage)
            self._log("stream", started, i, o, est, 1, 0, outcome, episode, prompt, cached_in=_cached_in(usage))
            self._release_budget(held)

    # ---- transport ----------------------------------------------------------------------------

    def typical_call_cost(self, prompt_tokens: int = 3000) -> float:
        """What one call of this role costs at a typical prompt size and the output limit."""
        if self._price is None:
            return 0.0
        expected_out = self.endpoint.max_tokens or self.endpoint.profile.default_max_tokens or 2000
        return self._price.cost(prompt_tokens, expected_out)

    async def _reserve_budget(self, history: list[Any], schema: type[BaseModel] | None = None) -> float:
        """Hold the call's estimated cost against the budget until it is charged (`_log`) and released, so
        calls in flight together cannot each fit alone and together pass the limit (see Budget.acquire).
        The schema sent beside the messages (json_schema and tool modes) is prompt tokens too: providers
        count it, so the estimate does (in json mode it is already in the messages)."""
        if self.budget is None or self._price is None:
            return 0.0
        pairs = [(_role_of(m), _content_of(m)) for m in history]
        tokens = count_message_tokens(pairs, self.endpoint.model)
        if schema is not None and self._method != "json_mode":
            tokens += count_tokens(json.dumps(self._output_schema(schema) if self._method == "json_schema"
                                              else _json_schema(schema), ensure_ascii=False))
        expected_out = self.endpoint.max_tokens or self.endpoint.profile.default_max_tokens or 2000
        return await self.budget.acquire(self._price.cost(tokens, expected_out))

    def _release_budget(self, held: list[float]) -> None:
        if self.budget is not None:
            self.budget.release(sum(held))
        held.clear()

    async def _send(self, call: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
        """Run `call` under the retry rule and the run's concurrency cap; returns (result, retries used)."""
        import openai

        for retry in range(self.policy.max_retries + 1):
            try:
                async with self.limiter.slot(self.endpoint):
                    result = await call()
                self.limiter.used(self.endpoint, failures.tokens_used(result))  # against the endpoint's tokens per minute
                # A call waiting for the slot just freed goes out before this one's answer is parsed and written:
                # that work then overlaps the server's, not the other call's wait.
                await asyncio.sleep(0)
                return result, retry
            except openai.LengthFinishReasonError as exc:
                completion = exc.completion
                text = completion.choices[0].message.content or "" if completion.choices else ""
                usage = usage_dict(completion.usage)
                self.limiter.used(self.endpoint, failures.tokens_used(usage or {}))
                raise Truncated(text, usage, retry) from None
            except Exception as exc:  # noqa: BLE001 - anything not retryable is translated below
                pause = failures.endpoint_pause(exc, self.policy)
                if pause is not None:  # a 429 with Retry-After holds every call to the endpoint, every season's
                    self.limiter.pause(self.endpoint, pause)
                if retry >= self.policy.max_retries or not retryable(exc):
                    err = self._translate(exc, retries=retry)
                    if err is None:
                        raise
                    raise err from None
                await asyncio.sleep(retry_delay(exc, retry, self.policy))
        raise AssertionError("unreachable")

    def _translate(self, exc: Exception, retries: int = 0) -> ModelError | None:
        """A one-line ModelError for failures the user can act on; None for our own bugs."""
        return translate(exc, self.endpoint, self.role, retries)

    # ---- usage --------------------------------------------------------------------------------

    def _count(self, history: list[Any], text: str, usage: Any) -> tuple[int, int, bool]:
        pairs = [(_role_of(m), _content_of(m)) for m in history]
        if usage and usage.get("input_tokens"):
            return int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0), False
        if usage and usage.get("output_tokens"):
            # Output counted (streamed tokens), the prompt not: the prompt is estimated.
            return count_message_tokens(pairs, self.endpoint.model), int(usage["output_tokens"]), True
        return count_message_tokens(pairs, self.endpoint.model), count_tokens(text, self.endpoint.model), True

    def _log(self, kind: Any, started: float, tin: int, tout: int, estimated: bool, attempts: int,
             retries: int, outcome: Outcome, episode: int | None, prompt: str | None,
             error: str | None = None, *, cached_in: int = 0) -> None:
        cached_in = max(0, min(cached_in, tin))  # of the prompt tokens, those the server read from its cache
        cost = None if self._price is None else round(self._price.cost(tin, tout, cached_in), 8)
        if self.budget is not None:
            self.budget.charge(cost)
        self.usage.append(
            UsageRecord(
                time=UsageRecord.now(), role=self.role, episode=episode, provider=self.endpoint.provider,
                model=self.endpoint.model, kind=kind, method=self._method if kind == "structured" else None,
                tokens_in=tin, tokens_out=tout, estimated=estimated,
                latency_s=round(time.monotonic() - started, 4),
                cost_usd=cost,
                attempts=attempts, retries=retries, outcome=outcome, prompt=prompt,
                error=None if error is None else redact(one_line(error, 300), self.endpoint.api_key),
                cached_in=cached_in,
            )
        )


def _feedback(problem: str) -> str:
    return render("structured.retry_invalid", problem=problem).text


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every client of the process: building one loads the CA bundle (about 20 ms),
    and each role's client used to build its own (httpx's default bundle, certifi's, is kept)."""
    try:
        import certifi
    except ImportError:  # httpx brings certifi; without it, the system's store
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _with_schema_prompt(history: list[Any], schema: type[BaseModel]) -> list[Any]:
    from langchain_core.messages import SystemMessage

    text = render("structured.json_mode", schema=json.dumps(_json_schema(schema), ensure_ascii=False)).text
    return [*history, SystemMessage(content=text)]
