"""A scripted stand-in for `ModelClient`: answers come from a script, every call is recorded.

For tests and demos that need exact model output (a planted contradiction, a perfect extraction).
Answers are queued per schema name; each is a dict/object, or a function of the messages that returns
one. The last answer of a queue repeats. Plain text answers are queued under "text". Usage is logged
like a real call (tokens estimated, at no cost), so cost and usage paths run unchanged. It is a
`crew.RoleModel`: a run attaches its budget, limiter and token ticker to it as to a real client.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from cliffhanger.agents.llm.call_limits import Budget, CallLimiter, TokenTick
from cliffhanger.agents.llm.profiles import Price
from cliffhanger.agents.llm.usage import UsageLog, UsageRecord
from cliffhanger.memory.tokens import count_message_tokens, count_tokens

T = TypeVar("T", bound=BaseModel)
Answer = Any | Callable[[list[Any]], Any]


@dataclass
class ScriptedCall:
    kind: str
    schema: str | None
    messages: list[Any]
    episode: int | None
    prompt: str | None


@dataclass
class ScriptedClient:
    role: str
    answers: dict[str, list[Answer]]
    usage: UsageLog = field(default_factory=UsageLog)
    calls: list[ScriptedCall] = field(default_factory=list)
    budget: Budget | None = None
    limiter: CallLimiter = field(default_factory=CallLimiter)
    on_tokens: TokenTick | None = None

    @property
    def price(self) -> Price:
        return Price(0.0, 0.0)

    @property
    def model_name(self) -> str:
        return "scripted"

    def typical_call_cost(self, prompt_tokens: int = 3000) -> float:
        return 0.0

    def _next(self, key: str, messages: list[Any]) -> Any:
        queue = self.answers.get(key)
        if not queue:
            raise AssertionError(f"scripted {self.role}: no answer scripted for {key}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(messages) if callable(answer) else answer

    def _log(self, kind: Any, messages: Sequence[Any], out: str, episode: int | None, prompt: str | None,
             started: float) -> None:
        pairs = [(m[0], m[1]) if isinstance(m, tuple) else (getattr(m, "type", "user"), str(m.content))
                 for m in messages]
        self.usage.append(UsageRecord(
            time=UsageRecord.now(), role=self.role, episode=episode, provider="scripted", model="scripted",
            kind=kind, method=None, tokens_in=count_message_tokens(pairs), tokens_out=count_tokens(out),
            estimated=True, latency_s=round(time.monotonic() - started, 4), cost_usd=0.0, attempts=1, retries=0,
            outcome="ok", prompt=prompt))

    async def structured(self, schema: type[T], messages: Sequence[Any], *, episode: int | None = None,
                         prompt: str | None = None, repair: Callable[[Any], Any] | None = None) -> T:
        started = time.monotonic()
        self.calls.append(ScriptedCall("structured", schema.__name__, list(messages), episode, prompt))
        answer = self._next(schema.__name__, list(messages))
        if isinstance(answer, BaseModel) and not isinstance(answer, schema):
            answer = answer.model_dump(mode="json")
        if not isinstance(answer, schema):
            answer = schema.model_validate(repair(answer) if repair else answer)
        value = answer
        self._log("structured", messages, value.model_dump_json(), episode, prompt, started)
        return value

    async def text(self, messages: Sequence[Any], *, episode: int | None = None, prompt: str | None = None) -> str:
        started = time.monotonic()
        self.calls.append(ScriptedCall("text", None, list(messages), episode, prompt))
        out = str(self._next("text", list(messages)))
        self._log("text", messages, out, episode, prompt, started)
        return out

    async def stream(self, messages: Sequence[Any], *, episode: int | None = None,
                     prompt: str | None = None) -> AsyncIterator[str]:
        text = await self.text(messages, episode=episode, prompt=prompt)
        for i in range(0, len(text), 8):
            yield text[i : i + 8]
