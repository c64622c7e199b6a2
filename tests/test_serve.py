"""The room on LangGraph Server: `cliffhanger serve` (langgraph dev of the installed graph, checkpoints in a
private PostgreSQL), `cliffhanger submit` against the sim. The server runs with its blocking-call detector on."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from season_kit import make_season, tree_hash

pytest.importorskip("langgraph_api", reason="the serve extra is not installed")

from serve_kit import server_env  # noqa: E402

from cliffhanger.agents.errors import UserError  # noqa: E402
from cliffhanger.agents.llm.usage import read_usage  # noqa: E402
from cliffhanger.agents.state import RunSettings  # noqa: E402
from cliffhanger.app.serve import Server, ServeRequest, start_server  # noqa: E402
from cliffhanger.app.submit import SubmitRequest, submit  # noqa: E402


def said() -> tuple[list[str], Any]:
    lines: list[str] = []
    return lines, lines.append


def test_three_seasons_submitted_at_once_all_finish(server: Server, tmp_path: Path) -> None:
    stores = [make_season(tmp_path / f"s{i}", 2, free=1) for i in range(3)]
    lines, say = said()
    code = submit(SubmitRequest(tuple(s.root for s in stores), server.url, follow=True), say)
    assert code == 0, lines
    for s in stores:
        assert s.accepted_episodes() == [1, 2] and all(s.shots(e) is not None for e in (1, 2))
        assert any(ln.startswith(f"{s.root.name}: season complete") for ln in lines), lines
    assert any("episode 1: writer: draft" in ln for ln in lines)  # progress came from the server's stream
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "BlockingError" not in log and "allow-blocking" not in log


def test_an_arc_review_is_approved_by_submitting_again(server: Server, tmp_path: Path) -> None:
    store = make_season(tmp_path / "s", 2, free=1)
    lines, say = said()
    review = RunSettings(review_arc=True)
    assert submit(SubmitRequest((store.root,), server.url, follow=True, run=review), say) == 0
    assert any("the arc is ready for your review" in ln for ln in lines), lines
    assert store.arc() is not None and store.accepted_episodes() == []
    assert submit(SubmitRequest((store.root,), server.url, follow=True, run=review), say) == 0
    assert store.accepted_episodes() == [1, 2]


def test_a_cancelled_season_resumes_without_redoing_accepted_episodes(server: Server, tmp_path: Path) -> None:
    import asyncio

    from langgraph_sdk import get_client

    from cliffhanger.agents.server.request import thread_id

    store = make_season(tmp_path / "s", 4, free=2)
    lines, say = said()
    assert submit(SubmitRequest((store.root,), server.url), say) == 0  # not followed: the run goes on
    # A second submit while the first run is going is refused with one line.
    again, say_again = said()
    assert submit(SubmitRequest((store.root,), server.url), say_again) == 2
    assert any("already has a run on the server" in ln for ln in again), again

    deadline = time.monotonic() + 120
    while not store.accepted_episodes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.accepted_episodes(), "no episode accepted in time"

    async def cancel() -> None:
        client = get_client(url=server.url)
        runs = await client.runs.list(thread_id(store.season_id()))
        for run in runs:
            if run["status"] in ("pending", "running"):
                await client.runs.cancel(thread_id(store.season_id()), run["run_id"], wait=True)

    asyncio.run(cancel())
    kept = {ep: tree_hash(store.episode_dir(ep)) for ep in store.accepted_episodes()}
    drafted = [r.episode for r in read_usage(store.usage_path) if r.role == "writer"]
    assert submit(SubmitRequest((store.root,), server.url, follow=True), say) == 0, lines
    assert store.accepted_episodes() == [1, 2, 3, 4]
    for ep, files in kept.items():
        now = tree_hash(store.episode_dir(ep))
        assert {k: v for k, v in now.items() if k in files and k != "shots.json"} == \
            {k: v for k, v in files.items() if k != "shots.json"}  # accepted episodes byte-identical
        assert ep not in [r.episode for r in read_usage(store.usage_path) if r.role == "writer"][len(drafted):]


def test_submit_and_serve_refuse_bad_input_with_one_line(tmp_path: Path, server: Server) -> None:
    import socket

    store = make_season(tmp_path / "s", 2, free=1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(UserError, match="no server answers at"):
        submit(SubmitRequest((store.root,), f"http://127.0.0.1:{free}"), print)
    taken = int(server.url.rsplit(":", 1)[1])
    with pytest.raises(UserError, match=f"port {taken} on 127.0.0.1 is taken"):
        start_server(ServeRequest(port=taken, env={}))
    with pytest.raises(UserError, match="nothing is not a folder: create a season with"):
        submit(SubmitRequest((tmp_path / "nothing",), server.url), print)
    assert os.environ.get("CLIFFHANGER_CHECKPOINT_URL") is None  # the server's settings stay in its process


def test_the_server_reads_the_graphs_shape_without_opening_a_season(server: Server) -> None:
    import asyncio
    import json

    from langgraph_sdk import get_client

    async def shape() -> tuple[dict[str, Any], dict[str, Any]]:
        client = get_client(url=server.url)
        assistant = (await client.assistants.search(graph_id="season", limit=1))[0]
        return (await client.assistants.get_graph(assistant["assistant_id"]),
                await client.assistants.get_schemas(assistant["assistant_id"]))

    graph, schemas = asyncio.run(shape())
    nodes = {n["id"] for n in graph["nodes"]}
    assert {"plan_bible", "draft_episode", "critique", "check_continuity", "decide", "accept_episode"} <= nodes
    assert "episode" in json.dumps(schemas["state_schema"])  # the state schema reaches Studio and clients
    assert set(schemas["context_schema"]["properties"]) >= {"season", "until", "concurrency"}


def test_langgraph_json_at_the_repo_root_names_the_installed_factory() -> None:
    import importlib
    import json

    config = json.loads((Path(__file__).resolve().parents[1] / "langgraph.json").read_text(encoding="utf-8"))
    module, _, attr = config["graphs"]["season"].partition(":")
    assert callable(getattr(importlib.import_module(module), attr))


def test_a_server_killed_mid_season_and_started_again_on_the_same_postgres_loses_nothing(
        sim_for_server: str, postgres_url: str, tmp_path: Path) -> None:
    import signal

    store = make_season(tmp_path / "s", 4, free=2)
    first = start_server(ServeRequest(port=0, jobs=2, checkpoint_url=postgres_url, env=server_env(sim_for_server),
                                      state_dir=tmp_path / "server1"))
    try:
        assert submit(SubmitRequest((store.root,), first.url), print) == 0
        deadline = time.monotonic() + 120
        while not store.accepted_episodes() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(first.process.pid, signal.SIGKILL)  # kill -9, mid-season
        first.process.wait()
    finally:
        first.stop()
    kept = {ep: (store.episode_dir(ep) / "script.json").read_bytes() for ep in store.accepted_episodes()}
    assert kept and len(kept) < 4, kept
    drafted = [r.episode for r in read_usage(store.usage_path) if r.role == "writer"]
    second = start_server(ServeRequest(port=0, jobs=2, checkpoint_url=postgres_url, env=server_env(sim_for_server),
                                       state_dir=tmp_path / "server2"))  # a new server: it knows no threads
    try:
        lines, say = said()
        assert submit(SubmitRequest((store.root,), second.url, follow=True), say) == 0, lines
    finally:
        second.stop()
    assert store.accepted_episodes() == [1, 2, 3, 4]
    assert {ep: (store.episode_dir(ep) / "script.json").read_bytes() for ep in kept} == kept
    again = [r.episode for r in read_usage(store.usage_path) if r.role == "writer"][len(drafted):]
    assert not set(again) & set(kept), again


def test_a_season_whose_checkpoints_are_in_its_folder_moves_to_the_server_only_when_asked(
        server: Server, sim_for_server: str, tmp_path: Path) -> None:
    from season_kit import run, sim_models

    from cliffhanger.agents.llm.usage import UsageLog

    store = make_season(tmp_path / "s", 2, free=1)
    assert run(store, sim_models(sim_for_server, UsageLog(store.usage_path)), until=1).stop == "until"
    lines, say = said()
    assert submit(SubmitRequest((store.root,), server.url, follow=True), say) == 2
    refusal = [ln for ln in lines if "keeps its checkpoints in its own folder" in ln]
    assert refusal and "--move-checkpoints" in refusal[0], lines
    assert store.accepted_episodes() == [1] and store.checkpoint_place() == "sqlite"
    moved = RunSettings(move_checkpoints=True)
    assert submit(SubmitRequest((store.root,), server.url, follow=True, run=moved), say) == 0, lines
    assert store.accepted_episodes() == [1, 2] and store.checkpoint_place().startswith("postgresql://")


def test_cliffhanger_serve_prints_its_url_and_stops_cleanly_on_ctrl_c(sim_for_server: str, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    env = {**os.environ, **server_env(sim_for_server)}
    proc = subprocess.Popen([sys.executable, "-m", "cliffhanger.app", "serve", "--port", "0", "--state-dir",
                             str(tmp_path / "state")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("serving the room on http://127.0.0.1:"), line + (proc.stderr.read() if proc.stderr else "")
        url = line.split()[4]
        import urllib.request

        with urllib.request.urlopen(f"{url}/ok", timeout=5) as resp:  # noqa: S310 - loopback
            assert resp.status == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "server stopped" in out
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/ok", timeout=2)  # noqa: S310 - nothing answers any more
