"""A season's run on a LangGraph server, from the client's side: what `cliffhanger submit` and
`cliffhanger eval --server` share.

One thread per season (uuid5 of its id), so a season resumes on any server that shares its checkpoints:
a paused arc review is approved, an interrupted run continues, a finished or new one starts from its entry
(every node skips what the folder already holds). The server reads and writes the season folder itself, so
it must see it at the same absolute path. How a run ended is read from the season's report, which the
server's run writes whatever happened: the server itself shows most errors as "an internal error".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cliffhanger.agents.errors import UserError, one_line
from cliffhanger.agents.server.request import GRAPH_ID, SeasonRequest

EXIT_STOPPED = 130
STREAM_MODES = ["custom", "updates"]


@dataclass
class ServerRun:
    """One season's run on the server: where it is, and (once it ends) its exit code and closing line."""

    label: str
    folder: Path
    thread: str
    season_id: str
    run_id: str = ""
    code: int = 0
    line: str = ""
    stopped: str = ""  # the report's "Stopped:" line after the run ("done", "budget (...)", ...)


async def check_server(client: Any, url: str) -> None:
    """UserError (one line, with the fix) unless a server that serves the season graph answers at `url`."""
    import httpx

    try:
        graphs = await client.assistants.search(graph_id=GRAPH_ID, limit=1)
    except (httpx.HTTPError, OSError) as exc:
        raise UserError(f"no server answers at {url} ({exc.__class__.__name__}): start one with `cliffhanger serve` "
                        "and pass the URL it prints") from None
    if not graphs:
        raise UserError(f"the server at {url} serves no '{GRAPH_ID}' graph: start it with `cliffhanger serve`")


async def how_to_continue(client: Any, run: ServerRun) -> dict[str, Any]:
    """How the season's next run continues it from where its thread is: approve a paused arc review, resume an
    interrupted run, or start from the entry. UserError when the season already has a run going."""
    await client.threads.create(thread_id=run.thread, if_exists="do_nothing")
    thread = await client.threads.get(run.thread)
    if thread.get("status") == "busy":
        raise UserError("already has a run on the server: wait for it to finish (or stop it), then submit again")
    state = await client.threads.get_state(run.thread)
    if state.get("interrupts"):
        return {"command": {"resume": "approve"}}
    if state.get("next"):
        return {"input": None}
    return {"input": {"season_id": run.season_id, "stop": ""}}


def run_args(context: SeasonRequest, how: dict[str, Any]) -> dict[str, Any]:
    return {"context": context.wire(), "multitask_strategy": "reject", "durability": "sync", **how}


def refused(exc: Any) -> str:
    if exc.response.status_code == 409:
        return "already has a run on the server: wait for it to finish (or stop it), then submit again"
    return f"the server refused the run ({exc.response.status_code}): {one_line(exc.response.text, 300)}"


async def follow(client: Any, run: ServerRun, url: str, context: SeasonRequest, how: dict[str, Any],
                 say: Callable[[str], None]) -> None:
    """Start the run and stream it to its end; progress lines go to `say`, the end to `run.code/line/stopped`.
    Cancelling this coroutine (Ctrl-C, an eval's stop) leaves the run for the caller to cancel."""
    import httpx

    error = ""
    try:
        async for part in client.runs.stream(run.thread, GRAPH_ID, stream_mode=STREAM_MODES, **run_args(context, how)):
            if part.event == "metadata" and isinstance(part.data, dict) and not run.run_id:
                run.run_id = str(part.data.get("run_id", ""))
                say(f"{run.label}: submitted to {url} (thread {run.thread}, run {run.run_id})")
            elif part.event == "custom" and isinstance(part.data, dict):
                kind, ep, detail = part.data.get("kind"), part.data.get("episode"), part.data.get("detail", "")
                if kind in ("step", "accepted", "notice"):
                    say(f"{run.label}: " + (f"episode {ep}: " if ep else "") + one_line(str(detail), 200))
            elif part.event == "error" and isinstance(part.data, dict):
                error = one_line(str(part.data.get("message") or part.data.get("error") or "error"), 300)
    except httpx.HTTPStatusError as exc:
        run.code, run.line = 2, refused(exc)
        return
    status = (await client.runs.get(run.thread, run.run_id)).get("status", "") if run.run_id else "error"
    run.stopped = stopped_line(run.folder)
    run.code, run.line = outcome(run.folder, status, error, run.stopped)


CANCEL_WAIT_S = 30.0


async def cancel_runs(client: Any, runs: list[ServerRun]) -> None:
    """Cancel every started run and wait (up to CANCEL_WAIT_S) until each has stopped at its current step, so a
    submit right after finds the season free; errors are ignored, the runs may have ended."""
    started = [r for r in runs if r.run_id]
    cancels = asyncio.gather(*(client.runs.cancel(r.thread, r.run_id, wait=True) for r in started),
                             return_exceptions=True)
    try:
        await asyncio.wait_for(cancels, CANCEL_WAIT_S)
    except TimeoutError:
        pass


async def run_to_end(url: str, run: ServerRun, context: SeasonRequest, say: Callable[[str], None]) -> ServerRun:
    """One season drafted on the server to the end of its run (the eval's way): start or resume it, follow it,
    and cancel it on the server if this coroutine is cancelled. UserError when the server refuses it."""
    from langgraph_sdk import get_client

    client = get_client(url=url)
    await check_server(client, url)
    how = await how_to_continue(client, run)
    try:
        await follow(client, run, url, context, how, say)
    except asyncio.CancelledError:
        await asyncio.shield(cancel_runs(client, [run]))
        raise
    return run


def outcome(folder: Path, status: str, error: str, stopped: str) -> tuple[int, str]:
    """(exit code, the line that says how a season's run ended), from the season's report's `stopped` line
    (written by the server's run whatever the end) and the run's status."""
    from cliffhanger.agents.season.store import SeasonStore

    store = SeasonStore(folder)
    if status == "success" and not stopped.startswith("budget"):
        if stopped.startswith("arc_review"):
            return 0, f"the arc is ready for your review: {store.arc_path}; submit again to approve it and continue"
        if stopped.startswith("until"):
            return 0, "stopped as asked (--until); submit again to continue"
        return 0, f"season complete ({stopped or 'done'}); report: {store.report_path}"
    if status == "interrupted":
        return EXIT_STOPPED, "the run was cancelled at a step boundary; submit again to resume"
    reason = stopped.partition("(")[2].rstrip(")") if "(" in stopped else ""
    if stopped.startswith("budget") and (status == "success" or "internal error" in error.lower()):
        return 2, reason or "stopped at its budget"
    if error and "internal error" not in error.lower():  # a refusal (RunRefused) or a message the server shows
        return 2, error
    # The server shows most errors as "an internal error": the season's report has the run's own message.
    return 1, f"the run failed: {reason or error or status}; submit again to resume once it is fixed"


def stopped_line(folder: Path) -> str:
    """The report's `- Stopped:` line ("" without a report)."""
    from cliffhanger.agents.season.store import SeasonStore

    try:
        text = SeasonStore(folder).report_path.read_text(encoding="utf-8")
    except OSError:
        return ""
    return next((ln.removeprefix("- Stopped:").strip() for ln in text.splitlines() if ln.startswith("- Stopped:")), "")
