"""What bounds a run's model calls: its budget, and how many calls are in flight per run and per server.

Shared by every client of a run (and, for the limiter, of a crew); `llm.ModelClient` checks and charges
the budget and takes a limiter slot around every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING

from cliffhanger.agents.errors import ModelError

if TYPE_CHECKING:
    from cliffhanger.agents.llm.endpoint import EndpointConfig


class BudgetExhausted(ModelError):
    """The next call would pass --budget-usd: the run stops cleanly before making it."""


class Budget:
    """A spending cap shared by every client of a run. A call holds its estimate while it is in flight
    (`acquire`), is charged its real cost when it ends, and releases the hold; calls in flight together
    can never pass the limit. The run stops only when a call would not fit even once the calls in flight
    have settled: until then the call waits for them."""

    POLL_S = 0.05

    def __init__(self, limit_usd: float, spent_usd: float = 0.0) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.reserved_usd = 0.0

    def check(self, estimate_usd: float) -> None:
        """BudgetExhausted when what is spent and `estimate_usd` pass the limit."""
        if self.spent_usd + estimate_usd > self.limit_usd:
            raise BudgetExhausted(
                f"budget reached: ${self.spent_usd:.4f} of ${self.limit_usd:.4f} spent and the next call "
                f"(about ${estimate_usd:.4f}) would pass it: raise --budget-usd and run the same command again"
            )

    async def acquire(self, estimate_usd: float) -> float:
        """Hold `estimate_usd` for a call about to be sent; waits while calls in flight hold too much."""
        while True:
            self.check(estimate_usd)
            if self.spent_usd + self.reserved_usd + estimate_usd <= self.limit_usd:
                self.reserved_usd += estimate_usd
                return estimate_usd
            await asyncio.sleep(self.POLL_S)  # calls in flight settle within a call's time

    def release(self, amount_usd: float) -> None:
        self.reserved_usd = max(0.0, self.reserved_usd - amount_usd)

    def charge(self, cost_usd: float | None) -> None:
        self.spent_usd += cost_usd or 0.0


class CallLimiter:
    """Caps model calls in flight: across a run (`total`, 0 for no cap) and per server, by its slots.

    A call takes its server's slot first and then a run slot, so calls queued for a one-slot server
    never hold run slots that calls to other endpoints could use. Semaphores are made per event loop:
    a crew may serve several `asyncio.run`s (the CLI, the room's own loop).
    """

    def __init__(self, total: int = 0) -> None:
        self.total = total
        # Keyed by the loop itself, weakly: an id() of a finished loop can come back for a new one, and a
        # semaphore that waited on the old loop refuses the new one.
        self._sems: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
            weakref.WeakKeyDictionary())
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}  # most calls in flight at once, per server: tests and benchmarks read it

    def _sem(self, key: str, size: int) -> asyncio.Semaphore:
        sems = self._sems.setdefault(asyncio.get_running_loop(), {})
        sem = sems.get(key)
        if sem is None:
            sem = sems[key] = asyncio.Semaphore(size)
        return sem

    @contextlib.asynccontextmanager
    async def slot(self, endpoint: EndpointConfig) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if endpoint.server_slots > 0:
                await stack.enter_async_context(self._sem("server " + endpoint.base_url, endpoint.server_slots))
            if self.total > 0:
                await stack.enter_async_context(self._sem("run", self.total))
            with self._counted(endpoint.base_url):
                yield

    @contextlib.contextmanager
    def _counted(self, key: str) -> Iterator[None]:
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        self.peak[key] = max(self.peak.get(key, 0), self.in_flight[key])
        try:
            yield
        finally:
            self.in_flight[key] -= 1


TokenTick = Callable[[str, "int | None", int, float], None]
"""(role, episode, tokens received so far, seconds since the first of them): a long call's progress."""
