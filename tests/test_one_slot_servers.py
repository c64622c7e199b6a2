"""Servers like the bundled model's: one request at a time, grammar output that runs on, slow machines.

Against `cliffhanger sim` with the `run-on` quirk (whitespace after the JSON up to max_tokens, like
llama-cpp-python under a grammar) through the real ChatOpenAI path of the `llama-cpp-python` profile.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from cliffhanger.agents.errors import ModelError
from cliffhanger.agents.llm.call_limits import CallLimiter
from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.parsing import JsonEndScanner
from cliffhanger.agents.llm.usage import UsageLog

PROMPT = [("system", "You plan micro-drama cliffhangers. Characters: Lin Xia, Gu Chen."),
          ("user", "Plan the cliffhanger of episode 10.")]


class Cliff(BaseModel):
    """The end of an episode."""

    episode: int = Field(ge=1, le=100)
    hook_line: str = Field(max_length=120)
    lines: list[str] = Field(min_length=1, max_length=4)


def _client(url: str, *, provider: str = "llama-cpp-python", max_tokens: int | None = 2000, timeout_s: float = 20.0,
            usage: UsageLog | None = None, policy: CallPolicy | None = None, **kw: object) -> ModelClient:
    ep = EndpointConfig(provider=provider, base_url=url, model="sim-drama", max_tokens=max_tokens,
                        timeout_s=timeout_s, **kw)  # type: ignore[arg-type]
    return ModelClient("writer", ep, usage or UsageLog(),
                       policy or CallPolicy(backoff_base_s=0.01, backoff_max_s=0.05))


def _log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---- the end of the answer ----------------------------------------------------------------------


@pytest.mark.parametrize("pieces", [
    ['{"a": 1', ', "b": [1, {"c": "}"}]', "}", "   \n   "],
    ["Here you go:\n```json\n", '{"s": "quote \\" and brace }"', "}\n```"],
    ["<think>maybe {a} or [b]</think>", '[{"x": "]"}', "]"],
])
def test_scanner_finds_the_end_of_the_value(pieces: list[str]) -> None:
    scanner = JsonEndScanner()
    done = [scanner.feed(p) for p in pieces]
    assert done[-1] is True and done.count(True) >= 1
    assert done.index(True) == len(pieces) - (2 if pieces[-1].strip() == "" else 1)


@pytest.mark.parametrize("text", ['{"a": "}"', '{"a": [1, 2}', '<think>{"a": 1}', '"just a string"', ""])
def test_scanner_never_ends_a_half_written_value(text: str) -> None:
    scanner = JsonEndScanner()
    assert not any(scanner.feed(ch) for ch in text)


def test_a_run_on_answer_is_cut_at_the_end_of_its_json(make_sim, tmp_path: Path) -> None:
    """Without the early stop the sim sends 2,000 tokens of whitespace at 400 tok/s (5 s) and says
    finish_reason=length, which is never accepted: the call would fail after three tries."""
    log = tmp_path / "sim.jsonl"
    url = make_sim(quirks="run-on", tps=400, log_path=log)
    usage = UsageLog()
    started = time.monotonic()
    value = asyncio.run(_client(url, usage=usage).structured(Cliff, PROMPT, episode=10))
    assert isinstance(value, Cliff)
    assert time.monotonic() - started < 4.0  # well before the run-on would have ended
    # The sim logs a request it was hung up on once its own thread notices the disconnect: wait for it.
    deadline = time.monotonic() + 10
    while not _log(log) and time.monotonic() < deadline:
        time.sleep(0.05)
    (req,) = _log(log)
    assert req["mode"] == "tools" and req["stream"] is True
    assert req["completion_tokens"] >= 1900  # what the server would have sent
    assert req["status"] == 499  # we hung up ...
    assert req["tokens_sent"] < 400  # ... once the value was complete
    (rec,) = usage.records
    assert rec.outcome == "ok" and rec.attempts == 1
    assert rec.tokens_out < 400  # streamed tokens counted, not the limit


def test_without_streaming_the_same_server_fails(make_sim) -> None:
    """The profile switch is what makes the difference: a non-streaming profile gets the run-on whole."""
    url = make_sim(quirks="run-on")
    with pytest.raises(ModelError, match="cut off at the output token limit"):
        asyncio.run(_client(url, provider="openai-compatible", policy=CallPolicy(max_attempts=2)).structured(Cliff, PROMPT))


def test_progress_ticks_report_tokens_as_they_arrive(make_sim) -> None:
    url = make_sim(tps=20)
    c = _client(url)
    ticks: list[tuple[str, int | None, int, float]] = []
    c.on_tokens = lambda role, ep, n, secs: ticks.append((role, ep, n, secs))
    asyncio.run(c.structured(Cliff, PROMPT, episode=3))
    assert ticks, "a call of more than a second reports its tokens"
    assert {t[0] for t in ticks} == {"writer"} and {t[1] for t in ticks} == {3}
    counts = [t[2] for t in ticks]
    assert counts == sorted(counts) and counts[-1] > counts[0]


# ---- one request at a time ------------------------------------------------------------------------


async def _many(clients: list[ModelClient], n: int) -> list[object]:
    return await asyncio.gather(*(clients[i % len(clients)].structured(Cliff, PROMPT, episode=i + 1) for i in range(n)),
                                return_exceptions=True)


def test_a_one_slot_server_gets_one_request_at_a_time(make_sim, tmp_path: Path) -> None:
    """The sim answers 429 to a second request in flight (max_concurrency=1); several roles share it."""
    log = tmp_path / "sim.jsonl"
    url = make_sim(ttft_ms=100, max_concurrency=1, log_path=log)
    limiter = CallLimiter(total=4)  # the run allows 4 ...
    clients = [_client(url, policy=CallPolicy(max_retries=0)) for _ in range(3)]
    for c in clients:
        c.limiter = limiter
    assert all(isinstance(v, Cliff) for v in asyncio.run(_many(clients, 5)))
    rows = _log(log)
    assert len(rows) == 5
    assert [r["status"] for r in rows] == [200] * 5  # ... the server takes 1, and never saw a second
    assert limiter.peak[url] == 1


def test_the_run_cap_still_applies_where_the_server_has_many_slots(make_sim) -> None:
    url = make_sim(ttft_ms=100)
    limiter = CallLimiter(total=2)
    clients = [_client(url, slots=8) for _ in range(3)]
    for c in clients:
        c.limiter = limiter
    asyncio.run(_many(clients, 6))
    assert limiter.peak[url] == 2


def test_without_the_slot_limit_the_one_slot_server_is_overrun(make_sim, tmp_path: Path) -> None:
    """The control: `slots=0` (unknown) lets the run's 4 through, and the one-slot server refuses."""
    log = tmp_path / "sim.jsonl"
    url = make_sim(ttft_ms=100, max_concurrency=1, log_path=log)
    limiter = CallLimiter(total=4)
    clients = [_client(url, slots=0, policy=CallPolicy(max_retries=1, backoff_base_s=0.01, backoff_max_s=0.05))
               for _ in range(3)]
    for c in clients:
        c.limiter = limiter
    asyncio.run(_many(clients, 4))
    assert any(r["status"] == 429 for r in _log(log))
    assert limiter.peak[url] > 1


# ---- an abandoned request is cancelled ---------------------------------------------------------------


def test_a_request_that_times_out_is_hung_up_on(make_sim, tmp_path: Path) -> None:
    """Streaming turns the timeout into a limit between tokens; when it passes, the connection closes
    and the server (the sim records it) stops working for a client that is gone."""
    log = tmp_path / "sim.jsonl"
    url = make_sim(ttft_ms=1500, log_path=log)
    c = _client(url, timeout_s=0.3, policy=CallPolicy(max_retries=1, backoff_base_s=0.01))
    with pytest.raises(ModelError, match="gave no answer within 0.3 s"):
        asyncio.run(c.structured(Cliff, PROMPT))
    deadline = time.monotonic() + 5  # the sim notices a hang-up when it next sends, as llama-cpp-python does
    while len(_log(log)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    rows = _log(log)
    assert len(rows) == 2 and all(r["status"] == 499 for r in rows)


def test_a_slow_server_that_keeps_sending_is_not_timed_out(make_sim) -> None:
    """A slow machine is slow, not broken: 3 s of tokens with a 1 s timeout between them is fine."""
    url = make_sim(tps=40)
    started = time.monotonic()
    value = asyncio.run(_client(url, timeout_s=1.0, policy=CallPolicy(max_retries=0)).structured(Cliff, PROMPT))
    assert isinstance(value, Cliff)
    assert time.monotonic() - started > 1.0  # longer than the timeout in all


def test_slots_come_from_the_profile_or_the_settings(monkeypatch) -> None:
    from cliffhanger.app.settings import load_settings

    local = load_settings(flags={"provider": "local"}).endpoint("writer", local_installed=True)
    assert local.server_slots == 1
    vllm = load_settings(flags={"provider": "vllm", "model": "m"}).endpoint("writer")
    assert vllm.server_slots == 0  # unknown: the run's --concurrency alone
    monkeypatch.setenv("CLIFFHANGER_SLOTS", "2")
    assert load_settings(flags={"provider": "vllm", "model": "m"}).endpoint("writer").server_slots == 2


def test_cancelling_a_streamed_call_always_cancels_it(make_sim) -> None:
    """Ctrl-C cancels the run's task: a streamed call must end cancelled, whenever the cancel lands,
    and never swallow it and go on (as a per-chunk asyncio.wait_for can on Python 3.11 when a chunk
    arrives at the same moment)."""
    url = make_sim(tps=100)
    c = _client(url)

    async def once(delay: float) -> bool:
        task = asyncio.create_task(c.structured(Cliff, PROMPT))
        await asyncio.sleep(delay)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False  # finished normally: the cancel was lost (or came after the end)

    async def many() -> list[tuple[float, bool]]:
        await c.structured(Cliff, PROMPT)  # warm up (imports, the client)
        first = time.monotonic()
        await c.structured(Cliff, PROMPT)  # how long a call takes
        took = time.monotonic() - first
        # All in the first 45% of the call, so a loaded machine finishing a call early cannot pass for
        # a lost cancel.
        delays = [took * i / 120 for i in range(1, 55)]
        return [(d, await once(d)) for d in delays]

    results = asyncio.run(many())
    assert len(results) >= 50
    assert [d for d, cancelled in results if not cancelled] == []
