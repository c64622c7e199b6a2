"""An eval's room seasons drafted by a LangGraph server (`cliffhanger eval --server URL`).

Each (premise, config) room season is a run on the server (agents/server/client.py), its context naming the
config's models without keys (the server fills in its own keys only for the provider and URL its settings
name them for) and the config's pipeline switches. The eval's folder must be visible to the server at the
same absolute path: the server writes the seasons there. Baseline configs are not the graph and the judge
is not a season: both stay in the eval's process.

The eval's one budget cannot be charged call by call by runs in another process, so each server season gets
a share of it, held while it runs: what is left (less the shares held) divided among the free seats (the
seasons that may still draft at once). A season that uses up its share stops at its budget, and the eval
stops as at any budget stop (raise --budget-usd and run the same command again); the run's real cost, read
from the season's usage.jsonl, is charged when it ends and its share is released.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.llm.call_limits import Budget, BudgetExhausted
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.usage import read_usage, usage_summary
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.state import RunSettings
from cliffhanger.evals.configs import EvalConfig

if TYPE_CHECKING:
    from cliffhanger.evals.run import EvalRequest


@dataclass
class ServerShares:
    """The eval's budget as shares held by the server seasons running now."""

    budget: Budget | None
    seats: int
    held: int = 0

    def take(self) -> float | None:
        """The share of a season starting now (None: no budget); BudgetExhausted when nothing is left."""
        if self.budget is None:
            return None
        b = self.budget
        left = b.limit_usd - b.spent_usd - b.reserved_usd
        if left <= 0:
            b.check(0.0)  # spent up: the usual one-line budget message
            raise BudgetExhausted(f"budget reached: ${b.spent_usd:.4f} of ${b.limit_usd:.4f} spent or held by the "
                                  "seasons running now: raise --budget-usd and run the same command again")
        share = left / max(1, self.seats - self.held)
        b.reserved_usd += share
        self.held += 1
        return share

    def settle(self, share: float | None, cost_usd: float) -> None:
        if self.budget is None or share is None:
            return
        self.budget.release(share)
        self.budget.charge(cost_usd)
        self.held -= 1


def _stamp(store: SeasonStore) -> int | None:
    try:
        return store.report_path.stat().st_mtime_ns
    except OSError:
        return None


def _cost(store: SeasonStore) -> float:
    return usage_summary(read_usage(store.usage_path)).cost_usd


async def draft_on_server(req: EvalRequest, cfg: EvalConfig, store: SeasonStore,
                          endpoints: Mapping[str, EndpointConfig], shares: ServerShares) -> None:
    """One room season run on the eval's server to its end; BudgetExhausted at its share's end, UserError when
    it fails or the server refuses it (the message the season's report or the server gives)."""
    from cliffhanger.agents.server.client import ServerRun, run_to_end
    from cliffhanger.agents.server.request import SeasonRequest, thread_id

    assert req.server is not None
    p = cfg.pipeline
    share = shares.take()
    before = _cost(store)
    report = _stamp(store)
    run = ServerRun(f"{cfg.name}/{store.root.name}", store.root.resolve(), thread_id(store.season_id()),
                    store.season_id())
    settings = RunSettings(max_revisions=p.bound, critic=p.critic, canon_memory=p.canon_memory,
                           concurrency=p.concurrency, target=p.target,
                           budget_usd=None if share is None else before + share)
    try:
        await run_to_end(req.server, run, SeasonRequest.of(store.root, settings, dict(endpoints), dict(cfg.prices)),
                         lambda _line: None)
    finally:
        shares.settle(share, max(0.0, _cost(store) - before))
    if _stamp(store) == report:
        run.stopped = ""  # this run wrote no report (refused before it opened the season): an earlier run's
    if run.stopped.startswith("budget") or run.line.startswith("budget reached"):  # stopped, or refused at start
        raise BudgetExhausted(f"the season's share of --budget-usd (${share or 0:.4f}) ran out on the server: "
                              "raise --budget-usd and run the same command again")
    if run.code != 0 or not run.stopped.startswith("done"):
        raise UserError(run.line or f"the server's run ended without finishing the season ({run.stopped or 'no report'})")
