"""The crew (one typed model per role, attached to a run in one place), the role names defined once, and
typed usage totals read from usage.jsonl."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

import pytest
from season_kit import make_season, tree_hash

from cliffhanger.agents.errors import ConfigError
from cliffhanger.agents.llm.call_limits import Budget, BudgetExhausted, CallLimiter
from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.crew import Crew, RoleModel, open_crew
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.role_names import JUDGE, ROLES, ROOM_ROLES
from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.llm.usage import UsageLog, UsageRecord, UsageTotals, read_usage, usage_summary
from cliffhanger.agents.run import run_season
from cliffhanger.agents.state import RunSettings
from cliffhanger.memory.embeddings import HashEmbedding

ROOT = Path(__file__).resolve().parents[1]
DEAD = "http://127.0.0.1:9/v1"  # never called: nothing here makes a model call


def client(model: str, role: str = "writer", provider: str = "openai-compatible") -> ModelClient:
    return ModelClient(role, EndpointConfig(provider=provider, base_url=DEAD, model=model), UsageLog())


# ---- the role names ---------------------------------------------------------------------------------------------

def _spelled_role_tuples(py: Path) -> list[int]:
    """Lines where `py` writes a literal collection of strings holding every room role."""
    lines = []
    for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            strings = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
            if set(ROOM_ROLES) <= strings:
                lines.append(node.lineno)
    return lines


# The room is being split (issue 15); its DRAFT_ROLES goes over to ROOM_ROLES with that work.
NOT_YET: set[str] = set()


def test_the_role_names_are_written_in_one_place() -> None:
    files = [py for top in ("agents", "app", "evals", "scripts", "tests") for py in (ROOT / top).rglob("*.py")]
    found = {str(py.relative_to(ROOT)): lines for py in files if (lines := _spelled_role_tuples(py))}
    assert "agents/llm/role_names.py" in found, "the finder does not see the definition"
    del found["agents/llm/role_names.py"]
    assert {f: lines for f, lines in found.items() if f not in NOT_YET} == {}
    assert ROLES == (*ROOM_ROLES, JUDGE) and len(set(ROLES)) == 6


def test_the_finder_sees_a_spelled_tuple(tmp_path: Path) -> None:
    py = tmp_path / "m.py"
    py.write_text('X = 1\nR = ("shots", "critic", "writer", "continuity", "showrunner")\nS = ("writer", "critic")\n')
    assert _spelled_role_tuples(py) == [2]


# ---- the crew and what a run attaches ---------------------------------------------------------------------------

def test_attach_sets_the_runs_limiter_budget_and_ticker_on_every_model() -> None:
    crew = Crew.of({"writer": client("gpt-4o-mini"), "critic": client("deepseek-chat", "critic"),
                    "shots": ScriptedClient("shots", {})})
    limiter, budget = CallLimiter(3), Budget(100.0)

    def tick(role: str, episode: int | None, n: int, seconds: float) -> None:
        pass

    crew.attach(budget=budget, limiter=limiter, on_tokens=tick)
    assert len(crew) == 3 and set(crew) == {"writer", "critic", "shots"}
    assert all(m.limiter is limiter and m.budget is budget and m.on_tokens is tick for m in crew.values())
    assert crew.budget is budget and crew.limiter is limiter
    crew.attach(budget=None, limiter=CallLimiter(1), on_tokens=None)
    assert all(m.budget is None and m.limiter is crew.limiter for m in crew.values())
    assert Crew.of(crew) is crew


def test_attach_refuses_a_budget_when_a_model_has_no_price() -> None:
    unpriced = client("house-model-7b", "critic")
    crew = Crew.of({"writer": client("gpt-4o-mini"), "critic": unpriced})
    assert unpriced.price is None and crew["writer"].price is not None
    before = unpriced.limiter
    with pytest.raises(ConfigError) as info:
        crew.attach(budget=Budget(5.0), limiter=CallLimiter(2), on_tokens=None)
    message = str(info.value)
    assert "\n" not in message and message.startswith("--budget-usd needs prices: model house-model-7b has none")
    assert '[prices."house-model-7b"]' in message
    assert unpriced.limiter is before and unpriced.budget is None  # nothing attached
    crew.attach(budget=None, limiter=CallLimiter(2), on_tokens=None)  # no budget: no price needed
    assert unpriced.limiter is crew.limiter


def test_attach_refuses_a_budget_too_small_for_one_call() -> None:
    crew = Crew.of({"writer": client("gpt-4o")})
    with pytest.raises(BudgetExhausted, match="budget reached"):
        crew.attach(budget=Budget(crew["writer"].typical_call_cost() / 2), limiter=CallLimiter(), on_tokens=None)


def test_a_run_with_a_budget_and_an_unpriced_model_stops_before_touching_the_season(tmp_path: Path) -> None:
    store = make_season(tmp_path / "s", 3, free=2)
    before = tree_hash(store.root)
    models = {r: ScriptedClient(r, {}) for r in ROOM_ROLES} | {"writer": client("house-model-7b")}
    with pytest.raises(ConfigError, match="model house-model-7b has none"):
        asyncio.run(run_season(store, models, RunSettings(budget_usd=1.0, embedding=HashEmbedding())))
    assert tree_hash(store.root) == before


def test_open_crew_gives_every_role_a_client_and_one_limiter() -> None:
    ep = EndpointConfig(provider="openai-compatible", base_url=DEAD, model="gpt-4o-mini")
    usage = UsageLog()
    with open_crew(dict.fromkeys(ROOM_ROLES, ep), usage=usage) as crew:
        assert crew.roles == ROOM_ROLES and crew.endpoints == dict.fromkeys(ROOM_ROLES, ep)
        assert all(isinstance(c, ModelClient) and c.role == r and c.usage is usage for r, c in crew.items())
        assert {id(c.limiter) for c in crew.values()} == {id(crew.limiter)}


def test_scripted_and_real_models_have_what_a_run_needs() -> None:
    members = {n for n in dir(RoleModel) if not n.startswith("_")} | set(RoleModel.__annotations__)
    assert {"structured", "text", "stream", "budget", "limiter", "on_tokens", "price", "model_name"} <= members
    for model in (client("gpt-4o-mini"), ScriptedClient("writer", {})):
        assert all(hasattr(model, name) for name in members), type(model)


# ---- usage ------------------------------------------------------------------------------------------------------

def record(role: str, model: str, tin: int, tout: int, cost: float | None, retries: int = 0,
           latency: float = 1.0) -> UsageRecord:
    return UsageRecord(time=UsageRecord.now(), role=role, episode=1, provider="openai", model=model,
                       kind="structured", method="json_schema", tokens_in=tin, tokens_out=tout, estimated=False,
                       latency_s=latency, cost_usd=cost, attempts=1 + retries, retries=retries, outcome="ok")


RECORDS = [
    record("writer", "gpt-4o", 1000, 500, 0.25, retries=2),
    record("writer", "gpt-4o-mini", 800, 200, 0.01),
    record("critic", "gpt-4o-mini", 300, 100, 0.002, latency=0.5),
    record("shots", "house-model-7b", 400, 600, None, retries=1),
]


def test_usage_summary_totals_per_role_and_per_model() -> None:
    assert RECORDS  # a floor: totals of nothing prove nothing
    s = usage_summary(RECORDS)
    assert (s.calls, s.tokens_in, s.tokens_out, s.tokens) == (4, 2500, 1400, 3900)
    assert s.cost_usd == pytest.approx(0.262) and s.cost_unknown_calls == 1
    assert s.retries == 3 and s.latency_s == pytest.approx(3.5)
    assert list(s.by_role) == ["critic", "shots", "writer"]
    assert s.by_role["writer"] == UsageTotals(calls=2, tokens_in=1800, tokens_out=700, cost_usd=pytest.approx(0.26),
                                              cost_unknown_calls=0, retries=2, latency_s=2.0)
    assert s.by_role["shots"].cost_unknown_calls == 1 and s.by_role["shots"].cost_usd == 0
    assert s.by_model["gpt-4o-mini"] == UsageTotals(calls=2, tokens_in=1100, tokens_out=300,
                                                    cost_usd=pytest.approx(0.012), latency_s=1.5)
    assert set(s.by_model) == {"gpt-4o", "gpt-4o-mini", "house-model-7b"}
    assert sum(t.calls for t in s.by_role.values()) == sum(t.calls for t in s.by_model.values()) == s.calls
    assert usage_summary([]).calls == 0 and usage_summary([]).by_role == {}


def test_the_usage_log_totals_are_the_summary_of_its_records(tmp_path: Path) -> None:
    log = UsageLog(tmp_path / "usage.jsonl")
    for r in RECORDS:
        log.append(r)
    assert log.totals() == usage_summary(RECORDS) == usage_summary(read_usage(log.path))


def test_read_usage_reads_old_lines_and_skips_what_is_not_a_record(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    old = {"time": "2025-01-01T00:00:00.000Z", "role": "writer", "episode": 3, "model": "deepseek-chat",
           "tokens_in": 1200, "tokens_out": 300, "latency_s": 2.5, "cost_usd": 0.0004}  # before kind, retries, prompt...
    lines = [json.dumps(old), json.dumps({"role": "critic", "tokens_in": 10}), "[1, 2]",
             json.dumps({"role": "shots", "tokens_in": "many"}), json.dumps(RECORDS[0].__dict__), '{"time": "2026-']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first, partial, current = read_usage(path)
    assert (first.role, first.episode, first.model, first.tokens_in, first.tokens_out) == ("writer", 3, "deepseek-chat",
                                                                                           1200, 300)
    assert first.cost_usd == pytest.approx(0.0004) and first.latency_s == 2.5
    assert (first.retries, first.attempts, first.outcome, first.prompt, first.method) == (0, 1, "ok", None, None)
    assert partial.role == "critic" and partial.tokens_in == 10 and partial.cost_usd is None  # cost unknown
    assert current == RECORDS[0]
    assert usage_summary(read_usage(path)).cost_unknown_calls == 1
