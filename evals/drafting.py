"""An eval's seasons drafted side by side, and each premise judged as soon as all its seasons exist.

Every (premise, config) season is an asyncio task; at most `EvalRequest.seasons` of them draft at once
(the others wait their turn in suite order). The servers that `local` and `sim` endpoints without a base
URL need are started once for the whole eval, and every client of the eval (seasons and judge) gets one
shared `CallLimiter`, so a one-slot server gets one call at a time from all of them; a room season's own
`pipeline.concurrency` still caps that season (run_season attaches its cap). The eval's one budget is
charged by every season and the judge.

- A season that fails (not a budget stop) is recorded with its error; the other seasons finish, and the
  premise's other judgments are still made. The eval then stops naming every failed season.
- A budget stop starts nothing new; the seasons and judgments in flight stop at their next call that does
  not fit the shared budget. What was finished is kept (a season resumes from its checkpoint, a judgment
  is appended whole or not at all; a kill leaves the same) and the same command continues.
- A failing judge stops further judging; the drafting goes on, so a re-run only judges.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cliffhanger.agents.errors import ConfigError, ModelError, UserError
from cliffhanger.agents.llm.call_limits import Budget, BudgetExhausted, CallLimiter
from cliffhanger.agents.llm.crew import RoleModel, open_crew
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.role_names import JUDGE, ROOM_ROLES
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.evals.configs import EvalConfig
from cliffhanger.evals.on_server import ServerShares, draft_on_server
from cliffhanger.evals.suites import Premise
from cliffhanger.genres.loader import load_catalog

if TYPE_CHECKING:
    from cliffhanger.evals.run import EvalRequest

class EvalStopped(UserError):
    """The eval stopped before the end (budget, judge failure); everything finished is kept."""


def season_dir(out: Path, config: str, premise: str) -> Path:
    return out / "seasons" / config / premise


BASELINE_ROLES = ("writer", "continuity")  # one prompt per episode, and the canon extraction
Key = tuple[str, str]  # (config name, premise id)
JudgePremise = Callable[[RoleModel, Premise, dict[Key, SeasonStore], asyncio.Semaphore], Awaitable[int]]


class JudgeFailed(Exception):
    """The judge failed on one judgment: `where` names it, `cause` says why."""

    def __init__(self, where: str, cause: ModelError) -> None:
        super().__init__(f"{where}: {cause}")
        self.where, self.cause = where, cause


@dataclass
class Drafted:
    """What a (partial) eval run left: finished seasons, failures, judgments made and why it stopped."""

    stores: dict[Key, SeasonStore] = field(default_factory=dict)
    failed: dict[Key, str] = field(default_factory=dict)  # season -> its error, one line
    judged: int = 0
    judge_error: JudgeFailed | None = None
    budget_stop: str | None = None
    closing: bool = False  # the run is ending (Ctrl-C, a budget stop): no new judging


def season_name(key: Key) -> str:
    return f"{key[0]}/{key[1]}"


def _resolve(req: EvalRequest, stack: contextlib.ExitStack) -> tuple[dict[str, dict[str, EndpointConfig]],
                                                                     EndpointConfig | None]:
    """Every endpoint of the eval with its server started (once per provider) and its model known."""
    wanted: dict[str, EndpointConfig] = {}
    for cfg in req.configs:
        for role in _roles(cfg):
            wanted[f"{cfg.name}\0{role}"] = cfg.endpoints[role]
    if req.judge_model is None and req.judge is not None:
        wanted[JUDGE] = req.judge
    if not any(not ep.base_url or not ep.model for ep in wanted.values()):
        resolved = wanted  # nothing to start or ask: no crew, no request
    else:
        resolved = stack.enter_context(open_crew(wanted)).endpoints
    by_config: dict[str, dict[str, EndpointConfig]] = {}
    for key, ep in resolved.items():
        if "\0" in key:
            name, role = key.split("\0")
            by_config.setdefault(name, {})[role] = ep
    return by_config, resolved.get(JUDGE)


def _roles(cfg: EvalConfig) -> tuple[str, ...]:
    return BASELINE_ROLES if cfg.pipeline.mode == "baseline" else ROOM_ROLES


async def draft_season(req: EvalRequest, cfg: EvalConfig, premise: Premise, endpoints: dict[str, EndpointConfig],
                       budget: Budget | None, limiter: CallLimiter, shares: ServerShares | None = None) -> SeasonStore:
    """One season drafted (or continued) to its last episode, on the eval's server when it has one (room
    configs only); BudgetExhausted, or a UserError when it fails."""
    root = season_dir(req.out, cfg.name, premise.id)
    store = SeasonStore.open_or_create(root, premise.spec())
    if len(store.accepted_episodes()) == premise.episodes:
        return store
    name = season_name((cfg.name, premise.id))
    req.progress(f"season {name}: started")
    started = time.monotonic()
    try:
        if req.server and cfg.pipeline.mode == "room":
            await draft_on_server(req, cfg, store, endpoints, shares or ServerShares(budget, req.seasons))
        else:
            await _draft_here(req, cfg, premise, store, endpoints, budget, limiter)
    finally:
        store.add_eval_wall(time.monotonic() - started)
    req.progress(f"season {name}: finished ({len(store.accepted_episodes())} episodes, "
                 f"{time.monotonic() - started:.1f} s)")
    return store


async def _draft_here(req: EvalRequest, cfg: EvalConfig, premise: Premise, store: SeasonStore,
                      endpoints: dict[str, EndpointConfig], budget: Budget | None, limiter: CallLimiter) -> None:
    from cliffhanger.agents.run import run_season
    from cliffhanger.agents.state import RunSettings
    from cliffhanger.evals.baseline import draft_baseline

    with open_crew(endpoints, usage=UsageLog(store.usage_path), policy=cfg.policy, prices=cfg.prices) as crew:
        # The eval's one budget: run_season keeps it, the seasons and the judge all charge it.
        crew.attach(budget=budget, limiter=limiter, on_tokens=None)
        if cfg.pipeline.mode == "baseline":
            await draft_baseline(store, load_catalog().get(premise.genre), dict(crew))
        else:
            p = cfg.pipeline
            result = await run_season(store, crew, RunSettings(
                max_revisions=p.bound, critic=p.critic, canon_memory=p.canon_memory, concurrency=p.concurrency,
                target=p.target, embedding=req.embedding))
            if result.stop == "budget":
                raise BudgetExhausted(result.message)
            if result.stop != "done":
                raise EvalStopped(f"drafting stopped ({result.stop}){': ' + result.message if result.message else ''}")


async def draft_and_judge(req: EvalRequest, budget: Budget | None, judge_premise: JudgePremise) -> Drafted:
    """Draft every season (at most `req.seasons` at once) and judge each premise once its seasons exist."""
    state = Drafted()
    limiter = CallLimiter()  # the eval's: server slots shared by every client of every season and the judge
    seats = asyncio.Semaphore(req.seasons)
    judge_slots = asyncio.Semaphore(max(4, req.seasons))
    shares = ServerShares(budget, req.seasons)  # the budget's shares held by seasons running on a server  # judgments in flight (a pair is two calls)
    left = {p.id: len(req.configs) for p in req.suite.premises}
    seasons: list[asyncio.Task[None]] = []
    judging: list[asyncio.Task[None]] = []
    with contextlib.ExitStack() as stack:
        endpoints, judge_ep = _resolve(req, stack)
        judge = req.judge_model
        if judge is None:
            if judge_ep is None:
                raise ConfigError("no judge model: pass --judge MODEL (with --judge-provider/--judge-base-url)")
            crew = stack.enter_context(open_crew({JUDGE: judge_ep}, usage=UsageLog(req.out / "judge_usage.jsonl"),
                                                 policy=req.judge_policy, prices=req.judge_prices))
            crew.attach(budget=budget, limiter=limiter, on_tokens=None)
            judge = crew[JUDGE]

        def halt(message: str) -> None:
            # No new season or judging starts; those in flight stop by themselves at their next call that
            # does not fit (the budget is shared), through their own clean stop, not a cancellation.
            if state.budget_stop is None:
                state.budget_stop, state.closing = message, True

        async def judge_one(premise: Premise) -> None:
            try:
                state.judged += await judge_premise(judge, premise, state.stores, judge_slots)
            except BudgetExhausted as exc:
                halt(str(exc))
            except JudgeFailed as exc:
                state.judge_error = state.judge_error or exc
                req.progress(f"the judge failed on {exc}; drafting goes on, judging stops")

        async def one(cfg: EvalConfig, premise: Premise) -> None:
            key = (cfg.name, premise.id)
            try:
                async with seats:
                    if state.closing:
                        return
                    state.stores[key] = await draft_season(req, cfg, premise, endpoints[cfg.name], budget, limiter,
                                                           shares)
            except BudgetExhausted as exc:
                halt(str(exc))
            except (UserError, OSError) as exc:  # ModelError, SeasonError, a stopped run, a full disk
                state.failed[key] = _one_line(exc)
                req.progress(f"season {season_name(key)}: failed: {state.failed[key]}")
            finally:
                left[premise.id] -= 1
                if not left[premise.id] and not state.closing and state.judge_error is None:
                    judging.append(asyncio.create_task(judge_one(premise)))

        seasons.extend(asyncio.create_task(one(cfg, p)) for p in req.suite.premises for cfg in req.configs)
        try:
            await asyncio.gather(*seasons, return_exceptions=True)
            while any(not t.done() for t in judging):  # a judging task may still be adding to the list
                await asyncio.gather(*judging, return_exceptions=True)
        finally:
            state.closing = True
            for task in (*seasons, *judging):
                task.cancel()
            await asyncio.gather(*seasons, *judging, return_exceptions=True)
    _reraise(seasons, judging)
    return state


def _reraise(*groups: list[asyncio.Task[Any]]) -> None:
    """A bug in a season or judging task is not a season failure: raise it as it is."""
    for tasks in groups:
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, UserError) else f"{type(exc).__name__}: {text}"
