"""Helpers shared by test modules (conftest puts tests/ on sys.path): seasons drafted against the sim."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from cliffhanger.agents.artifacts import SeasonSpec
from cliffhanger.agents.llm import CallPolicy, EndpointConfig, ModelClient
from cliffhanger.agents.run import RunOptions, run_season
from cliffhanger.agents.store import SeasonStore
from cliffhanger.agents.usage import UsageLog
from cliffhanger.memory.embeddings import HashEmbedding

ROLES = ("showrunner", "writer", "continuity", "critic", "shots")


def make_season(root: Path, episodes: int = 12, *, language: str = "zh", genre: str = "revenge", free: int = 4,
                runtime: int = 60) -> SeasonStore:
    spec = SeasonSpec.create(title="千金归来" if language == "zh" else "The Heiress", logline="被调包的真千金回到豪门复仇。",
                             genre=genre, language=language, episodes=episodes, runtime_s=runtime, free_episodes=free)
    return SeasonStore.create(root, spec)


def sim_models(url: str, usage: UsageLog, model: str = "sim-drama", provider: str = "sim",
               policy: CallPolicy | None = None) -> dict[str, ModelClient]:
    ep = EndpointConfig(provider=provider, base_url=url, model=model)
    return {r: ModelClient(r, ep, usage, policy or CallPolicy(backoff_base_s=0.01, backoff_max_s=0.05)) for r in ROLES}


def run(store: SeasonStore, models: dict, **options: object):  # noqa: ANN201
    return asyncio.run(run_season(store, models, RunOptions(embedding=HashEmbedding(), **options)))


def tree_hash(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """`cliffhanger ARGS` in-process: (exit code, stdout, stderr)."""
    from cliffhanger.app.cli import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
