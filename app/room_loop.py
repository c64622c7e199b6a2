"""The room's own event loop, on a background thread, and the one draft that runs on it.

All model work of a room runs here, so the UI thread never waits on a model and one set of HTTP
clients serves the whole session. Run events go to every subscribed listener, from this thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from cliffhanger.agents.errors import UserError

if TYPE_CHECKING:
    from cliffhanger.agents.run import RunResult  # the graph: loaded when the first draft starts

log = logging.getLogger(__name__)
T = TypeVar("T")
Listener = Callable[[str, int | None, str], None]
Draft = Callable[[Listener, threading.Event], Awaitable["RunResult"]]


class RoomLoop:
    """An event loop on a daemon thread. `submit` runs coroutines on it; `start` runs a draft in the
    background and reports it as run events; `cancel` ends that draft and `close` stops the thread."""

    def __init__(self) -> None:
        self.busy: str | None = None  # what the background draft is doing, while it runs
        self._stop = threading.Event()
        self._listeners: list[Listener] = []
        self._run: asyncio.Task[None] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cliffhanger-room", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._loop.is_closed()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coro` on the loop; cancel the returned future to cancel it."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, kind: str, episode: int | None, detail: str, extra: Listener | None = None) -> None:
        for listener in [*self._listeners, *([extra] if extra else [])]:
            try:
                listener(kind, episode, detail)
            except Exception:  # a broken listener must not stop the run
                log.exception("room event listener failed")

    @property
    def running(self) -> bool:
        return self._run is not None and not self._run.done()

    async def wait_idle(self) -> None:
        """Wait (on the loop) until the background draft, if any, has finished."""
        if self._run is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._run)

    def start(self, what: str, until: int | None, draft: Draft, on_event: Listener | None) -> None:
        """Run `draft(emit, stop)` in the background; its start, end and failure become run events
        (kind "run" or "error") for the listeners and `on_event`. A failure leaves the season intact.
        Call it on the loop (from a coroutine given to `submit`)."""
        self._stop = stop = threading.Event()

        def emit(kind: str, episode: int | None, detail: str) -> None:
            self.emit(kind, episode, detail, on_event)

        async def go() -> None:
            self.busy = what
            emit("run", until, f"started: {what}")
            try:
                result = await draft(emit, stop)
                emit("run", until, f"finished: {what} ({result.stop}; {len(result.accepted)} episodes accepted)")
            except asyncio.CancelledError:
                emit("run", until, f"stopped: {what}")
                raise
            except UserError as exc:
                emit("error", until, str(exc))
            except Exception as exc:
                log.exception("draft failed")
                emit("error", until, f"the draft failed ({exc.__class__.__name__}); the season is intact, "
                                     "run it again to resume (details in the log)")
            finally:
                self.busy = None

        self._run = self._loop.create_task(go())

    def stop_run(self) -> None:
        """Ask the background draft to stop at its next step boundary."""
        self._stop.set()

    def cancel(self) -> None:
        """Stop the background draft now (it resumes from its checkpoint next time)."""
        self._stop.set()
        if self.running:
            with contextlib.suppress(Exception):
                self.submit(self._cancel_run()).result(timeout=30)

    async def _cancel_run(self) -> None:
        if self._run is not None:
            self._run.cancel()
            with contextlib.suppress(BaseException):
                await self._run

    def close(self) -> None:
        """Stop the loop and its thread; call `cancel` first."""
        if self.closed:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
