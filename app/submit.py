"""`cliffhanger submit DIR [DIR ...] --server URL [--follow]`: seasons drafted by a LangGraph server.

Each season is a thread of the server (agents/server/client.py: how a run starts or resumes, how it ends).
With --follow, progress comes from the runs' custom stream events and each season's end is printed as
`cliffhanger draft` prints it; Ctrl-C cancels the runs and says how to resume.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cliffhanger.agents.errors import UserError, one_line
from cliffhanger.agents.server.client import EXIT_STOPPED, ServerRun
from cliffhanger.agents.server.request import GRAPH_ID, SeasonRequest, thread_id
from cliffhanger.agents.state import RunSettings


@dataclass(frozen=True)
class SubmitRequest:
    directories: tuple[Path, ...]
    server: str
    follow: bool = False
    run: RunSettings = RunSettings()


def _say(line: str) -> None:
    print(line, flush=True)  # a line at a time, also into a pipe or a log


def submit(req: SubmitRequest, say: Callable[[str], None] = _say) -> int:
    """Start or resume every season of `req` on the server; with `follow`, wait for them. The exit code is the
    worst of the seasons' (as `cliffhanger draft`'s)."""
    from cliffhanger.agents.run import check_options
    from cliffhanger.agents.season.store import SeasonStore
    from cliffhanger.app.many_seasons import check_distinct, season_labels
    from cliffhanger.app.serve import require_serve_extra

    require_serve_extra()
    check_distinct(req.directories)
    check_options(req.run)
    if req.run.checkpoint_url is not None:
        raise UserError("--checkpoint-url is the server's (cliffhanger serve --checkpoint-url), not submit's")
    seasons = []
    for label, folder in zip(season_labels(req.directories), req.directories, strict=True):
        store = SeasonStore.open(folder)  # a damaged or missing folder: one line, exit 2, nothing submitted
        store.spec()
        seasons.append(ServerRun(label, folder.resolve(), thread_id(store.season_id()), store.season_id()))
    return asyncio.run(_submit(req, seasons, say))


async def _submit(req: SubmitRequest, seasons: list[ServerRun], say: Callable[[str], None]) -> int:
    import httpx
    from langgraph_sdk import get_client

    from cliffhanger.agents.server.client import (
        cancel_runs,
        check_server,
        follow,
        how_to_continue,
        refused,
        run_args,
    )
    from cliffhanger.app.many_seasons import worst

    client = get_client(url=req.server)
    await check_server(client, req.server)
    runnable = []
    for s in seasons:
        try:
            runnable.append((s, await how_to_continue(client, s)))
        except UserError as exc:
            s.code, s.line = 2, one_line(str(exc), 400)
            say(f"{s.label}: {s.line}")
    if not req.follow:
        for s, how in runnable:
            try:
                run = await client.runs.create(s.thread, GRAPH_ID, **run_args(SeasonRequest.of(s.folder, req.run), how))
            except httpx.HTTPStatusError as exc:
                s.code, s.line = 2, refused(exc)
                say(f"{s.label}: {s.line}")
                continue
            s.run_id = str(run["run_id"])
            say(f"{s.label}: submitted to {req.server} (thread {s.thread}, run {s.run_id})")
        if any(s.run_id for s, _ in runnable):
            say("follow them with `cliffhanger status DIR`, or submit again with --follow to wait")
        return worst([s.code for s in seasons])
    try:
        await asyncio.gather(*(follow(client, s, req.server, SeasonRequest.of(s.folder, req.run), how, say)
                               for s, how in runnable))
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this task
        await cancel_runs(client, [s for s, _ in runnable])
        say("stopped: the runs were cancelled at their current step; submit the same folders again to resume")
        return EXIT_STOPPED
    for s in seasons:
        if s.line:
            say(f"{s.label}: {s.line}")
    return worst([s.code for s in seasons])
