"""Graph state and run dependencies.

State holds ids, numbers and decisions, never scripts: artifacts live in the season folder and the
state says where the run is. Run dependencies (models, ledger, store, switches) are a frozen
dataclass passed as LangGraph's runtime context, so nodes never read the environment.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from typing_extensions import TypedDict  # typing's on 3.11 gives LangGraph Server no state schema

from cliffhanger.agents.errors import StopRequested
from cliffhanger.agents.llm.call_limits import BudgetExhausted

if TYPE_CHECKING:
    from chromadb import EmbeddingFunction

    from cliffhanger.agents.llm.crew import RoleModel
    from cliffhanger.agents.season.artifacts import SeasonSpec
    from cliffhanger.agents.season.store import SeasonStore
    from cliffhanger.agents.season.video_budget import VideoPrice
    from cliffhanger.genres.pack import GenrePack
    from cliffhanger.memory.ledger import Ledger
    from cliffhanger.memory.lore import LoreIndex


def union(left: list[int] | None, right: list[int] | None) -> list[int]:
    """Reducer: sorted union of episode numbers (idempotent, so a redone node adds nothing twice)."""
    return sorted(set(left or []) | set(right or []))


class SeasonState(TypedDict, total=False):
    season_id: str
    planned: bool               # bible and arc are on disk
    act_count: int              # acts to plan rows for
    acts_planned: int           # acts 1..acts_planned have their rows on disk (planned in order)
    arc_approved: bool
    episode: int                # the episode being drafted; 0 before drafting starts
    revision: int               # current revision of `episode`, from 0
    notes: list[str]            # unused: a revision's notes are read from the season folder (nodes.relayed_notes),
                                # so no text travels in checkpoints; kept so older checkpoints still load
    decision: str               # "accept" or "revise" for the current revision
    accepted: Annotated[list[int], union]
    shots_done: Annotated[list[int], union]
    shots_pending: int          # unused: shot lists run beside the episode loop (RunContext.beside), not in a
                                # graph step; kept so older checkpoints still load
    stop: str                   # why the run stops: done, until, interrupted; "" while running


Event = Callable[[str, int | None, str], None]


@dataclass(frozen=True)
class RunSettings:
    """How one run goes: built once where the run starts (the CLI's flags, the room, an eval config, a
    benchmark) and read by `run_season` and the nodes as it is, never copied field by field."""

    until: int | None = None        # stop after this episode
    budget_usd: float | None = None  # stop before a call would pass this spend (this run and earlier ones)
    concurrency: int = 4            # model calls in flight at once, across the run
    review_arc: bool = False        # pause after the arc for a person's review
    max_revisions: int = 2
    accept_threshold: float = 6.0
    target: str = "generic"         # the video model shot lists are cut for
    canon_budget: int = 1200        # tokens of retrieved canon in the writer's context
    embedding: EmbeddingFunction | None = None  # None: the multilingual USE model
    critic: bool = True             # False: no critic calls; acceptance on rules and the showrunner alone
    canon_memory: bool = True       # False: the writer gets no canon and drafts are not checked against it
    # PostgreSQL for the checkpoints instead of the season folder's SQLite file (may hold a password: not in repr)
    checkpoint_url: str | None = field(default=None, repr=False)
    move_checkpoints: bool = False  # the season's checkpoints may move to where this run keeps them
    # [video_prices] of cliffhanger.toml, for the report's video budget (unset targets: the list prices)
    video_prices: Mapping[str, VideoPrice] = field(default_factory=dict, hash=False)


class BesideWork:
    """Work a run does beside the episode loop, outside the graph's steps: each accepted episode's shot list.

    A graph step ends when every node in it has ended, so a shot list planned as a node held the next
    episode's critic and continuity check until it was done. Here it is a task of the run instead, started
    when its episode is accepted (or, on resume, at the first gate), awaited before the run ends. A task's
    error is raised at the next step that asks (`raise_failure`), as the node's own error was."""

    def __init__(self) -> None:
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, episode: int, work: Callable[[], Coroutine[object, object, None]]) -> None:
        """Start `work` for `episode` unless it was started in this run already."""
        if episode not in self.tasks:
            self.tasks[episode] = asyncio.get_running_loop().create_task(work(), name=f"shots {episode}")

    def raise_failure(self) -> None:
        """The first error of a finished task (by episode), raised here; a task stopped by a stop request
        is not an error (its episode is planned on the next run)."""
        for episode in sorted(self.tasks):
            task = self.tasks[episode]
            if task.done() and not task.cancelled() and (exc := task.exception()) is not None:
                if not isinstance(exc, StopRequested):
                    raise exc

    async def drain(self) -> None:
        """Wait for every task, then raise the first error among them."""
        if self.tasks:
            await asyncio.wait(list(self.tasks.values()))
        self.raise_failure()

    async def settle(self) -> list[BaseException]:
        """Wait for every task (the run is stopping); the errors other than stop requests and budget stops."""
        if self.tasks:
            await asyncio.wait(list(self.tasks.values()))
        errors = [t.exception() for t in self.tasks.values() if not t.cancelled() and t.exception() is not None]
        return [e for e in errors if e is not None and not isinstance(e, StopRequested | BudgetExhausted)]

    async def cancel(self) -> None:
        """Cancel what is still running (the run failed) and wait for it to end."""
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


@dataclass
class RunEnd:
    """Why a run stopped (done, until, interrupted, budget, arc_review, failed) and the one-line message of a
    budget stop or a failure: set by the run as it ends, read by its teardown for the report."""

    stop: str = "failed"
    message: str = ""


@dataclass(frozen=True)
class RunContext:
    """Everything a node needs besides the state; built once per run by `run.py`."""

    store: SeasonStore
    spec: SeasonSpec
    pack: GenrePack
    models: Mapping[str, RoleModel]   # role -> ModelClient (or a scripted stand-in); a Crew in a run
    ledger: Ledger
    index: LoreIndex | None
    settings: RunSettings = field(default_factory=RunSettings)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    emit: Event = field(default=lambda kind, episode, detail: None)
    beside: BesideWork = field(default_factory=BesideWork)
    end: RunEnd = field(default_factory=RunEnd)

    def model(self, role: str) -> RoleModel:
        return self.models[role]
