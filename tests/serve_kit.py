"""A `cliffhanger serve` for a test module: langgraph dev of the installed graph on a free port, checkpoints in
the private PostgreSQL of pg_kit, models on a fast sim."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cliffhanger.app.serve import Server, ServeRequest, start_server


@pytest.fixture(scope="module")
def sim_for_server() -> Iterator[str]:
    from cliffhanger.agents.sim.config import SimConfig
    from cliffhanger.agents.sim.faults import FaultPlan
    from cliffhanger.agents.sim.runner import run_in_thread

    with run_in_thread(SimConfig(faults=FaultPlan(), tps=4000.0)) as url:
        yield url


SERVER_KEY = "sk-server-only-0123456789"  # the server's own key: never sent by a client, never written


def server_env(sim: str) -> dict[str, str]:
    return {"CLIFFHANGER_PROVIDER": "openai-compatible", "CLIFFHANGER_BASE_URL": sim, "CLIFFHANGER_MODEL": "sim-drama",
            "OPENAI_API_KEY": SERVER_KEY, "CLIFFHANGER_SERVE_EMBEDDING": "hash"}


@pytest.fixture(scope="module")
def server(sim_for_server: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = start_server(ServeRequest(port=0, jobs=4, checkpoint_url=postgres_url, env=server_env(sim_for_server),
                                        state_dir=tmp_path_factory.mktemp("server")))
    try:
        yield started
    finally:
        started.stop()
