"""Small pieces shared by the screens: safe text, error reporting, the confirmation modal, the
open-failure screen and the status bar.

Season and model text is untrusted: it reaches the screen only as `rich.text.Text` (markup shown
literally, escape codes stripped) or through widgets built with `markup=False`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, LoadingIndicator, ProgressBar, Static

from cliffhanger.agents.errors import UserError, one_line
from cliffhanger.app.console import untrusted
from cliffhanger.genres.errors import GenreError

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger(__name__)
R = TypeVar("R")  # what the app returns when it exits


def safe(text: object, style: str = "") -> Text:
    """Untrusted text as a Text: markup literal, control characters removed."""
    return untrusted(text, style)


def report_error(app: App[R], exc: BaseException, doing: str) -> None:
    """A user-fixable error as its one line; anything else logged with its traceback and named in one line."""
    from cliffhanger.agents.llm.client import redact  # as the CLI does: nothing key-like reaches the screen

    if isinstance(exc, UserError | GenreError):
        app.notify(redact(one_line(str(exc), 400), None), title=doing, severity="error", markup=False, timeout=10)
        return
    log.error("%s failed", doing, exc_info=exc)
    app.notify(redact(one_line(f"internal error: {exc.__class__.__name__}: {exc}", 300), None)
               + " (traceback in the log file)", title=doing, severity="error", markup=False, timeout=10)


def to_ui(app: App[R], callback: Callable[..., object], *args: object) -> bool:
    """`app.call_from_thread`, from a worker thread; False (and nothing done) once the app has stopped."""
    try:
        app.call_from_thread(callback, *args)
    except RuntimeError:  # the app stopped running while the worker worked
        if app.is_running:
            raise
        return False
    return True


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True for Yes."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(safe(self.question), id="question", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Yes", variant="error", id="yes")
                yield Button("No", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text; dismisses with it, or None on Esc or an empty answer."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question, self.value = question, value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(safe(self.question), id="question", markup=False)
            yield Input(self.value, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class OpenFailedScreen(Screen[str]):
    """The folder could not be opened as a season: say why, offer a new season or quit."""

    BINDINGS = [Binding("n", "choose('new')", "New season"), Binding("q,escape", "choose('quit')", "Quit")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("The season cannot be opened", id="dialog-title")
            yield Static(safe(self.message), id="open-error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("New season", variant="primary", id="new")
                yield Button("Quit", id="quit")
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id or "quit")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class Splash(Screen[None]):
    """Shown while a season opens."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield Static(safe(self.text), id="splash-text", markup=False)
        yield LoadingIndicator()


class StatusBar(Horizontal):
    """What runs now (a spinner and the latest run event) and episodes accepted so far. Posts
    `StatusBar.Shown` when mounted, for whoever tracks the work in flight to fill it in."""

    class Shown(Message):
        pass

    def compose(self) -> ComposeResult:
        yield LoadingIndicator(id="spinner")
        yield Static("idle", id="status-line", markup=False)
        yield ProgressBar(id="season-progress", show_eta=False)

    def on_mount(self) -> None:
        self.query_one("#spinner").display = False
        self.post_message(self.Shown())

    def set_busy(self, what: str | None) -> None:
        self.query_one("#spinner").display = what is not None
        self.set_line(what or "idle")

    def set_line(self, text: str) -> None:
        self.query_one("#status-line", Static).update(safe(one_line(text, 200)))

    def set_progress(self, done: int, total: int) -> None:
        self.query_one("#season-progress", ProgressBar).update(total=max(total, 1), progress=done)
