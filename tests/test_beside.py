"""Shot lists run beside the episode loop: the next episode never waits for the previous one's shot list, a
shot list that fails fails the run and is planned by the next one, and a run ends only when its shot lists do."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from season_kit import make_season, run, sim_models

from cliffhanger.agents.errors import ModelError
from cliffhanger.agents.llm.usage import UsageLog, read_usage


def _hold(model: Any, before: Any) -> None:
    """Run `before(episode)` ahead of each of `model`'s structured calls."""
    real = model.structured

    async def structured(*args: Any, **kwargs: Any) -> Any:
        await before(kwargs.get("episode"))
        return await real(*args, **kwargs)

    model.structured = structured


def test_the_next_episodes_reviews_do_not_wait_for_the_previous_shot_list(tmp_path: Path, sim_url: str) -> None:
    # Episode 1's shot list cannot finish until episode 2's critic has been asked: if shot lists still ran as
    # a graph step, the step after episode 2's draft (critic and continuity) would wait for it, and neither
    # would ever go.
    store = make_season(tmp_path / "s", 3, free=2)
    models = sim_models(sim_url, UsageLog(store.usage_path))
    critic_on_2 = asyncio.Event()
    order: list[str] = []

    async def shots_wait(episode: int | None) -> None:
        if episode == 1:
            try:
                await asyncio.wait_for(critic_on_2.wait(), 30)
            except TimeoutError:
                raise AssertionError("episode 2's critic waited for episode 1's shot list") from None
            order.append("shots 1 after critic 2")

    async def critic_mark(episode: int | None) -> None:
        if episode == 2:
            critic_on_2.set()

    _hold(models["shots"], shots_wait)
    _hold(models["critic"], critic_mark)
    result = run(store, models)
    assert result.stop == "done" and store.accepted_episodes() == [1, 2, 3]
    assert order == ["shots 1 after critic 2"]
    assert all(store.shots(ep) is not None for ep in (1, 2, 3))  # the run ended only once all were planned


def test_a_failed_shot_list_fails_the_run_and_the_next_run_plans_it(tmp_path: Path, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 3, free=2)
    usage = UsageLog(store.usage_path)
    models = sim_models(sim_url, usage)

    async def refuse(episode: int | None) -> None:
        if episode == 1:
            raise ModelError("the shot planner's endpoint refused episode 1")

    _hold(models["shots"], refuse)
    with pytest.raises(ModelError, match="refused episode 1"):
        run(store, models)
    assert store.shots(1) is None and 1 in store.accepted_episodes()
    drafts = [r.episode for r in read_usage(store.usage_path) if r.role == "writer"]

    assert run(store, sim_models(sim_url, usage)).stop == "done"
    assert all(store.shots(ep) is not None for ep in (1, 2, 3))
    again = [r.episode for r in read_usage(store.usage_path) if r.role == "writer"][len(drafts):]
    assert 1 in drafts and 1 not in again  # the accepted episode is not drafted again, only its shot list planned


def test_until_waits_for_the_shot_lists_in_flight(tmp_path: Path, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 4, free=2)
    models = sim_models(sim_url, UsageLog(store.usage_path))
    released = asyncio.Event()

    async def slow(episode: int | None) -> None:
        if episode == 2:  # the last shot list of the run still being planned when the gate says stop
            await asyncio.sleep(0.5)
            released.set()

    _hold(models["shots"], slow)
    assert run(store, models, until=2).stop == "until"
    assert released.is_set() and store.shots(1) is not None and store.shots(2) is not None
    assert store.shots(3) is None
