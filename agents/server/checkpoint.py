"""Checkpoints in PostgreSQL (langgraph-checkpoint-postgres), for the server and `cliffhanger draft
--checkpoint-url`. The URL may carry a password: it is never written to a file or shown; what is recorded and
shown is `where(url)`, the URL without it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cliffhanger.agents.errors import ConfigError

ENV = "CLIFFHANGER_CHECKPOINT_URL"


def check_url(url: str) -> None:
    """ConfigError (one line) for a URL that is not a PostgreSQL one."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise ConfigError(f"--checkpoint-url {where(url)!r} is not a PostgreSQL URL: give "
                          "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")


def where(url: str) -> str:
    """The URL without its password (what may be recorded and shown)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@contextlib.asynccontextmanager
async def open_saver(url: str) -> AsyncIterator[Any]:
    """An AsyncPostgresSaver on `url`, its tables created or migrated; ConfigError when the database cannot be
    reached (the message names the place without the password)."""
    check_url(url)
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    except ImportError:
        raise ConfigError("PostgreSQL checkpoints need the postgres extra: pip install 'cliffhanger[postgres]'") from None
    import psycopg

    try:
        manager = AsyncPostgresSaver.from_conn_string(url)
        saver = await manager.__aenter__()
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise ConfigError(f"cannot reach the checkpoint database {where(url)}: {first.replace(url, where(url))}") from None
    try:
        await saver.setup()
        yield saver
    finally:
        await manager.__aexit__(None, None, None)


@contextlib.asynccontextmanager
async def make_saver() -> AsyncIterator[Any]:
    """The server's checkpointer (langgraph.json `checkpointer.path`): Postgres at $CLIFFHANGER_CHECKPOINT_URL."""
    url = os.environ.get(ENV)
    if not url:
        raise ConfigError(f"{ENV} is not set: start the server with `cliffhanger serve --checkpoint-url URL`")
    async with open_saver(url) as saver:
        yield saver


async def fast_commits(saver: Any) -> None:
    """Checkpoint commits without an fsync each (the saver keeps checkpoints.sqlite in WAL mode): a killed
    process loses nothing committed, and a power cut at worst the last few checkpoints, after which the run
    resumes from an earlier one (nodes are idempotent; the season folder is the record). Two fsyncs per
    step less, and fewer fsyncs queued ahead of the artifacts' own."""
    await saver.setup()
    await saver.conn.execute("PRAGMA synchronous=NORMAL")


MEMORY = "server memory"  # a server without --checkpoint-url: gone when it stops, so nothing to move


def claim_place(store: Any, wanted: str, *, move: bool, fix_here: str, fix_there: Callable[[str], str]) -> bool:
    """Check that the season's checkpoints may be kept at `wanted` (True: they are moving there); ConfigError
    (one line, with the fixes) when they are elsewhere and `move` is not given. The place is recorded by the
    caller once it is open."""
    current = store.checkpoint_place() or "sqlite"
    started = current != MEMORY and (current != "sqlite" or store.checkpoint_path.exists())
    if wanted == current or not started:
        return False
    if not move:
        here = "in its own folder (checkpoints.sqlite)" if current == "sqlite" else f"at {current}"
        fix = fix_here if current == "sqlite" else fix_there(current)
        there = {"sqlite": "in the season folder", MEMORY: "in the server's memory"}.get(wanted, f"at {wanted}")
        raise ConfigError(f"{store.root.name} keeps its checkpoints {here}: {fix}, or add --move-checkpoints to keep "
                          f"them {there} from now on (the run restarts from the season folder, which keeps every "
                          "accepted episode)")
    return True


@contextlib.asynccontextmanager
async def open_checkpoints(store: Any, url: str | None, *, move: bool = False) -> AsyncIterator[tuple[Any, str]]:
    """The season's checkpointer and thread id: SQLite in the season folder (thread: the season id, as always),
    or PostgreSQL at `url` (thread: `request.thread_id`, the one the server uses for the season). A season
    whose checkpoints are in one place is not drafted with them in another unless `move` (then the run starts
    again from the season folder, which holds every accepted episode); the place is recorded in the folder
    (`checkpoints.place`) without the password."""
    from cliffhanger.agents.server.request import thread_id

    wanted = where(url) if url else "sqlite"
    moving = claim_place(store, wanted, move=move, fix_here="draft it without --checkpoint-url",
                         fix_there=lambda place: f"pass --checkpoint-url for {place}")
    if url is None:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        if moving:  # back to the folder: what an earlier run left there is out of date
            for suffix in ("", "-wal", "-shm"):
                Path(f"{store.checkpoint_path}{suffix}").unlink(missing_ok=True)
        if store.checkpoint_place() != wanted:
            store.record_checkpoint_place(wanted)
        async with AsyncSqliteSaver.from_conn_string(str(store.checkpoint_path)) as saver:
            await fast_commits(saver)
            yield saver, store.season_id()
        return
    async with open_saver(url) as saver:  # recorded once the database answers
        thread = thread_id(store.season_id())
        if moving:  # the database may hold this season's thread from before it moved away: out of date
            await saver.adelete_thread(thread)
        if store.checkpoint_place() != wanted:
            store.record_checkpoint_place(wanted)
        yield saver, thread
