"""The sim's HTTP face: a Starlette app speaking OpenAI's chat completions protocol.

`create_app(config)` builds it. Per request, in this order: provider quirks that break everything
(`html`), auth, the concurrency cap, body validation, quirks that refuse a request, the fault draw,
then latency and the answer. Every /v1 request is logged when the config has a log path; with
`log_bodies` the log line also holds the request's messages and the schema it asks for (never a header).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from cliffhanger.agents.sim.answers import Answer, answer
from cliffhanger.agents.sim.chat_request import BadRequest, ChatRequest, parse_request
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.faults import draw_fault, seeded
from cliffhanger.agents.sim.prompt_cache import PromptCache, request_tokens
from cliffhanger.agents.sim.request_log import RequestLog
from cliffhanger.agents.sim.wire import SIM_CREATED, completion_body, error_body, stream_chunks, usage_chunk

log = logging.getLogger(__name__)
RETRY_AFTER_MS = 50
CLIENT_GONE = 499  # nginx's code for "client closed the request", used in the log only
_PORTAL = ("<!DOCTYPE html><html><head><title>Sign in to continue</title></head><body>"
           "<h1>Welcome to Guest Wi-Fi</h1><p>Please accept the terms to access the internet.</p></body></html>")
Handler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


def _error(status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
           code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, kind, param, code), status_code=status, headers=headers)


def _rate_limited(message: str) -> JSONResponse:
    return _error(429, message, "requests", None, "rate_limit_exceeded", {"retry-after-ms": str(RETRY_AFTER_MS)})


async def _wait_or_gone(request: Request, seconds: float) -> bool:
    """Sleep `seconds`; True as soon as the client disconnects instead."""
    if seconds <= 0:
        return False

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    sleeper, watcher = asyncio.ensure_future(asyncio.sleep(seconds)), asyncio.ensure_future(watch())
    try:
        done, _ = await asyncio.wait({sleeper, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        watcher.cancel()
    return watcher in done and not watcher.cancelled() and watcher.exception() is None


class _Sim:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.inflight = 0
        self.seen: Counter[str] = Counter()
        self.cache = PromptCache()
        self.log = RequestLog(config.log_path) if config.log_path else None

    def record(self, rec: dict[str, Any], started: float) -> None:
        if self.log is not None:
            rec["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
            self.log.write(rec)

    def guarded(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Quirks that break every request, auth, and the log line, around a /v1 handler."""

        async def endpoint(request: Request) -> Response:
            started = time.monotonic()
            rec: dict[str, Any] = {"model": None, "mode": None, "stream": False, "prompt_tokens": 0,
                                   "cached_tokens": 0, "completion_tokens": 0, "status": 200, "fault": None, "_deferred": False}
            try:
                if "html" in self.config.quirks:
                    response: Response = HTMLResponse(_PORTAL)
                elif not self._authorized(request):
                    response = _error(401, "Incorrect API key provided. Pass it as 'Authorization: Bearer <key>'.",
                                      code="invalid_api_key")
                else:
                    response = await handler(request, rec)
            except Exception:  # noqa: BLE001 - a sim bug must still look like an API error, not a traceback
                log.exception("cliffhanger sim failed on %s", request.url.path)
                response = _error(500, "The sim failed on this request; see the server log.", "server_error")
            rec["status"] = response.status_code
            if not rec.pop("_deferred"):
                self.record(rec, started)
            else:
                rec["_started"] = started
            return response

        return endpoint

    def _authorized(self, request: Request) -> bool:
        if not self.config.api_key:
            return True
        expected = f"Bearer {self.config.api_key}".encode()
        return hmac.compare_digest(request.headers.get("authorization", "").encode(), expected)

    async def models(self, request: Request, rec: dict[str, Any]) -> Response:
        data = [{"id": m, "object": "model", "created": SIM_CREATED, "owned_by": "cliffhanger-sim"}
                for m in self.config.models]
        return JSONResponse({"object": "list", "data": data})

    async def not_found(self, request: Request, rec: dict[str, Any]) -> Response:
        return _error(404, f"Unknown request URL: {request.method} {request.url.path}.", code="unknown_url")

    async def chat(self, request: Request, rec: dict[str, Any]) -> Response:
        cap = self.config.max_concurrency
        if cap and self.inflight >= cap:
            return _rate_limited(f"Too many requests in flight (the sim allows {cap}); retry after {RETRY_AFTER_MS} ms.")
        self.inflight += 1
        handed_over = False
        try:
            try:
                body = json.loads(await request.body())
                req = parse_request(body)
            except ClientDisconnect:
                return Response(status_code=CLIENT_GONE)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return _error(400, "We could not parse the JSON body of your request. The body must be valid JSON.")
            except BadRequest as exc:
                return _error(400, exc.message, param=exc.param, code=exc.code)
            tokens = request_tokens(req.messages, req.extra_prompt, req.model)
            ptok = len(tokens)  # == answers.prompt_tokens(req)
            rec.update(model=req.model, mode=req.mode, stream=req.stream, prompt_tokens=ptok)
            if self.config.log_bodies:
                rec.update(schema=_schema_name(req, body), messages=req.messages, extra_prompt=req.extra_prompt)
            refusal = self._refused(req)
            if refusal is not None:
                return refusal
            n = self.seen[req.canonical]
            self.seen[req.canonical] += 1
            fault = draw_fault(self.config.faults, self.config.seed, req.canonical, n)
            rec["fault"] = fault
            if fault == "429":
                return _rate_limited("Rate limit reached for requests (sim fault). Please try again shortly.")
            if fault == "500":
                return _error(500, "The server had an error while processing your request. Sorry about that!",
                              "server_error")
            if fault == "timeout" and await _wait_or_gone(request, self.config.hang_s):
                return Response(status_code=CLIENT_GONE)
            cached = self.cache.hit(req.model, tokens)  # only requests that get an answer fill the cache
            rec["cached_tokens"] = cached
            answers = [answer(req, self.config.seed, self.config.quirks, fault, i) for i in range(req.n)]
            ctok = sum(a.completion_tokens for a in answers)
            rec["completion_tokens"] = ctok
            cid = "chatcmpl-" + format(seeded(self.config.seed, "id", req.content_key).getrandbits(96), "024x")
            if req.stream:
                rec["_deferred"] = handed_over = True
                return _ClosingStream(self._stream(req, answers, cid, (ptok, cached), rec), lambda: self._stream_closed(rec),
                                      media_type="text/event-stream", headers={"cache-control": "no-cache"})
            delay = self.config.ttft_ms / 1000 + (ctok / self.config.tps if self.config.tps else 0.0)
            if await _wait_or_gone(request, delay):
                return Response(status_code=CLIENT_GONE)
            with_usage = "no-usage" not in self.config.quirks
            return JSONResponse(completion_body(cid, req.model, answers, ptok, with_usage, cached))
        finally:
            if not handed_over:
                self.inflight -= 1

    def _refused(self, req: ChatRequest) -> Response | None:
        quirks = self.config.quirks
        if req.has_tools and "no-tools" in quirks:
            return _error(400, f"{req.model} does not support tools: remove 'tools' and 'tool_choice' from the request.",
                          param="tools")
        if req.mode == "json_schema" and "no-json-schema" in quirks:
            return _error(400, "This response_format type is unavailable now: 'json_schema' is not supported; "
                               "use 'json_object' or tools.", param="response_format")
        if req.mode == "json_schema" and "json-object-only" in quirks:
            return _error(400, "response_format: only {'type': 'json_object'} is supported, "
                               "not 'json_schema'.", param="response_format")
        return None

    async def _stream(self, req: ChatRequest, answers: list[Answer], cid: str, prompt: tuple[int, int],
                      rec: dict[str, Any]) -> AsyncIterator[str]:
        """The chunks; `prompt` is (prompt tokens, of which cached), for the final usage chunk."""
        quirks, tps = self.config.quirks, self.config.tps
        send_usage = req.include_usage and not quirks & {"no-usage", "no-stream-usage"}
        if self.config.ttft_ms:
            await asyncio.sleep(self.config.ttft_ms / 1000)
        rec["tokens_sent"] = 0.0
        for chunk, tokens in stream_chunks(cid, req.model, answers, send_usage):
            if tps and tokens:
                await asyncio.sleep(tokens / tps)
            yield _sse(chunk)
            rec["tokens_sent"] += tokens
        if send_usage:
            chunk = usage_chunk(cid, req.model, prompt[0], sum(a.completion_tokens for a in answers), prompt[1])
            yield _sse(chunk)
        yield "data: [DONE]\n\n"
        rec["_finished"] = True

    def _stream_closed(self, rec: dict[str, Any]) -> None:
        """Runs once a streamed response ends, however it ends: frees the slot and logs."""
        self.inflight -= 1
        if not rec.pop("_finished", False):
            rec["status"] = CLIENT_GONE
        started = rec.pop("_started", time.monotonic())
        if "tokens_sent" in rec:
            rec["tokens_sent"] = round(rec["tokens_sent"])  # what went out before the end or the hang-up
        self.record(rec, started)


def _schema_name(req: ChatRequest, body: dict[str, Any]) -> str | None:
    """The name of the forced tool or of the json_schema response format the request asks for."""
    if req.tool_name is not None:
        return req.tool_name
    fmt = body.get("response_format")
    spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) else None


def _sse(chunk: dict[str, Any]) -> str:
    return "data: " + json.dumps(chunk, ensure_ascii=False, separators=(",", ":")) + "\n\n"


class _ClosingStream(StreamingResponse):
    """A StreamingResponse that calls `on_close` when done, even if the body was never iterated."""

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._on_close = on_close

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(config: SimConfig) -> Starlette:
    """The sim as an ASGI app (no server started)."""
    sim = _Sim(config)
    v1_methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    routes = [
        Route("/health", _health, methods=["GET"]),
        Route("/v1/models", sim.guarded(sim.models), methods=["GET"]),
        Route("/v1/chat/completions", sim.guarded(sim.chat), methods=["POST"]),
        Route("/v1/{rest:path}", sim.guarded(sim.not_found), methods=v1_methods),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app
