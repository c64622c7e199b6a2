"""Running a season: the lock, the checkpointer, resume, signals, budget and the concurrency cap.

`run_season` is the one code path for every way a season is drafted (the CLI's overnight run, the
demo, the terminal UI, evals). It resumes from the season's checkpoint: after a crash or `kill -9`
the interrupted step runs again (nodes are idempotent), after an arc review the pause is approved,
and otherwise the graph starts over from its entry, which skips everything already on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from cliffhanger.agents.errors import StopRequested, UserError, one_line
from cliffhanger.agents.llm.call_limits import Budget, BudgetExhausted
from cliffhanger.agents.llm.crew import Crew, RoleModel
from cliffhanger.agents.llm.usage import read_usage, usage_summary
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.state import Event, RunContext, RunSettings


@dataclass(frozen=True)
class RunResult:
    stop: str           # done, until, interrupted, budget, arc_review
    accepted: list[int]
    wall_s: float
    message: str


RECENT_CALLS = 20


def recursion_limit(episodes: int, max_revisions: int) -> int:
    return 100 + episodes * 8 * (max_revisions + 2)


def check_options(options: RunSettings) -> None:
    """UserError for settings no season can run with (several seasons: checked before any of them starts)."""
    if options.until is not None and options.until < 1:
        raise UserError(f"--until {options.until} is outside every season: episodes start at 1")
    if options.concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    if options.max_revisions < 0:
        raise UserError(f"--max-revisions {options.max_revisions}: must be 0 or more (0 accepts the first draft)")
    if options.budget_usd is not None and not options.budget_usd > 0:
        raise UserError(f"--budget-usd {options.budget_usd:g}: must be more than 0 (US dollars for this run)")
    if options.checkpoint_url is not None:
        from cliffhanger.agents.server.checkpoint import check_url

        check_url(options.checkpoint_url)
    if options.target not in CLIP_LENGTHS_S:
        raise UserError(f"--target {options.target!r} is not a video model: use one of {', '.join(CLIP_LENGTHS_S)}")


async def run_season(store: SeasonStore, models: Mapping[str, RoleModel], options: RunSettings,
                     emit: Event | None = None, stop: threading.Event | None = None) -> RunResult:
    """Draft (or continue) the season in `store` with per-role `models` (a `Crew`, or scripted models by
    role); returns why it stopped. Checkpoints go to the season folder's SQLite file, or to PostgreSQL at
    `options.checkpoint_url` (`open_checkpoints` refuses a silent move between the two)."""
    from langgraph.types import Command

    from cliffhanger.agents.graph import build_graph
    from cliffhanger.agents.server.checkpoint import open_checkpoints

    started = time.monotonic()
    async with open_run(store, models, options, emit=emit, stop=stop) as ctx:
        async with open_checkpoints(store, options.checkpoint_url, move=options.move_checkpoints) as (saver, thread):
            graph = build_graph(saver)
            config = {"configurable": {"thread_id": thread},
                      "recursion_limit": recursion_limit(ctx.spec.episodes, options.max_revisions)}
            snapshot = await graph.aget_state(config)
            if snapshot.interrupts:
                run_input: Any = Command(resume="approve")
            elif snapshot.next:
                run_input = None
            else:
                run_input = {"season_id": store.season_id(), "stop": ""}
            try:
                async for _ in graph.astream(run_input, config, context=ctx, durability="sync",
                                             stream_mode="updates"):
                    pass
                ctx.end.stop = "done"
            except (StopRequested, BudgetExhausted) as exc:
                await wind_down(ctx, exc)
            await ctx.index.settled()  # the lore of the episodes accepted last, written in a thread, is in
            snapshot = await graph.aget_state(config)
            if snapshot.interrupts:
                ctx.end.stop = "arc_review"
            elif ctx.end.stop == "done":
                ctx.end.stop = snapshot.values.get("stop") or "done"
        end = ctx.end
    return RunResult(end.stop, store.accepted_episodes(), time.monotonic() - started, end.message)


@contextlib.asynccontextmanager
async def open_run(store: SeasonStore, models: Mapping[str, RoleModel], options: RunSettings, *,
                   emit: Event | None = None, stop: threading.Event | None = None,
                   signals: bool = True) -> AsyncIterator[RunContext]:
    """A run's setup and teardown, the one path for `cliffhanger draft` (through `run_season`) and the server's
    graph factory: the checks, the budget, concurrency cap and token ticker attached to every model, the
    season's lock, ledger and lore index, Ctrl-C (with `signals`); at the end, however the run ended, the
    shot lists beside the loop finished or cancelled, the report written (`RunContext.end` says why it
    stopped) and the ledger closed.

    The run's budget (`options.budget_usd`, counting what the season's usage log says was spent; without
    it, the one attached to the crew before) refuses, before anything is touched, a budget with unpriced
    models or one too small for one call.
    """
    spec, pack, spent, typical_prompt = await asyncio.to_thread(_prepare, store, options, models)
    started = time.monotonic()
    stop = stop or threading.Event()
    emit = emit or (lambda kind, episode, detail: None)

    def tokens(role: str, episode: int | None, n: int, seconds: float) -> None:
        emit("tokens", episode, f"{role}: {n:,} tokens, {(n - 1) / max(seconds, 1e-3):.1f} tok/s")

    crew = Crew.of(models)
    # --concurrency across the run, never more than a server's slots (one for the bundled model), inside the
    # endpoint limiters the crew shares with every other season of the process.
    limiter = crew.limiter.for_run(options.concurrency, name=store.root.name)
    budget = crew.budget  # an eval's, shared by its seasons and its judge; None for a fresh crew
    if options.budget_usd is not None:
        budget = Budget(options.budget_usd, spent)
    crew.attach(budget=budget, limiter=limiter, on_tokens=tokens, typical_prompt_tokens=typical_prompt)

    lock = store.lock()
    await asyncio.to_thread(lock.__enter__)
    try:
        ledger, index = await asyncio.to_thread(_open_canon, store, options)
        ctx = RunContext(store=store, spec=spec, pack=pack, models=crew, ledger=ledger, index=index,
                         settings=options, stop_requested=stop, emit=emit)
        loop = asyncio.get_running_loop()
        if signals:
            _install_signals(loop, stop)
        try:
            try:
                yield ctx
            except BaseException as exc:
                await wind_down(ctx, exc)
                raise
        finally:
            if signals:
                _remove_signals(loop, stop)
            await asyncio.to_thread(_close, ctx, time.monotonic() - started)
    finally:
        await asyncio.to_thread(lock.__exit__, None, None, None)


def _prepare(store: SeasonStore, options: RunSettings,
             models: Mapping[str, RoleModel]) -> tuple[Any, Any, float, int | None]:
    """(spec, pack, spent so far, the typical prompt of one call): the checks no run may start without, before
    the season is locked or written. The models' tokenizers are loaded here, off the event loop."""
    from cliffhanger.genres.loader import load_catalog
    from cliffhanger.memory.tokens import load_encodings

    load_encodings([None, *(getattr(getattr(m, "endpoint", None), "model", None) for m in models.values())])

    spec = store.spec()
    if options.until is not None and not 1 <= options.until <= spec.episodes:
        raise UserError(f"--until {options.until} is outside the season (episodes 1-{spec.episodes})")
    check_options(options)
    store.check()  # a damaged file is named before the run takes the lock or writes anything
    pack = load_catalog().get(spec.genre)
    spent, typical_prompt = 0.0, None
    if options.budget_usd is not None:
        records = read_usage(store.usage_path)
        spent = usage_summary(records).cost_usd
        # "One call" as this season's latest calls have been (a resumed season's prompts are longer than a new
        # one's): the largest of the last RECENT_CALLS, about one episode of every role. A run stopped at its
        # budget stopped on one of those calls, so running it again with the same budget is refused up front,
        # before the graph touches the season, instead of redoing steps that make no call and stopping again.
        recent = [r.tokens_in for r in records if r.tokens_in][-RECENT_CALLS:]
        typical_prompt = max(recent) if recent else None
    return spec, pack, spent, typical_prompt


def _open_canon(store: SeasonStore, options: RunSettings) -> tuple[Any, Any]:
    from cliffhanger.memory.ledger import Ledger
    from cliffhanger.memory.lore import LoreIndex

    ledger = Ledger(store.ledger_path)
    try:
        index = LoreIndex(store.lore_path, options.embedding)
        index.ensure_built(ledger)
        index.finish_unwritten(ledger)  # lore a killed run had not yet written (it is written in a thread)
    except BaseException:
        ledger.close()
        raise
    return ledger, index


def _close(ctx: RunContext, wall_s: float) -> None:
    from cliffhanger.agents.season.report import write_report

    try:
        Crew.of(ctx.models).flush_usage()  # the report counts what usage.jsonl holds
        write_report(ctx, ctx.end.stop, wall_s)
    finally:
        try:
            if ctx.index is not None:
                ctx.index.close()  # waits for lore still being written when the run failed
        finally:
            ctx.ledger.close()


async def wind_down(ctx: RunContext, exc: BaseException) -> None:
    """How the run ended, in `ctx.end`; the shot lists beside the loop finished (a stop, the budget: their calls
    are under way, one they could not plan is planned by the next run) or cancelled (anything else)."""
    if isinstance(exc, StopRequested | BudgetExhausted):
        for error in await ctx.beside.settle():
            ctx.emit("notice", None, f"a shot list was left for the next run: {error}")
        ctx.end.stop, ctx.end.message = ("interrupted", "") if isinstance(exc, StopRequested) else ("budget", str(exc))
        return
    await ctx.beside.cancel()
    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
        ctx.end.stop, ctx.end.message = "interrupted", ""
    else:
        from cliffhanger.agents.llm.endpoint import redact

        ctx.end.stop, ctx.end.message = "failed", redact(one_line(f"{exc.__class__.__name__}: {exc}", 400), None)


# The stop events of the runs going on in each loop: seasons drafted side by side share one handler.
_STOPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[threading.Event]] = weakref.WeakKeyDictionary()
_HANDLED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[int]] = weakref.WeakKeyDictionary()


def _install_signals(loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
    """First Ctrl-C/SIGTERM: every run of the loop stops at its next step boundary. Second Ctrl-C: stop now.
    The first run of a loop installs the handler; it stays until the last run of the loop ends."""
    stops = _STOPS.setdefault(loop, [])
    stops.append(stop)
    if len(stops) > 1:
        return []
    installed = []

    def request() -> None:
        if any(s.is_set() for s in stops):
            for task in asyncio.all_tasks(loop):
                task.cancel()
        for s in stops:
            s.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, request)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):
                pass
    _HANDLED[loop] = installed


def _remove_signals(loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
    """This run is over: forget its stop event; the last run of the loop removes the handler."""
    stops = _STOPS.get(loop, [])
    if stop in stops:
        stops.remove(stop)
    if stops:
        return
    for sig in _HANDLED.pop(loop, []):
        loop.remove_signal_handler(sig)
