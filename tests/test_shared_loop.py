"""The room's nodes are safe on an event loop shared with other runs: with LangGraph Server's blocking-call
detector switched on (blockbuster, as `langgraph dev` sets it up), a season drafts to the end. Season-folder,
canon and lore work runs in worker threads (`nodes.off`); a blocking call on the loop raises here as it would
fail a run on the server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from season_kit import make_season, sim_models

from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.memory.embeddings import HashEmbedding

pytest.importorskip("langgraph_runtime_inmem", reason="the serve extra is not installed")


@contextlib.contextmanager
def blocking_detector() -> Iterator[Any]:
    """The detector exactly as LangGraph Server's in-memory runtime turns it on for its runs."""
    from langgraph_runtime_inmem.queue import _enable_blockbuster

    bb = _enable_blockbuster()
    try:
        yield bb
    finally:
        bb.deactivate()


async def _draft_on_a_shared_loop(store: Any, models: Any, budget_usd: float | None = None) -> str:
    from langgraph.checkpoint.memory import InMemorySaver

    from cliffhanger.agents.graph import build_graph
    from cliffhanger.agents.llm.call_limits import BudgetExhausted
    from cliffhanger.agents.run import open_run
    from cliffhanger.agents.server.request import SeasonRequest
    from cliffhanger.agents.state import RunSettings

    async with open_run(store, models, RunSettings(embedding=HashEmbedding(), budget_usd=budget_usd),
                        signals=False) as ctx:
        graph = build_graph(InMemorySaver(), bound=ctx, context_schema=SeasonRequest)
        config = {"configurable": {"thread_id": "t"}, "recursion_limit": 500}
        with blocking_detector():
            try:
                async for _ in graph.astream({"season_id": store.season_id(), "stop": ""}, config,
                                             durability="sync", context=SeasonRequest(season=str(store.root))):
                    pass
            except BudgetExhausted:
                return "budget"
        return ctx.end.stop


def test_a_season_drafts_with_the_servers_blocking_call_detector_on(tmp_path: Path, make_sim: Any) -> None:
    url = make_sim()
    store = make_season(tmp_path / "s", 3, free=2)
    stop = asyncio.run(_draft_on_a_shared_loop(store, sim_models(url, UsageLog(store.usage_path))))
    assert stop == "done" and store.accepted_episodes() == [1, 2, 3]
    assert all(store.shots(ep) is not None for ep in (1, 2, 3))
    assert store.curve_png_path.is_file()  # the report's picture was painted off the loop, too


def test_the_detector_catches_canon_work_on_the_loop(tmp_path: Path) -> None:
    # The floor under the test above: the detector is really on, and canon work on the loop would fail.
    from cliffhanger.memory.ledger import Ledger

    ledger = Ledger(tmp_path / "canon.sqlite")

    async def on_the_loop() -> None:
        ledger.entities()

    with blocking_detector(), pytest.raises(Exception, match="Blocking call"):
        asyncio.run(on_the_loop())
    ledger.close()


def test_a_budgeted_run_in_a_fresh_process_counts_tokens_with_the_detector_on(tmp_path: Path, make_sim: Any,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The first budgeted call counts its prompt's tokens: in a fresh server process that loaded the tokenizer
    # (and looked up the temp folder, os.getcwd) on the loop, and the run failed with a BlockingError.
    import tempfile

    from cliffhanger.agents.llm.crew import open_crew
    from cliffhanger.agents.llm.endpoint import EndpointConfig
    from cliffhanger.agents.llm.profiles import Price
    from cliffhanger.agents.llm.role_names import ROOM_ROLES
    from cliffhanger.memory.tokens import encoding_for

    url = make_sim()
    store = make_season(tmp_path / "s", 2, free=1)
    monkeypatch.setattr(tempfile, "tempdir", None)  # as in a process that never asked for it
    encoding_for.cache_clear()
    endpoints = {r: EndpointConfig("sim", url, "sim-drama") for r in ROOM_ROLES}
    with open_crew(endpoints, usage=UsageLog(store.usage_path), prices={"sim-drama": Price(4.0, 4.0)}) as crew:
        stop = asyncio.run(_draft_on_a_shared_loop(store, crew, budget_usd=0.03))
    assert stop == "budget"  # stopped at its budget, not failed on a blocking call
