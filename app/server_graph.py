"""The season graph as LangGraph Server loads it (`langgraph.json`: "cliffhanger.app.server_graph:make_graph").

The server calls the factory for every use of the graph: a run that executes gets the season opened through
`run.open_run`, the one setup and teardown `cliffhanger draft` uses (the lock, the budget and limiter on the
models, ledger, lore index; the report at the end), and the nodes bound to it; every other use (schemas,
state reads, Studio's drawing) gets the same graph unbound, opening nothing. Progress goes out as the run's
custom stream events (`{"kind", "episode", "detail"}`, what `cliffhanger draft` prints).

The models, prices and [limits] come from the server process's settings (`cliffhanger serve` passes its
--config and flags in the environment), opened once per worker process and shared by its seasons, as
`cliffhanger draft A B C` shares them. A run whose context names its own models (an eval's config) gets
those, with the server's keys only where the server's settings name the same provider and URL; each such
set of models is opened once per worker process too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from langgraph_sdk.runtime import ServerRuntime

from cliffhanger.agents.errors import UserError, one_line
from cliffhanger.agents.graph import build_graph
from cliffhanger.agents.server.request import SeasonRequest
from cliffhanger.app.serve import CONFIG_ENV, EMBEDDING_ENV, IN_FLIGHT_ENV  # noqa: E402 - set by `cliffhanger serve`


class RunRefused(ValueError):
    """A run the server cannot start: a ValueError, so the server shows the client its message."""


def emit_to_stream(kind: str, episode: int | None, detail: str) -> None:
    """A progress event as a custom stream event of the run (nothing outside a run)."""
    from langgraph.config import get_stream_writer

    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    writer({"kind": kind, "episode": episode, "detail": detail})


@functools.cache
def server_settings() -> Any:
    """The server's settings (its --config and flags), with the process's endpoint limits configured."""
    from cliffhanger.agents.state import RunSettings
    from cliffhanger.app.seasons import configure_limits
    from cliffhanger.app.settings import load_settings

    config = os.environ.get(CONFIG_ENV)
    settings = load_settings(Path(config) if config else None, {})
    configure_limits(settings, RunSettings(concurrency=int(os.environ.get(IN_FLIGHT_ENV) or 16)))
    return settings


@functools.cache
def worker_crew() -> Any:
    """The room's models for this worker process, from the server's settings: opened on the first run."""
    from cliffhanger.agents.llm.usage import UsageLog
    from cliffhanger.app.seasons import open_room_crew

    return open_room_crew(server_settings(), UsageLog(), announce=lambda m: None)


def _own_endpoints() -> dict[str, Any]:
    """The server's own room endpoints (with their keys); none when its settings name no model."""
    from cliffhanger.agents.errors import ConfigError
    from cliffhanger.agents.llm.local import local_available
    from cliffhanger.agents.llm.role_names import ROOM_ROLES

    try:
        return dict(server_settings().endpoints(ROOM_ROLES, local_installed=local_available()))
    except ConfigError:
        return {}


_crews: dict[str, Any] = {}
_crews_lock = threading.Lock()


def request_crew(request: SeasonRequest) -> Any:
    """The crew for the models a run's context names, opened once per worker process for each set of them."""
    import json

    from cliffhanger.agents.llm.crew import open_crew
    from cliffhanger.agents.llm.usage import UsageLog
    from cliffhanger.agents.server.request import with_server_keys

    wanted = request.endpoints() or {}
    key = json.dumps([request.models, request.prices], sort_keys=True)
    with _crews_lock:
        if key in _crews:
            return _crews[key]
        settings = server_settings()
        _crews[key] = open_crew(with_server_keys(wanted, _own_endpoints()), usage=UsageLog(),
                                policy=settings.policy(), prices={**settings.price_overrides(),
                                                                  **request.price_overrides()},
                                cache_dir=settings.cache_dir, announce=lambda m: None)
        return _crews[key]


def _embedding() -> Any:
    if os.environ.get(EMBEDDING_ENV) == "hash":
        from cliffhanger.memory.embeddings import HashEmbedding

        return HashEmbedding()
    return None  # the USE model, loaded once per process


def _claim(store: Any, move: bool) -> None:
    """The season's checkpoints are kept where this server keeps them, or the run is refused (see
    `checkpoint.claim_place`); recorded in the season folder."""
    from cliffhanger.agents.server.checkpoint import ENV, MEMORY, claim_place, where

    url = os.environ.get(ENV)
    place = where(url) if url else MEMORY
    claim_place(store, place, move=move, fix_here="draft it with `cliffhanger draft`",
                fix_there=lambda at: f"submit it to a server with --checkpoint-url for {at}")
    if store.checkpoint_place() != place:
        store.record_checkpoint_place(place)


@contextlib.asynccontextmanager
async def make_graph(runtime: ServerRuntime) -> AsyncIterator[Any]:
    execution = runtime.execution_runtime
    if execution is None:  # a schema or state read: the graph's shape, nothing opened
        yield build_graph(context_schema=SeasonRequest)
        return
    from cliffhanger.agents.llm.usage import UsageLog
    from cliffhanger.agents.run import open_run
    from cliffhanger.agents.season.store import SeasonStore

    try:
        request = SeasonRequest.from_wire(dict(execution.context or {}))
        store = await asyncio.to_thread(SeasonStore.open, Path(request.season))
        await asyncio.to_thread(_claim, store, request.move_checkpoints)
        shared = worker_crew() if request.models is None else await asyncio.to_thread(request_crew, request)
        crew = shared.for_season(UsageLog(store.usage_path))
        opened = open_run(store, crew, request.settings(embedding=_embedding()), emit=emit_to_stream, signals=False)
        ctx = await opened.__aenter__()
    except UserError as exc:
        raise RunRefused(one_line(str(exc), 400)) from None
    failed: BaseException | None = None
    try:
        yield build_graph(bound=ctx, context_schema=SeasonRequest)
    except BaseException as exc:
        failed = exc
        raise
    finally:
        await opened.__aexit__(type(failed) if failed else None, failed, failed.__traceback__ if failed else None)
