"""`cliffhanger submit DIR [DIR ...] --server URL [--follow]`: seasons drafted by a LangGraph server.

One thread per season (uuid5 of its id, the thread `cliffhanger draft --checkpoint-url` uses too), so a
season resumes on any server that shares its checkpoints: a paused arc review is approved, an interrupted
run continues, a finished or new one starts from its entry (every node skips what the folder already
holds). The server reads and writes the season folder itself: it must see it at the same absolute path.
With --follow, progress comes from the runs' custom stream events and each season's end is printed as
`cliffhanger draft` prints it; Ctrl-C cancels the runs and says how to resume.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cliffhanger.agents.errors import UserError, one_line
from cliffhanger.agents.server.request import GRAPH_ID, SeasonRequest, thread_id
from cliffhanger.agents.state import RunSettings

EXIT_STOPPED = 130


@dataclass(frozen=True)
class SubmitRequest:
    directories: tuple[Path, ...]
    server: str
    follow: bool = False
    run: RunSettings = RunSettings()


@dataclass
class Submitted:
    label: str
    folder: Path
    thread: str
    season_id: str
    run_id: str = ""
    code: int = 0
    line: str = ""


def submit(req: SubmitRequest, say: Callable[[str], None] = print) -> int:
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
        seasons.append(Submitted(label, folder.resolve(), thread_id(store.season_id()), store.season_id()))
    return asyncio.run(_submit(req, seasons, say))


async def _submit(req: SubmitRequest, seasons: list[Submitted], say: Callable[[str], None]) -> int:
    import httpx
    from langgraph_sdk import get_client

    from cliffhanger.app.many_seasons import worst

    client = get_client(url=req.server)
    await _check_server(client, req.server)
    modes = ["custom", "updates"]
    runnable = []
    for s in seasons:
        try:
            runnable.append((s, await _how(client, s)))
        except UserError as exc:
            s.code, s.line = 2, one_line(str(exc), 400)
            say(f"{s.label}: {s.line}")
    if not req.follow:
        for s, how in runnable:
            try:
                run = await client.runs.create(s.thread, GRAPH_ID, **_run_args(s, req.run, how))
            except httpx.HTTPStatusError as exc:
                s.code, s.line = 2, _refused(exc)
                say(f"{s.label}: {s.line}")
                continue
            s.run_id = str(run["run_id"])
            say(f"{s.label}: submitted to {req.server} (thread {s.thread}, run {s.run_id})")
        if any(s.run_id for s, _ in runnable):
            say("follow them with `cliffhanger status DIR`, or submit again with --follow to wait")
        return worst([s.code for s in seasons])
    try:
        await asyncio.gather(*(_follow(client, s, req, how, modes, say) for s, how in runnable))
    except asyncio.CancelledError:
        started = [s for s, _ in runnable if s.run_id]
        await asyncio.gather(*(client.runs.cancel(s.thread, s.run_id) for s in started), return_exceptions=True)
        say("stopped: the runs were cancelled at their current step; submit the same folders again to resume")
        return EXIT_STOPPED
    for s in seasons:
        if s.line:
            say(f"{s.label}: {s.line}")
    return worst([s.code for s in seasons])


def _run_args(s: Submitted, settings: RunSettings, how: dict[str, Any]) -> dict[str, Any]:
    return {"context": SeasonRequest.of(s.folder, settings).wire(), "multitask_strategy": "reject",
            "durability": "sync", **how}


def _refused(exc: Any) -> str:
    if exc.response.status_code == 409:
        return "already has a run on the server: wait for it to finish (or stop it), then submit again"
    return f"the server refused the run ({exc.response.status_code}): {one_line(exc.response.text, 300)}"


async def _check_server(client: Any, url: str) -> None:
    import httpx

    try:
        graphs = await client.assistants.search(graph_id=GRAPH_ID, limit=1)
    except (httpx.HTTPError, OSError) as exc:
        raise UserError(f"no server answers at {url} ({exc.__class__.__name__}): start one with `cliffhanger serve` "
                        "and pass the URL it prints") from None
    if not graphs:
        raise UserError(f"the server at {url} serves no '{GRAPH_ID}' graph: start it with `cliffhanger serve`")


async def _how(client: Any, s: Submitted) -> dict[str, Any]:
    """How the season's next run continues it from where its thread is: approve a paused arc review, resume an
    interrupted run, or start from the entry."""
    await client.threads.create(thread_id=s.thread, if_exists="do_nothing")
    thread = await client.threads.get(s.thread)
    if thread.get("status") == "busy":
        raise UserError("already has a run on the server: wait for it to finish (or stop it), then submit again")
    state = await client.threads.get_state(s.thread)
    if state.get("interrupts"):
        return {"command": {"resume": "approve"}}
    if state.get("next"):
        return {"input": None}
    return {"input": {"season_id": s.season_id, "stop": ""}}


async def _follow(client: Any, s: Submitted, req: SubmitRequest, how: dict[str, Any], modes: list[str],
                  say: Callable[[str], None]) -> None:
    import httpx

    error = ""
    try:
        async for part in client.runs.stream(s.thread, GRAPH_ID, stream_mode=modes, **_run_args(s, req.run, how)):
            if part.event == "metadata" and isinstance(part.data, dict) and not s.run_id:
                s.run_id = str(part.data.get("run_id", ""))
                say(f"{s.label}: submitted to {req.server} (thread {s.thread}, run {s.run_id})")
            elif part.event == "custom" and isinstance(part.data, dict):
                kind, ep, detail = part.data.get("kind"), part.data.get("episode"), part.data.get("detail", "")
                if kind in ("step", "accepted", "notice"):
                    say(f"{s.label}: " + (f"episode {ep}: " if ep else "") + one_line(str(detail), 200))
            elif part.event == "error" and isinstance(part.data, dict):
                error = one_line(str(part.data.get("message") or part.data.get("error") or "error"), 300)
    except httpx.HTTPStatusError as exc:
        s.code, s.line = 2, _refused(exc)
        return
    status = (await client.runs.get(s.thread, s.run_id)).get("status", "") if s.run_id else "error"
    s.code, s.line = outcome(s.folder, status, error)


def outcome(folder: Path, status: str, error: str) -> tuple[int, str]:
    """(exit code, the line that says how a season's run ended), from the season's report (written by the
    server's run whatever the end) and the run's status."""
    from cliffhanger.agents.season.store import SeasonStore

    store = SeasonStore(folder)
    stopped = _stopped(store.report_path)
    if status == "success":
        if stopped.startswith("arc_review"):
            return 0, f"the arc is ready for your review: {store.arc_path}; submit again to approve it and continue"
        if stopped.startswith("until"):
            return 0, "stopped as asked (--until); submit again to continue"
        return 0, f"season complete ({stopped or 'done'}); report: {store.report_path}"
    if status == "interrupted":
        return EXIT_STOPPED, "the run was cancelled at a step boundary; submit again to resume"
    reason = stopped.partition("(")[2].rstrip(")") if "(" in stopped else ""
    if stopped.startswith("budget") and "internal error" in error.lower():
        return 2, reason or "stopped at its budget"
    if error and "internal error" not in error.lower():  # a refusal (RunRefused) or a message the server shows
        return 2, error
    # The server shows most errors as "an internal error": the season's report has the run's own message.
    return 1, f"the run failed: {reason or error or status}; submit again to resume once it is fixed"


def _stopped(report: Path) -> str:
    try:
        text = report.read_text(encoding="utf-8")
    except OSError:
        return ""
    return next((ln.removeprefix("- Stopped:").strip() for ln in text.splitlines() if ln.startswith("- Stopped:")), "")
