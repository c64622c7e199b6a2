"""Several seasons drafted in one process: one limiter per endpoint shared by all of them, a 429's
Retry-After pausing every season on that endpoint, a failing season leaving the others finishing, and
`cliffhanger draft A B ...` on the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import openai
import pytest
from season_kit import ROLES, make_season, run_cli

from cliffhanger.agents.llm.call_limits import CallLimiter, EndpointLimits, RateLimits, process_limits
from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.crew import Crew, open_crew
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.run import run_season
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.state import RunSettings
from cliffhanger.app.many_seasons import worst
from cliffhanger.memory.embeddings import HashEmbedding

FAST = CallPolicy(backoff_base_s=0.01, backoff_max_s=0.05)


def _sim_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _crew(url: str, limits: EndpointLimits) -> Crew[ModelClient]:
    endpoints = {r: EndpointConfig(provider="sim", base_url=url, model="sim-drama") for r in ROLES}
    return open_crew(endpoints, policy=FAST, limits=limits)


async def _draft_side_by_side(crew: Crew[ModelClient], stores: list[SeasonStore], **options: object) -> list:
    settings = RunSettings(embedding=HashEmbedding(), max_revisions=0, **options)
    return await asyncio.gather(*(run_season(s, crew.for_season(UsageLog(s.usage_path)), settings) for s in stores))


# ---- one cap per endpoint, shared ---------------------------------------------------------------------------


def test_seasons_side_by_side_never_pass_the_endpoint_cap_and_all_finish(make_sim, tmp_path: Path) -> None:
    """Three seasons, each allowed 4 calls in flight, against one sim that refuses (429) a third request in
    flight: the shared limiter of 2 keeps all three seasons under it together."""
    log = tmp_path / "sim.jsonl"
    url = make_sim(ttft_ms=30, max_concurrency=2, log_path=log)
    limits = EndpointLimits(default_in_flight=2)
    stores = [make_season(tmp_path / f"s{i}", episodes=3, free=2) for i in range(3)]
    with _crew(url, limits) as crew:
        results = asyncio.run(_draft_side_by_side(crew, stores, concurrency=4))
    assert [r.stop for r in results] == ["done"] * 3
    assert all(s.accepted_episodes() == [1, 2, 3] for s in stores)
    rows = _sim_log(log)
    cap_refusals = [r for r in rows if r["status"] == 429 and r["fault"] is None]
    assert cap_refusals == []
    assert limits.peak[url] == 2  # the cap was reached (the seasons did overlap) and never passed
    senders = {e.who for e in limits.events if e.kind == "send"}
    assert senders == {"s0", "s1", "s2"}
    for s in stores:  # each season logged its own calls
        assert s.usage_path.read_text(encoding="utf-8").count("\n") > 5


def test_limits_by_provider_cap_calls_in_flight_and_requests_per_minute() -> None:
    """`[limits.PROVIDER]`: max_in_flight overrides the default cap; rpm holds the next call until the
    oldest of the minute's requests leaves the window (a clock the test moves, not wall time)."""
    now = [1000.0]
    limits = EndpointLimits({"deepseek": RateLimits(max_in_flight=3, rpm=2)}, default_in_flight=8,
                            clock=lambda: now[0])
    ep = EndpointConfig(provider="deepseek", base_url="https://api.example/v1", model="m")
    other = EndpointConfig(provider="openai", base_url="https://other.example/v1", model="m")
    assert limits.gate(ep).limits == RateLimits(3, 2, 0)
    assert limits.gate(other).limits.max_in_flight == 8

    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await real_sleep(0)

    async def calls() -> None:
        for _ in range(3):
            async with limits.enter(ep, "a"):
                pass

    import cliffhanger.agents.llm.call_limits as cl

    cl_asyncio_sleep = cl.asyncio.sleep
    cl.asyncio.sleep = sleep  # type: ignore[assignment]
    try:
        asyncio.run(calls())
    finally:
        cl.asyncio.sleep = cl_asyncio_sleep  # type: ignore[assignment]
    sends = [e.time for e in limits.events if e.kind == "send"]
    assert sends[:2] == [1000.0, 1000.0]
    assert sends[2] >= 1060.0  # the third request of the minute waited for the first to age out


def test_tokens_per_minute_hold_calls_once_the_minute_is_spent() -> None:
    now = [0.0]
    limits = EndpointLimits({"openai": RateLimits(tpm=1000)}, clock=lambda: now[0])
    ep = EndpointConfig(provider="openai", base_url="https://api.example/v1", model="m")
    limits.used(ep, 600)
    now[0] = 10.0
    limits.used(ep, 500)
    assert limits.gate(ep).wait_s(now[0], limits.WINDOW_S) == pytest.approx(50.0)  # until the 600 age out
    now[0] = 61.0
    assert limits.gate(ep).wait_s(now[0], limits.WINDOW_S) <= 0


# ---- Retry-After pauses every season on the endpoint --------------------------------------------------------


def _rate_limited(retry_after_ms: int) -> openai.RateLimitError:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    response = httpx.Response(429, headers={"retry-after-ms": str(retry_after_ms)}, request=request)
    return openai.RateLimitError("rate limited", response=response, body=None)


def _two_seasons_clients(shared: EndpointLimits | None) -> tuple[ModelClient, ModelClient]:
    ep = EndpointConfig(provider="openai-compatible", base_url="http://127.0.0.1:9/v1", model="m")
    a = ModelClient("writer", ep, UsageLog(), CallPolicy(max_retries=2, backoff_max_s=5.0))
    b = ModelClient("writer", ep, UsageLog(), CallPolicy(max_retries=2, backoff_max_s=5.0))
    a.limiter = CallLimiter(4, shared=shared, name="A")
    b.limiter = CallLimiter(4, shared=shared, name="B")
    return a, b


async def _a_429_then_b(a: ModelClient, b: ModelClient) -> None:
    """Season A's first request gets a 429 (Retry-After 300 ms); season B sends once A has been told."""
    told = asyncio.Event()
    attempts = []

    async def a_call() -> str:
        attempts.append("A")
        if len(attempts) == 1:
            told.set()
            raise _rate_limited(300)
        return "a"

    async def b_call() -> str:
        return "b"

    a_task = asyncio.create_task(a._send(a_call))
    await told.wait()
    await asyncio.sleep(0)  # A's handler records the pause before B asks
    assert await b._send(b_call) == ("b", 0)
    assert await a_task == ("a", 1)


def test_a_429_with_retry_after_on_one_season_pauses_the_other_seasons_calls() -> None:
    shared = EndpointLimits()
    a, b = _two_seasons_clients(shared)
    asyncio.run(_a_429_then_b(a, b))
    events = list(shared.events)
    # A's retry and B's call both wait for the pause to end; which of them goes first then is a race.
    assert [(e.kind, e.who) for e in events[:2]] == [("send", "A"), ("pause", "A")]
    assert sorted((e.kind, e.who) for e in events[2:]) == [("send", "A"), ("send", "B")]
    pause = events[1]
    assert pause.until == pytest.approx(pause.time + 0.3)
    (b_sent,) = [e for e in events if e.who == "B"]
    assert b_sent.time >= pause.until  # B's call went only once A's Retry-After had passed


def test_without_a_shared_limiter_the_other_season_would_not_wait() -> None:
    """The control: each season with limiters of its own, B's call goes at once during A's pause."""
    a, b = _two_seasons_clients(None)
    asyncio.run(_a_429_then_b(a, b))
    (pause,) = [e for e in a.limiter.shared.events if e.kind == "pause"]
    (b_sent,) = [e for e in b.limiter.shared.events if e.kind == "send"]
    assert b_sent.time < pause.until


def test_seasons_against_a_rate_limiting_sim_never_send_during_a_pause(make_sim, tmp_path: Path) -> None:
    """Seeded 429 faults (each with Retry-After) on two seasons' calls: after every pause, no call of either
    season reaches the endpoint before it ends, and both seasons finish."""
    url = make_sim(faults="429:0.15", seed=7)
    limits = EndpointLimits(default_in_flight=4)
    stores = [make_season(tmp_path / f"s{i}", episodes=2, free=1) for i in range(2)]
    with _crew(url, limits) as crew:
        results = asyncio.run(_draft_side_by_side(crew, stores, concurrency=4))
    assert [r.stop for r in results] == ["done", "done"]
    events = list(limits.events)
    pauses = [(i, e) for i, e in enumerate(events) if e.kind == "pause"]
    assert pauses, "the seeded faults gave at least one 429"
    for i, pause in pauses:
        later = [e for e in events[i + 1:] if e.kind == "send" and e.time < pause.until]
        assert later == []


# ---- one failing season does not stop the others ----------------------------------------------------------------


def test_a_failing_season_is_named_at_the_end_and_the_others_finish(capsys, tmp_path: Path) -> None:
    good = [make_season(tmp_path / name, episodes=3, free=2) for name in ("good1", "good2")]
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "season.toml").write_text("title = [\n", encoding="utf-8")
    held = make_season(tmp_path / "held", episodes=3, free=2)
    with held.lock():  # another writer holds this one
        code, out, err = run_cli(capsys, "draft", good[0].root, damaged, held.root, good[1].root, "--provider", "sim",
                                 "--until", "2", "--max-revisions", "0")
    assert code == 2
    assert all(s.accepted_episodes() == [1, 2] for s in good)
    assert held.accepted_episodes() == []
    lines = err.strip().splitlines()
    assert lines[0] == "2 of 4 seasons did not finish: damaged, held"
    assert lines[1].startswith("error: damaged (") and "season.toml" in lines[1]
    assert lines[2].startswith("error: held (") and "is being drafted by" in lines[2]
    assert "internal error" not in err and len(lines) == 3
    assert "[good1] stopped after episode 2" in out and "[good2] stopped after episode 2" in out


def test_a_season_that_breaks_is_exit_1_and_the_other_finishes(capsys, monkeypatch, tmp_path: Path) -> None:
    import cliffhanger.agents.run as run_mod

    real = run_mod.run_season

    async def breaks_for_one(store, models, options, emit=None, stop=None):  # noqa: ANN001, ANN202
        if store.root.name == "buggy":
            raise RuntimeError("a bug in one season")
        return await real(store, models, options, emit=emit, stop=stop)

    monkeypatch.setattr(run_mod, "run_season", breaks_for_one)
    good, buggy = make_season(tmp_path / "good", episodes=3, free=2), make_season(tmp_path / "buggy", episodes=3, free=2)
    code, out, err = run_cli(capsys, "draft", buggy.root, good.root, "--provider", "sim", "--until", "1",
                             "--max-revisions", "0")
    assert code == 1
    assert good.accepted_episodes() == [1] and "[good] stopped after episode 1" in out
    assert "1 of 2 seasons did not finish: buggy" in err
    assert "error: buggy (" in err and "internal error: RuntimeError: a bug in one season" in err


def test_the_exit_code_is_the_worst_of_the_seasons() -> None:
    assert worst([0, 0]) == 0
    assert worst([0, 130]) == 130
    assert worst([130, 1, 0]) == 1
    assert worst([1, 2, 130]) == 2


# ---- the command line ---------------------------------------------------------------------------------------


def test_draft_two_folders_on_the_command_line(capsys, tmp_path: Path) -> None:
    a, b = make_season(tmp_path / "a", episodes=3, free=2), make_season(tmp_path / "b", episodes=3, free=2)
    config = tmp_path / "cliffhanger.toml"
    config.write_text("[limits.sim]\nmax_in_flight = 1\nrpm = 100000\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "draft", a.root, b.root, "--provider", "sim", "--until", "2",
                             "--max-revisions", "0", "--concurrency", "4", "--config", config)
    assert code == 0, err
    assert a.accepted_episodes() == [1, 2] and b.accepted_episodes() == [1, 2]
    assert "[a] stopped after episode 2 as asked" in out and "[b] stopped after episode 2 as asked" in out
    assert "[a] ep 1: accepted" in out  # plain progress lines, one season each
    shared = process_limits()
    assert list(shared.peak.values()) == [1]  # [limits.sim] max_in_flight = 1 across both seasons
    assert {e.who for e in shared.events if e.kind == "send"} == {"a", "b"}
    for s in (a, b):
        assert s.usage_path.is_file() and s.report_path.is_file()


@pytest.mark.parametrize("second", ["{a}", "{a}/.", "{a}/../a"])
def test_the_same_folder_twice_is_refused_before_anything_runs(capsys, tmp_path: Path, second: str) -> None:
    a = make_season(tmp_path / "a", episodes=3, free=2)
    code, out, err = run_cli(capsys, "draft", a.root, second.format(a=a.root), "--provider", "sim")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "give each season folder once" in err
    assert not a.usage_path.exists() and not a.checkpoint_path.exists()


@pytest.mark.parametrize(("toml", "fragment"), [
    ("[limits.sim]\nrpm = 0\n", "limits.sim.rpm: Input should be greater than 0"),
    ("[limits.sim]\nmax_in_flight = -2\n", "limits.sim.max_in_flight: Input should be greater than 0"),
    ("[limits.sim]\nrps = 10\n", "limits.sim.rps: Extra inputs are not permitted"),
    ("[limits.simm]\nrpm = 10\n", "unknown provider 'simm'"),
    ("[limits.sim]\ntpm = \"lots\"\n", "limits.sim.tpm: Input should be a valid number"),
])
def test_bad_limits_are_one_line_exit_2(capsys, tmp_path: Path, toml: str, fragment: str) -> None:
    a, b = make_season(tmp_path / "a", episodes=3, free=2), make_season(tmp_path / "b", episodes=3, free=2)
    config = tmp_path / "cliffhanger.toml"
    config.write_text(toml, encoding="utf-8")
    for args in ([a.root], [a.root, b.root]):
        code, out, err = run_cli(capsys, "draft", *args, "--provider", "sim", "--config", config)
        assert code == 2
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and fragment in err
        assert not a.usage_path.exists()


def test_bad_run_settings_with_several_folders_are_one_line_before_anything_runs(capsys, tmp_path: Path) -> None:
    a, b = make_season(tmp_path / "a", episodes=3, free=2), make_season(tmp_path / "b", episodes=3, free=2)
    code, out, err = run_cli(capsys, "draft", a.root, b.root, "--provider", "sim", "--concurrency", "0")
    assert code == 2 and err.strip() == "error: --concurrency must be at least 1"


# ---- progress of several seasons ------------------------------------------------------------------------


def test_plain_progress_lines_name_their_season_and_the_table_has_a_row_each(capsys) -> None:
    import io

    from rich.console import Console

    from cliffhanger.app.progress import SeasonsProgress

    with SeasonsProgress(live=False) as p:
        a = p.add("a", "The Heiress", 12, 3, UsageLog())
        b = p.add("b", "千金归来", 8, 0, UsageLog())
        a("step", 4, "writer: draft")
        b("accepted", 1, "overall 7.0")
        p.finish("b", "done")
    lines = [ln.split(" | ")[0] for ln in capsys.readouterr().out.splitlines()]
    assert lines == ["[a] ep 4: writer: draft", "[b] ep 1: accepted (overall 7.0)", "[b] done"]
    out = io.StringIO()
    Console(file=out, width=150).print(p._render())
    table = out.getvalue()
    assert "The Heiress" in table and "4/12" not in table and "3/12" in table and "1/8" in table
    assert "ep 4: writer: draft" in table
