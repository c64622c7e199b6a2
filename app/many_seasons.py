"""`cliffhanger draft DIR DIR ...`: several seasons drafted side by side in one process.

One `asyncio.run`; each season goes through the same `run_season` as a lone one, with its own lock, folder,
checkpoints, usage log, budget and report. Their model clients are per-season copies of one crew
(`Crew.for_season`): the servers it started (sim, bundled model) run once, and every call goes through the
process's endpoint limiters (`call_limits.process_limits`, set from `[limits]` and --concurrency). One
season failing (a damaged folder, a lock another process holds, an error) does not stop the others; it is
named at the end, and the exit code is the worst of the seasons' (2 bad input, 1 failure, 130 stopped, 0).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cliffhanger.agents.errors import UserError, one_line
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.state import RunSettings
from cliffhanger.app.console import console, err_console, untrusted
from cliffhanger.app.progress import SeasonsProgress
from cliffhanger.app.seasons import (
    DraftRequest,
    _dry_run,
    configure_limits,
    open_room_crew,
    print_arc_audit,
    run_outcome,
    with_video_prices,
)
from cliffhanger.app.settings import Settings, load_settings

if TYPE_CHECKING:
    from cliffhanger.agents.llm.client import ModelClient
    from cliffhanger.agents.llm.crew import Crew
    from cliffhanger.agents.state import Event

_SEVERITY = {0: 0, 130: 1, 1: 2, 2: 3}  # worst last: bad input, failure, stopped, done


def worst(codes: list[int]) -> int:
    """The exit code of several seasons: the worst of theirs."""
    return max(codes, key=lambda c: _SEVERITY.get(c, 2), default=0)


@dataclass
class SeasonOutcome:
    label: str
    directory: Path
    code: int = 0
    line: str = ""      # how the run ended, for stdout
    error: str = ""     # the one-line error of a season that failed or was refused


def check_distinct(directories: tuple[Path, ...]) -> None:
    """UserError when two arguments name the same season folder (before anything runs)."""
    seen: dict[str, Path] = {}
    for d in directories:
        key = os.path.realpath(d)
        if key in seen:
            same = f"{d} is given twice" if str(d) == str(seen[key]) else f"{seen[key]} and {d} are the same folder"
            raise UserError(f"{same}: give each season folder once")
        seen[key] = d


def season_labels(directories: tuple[Path, ...]) -> list[str]:
    """What names each season in the progress and the summary: its folder's name, or the path as given
    where two folders share a name."""
    names = [d.resolve().name or str(d) for d in directories]
    return [n if names.count(n) == 1 else str(d) for n, d in zip(names, directories, strict=True)]


def draft_seasons(req: DraftRequest) -> int:
    """Draft (or resume) every season of `req.directories` side by side; the worst exit code of them."""
    from cliffhanger.agents.run import check_options

    dirs = req.directories
    check_distinct(dirs)
    check_options(req.run)  # what no season could run with: one line, exit 2, before anything runs
    settings = load_settings(req.config, req.flags)  # bad settings: one line, exit 2, nothing ran
    if req.dry_run:
        return _dry_runs(dirs, settings, req)
    configure_limits(settings, req.run)
    outcomes = [SeasonOutcome(label, d) for label, d in zip(season_labels(dirs), dirs, strict=True)]
    stores: dict[str, SeasonStore] = {}
    for out in outcomes:
        try:
            store = SeasonStore.open(out.directory)
            store.spec()
            stores[out.label] = store
        except UserError as exc:
            out.code, out.error = 2, one_line(str(exc), 400)
    if stores:
        root_usage = UsageLog()  # the crew's own log: models asked of servers; each season logs to its own
        with open_room_crew(settings, root_usage) as crew, SeasonsProgress(live=req.live) as progress:
            asyncio.run(_draft_all(crew, stores, outcomes, with_video_prices(req.run, settings), progress))
    return _report(outcomes, stores)


async def _draft_all(crew: Crew[ModelClient], stores: dict[str, SeasonStore], outcomes: list[SeasonOutcome],
                     options: RunSettings, progress: SeasonsProgress) -> None:
    stop = threading.Event()  # Ctrl-C stops every season at its next step boundary
    runs = []
    for out in outcomes:
        store = stores.get(out.label)
        if store is None:
            continue
        spec = store.spec()
        usage = UsageLog(store.usage_path)
        emit = progress.add(out.label, spec.title, spec.episodes, len(store.accepted_episodes()), usage)
        runs.append(_draft_one(out, store, crew.for_season(usage), usage, options, emit, stop, progress))
    await asyncio.gather(*runs)


async def _draft_one(out: SeasonOutcome, store: SeasonStore, crew: Crew[ModelClient], usage: UsageLog,
                     options: RunSettings, emit: Event, stop: threading.Event, progress: SeasonsProgress) -> None:
    from cliffhanger.agents.run import run_season  # loads langgraph: only when seasons run
    from cliffhanger.app.error_log import log_traceback

    try:
        result = await run_season(store, crew, options, emit=emit, stop=stop)
    except UserError as exc:
        out.code, out.error = 2, one_line(str(exc), 400)
    except asyncio.CancelledError:  # a second Ctrl-C
        out.code, out.error = 130, "interrupted"
    except Exception as exc:  # noqa: BLE001 - one season's bug must not stop the others
        log = log_traceback()
        out.code, out.error = 1, f"internal error: {exc.__class__.__name__}: {one_line(str(exc), 200)} (traceback in {log})"
    else:
        out.code, text = run_outcome(store, result, options)
        t = usage.totals()
        if result.stop == "budget":
            out.error = one_line(text, 400)
        else:
            out.line = f"{text} ({result.wall_s:.0f} s, {t.calls} calls, ${t.cost_usd:.4f} this run)"
    progress.finish(out.label, {0: "done", 130: "stopped"}.get(out.code, "failed (named at the end)"))


def _report(outcomes: list[SeasonOutcome], stores: dict[str, SeasonStore]) -> int:
    """Each season's last line, then the seasons that failed, one line each; the worst exit code."""
    from cliffhanger.agents.season.report import audit_arc

    out = console()
    for o in outcomes:
        if o.line:
            out.print(untrusted(f"[{o.label}] {o.line}"), soft_wrap=True)
            store = stores.get(o.label)
            if store is not None and "arc is ready for your review" in o.line:
                audit = audit_arc(store)
                if audit is not None:
                    print_arc_audit([f.model_dump(mode="json") for f in audit.findings], list(audit.skipped))
    failed = [o for o in outcomes if o.error]
    if failed:
        err = err_console()
        names = ", ".join(o.label for o in failed)
        err.print(untrusted(f"{len(failed)} of {len(outcomes)} seasons did not finish: {names}"), soft_wrap=True)
        for o in failed:
            err.print(untrusted(f"error: {o.label} ({o.directory}): {o.error}"), soft_wrap=True)
    return worst([o.code for o in outcomes])


def _dry_runs(dirs: tuple[Path, ...], settings: Settings, req: DraftRequest) -> int:
    """--dry-run with several folders: each in turn, against its own simulator."""
    codes = []
    for label, d in zip(season_labels(dirs), dirs, strict=True):
        console().print(untrusted(f"[{label}]"), soft_wrap=True)
        try:
            store = SeasonStore.open(d)
            codes.append(_dry_run(store, settings, dataclasses.replace(req, directory=d, more=())))
        except UserError as exc:
            err_console().print(untrusted(f"error: {label} ({d}): {one_line(str(exc), 400)}"), soft_wrap=True)
            codes.append(2)
    return worst(codes)

