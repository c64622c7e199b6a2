"""A structured answer read from a stream and cut off where its JSON value ends.

Under a grammar, llama-cpp-python may go on sampling whitespace after the object up to max_tokens
(2,047 tokens generated for 282 returned); closing the stream closes the connection, which stops the
generation (the server checks for a disconnect after every token). Streaming also turns the request
timeout into a limit between tokens: a slow machine is slow, not failed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cliffhanger.agents.llm.parsing import JsonEndScanner

TICK_EVERY_S = 1.0


@dataclass(frozen=True)
class Answer:
    """A structured call's raw answer: the text to parse, why generation ended, the server's usage."""

    text: str
    finish_reason: str | None
    usage: Any
    chunks: int = 0  # streamed pieces of the answer; one per token on llama-cpp-python
    early_stop: bool = False  # we hung up once the value was complete


async def stream_until_complete(bound: Any, history: list[Any], *, tool_mode: bool,
                                tick: Callable[[int, float], None] | None = None) -> Answer:
    """Stream `bound` (a chat model bound to a structured-output method) and stop at the value's end.

    `tool_mode`: the answer is a forced tool call's arguments, else the message content. `tick(n, s)`
    is called at most every `TICK_EVERY_S` with the pieces so far and the seconds since the first.
    Without usage from the server, each piece counts as one generated token.
    """
    scanner = JsonEndScanner()
    pieces: list[str] = []
    finish: str | None = None
    usage: Any = None
    first = last_tick = 0.0
    async with contextlib.aclosing(bound.astream(history)) as stream:
        async for chunk in stream:
            if chunk.usage_metadata:
                usage = chunk.usage_metadata
            finish = (chunk.response_metadata or {}).get("finish_reason") or finish
            if tool_mode:
                piece = "".join(str(c.get("args") or "") for c in chunk.tool_call_chunks[:1])
            else:
                piece = chunk.content if isinstance(chunk.content, str) else ""
            if not piece:
                continue
            pieces.append(piece)
            now = time.monotonic()
            if len(pieces) == 1:
                first = last_tick = now
            elif tick is not None and now - last_tick >= TICK_EVERY_S:
                last_tick = now
                tick(len(pieces), now - first)
            if scanner.feed(piece):
                break
    if scanner.complete:
        finish = "stop"  # anything the server would have sent after the value is not part of it
    if not (usage and (usage.get("input_tokens") or usage.get("output_tokens"))) and pieces:
        usage = {"input_tokens": 0, "output_tokens": len(pieces)}
    return Answer("".join(pieces), finish, usage, chunks=len(pieces), early_stop=scanner.complete)
