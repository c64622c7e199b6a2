"""The season screen: board, bible and chat in tabs, the read-only banner and the status bar.

It owns the season's work in flight (`RoomRunner`): chat turns and actions run on the room's loop,
their run events move the board and the status line, their text streams into the chat, and Esc
cancels them. The board also refreshes from disk every REFRESH_S, so a run by another process shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from cliffhanger.agents.errors import UserError, format_validation_error, one_line
from cliffhanger.app.tui.bible import BibleView
from cliffhanger.app.tui.board import BoardView
from cliffhanger.app.tui.chat import ChatView, MessageBox
from cliffhanger.app.tui.episode import EpisodeScreen
from cliffhanger.app.tui.runner import WRITE_KINDS, ConfirmAsked, RoomDone, RoomEvent, RoomRunner, RoomText
from cliffhanger.app.tui.widgets import ConfirmScreen, StatusBar, report_error, safe, to_ui

if TYPE_CHECKING:
    from cliffhanger.agents.roles.showrunner_chat import Action
    from cliffhanger.agents.season.report import SeasonSummary
    from cliffhanger.app.room import Room

REFRESH_S = 2.0
REVIEW_STEPS = ("continuity check", "critic", "showrunner: decision")


class SeasonScreen(Screen[None]):
    BINDINGS = [
        Binding("f2", "show('board')", "Board"),
        Binding("f3", "show('bible')", "Bible"),
        Binding("f4", "show('chat')", "Chat"),
        Binding("f5", "draft_next", "Draft next"),
        Binding("f6", "draft_all", "Draft all"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, room: Room) -> None:
        super().__init__()
        self.room = room
        self.runner = RoomRunner(self, room)
        self.sinks: dict[int, MessageBox] = {}
        self._asking: dict[int, ConfirmScreen] = {}
        self.summary: SeasonSummary | None = None
        self.read_only = bool(room.read_only)
        self.background: str | None = None  # a draft running on the room loop after its action returned
        self._line: str | None = None  # the status line while work runs
        self._refresh_error_shown = False

    def _relay(self, kind: str, episode: int | None, detail: str) -> None:
        """Run events of background drafts, from the room's thread."""
        self.post_message(RoomEvent(0, kind, episode, detail))

    @property
    def busy(self) -> str | None:
        return self.runner.busy or self.background

    # ---- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="banner", markup=False)
        with TabbedContent(initial="board", id="tabs"):
            with TabPane("Board", id="board"):
                yield BoardView(id="board-view")
            with TabPane("Bible", id="bible"):
                yield BibleView(self.room, id="bible-view")
            with TabPane("Chat", id="chat"):
                yield ChatView(id="chat-view")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        spec = self.room.spec
        self.title = safe(spec.title).plain
        self.sub_title = safe(f"{spec.genre} · {spec.language} · {spec.episodes} episodes · {self.room.store.root.name}").plain
        self._show_lock(self.room.read_only, self.room.locked_by)
        self.query_one(ChatView).show_history(list(self.room.history.turns()))
        self.query_one(BibleView).reload()
        self.room.subscribe(self._relay)
        self.refresh_board()
        self.set_interval(REFRESH_S, self.refresh_board)
        self.query_one("#board-table", DataTable).focus()

    @property
    def board(self) -> BoardView:
        return self.query_one(BoardView)

    @property
    def chat(self) -> ChatView:
        return self.query_one(ChatView)

    def action_show(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        focus = {"board": "#board-table", "bible": "#canon-q", "chat": "#chat-input"}[tab]
        self.query_one(focus).focus()
        if tab == "bible":
            self.query_one(BibleView).reload()

    # ---- the board from disk -------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def refresh_board(self) -> None:
        try:
            self.room.refresh_lock()
            summary = self.room.summary()
        except Exception as exc:  # noqa: BLE001 - the next refresh tries again
            to_ui(self.app, self._refresh_failed, exc)
            return
        to_ui(self.app, self._apply, summary, bool(self.room.read_only), self.room.locked_by)

    def _refresh_failed(self, exc: Exception) -> None:
        if not self._refresh_error_shown:
            self._refresh_error_shown = True
            report_error(self.app, exc, "reading the season")

    def _apply(self, summary: SeasonSummary, read_only: bool, locked_by: str | None) -> None:
        if not self.is_attached:
            return
        self._refresh_error_shown = False
        self.summary = summary
        self.board.show(summary.lines, self.room.spec)
        self.board.show_curve(summary.curve)
        self._show_lock(read_only, locked_by)
        self.sync_status_bars()

    def _show_lock(self, read_only: bool, locked_by: str | None) -> None:
        was, self.read_only = self.read_only, read_only
        banner = self.query_one("#banner", Static)
        banner.display = read_only
        if read_only:
            banner.update(safe(f"read-only: being drafted by {locked_by or 'another process'}. The board follows "
                               "the run from disk; drafting and edits are off until it ends."))
        elif was:
            self.app.notify("The other run has ended: the season is writable again.", markup=False)

    def sync_status_bars(self) -> None:
        """Every status bar on the screen stack shows the same work, line and progress."""
        line = self._line
        for screen in self.app.screen_stack:
            for bar in screen.query(StatusBar):
                bar.set_busy(self.busy)
                if line and self.busy:
                    bar.set_line(line)
                if self.summary is not None:
                    bar.set_progress(self.summary.accepted, self.summary.episodes)

    # ---- chat and actions ----------------------------------------------------------------------

    def on_chat_view_submitted(self, event: ChatView.Submitted) -> None:
        text, chat = event.text, self.chat
        if text.split()[0] in ("/help", "/?"):
            chat.clear_input()
            chat.add("writer", text)
            self.chat_help()
            return
        if self.runner.busy:
            self.app.notify(f"Busy: {self.runner.busy}. Wait for it, or press Esc to cancel it.", severity="warning",
                            markup=False)
            return
        try:
            action = self.room.parse_command(text)
        except UserError as exc:
            report_error(self.app, exc, "command")
            return
        if action is not None and not self._writable(action):
            return
        chat.clear_input()
        chat.add("writer", text)
        box = chat.add("showrunner", streaming=True)
        run = self.runner.start("showrunner reply", lambda cb: self.room.respond(
            text, on_text=cb.text, confirm=cb.confirm))
        self._started(run, box, "showrunner is answering…")

    def chat_help(self) -> None:
        self.chat.add("system", self.room.help_text())

    def perform_command(self, command: str) -> None:
        """Run a slash command directly (palette, keys), asking first when it destroys work."""
        try:
            action = self.room.parse_command(command)
        except UserError as exc:
            report_error(self.app, exc, command)
            return
        if action is not None:
            self.perform(action, command)

    def redraft(self, episode: int, note: str, *, ending_only: bool = False) -> None:
        """Redraft `episode` following the writer's `note` (with `ending_only`, just its cliffhanger),
        asking first when that replaces an accepted episode."""
        # Deferred: the agents load with the room, after the first screen is drawn.
        from cliffhanger.agents.roles.showrunner_chat import Action

        kind: Literal["redraft", "revise_cliffhanger"] = "revise_cliffhanger" if ending_only else "redraft"
        try:
            action = Action(kind=kind, episode=episode, note=note)
        except ValidationError as exc:
            report_error(self.app, UserError(format_validation_error(exc, "the note")), f"episode {episode}")
            return
        self.perform(action, action.describe())

    def perform(self, action: Action, label: str) -> None:
        if not self._writable(action):
            return
        if self.runner.busy:
            self.app.notify(f"Busy: {self.runner.busy}. Press Esc to cancel it first.", severity="warning", markup=False)
            return
        question = self.room.needs_confirmation(action)
        if question:
            self.app.push_screen(ConfirmScreen(question), lambda yes: self._execute(action, label) if yes else None)
        else:
            self._execute(action, label)

    def _execute(self, action: Action, label: str) -> None:
        if self.runner.busy:
            return
        box = self.chat.add("system", streaming=True)
        box.note = label
        run = self.runner.start(label, lambda cb: self.room.execute(action, on_text=cb.text))
        self._started(run, box, f"{label}…")

    def _started(self, run: int | None, box: MessageBox, line: str) -> None:
        if run is None:
            box.finish(note="(not started: other work is running)")
            return
        self.sinks[run] = box
        self._line = line
        self.sync_status_bars()

    def _writable(self, action: Action) -> bool:
        if self.read_only and str(action.kind) in WRITE_KINDS:
            self.app.notify(f"Read-only: the season is being drafted by {self.room.locked_by or 'another process'}; "
                            f"{action.kind} is off until that run ends.", severity="warning", markup=False)
            return False
        return True

    def action_draft_next(self) -> None:
        self.perform_command("/draft")

    def action_draft_all(self) -> None:
        self.perform_command("/draft all")

    def action_cancel(self) -> None:
        """Esc: cancel the reply or action in flight; else stop a background draft at its next step."""
        if self.runner.cancel():
            self._line = "cancelling…"
        elif self.background is not None or self.room.running:
            self.room.stop_run()
            self._line = "stopping the draft at the next step boundary…"
            self.app.notify("Stopping the draft at the next step boundary; F5 or /draft resumes it.",
                            severity="warning", markup=False)
        else:
            return
        self.sync_status_bars()

    # ---- messages from the room's thread -------------------------------------------------------

    def on_room_text(self, message: RoomText) -> None:
        box = self.sinks.get(message.run)
        if box is not None:
            box.append(message.chunk)
            self.chat.follow()

    def on_room_event(self, message: RoomEvent) -> None:
        kind, episode, detail = message.kind, message.episode, message.detail
        where = f"ep {episode}: " if episode and kind in ("step", "accepted", "tokens") else ""
        self._line = one_line(where + (f"accepted ({detail})" if kind == "accepted" else detail or kind), 160)
        if kind == "run":
            if detail.startswith("started"):
                self.background = detail.removeprefix("started:").strip() or "drafting"
            else:
                self.background = None
                self.board.live.clear()
                self.app.notify(one_line(detail, 300), markup=False)
                self.refresh_board()
        elif kind == "error":
            self.background = None
            self.board.live.clear()
            self.app.notify(one_line(detail, 400), title="draft", severity="error", markup=False, timeout=10)
            self.refresh_board()
        elif kind == "step" and episode:
            self.board.mark(episode, "in review" if detail in REVIEW_STEPS else "drafting")
        elif kind == "accepted":
            if episode:
                self.board.mark(episode, "accepted")
            self.refresh_board()
        self.sync_status_bars()

    def on_confirm_asked(self, message: ConfirmAsked) -> None:
        def answered(yes: bool | None) -> None:
            self._asking.pop(message.run, None)
            if not message.answer.done():
                message.answer.set_result(bool(yes))

        screen = ConfirmScreen(message.question)
        self._asking[message.run] = screen
        self.app.push_screen(screen, answered)

    def on_room_done(self, message: RoomDone) -> None:
        self.runner.finished(message.run)
        self._line = None
        box = self.sinks.pop(message.run, None)
        asking = self._asking.pop(message.run, None)
        if asking is not None and asking.is_current:
            asking.dismiss(False)
        if message.cancelled:
            if box is not None:
                box.finish(note="(cancelled)")
            self.app.notify(f"Cancelled: {message.label}.", severity="warning", markup=False)
        elif message.error is not None:
            if box is not None:
                from cliffhanger.agents.llm.endpoint import redact

                reason = redact(one_line(str(message.error) or type(message.error).__name__, 200), None)
                box.finish(note=f"(failed: {reason})" if isinstance(message.error, UserError) else "(failed)")
            report_error(self.app, message.error, message.label)
        else:
            result = message.result
            text = result.text if result is not None else ""
            if box is not None:
                if box.role == "showrunner" and box.chunks and text.strip() and text.strip() != box.body.strip():
                    self.chat.add("system", text, before=box)  # what the action did, as the history has it
                box.finish(text=text)
            if result is not None and not result.ok:
                self.app.notify(one_line(text or f"{message.label} did not complete", 300), severity="warning",
                                markup=False)
            elif box is not None and box.role == "system":
                self.app.notify(one_line(text or f"{message.label}: done", 300), markup=False)
        self.chat.follow()
        self.sync_status_bars()
        self.refresh_board()
        if self.query_one(TabbedContent).active == "bible":
            self.query_one(BibleView).reload()

    def on_board_view_open(self, message: BoardView.Open) -> None:
        self.open_episode(message.episode)

    def open_episode(self, episode: int) -> None:
        if not 1 <= episode <= self.room.spec.episodes:
            self.app.notify(f"No episode {episode}: the season has episodes 1-{self.room.spec.episodes}.",
                            severity="warning", markup=False)
            return
        if isinstance(self.app.screen, EpisodeScreen):
            return  # one click may arrive as both a click and a row selection
        self.app.push_screen(EpisodeScreen(self.room, episode))

    def activate(self, tab: str) -> None:
        """Bring this screen to the top (closing episode views) and show `tab`."""
        while self.app.screen is not self and len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        self.action_show(tab)

    def on_unmount(self) -> None:
        self.runner.shutdown()
