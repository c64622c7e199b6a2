"""The bible (characters with their locked looks, locations, secrets) and a canon search box that
answers "what does canon say, as of episode N" through `room.canon`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from cliffhanger.agents.errors import UserError
from cliffhanger.app.tui.script_text import bible_text, canon_text
from cliffhanger.app.tui.widgets import report_error, safe, to_ui

if TYPE_CHECKING:
    from cliffhanger.agents.season.artifacts import Bible
    from cliffhanger.app.room import Room


class BibleView(Vertical):
    def __init__(self, room: Room, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.room = room

    def compose(self) -> ComposeResult:
        with Horizontal(id="canon-bar"):
            yield Input(placeholder="Ask canon: who knows about the pendant?", id="canon-q")
            yield Input(placeholder="as of ep", id="canon-ep", type="integer")
            yield Button("Ask", id="canon-ask")
        yield Static(Text("Canon answers appear here, with the episode and the line that says so.", style="dim"),
                     id="canon-answer", markup=False)
        with VerticalScroll(id="bible-scroll"):
            yield Static("", id="bible-text", markup=False)

    def show_bible(self, bible: Bible | None) -> None:
        self.query_one("#bible-text", Static).update(bible_text(bible))

    @work(thread=True, exclusive=True, group="bible", exit_on_error=False)
    def reload(self) -> None:
        try:
            bible = self.room.bible()
        except Exception as exc:  # noqa: BLE001 - shown as a notification
            to_ui(self.app, report_error, self.app, exc, "reading the bible")
            return
        to_ui(self.app, self.show_bible, bible)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id in ("canon-q", "canon-ep"):
            event.stop()
            self.ask()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "canon-ask":
            event.stop()
            self.ask()

    def ask(self) -> None:
        question = self.query_one("#canon-q", Input).value.strip()
        raw = self.query_one("#canon-ep", Input).value.strip()
        if not question:
            self.app.notify("Type a question about canon first, e.g. who knows about the pendant", severity="warning",
                            markup=False)
            return
        until = int(raw) if raw.lstrip("-").isdigit() else None
        self.query_one("#canon-answer", Static).update(Text("searching canon…", style="dim"))
        self.query_canon(question, until)

    @work(thread=True, exclusive=True, group="canon", exit_on_error=False)
    def query_canon(self, question: str, until: int | None) -> None:
        try:
            answer = self.room.canon(question, until)
        except UserError as exc:
            to_ui(self.app, self._show, safe(str(exc), "red"))
            to_ui(self.app, report_error, self.app, exc, "canon")
            return
        except Exception as exc:  # noqa: BLE001 - logged and shown in one line
            to_ui(self.app, self._show, Text("canon search failed", style="red"))
            to_ui(self.app, report_error, self.app, exc, "canon")
            return
        to_ui(self.app, self._show, canon_text(answer))

    def _show(self, text: Text) -> None:
        self.query_one("#canon-answer", Static).update(text)
