"""The model layer against `cliffhanger sim`, through the real ChatOpenAI path."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field, SecretStr

from cliffhanger.agents.errors import ModelError, ModelOutputError
from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.profiles import PROFILES, price_for
from cliffhanger.agents.llm.usage import UsageLog, read_usage

KEY = "sk-live-LOOKS-REAL-9f8e7d6c5b4a"


class Line(BaseModel):
    speaker: str = Field(description="who speaks", max_length=40)
    text: str = Field(description="the line", max_length=200)


class Cliff(BaseModel):
    """The end of an episode."""

    episode: int = Field(ge=1, le=100, description="episode number")
    kind: Literal["identity_reveal", "cornered", "revenge_launch"] = Field(description="cliffhanger kind")
    hook_line: str = Field(description="the last line", max_length=120)
    lines: list[Line] = Field(min_length=1, max_length=4, description="dialogue before it")
    strength: float = Field(ge=1, le=5, description="how hard it pulls")


PROMPT = [("system", "You plan micro-drama cliffhangers. Characters: Lin Xia, Gu Chen."),
          ("user", "Plan the cliffhanger of episode 10.")]


def client(url: str, provider: str = "sim", *, usage: UsageLog | None = None, policy: CallPolicy | None = None,
           **kw: object) -> ModelClient:
    ep = EndpointConfig(provider=provider, base_url=url, model=str(kw.pop("model", "sim-drama")),
                        api_key=kw.pop("api_key", None), timeout_s=float(kw.pop("timeout_s", 10)), **kw)  # type: ignore[arg-type]
    return ModelClient("writer", ep, usage or UsageLog(), policy or CallPolicy(backoff_base_s=0.01, backoff_max_s=0.05))


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


# Each profile against the sim quirk that mimics its provider.
PROFILE_QUIRKS = {
    "openai": "",
    "deepseek": "no-json-schema",
    "qwen": "think",
    "ollama": "think",
    "vllm": "",
    "llama-server": "think",
    "llama-cpp-python": "json-object-only,no-stream-usage",
    "local": "json-object-only,no-stream-usage",
    "sim": "",
    "openai-compatible": "",
}


def test_every_profile_is_covered() -> None:
    assert set(PROFILE_QUIRKS) == set(PROFILES)


@pytest.mark.parametrize("provider", sorted(PROFILE_QUIRKS))
def test_profile_structured_path_against_matching_quirk(make_sim, provider: str) -> None:
    url = make_sim(quirks=PROFILE_QUIRKS[provider])
    usage = UsageLog()
    c = client(url, provider, usage=usage, api_key=SecretStr(KEY) if PROFILES[provider].needs_key else None)
    result = run(c.structured(Cliff, PROMPT, episode=10))
    assert isinstance(result, Cliff)
    (rec,) = usage.records
    assert rec.method == PROFILES[provider].structured_method
    assert rec.outcome in ("ok", "repaired") and rec.episode == 10 and rec.tokens_in > 0 and rec.tokens_out > 0


def test_no_json_schema_quirk_forces_function_calling_for_unknown_endpoints(make_sim) -> None:
    url = make_sim(quirks="no-json-schema")
    usage = UsageLog()
    c = client(url, "openai-compatible", usage=usage)
    assert isinstance(run(c.structured(Cliff, PROMPT)), Cliff)
    assert isinstance(run(c.structured(Cliff, PROMPT)), Cliff)
    assert [r.method for r in usage.records] == ["function_calling", "function_calling"]


@pytest.mark.parametrize("fault", ["malformed", "truncate", "think"])
def test_repair_and_retry_recover_from_bad_output(make_sim, fault: str) -> None:
    url = make_sim(faults=f"{fault}:0.5", seed=7)
    usage = UsageLog()
    c = client(url, usage=usage, policy=CallPolicy(max_attempts=6))
    results = [run(c.structured(Cliff, [*PROMPT, ("user", f"variant {i}")])) for i in range(12)]
    assert all(isinstance(r, Cliff) for r in results)
    assert any(r.outcome == "repaired" for r in usage.records), "the fault never fired: the test proves nothing"
    if fault != "think":  # think tags are stripped without a retry
        assert any(r.attempts > 1 for r in usage.records)


@pytest.mark.parametrize(("fault", "reason"), [("malformed", "not valid JSON"), ("truncate", "cut off")])
def test_model_that_never_returns_valid_json_fails_clearly(make_sim, fault: str, reason: str) -> None:
    url = make_sim(faults=f"{fault}:1.0")
    usage = UsageLog()
    with pytest.raises(ModelOutputError) as info:
        run(client(url, usage=usage, policy=CallPolicy(max_attempts=3)).structured(Cliff, PROMPT))
    msg = str(info.value)
    assert "gave no valid Cliff in 3 attempts" in msg and reason in msg and "\n" not in msg
    (rec,) = usage.records
    assert rec.outcome == "failed" and rec.attempts == 3 and rec.tokens_out > 0


def test_transient_errors_are_retried_and_counted(make_sim) -> None:
    url = make_sim(faults="429:0.4,500:0.3", seed=3)
    usage = UsageLog()
    c = client(url, usage=usage, policy=CallPolicy(max_retries=8, backoff_base_s=0.001, backoff_max_s=0.01))
    for i in range(8):
        assert isinstance(run(c.structured(Cliff, [*PROMPT, ("user", str(i))])), Cliff)
    assert sum(r.retries for r in usage.records) > 0


def test_400_is_not_retried(make_sim) -> None:
    url = make_sim(quirks="no-json-schema,no-tools")
    usage = UsageLog()
    c = client(url, usage=usage)
    c.allow_fallback = False
    with pytest.raises(ModelError, match="rejected the request \\(400"):
        run(c.structured(Cliff, PROMPT))
    assert usage.records[-1].retries == 0


def test_timeout_gives_up_with_a_clear_line(make_sim) -> None:
    url = make_sim(faults="timeout:1.0", hang_s=5.0)
    c = client(url, timeout_s=0.3, policy=CallPolicy(max_retries=1, backoff_base_s=0.01))
    with pytest.raises(ModelError, match="gave no answer within 0.3 s after 2 tries"):
        run(c.text(PROMPT))


def test_usage_log_has_real_tokens_and_price_table_cost(make_sim, tmp_path: Path) -> None:
    url = make_sim()
    log = UsageLog(tmp_path / "usage.jsonl")
    run(client(url, "openai-compatible", usage=log, model="gpt-4o-mini").structured(Cliff, PROMPT, episode=4,
                                                                                     prompt="writer.plan@abc"))
    (row,) = read_usage(log.path)
    assert set(json.loads(log.path.read_text(encoding="utf-8"))) >= {"time", "role", "episode", "model", "tokens_in", "tokens_out", "latency_s", "cost_usd",
                        "retries", "attempts", "outcome", "prompt", "estimated"}
    assert row.role == "writer" and row.episode == 4 and row.prompt == "writer.plan@abc"
    assert row.estimated is False and row.tokens_in > 20
    price = price_for("gpt-4o-mini", "openai")
    assert row.cost_usd == pytest.approx(price.cost(row.tokens_in, row.tokens_out), abs=1e-8)


def test_tokens_are_estimated_when_the_server_reports_none(make_sim) -> None:
    url = make_sim(quirks="no-usage")
    usage = UsageLog()
    run(client(url, usage=usage).text(PROMPT))
    rec = usage.records[0]
    assert rec.estimated is True and rec.tokens_in > 10 and rec.tokens_out > 0


def test_unknown_model_price_is_unknown_not_zero(make_sim) -> None:
    usage = UsageLog()
    run(client(make_sim(), "openai-compatible", usage=usage, model="mystery-model-7b").text(PROMPT))
    assert usage.records[0].cost_usd is None


def test_streaming_yields_text_without_think_and_logs_usage(make_sim) -> None:
    url = make_sim(quirks="think")
    usage = UsageLog()
    c = client(url, usage=usage)

    async def collect() -> list[str]:
        return [piece async for piece in c.stream(PROMPT)]

    pieces = run(collect())
    text = "".join(pieces)
    assert len(pieces) > 1 and text.strip() and "<think>" not in text and "</think>" not in text
    rec = usage.records[0]
    assert rec.kind == "stream" and rec.outcome == "ok" and rec.estimated is False and rec.tokens_out > 0


def test_unreachable_endpoint() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = client(f"http://127.0.0.1:{port}/v1", policy=CallPolicy(max_retries=1, backoff_base_s=0.01))
    with pytest.raises(ModelError, match=f"cannot reach http://127.0.0.1:{port}/v1 after 2 tries: is the server running"):
        run(c.structured(Cliff, PROMPT))


def test_wrong_key_is_named_and_never_echoed(make_sim) -> None:
    url = make_sim(api_key="sk-the-right-key-123456")
    usage = UsageLog()
    c = client(url, "openai-compatible", usage=usage, api_key=SecretStr(KEY))
    with pytest.raises(ModelError) as info:
        run(c.structured(Cliff, PROMPT))
    assert "refused the API key (401)" in str(info.value)
    assert KEY not in str(info.value) and KEY not in repr(usage.records) and KEY not in repr(c.endpoint)


def test_right_key_works(make_sim) -> None:
    url = make_sim(api_key=KEY)
    assert isinstance(run(client(url, api_key=SecretStr(KEY)).structured(Cliff, PROMPT)), Cliff)


def test_endpoint_answering_html(make_sim) -> None:
    url = make_sim(quirks="html")
    with pytest.raises(ModelError, match="did not answer like an OpenAI-compatible API"):
        run(client(url).structured(Cliff, PROMPT))
    with pytest.raises(ModelError, match="did not answer like an OpenAI-compatible API"):
        run(client(url).text(PROMPT))


def test_endpoint_config_is_frozen_and_hides_key() -> None:
    ep = EndpointConfig(provider="openai", base_url="https://api.openai.com/v1", model="gpt-4o-mini",
                        api_key=SecretStr(KEY))
    assert KEY not in repr(ep)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ep.model = "x"  # type: ignore[misc]


# ---- the budget holds what calls in flight may spend --------------------------------------------------------

def test_a_call_waits_for_calls_in_flight_and_stops_only_when_the_budget_is_spent() -> None:
    from cliffhanger.agents.llm.call_limits import Budget, BudgetExhausted

    async def scenario() -> None:
        budget = Budget(1.0)
        await budget.acquire(0.6)  # one call in flight
        second = asyncio.ensure_future(budget.acquire(0.3))
        third = asyncio.ensure_future(budget.acquire(0.6))  # fits alone, not beside the first: it waits
        await asyncio.sleep(0.2)
        assert second.done() and not third.done()
        budget.charge(0.5)
        budget.release(0.6)  # the first call ended, charged its real cost: 0.5 spent, 0.3 held
        with pytest.raises(BudgetExhausted, match="budget reached"):
            await asyncio.wait_for(third, 2)  # 0.5 spent + 0.6 can never fit: the run stops
        assert budget.reserved_usd == pytest.approx(0.3)

    asyncio.run(scenario())


def test_concurrent_calls_never_pass_the_budget_together(make_sim) -> None:
    from cliffhanger.agents.llm.call_limits import Budget

    url = make_sim(ttft_ms=200)  # slow enough that both calls are in flight at once
    ep = EndpointConfig(provider="openai-compatible", base_url=url, model="gpt-4o-mini", max_tokens=2000)
    client = ModelClient("writer", ep, UsageLog())
    one = client.typical_call_cost(prompt_tokens=20)
    client.budget = budget = Budget(one * 1.5)  # room for one call's estimate at a time, and real calls cost less

    async def both() -> list[object]:
        return await asyncio.gather(*(client.structured(Line, [("user", "one line")]) for _ in range(2)),
                                    return_exceptions=True)

    results = asyncio.run(both())
    assert all(isinstance(r, Line) for r in results), results  # the second waited for the first, then fit
    assert 0 < budget.spent_usd <= budget.limit_usd and budget.reserved_usd == 0


def test_the_usage_file_read_right_after_a_run_has_every_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Lines appended on an event loop are written by the log's own thread; a reader of the file in this process
    # (a report, a test, a benchmark) waits for them instead of reading a file they have not reached yet.
    import time

    from cliffhanger.agents.llm.usage import UsageRecord

    slow = UsageLog._write

    def late(self: UsageLog, line: str) -> None:
        time.sleep(0.3)
        slow(self, line)

    monkeypatch.setattr(UsageLog, "_write", late)
    log = UsageLog(tmp_path / "usage.jsonl")

    async def on_a_loop() -> None:
        for n in range(3):
            log.append(UsageRecord(time="t", role="writer", episode=1, provider="sim", model="m", kind="text",
                                   method=None, tokens_in=n, tokens_out=1, estimated=False, latency_s=0.1,
                                   cost_usd=0.0, attempts=1, retries=0, outcome="ok"))

    run(on_a_loop())
    assert [r.tokens_in for r in read_usage(log.path)] == [0, 1, 2]
