"""Checkpoints in PostgreSQL (`cliffhanger draft --checkpoint-url`): a season drafts, stops and resumes there as it
does with the folder's SQLite file; it moves between the two only when asked; the password never lands in the
season folder or an error."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from season_kit import make_season, run, run_cli, sim_models, tree_hash

from cliffhanger.agents.errors import ConfigError
from cliffhanger.agents.llm.usage import UsageLog, read_usage
from cliffhanger.agents.server.checkpoint import where
from cliffhanger.agents.server.request import thread_id

SECRET = "hunter2-not-in-files"


def with_password(url: str) -> str:
    """The cluster trusts every local connection: any password connects, so one can be checked for leaks."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{parts.username}:{SECRET}@{parts.hostname}:{parts.port}", parts.path, "", ""))


def writer_episodes(store) -> list[int]:  # noqa: ANN001
    return [r.episode for r in read_usage(store.usage_path) if r.role == "writer"]


def test_a_season_stops_and_resumes_from_postgres(tmp_path: Path, sim_url: str, postgres_url: str) -> None:
    url = with_password(postgres_url)
    store = make_season(tmp_path / "s", 3, free=2)
    usage = UsageLog(store.usage_path)
    stop = threading.Event()

    def emit(kind: str, episode: int | None, detail: str) -> None:
        if kind == "accepted" and episode == 1:
            stop.set()  # as Ctrl-C after the first episode

    import asyncio

    from cliffhanger.agents.run import run_season
    from cliffhanger.agents.state import RunSettings
    from cliffhanger.memory.embeddings import HashEmbedding

    first = asyncio.run(run_season(store, sim_models(sim_url, usage),
                                   RunSettings(embedding=HashEmbedding(), checkpoint_url=url), emit=emit, stop=stop))
    assert first.stop == "interrupted" and store.accepted_episodes() == [1]
    assert not store.checkpoint_path.exists()  # nothing went to the folder's SQLite file
    one = (store.episode_dir(1) / "script.json").read_bytes()
    drafted = writer_episodes(store)

    import psycopg

    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s",
                            (thread_id(store.season_id()),)).fetchone()
    assert rows is not None and rows[0] > 0  # the run's checkpoints are in Postgres, under the server's thread id

    assert run(store, sim_models(sim_url, usage), checkpoint_url=url).stop == "done"
    assert store.accepted_episodes() == [1, 2, 3]
    assert (store.episode_dir(1) / "script.json").read_bytes() == one
    assert 1 in drafted and 1 not in writer_episodes(store)[len(drafted):]  # episode 1 was not drafted again
    assert store.checkpoint_place() == where(url) and SECRET not in store.checkpoint_place()
    leaked = [name for name, _ in tree_hash(store.root).items()
              if SECRET.encode() in (store.root / name).read_bytes()]
    assert leaked == []


def test_checkpoints_move_between_the_folder_and_postgres_only_when_asked(tmp_path: Path, sim_url: str,
                                                                          postgres_url: str) -> None:
    store = make_season(tmp_path / "s", 3, free=2)
    usage = UsageLog(store.usage_path)
    assert run(store, sim_models(sim_url, usage), until=1).stop == "until"  # SQLite in the folder
    assert store.checkpoint_place() == "sqlite"
    with pytest.raises(ConfigError, match=r"keeps its checkpoints in its own folder.*--move-checkpoints"):
        run(store, sim_models(sim_url, usage), checkpoint_url=postgres_url)
    assert store.checkpoint_place() == "sqlite"  # the refusal changed nothing

    assert run(store, sim_models(sim_url, usage), until=2, checkpoint_url=postgres_url,
               move_checkpoints=True).stop == "until"
    assert store.accepted_episodes() == [1, 2] and store.checkpoint_place() == postgres_url
    with pytest.raises(ConfigError, match=r"keeps its checkpoints at postgresql://.*--checkpoint-url"):
        run(store, sim_models(sim_url, usage))

    before = writer_episodes(store)
    assert run(store, sim_models(sim_url, usage), move_checkpoints=True).stop == "done"
    assert store.accepted_episodes() == [1, 2, 3] and store.checkpoint_place() == "sqlite"
    assert set(writer_episodes(store)[len(before):]) == {3}  # back in the folder, only episode 3 was drafted


def test_bad_checkpoint_urls_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_season(tmp_path / "s", 3, free=2)
    code, out, err = run_cli(capsys, "draft", tmp_path / "s", "--checkpoint-url", f"mysql://me:{SECRET}@db/x",
                             "--provider", "sim")
    assert code == 2 and "is not a PostgreSQL URL" in err and SECRET not in err and len(err.strip().splitlines()) == 1

    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = run_cli(capsys, "draft", tmp_path / "s", "--checkpoint-url",
                             f"postgresql://me:{SECRET}@127.0.0.1:{port}/x", "--provider", "sim")
    assert code == 2 and "cannot reach the checkpoint database postgresql://me@127.0.0.1" in err, err
    assert SECRET not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s" / "checkpoints.place").exists()
