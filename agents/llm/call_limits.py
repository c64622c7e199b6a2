"""What bounds a run's model calls: its budget, how many calls are in flight per run and per server, and
the limiters of each endpoint that every run (season) of the process shares.

The budget is shared by every client of a run; the endpoint limiters (`EndpointLimits`) by every run of
the process. `llm.ModelClient` checks and charges the budget and takes a limiter slot around every
request; a 429 with Retry-After pauses the endpoint for every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

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


@contextlib.contextmanager
def counted(in_flight: dict[str, int], peak: dict[str, int], key: str) -> Iterator[None]:
    """One call in flight to `key` while the block runs, with the most ever at once kept in `peak`."""
    in_flight[key] = in_flight.get(key, 0) + 1
    peak[key] = max(peak.get(key, 0), in_flight[key])
    try:
        yield
    finally:
        in_flight[key] -= 1


class RateLimits(NamedTuple):
    """What one provider's endpoints allow (`[limits.PROVIDER]` in cliffhanger.toml); 0 means no limit."""

    max_in_flight: int = 0  # calls in flight to the endpoint, all seasons together
    rpm: float = 0.0        # requests per minute
    tpm: float = 0.0        # tokens per minute (of calls answered in the last minute)


class LimitEvent(NamedTuple):
    """What an endpoint's limiter did, in order: a call sent, or a pause the server asked for (Retry-After)."""

    time: float   # the limiter's clock (time.monotonic)
    kind: str     # "send" or "pause"
    endpoint: str  # the base URL
    who: str      # the run (season) whose call it was
    until: float = 0.0  # of a pause: no call to the endpoint is sent before it


class _Gate:
    """One endpoint's limiter: its calls in flight, its request and token rates, and a pause it asked for."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self.paused_until = 0.0
        self.sent: deque[float] = deque()               # send times within the window (rpm)
        self.tokens: deque[tuple[float, int]] = deque()  # (time, tokens) of answers within the window (tpm)
        self._sems: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())

    def semaphore(self) -> asyncio.Semaphore | None:
        if self.limits.max_in_flight <= 0:
            return None
        loop = asyncio.get_running_loop()
        sem = self._sems.get(loop)
        if sem is None:
            sem = self._sems[loop] = asyncio.Semaphore(self.limits.max_in_flight)
        return sem

    def wait_s(self, now: float, window: float) -> float:
        """Seconds before a call may be sent: 0 when it may go now."""
        while self.sent and self.sent[0] <= now - window:
            self.sent.popleft()
        while self.tokens and self.tokens[0][0] <= now - window:
            self.tokens.popleft()
        wait = self.paused_until - now
        if self.limits.rpm > 0 and len(self.sent) >= self.limits.rpm:
            wait = max(wait, self.sent[0] + window - now)
        if self.limits.tpm > 0 and self.tokens and sum(n for _, n in self.tokens) >= self.limits.tpm:
            wait = max(wait, self.tokens[0][0] + window - now)
        return wait


class EndpointLimits:
    """The limiters of a process, one per endpoint (provider, base URL, model), and the slots of each server.

    Every season drafted in the process shares them (`CallLimiter(shared=...)`, `Crew.for_season`): calls
    in flight, requests and tokens per minute, and a pause after a 429 with Retry-After hold for all of
    them. `process_limits()` is the process's one; tests make their own. Semaphores are made per event loop.
    """

    WINDOW_S = 60.0

    def __init__(self, limits: Mapping[str, RateLimits] | None = None, default_in_flight: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.configure(limits, default_in_flight)

    def configure(self, limits: Mapping[str, RateLimits] | None = None, default_in_flight: int = 0) -> None:
        """Set the limits by provider; `default_in_flight` caps calls in flight to an endpoint whose provider
        sets no max_in_flight (0: no cap). Starts afresh: call it before the runs, not during them."""
        self.limits = dict(limits or {})
        self.default_in_flight = default_in_flight
        self._gates: dict[tuple[str, str, str], _Gate] = {}
        self._servers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
            weakref.WeakKeyDictionary())
        self.events: deque[LimitEvent] = deque(maxlen=100_000)  # tests and benchmarks read them
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}  # most calls in flight at once per server, all runs together

    def gate(self, endpoint: EndpointConfig) -> _Gate:
        key = (endpoint.provider, endpoint.base_url, endpoint.model)
        gate = self._gates.get(key)
        if gate is None:
            own = self.limits.get(endpoint.provider, RateLimits())
            cap = own.max_in_flight or self.default_in_flight
            gate = self._gates[key] = _Gate(own._replace(max_in_flight=cap))
        return gate

    def server(self, endpoint: EndpointConfig) -> asyncio.Semaphore:
        sems = self._servers.setdefault(asyncio.get_running_loop(), {})
        sem = sems.get(endpoint.base_url)
        if sem is None:
            sem = sems[endpoint.base_url] = asyncio.Semaphore(endpoint.server_slots)
        return sem

    @contextlib.asynccontextmanager
    async def enter(self, endpoint: EndpointConfig, who: str) -> AsyncIterator[None]:
        """Hold a place among the endpoint's calls in flight; wait for its pause and rates before sending."""
        gate = self.gate(endpoint)
        async with contextlib.AsyncExitStack() as stack:
            sem = gate.semaphore()
            if sem is not None:
                await stack.enter_async_context(sem)
            while (wait := gate.wait_s(now := self.clock(), self.WINDOW_S)) > 0:
                await asyncio.sleep(wait)
            gate.sent.append(now)
            self.events.append(LimitEvent(now, "send", endpoint.base_url, who))
            with counted(self.in_flight, self.peak, endpoint.base_url):
                yield

    def pause(self, endpoint: EndpointConfig, seconds: float, who: str = "") -> None:
        """The server asked (429, Retry-After) for no calls for `seconds`: none is sent, whoever's it is."""
        gate = self.gate(endpoint)
        now = self.clock()
        gate.paused_until = max(gate.paused_until, now + seconds)
        self.events.append(LimitEvent(now, "pause", endpoint.base_url, who, gate.paused_until))

    def used(self, endpoint: EndpointConfig, tokens: int) -> None:
        """An answer's tokens, counted against the endpoint's tokens per minute."""
        if tokens > 0:
            self.gate(endpoint).tokens.append((self.clock(), tokens))


_PROCESS_LIMITS = EndpointLimits()


def process_limits() -> EndpointLimits:
    """The process's endpoint limiters: `open_crew` gives them to every crew it opens."""
    return _PROCESS_LIMITS


class CallLimiter:
    """Caps one run's model calls in flight (`total`, 0 for no cap), inside the endpoint limiters and server
    slots it shares with every run of the process (`shared`; a private set when None).

    A call takes its server's slot first (shared), then a run slot (the run's own), then its place at the
    endpoint (shared; waits out a pause and the rates there): calls queued for a one-slot server never
    hold run slots that calls to other endpoints could use, and a run at its own cap never holds places
    at the endpoint that other runs could use. Semaphores are made per event loop: a crew may serve
    several `asyncio.run`s (the CLI, the room's own loop).
    """

    def __init__(self, total: int = 0, *, shared: EndpointLimits | None = None, name: str = "") -> None:
        self.total = total
        self.shared = shared if shared is not None else EndpointLimits()
        self.name = name
        # Keyed by the loop itself, weakly: an id() of a finished loop can come back for a new one, and a
        # semaphore that waited on the old loop refuses the new one.
        self._sems: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}  # most calls in flight at once, per server: tests and benchmarks read it

    def for_run(self, total: int, name: str = "") -> CallLimiter:
        """A run's own cap of `total` calls in flight, sharing this limiter's endpoint limiters."""
        return CallLimiter(total, shared=self.shared, name=name)

    def _run_sem(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self._sems.get(loop)
        if sem is None:
            sem = self._sems[loop] = asyncio.Semaphore(self.total)
        return sem

    @contextlib.asynccontextmanager
    async def slot(self, endpoint: EndpointConfig) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if endpoint.server_slots > 0:
                await stack.enter_async_context(self.shared.server(endpoint))
            if self.total > 0:
                await stack.enter_async_context(self._run_sem())
            await stack.enter_async_context(self.shared.enter(endpoint, self.name))
            with counted(self.in_flight, self.peak, endpoint.base_url):
                yield

    def pause(self, endpoint: EndpointConfig, seconds: float) -> None:
        self.shared.pause(endpoint, seconds, self.name)

    def used(self, endpoint: EndpointConfig, tokens: int) -> None:
        self.shared.used(endpoint, tokens)



TokenTick = Callable[[str, "int | None", int, float], None]
"""(role, episode, tokens received so far, seconds since the first of them): a long call's progress."""
