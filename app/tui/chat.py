"""The conversation with the showrunner: the season's history, the input line, replies streaming in.

Every message is a `MessageBox` built with `markup=False` and fed `Text`, so a reply that contains
`[bold]` or `[link=...]` shows those characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from cliffhanger.app.console import untrusted

if TYPE_CHECKING:
    from cliffhanger.app.chat_history import ChatTurn

# A reply longer than this is kept whole (body, chat.jsonl) but not laid out again on every chunk: a
# model that streams 100,000 characters must not freeze the app with quadratic re-rendering.
MAX_SHOWN_CHARS = 20_000
ROLE_LABEL = {"writer": ("you", "bold cyan"), "showrunner": ("showrunner", "bold magenta"),
              "system": ("room", "bold yellow"), "error": ("error", "bold red")}


class MessageBox(Static):
    """One message; `append` adds a streamed chunk, `finish` closes it."""

    def __init__(self, role: str, text: str = "", *, streaming: bool = False) -> None:
        super().__init__("", markup=False, classes=f"message {role}")
        self.role = role
        self.body = text
        self.chunks: list[str] = []
        self.streaming = streaming
        self.note = ""

    def on_mount(self) -> None:
        self._show()

    def rendered_text(self) -> Text:
        label, style = ROLE_LABEL.get(self.role, (self.role, "bold"))
        out = Text(label, style=style)
        if self.streaming:
            out.append("  …", style="dim")
        out.append("\n")
        out.append_text(untrusted(self.body[:MAX_SHOWN_CHARS]))
        if len(self.body) > MAX_SHOWN_CHARS:
            out.append(f"\n… {len(self.body) - MAX_SHOWN_CHARS:,} more characters not shown (the chat history "
                       "keeps them)", style="dim")
        if self.note:
            out.append(("\n" if self.body else "") + self.note, style="dim italic")
        return out

    def _show(self) -> None:
        self.update(self.rendered_text())

    def append(self, chunk: str) -> None:
        self.chunks.append(chunk)
        shown_all = len(self.body) <= MAX_SHOWN_CHARS
        self.body += chunk
        if shown_all:  # past the limit nothing visible changes until `finish`
            self._show()

    def finish(self, *, text: str | None = None, note: str = "") -> None:
        if text is not None and not self.chunks:
            self.body = text
        self.streaming, self.note = False, note
        self._show()


class ChatView(Vertical):
    """History above, the input line below. Posts `ChatView.Submitted` for the screen to run."""

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="messages")
        yield Input(placeholder="Message the showrunner, or a command: /help", id="chat-input")

    def show_history(self, turns: list[ChatTurn]) -> None:
        log = self.query_one("#messages", VerticalScroll)
        log.remove_children()
        boxes = [MessageBox(t.role, t.text) for t in turns]
        if not boxes:
            boxes = [MessageBox("system", "Talk to the showrunner about the season. /help lists the commands; "
                                          "F5 drafts the next episode; Esc cancels a reply.")]
        log.mount_all(boxes)
        log.scroll_end(animate=False)

    def add(self, role: str, text: str = "", *, streaming: bool = False, before: MessageBox | None = None) -> MessageBox:
        box = MessageBox(role, text, streaming=streaming)
        log = self.query_one("#messages", VerticalScroll)
        log.mount(box, before=before)
        log.scroll_end(animate=False)
        return box

    def follow(self) -> None:
        log = self.query_one("#messages", VerticalScroll)
        if log.max_scroll_y - log.scroll_y < 4:
            log.scroll_end(animate=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self.post_message(self.Submitted(text))

    def clear_input(self) -> None:
        self.query_one("#chat-input", Input).value = ""

    def messages(self) -> list[MessageBox]:
        return list(self.query(MessageBox))
