"""The room's work in flight, seen from the UI thread.

All model work runs on the room's own loop thread (`room.submit`). Callbacks from that thread
(`on_text`, `on_event`, `confirm`) never touch widgets: they post messages, which Textual queues
thread-safely and in order, so the last chunk of a reply is always handled before `RoomDone`.
One piece of work at a time; `cancel()` (Esc) cancels the room's future. Run events of drafts
reach the screen through `room.subscribe`, as `RoomEvent`s too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.widget import Widget

if TYPE_CHECKING:
    from cliffhanger.app.room import Room
    from cliffhanger.app.room_views import ActionResult

WRITE_KINDS = frozenset({"draft", "redraft", "revise_cliffhanger", "set_character", "set_arc_row", "approve_arc"})


class RoomText(Message):
    def __init__(self, run: int, chunk: str) -> None:
        super().__init__()
        self.run, self.chunk = run, chunk


class RoomEvent(Message):
    """A run event (kind step/accepted/run/error, episode, detail); `run` 0 for the room's background draft."""

    def __init__(self, run: int, kind: str, episode: int | None, detail: str) -> None:
        super().__init__()
        self.run, self.kind, self.episode, self.detail = run, kind, episode, detail


class RoomDone(Message):
    """The work ended: with a result, an error, or cancelled by the writer."""

    def __init__(self, run: int, label: str, result: ActionResult | None = None, error: BaseException | None = None,
                 cancelled: bool = False) -> None:
        super().__init__()
        self.run, self.label, self.result, self.error, self.cancelled = run, label, result, error, cancelled


class ConfirmAsked(Message):
    """The room asks a yes/no question; answer by resolving `answer`."""

    def __init__(self, run: int, question: str, answer: concurrent.futures.Future[bool]) -> None:
        super().__init__()
        self.run, self.question, self.answer = run, question, answer


@dataclass(frozen=True)
class Callbacks:
    """What the room calls from its thread during one piece of work. Run events come through
    `room.subscribe` instead: a draft goes on in the background after its action has returned."""

    text: Callable[[str], None]
    confirm: Callable[[str], Awaitable[bool]]


class RoomRunner:
    """Starts room coroutines, relays their callbacks as messages to `target`, and cancels them."""

    def __init__(self, target: Widget, room: Room) -> None:
        self.target, self.room = target, room
        self.run = 0
        self.label: str | None = None
        self._future: concurrent.futures.Future[ActionResult] | None = None
        self._cancelled = False

    @property
    def busy(self) -> str | None:
        return self.label

    def start(self, label: str, make: Callable[[Callbacks], Coroutine[Any, Any, ActionResult]]) -> int | None:
        """Run `make(callbacks)` on the room loop; the run's id, or None while other work runs."""
        if self.label is not None:
            return None
        self.run += 1
        run, target = self.run, self.target

        def text(chunk: str) -> None:
            target.post_message(RoomText(run, chunk))

        async def confirm(question: str) -> bool:
            answer: concurrent.futures.Future[bool] = concurrent.futures.Future()
            target.post_message(ConfirmAsked(run, question, answer))
            return await asyncio.wrap_future(answer)

        self.label, self._cancelled = label, False
        coro = make(Callbacks(text, confirm))
        try:
            self._future = self.room.submit(coro)
        except BaseException:
            coro.close()
            self.label = None
            raise
        target.run_worker(self._wait(run, label, self._future), group="room", exit_on_error=False)
        return run

    async def _wait(self, run: int, label: str, future: concurrent.futures.Future[ActionResult]) -> None:
        try:
            result = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if not self._cancelled:
                raise  # the worker itself is being cancelled (the app is closing)
            self.target.post_message(RoomDone(run, label, cancelled=True))
        except Exception as exc:  # noqa: BLE001 - shown to the writer by the RoomDone handler
            self.target.post_message(RoomDone(run, label, error=exc))
        else:
            self.target.post_message(RoomDone(run, label, result=result))

    def finished(self, run: int) -> None:
        if run == self.run:
            self.label, self._future = None, None

    def cancel(self) -> bool:
        """Cancel the running work; False when nothing runs."""
        if self._future is None or self.label is None:
            return False
        self._cancelled = True
        self._future.cancel()
        return True

    def shutdown(self) -> None:
        if self._future is not None:
            self._cancelled = True
            self._future.cancel()
