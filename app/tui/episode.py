"""One episode: the accepted script as a screenplay page, its shot list, the review, and any two
revisions side by side.

The screen reads through the room it is given and changes nothing itself: a redraft or a new
cliffhanger asked for here is posted as a message (`EpisodeScreen.Redraft`, `.ReviseCliffhanger`).
A pushed screen's messages bubble to the app, which hands them to the season screen that runs work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Select, Static, TabbedContent, TabPane

from cliffhanger.app.console import untrusted
from cliffhanger.app.tui.script_text import review_text, screenplay
from cliffhanger.app.tui.widgets import PromptScreen, StatusBar, report_error, safe, to_ui

if TYPE_CHECKING:
    from cliffhanger.agents.season.artifacts import Bible
    from cliffhanger.agents.season.shotlist import Shot
    from cliffhanger.app.room import Room
    from cliffhanger.app.room_views import EpisodeView, RevisionView

SHOT_COLUMNS = ("shot", "start", "dur", "size", "angle", "move", "in frame", "action", "dialogue")


def shot_cells(shot: Shot) -> tuple[Text, ...]:
    dialogue = " / ".join(f"{d.speaker}: {d.line}" for d in shot.dialogue)
    if shot.sound.vo_os:
        dialogue = (dialogue + " / " if dialogue else "") + shot.sound.vo_os
    return (Text(shot.shot_id), Text(f"{shot.start_s:g}", justify="right"), Text(f"{shot.duration_s:g}", justify="right"),
            Text(shot.shot_size), Text(shot.angle), Text(shot.movement),
            untrusted(", ".join(c.id for c in shot.characters)), untrusted(shot.action), untrusted(dialogue))


class EpisodeScreen(Screen[None]):
    """Esc goes back to the board; [ and ] step through episodes."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("left_square_bracket", "step(-1)", "Prev ep"),
        Binding("right_square_bracket", "step(1)", "Next ep"),
        Binding("1", "tab('tab-script')", "Script"),
        Binding("2", "tab('tab-shots')", "Shots"),
        Binding("3", "tab('tab-review')", "Review"),
        Binding("4", "tab('tab-revisions')", "Revisions"),
        Binding("r", "redraft", "Redraft"),
        Binding("c", "stronger_cliffhanger", "Cliffhanger"),
    ]

    class Redraft(Message):
        """The writer asks for a new draft of `episode` following `note`."""

        def __init__(self, episode: int, note: str) -> None:
            super().__init__()
            self.episode, self.note = episode, note

    class ReviseCliffhanger(Message):
        """The writer asks for a new ending of `episode`: `note` says what it should do."""

        def __init__(self, episode: int, note: str) -> None:
            super().__init__()
            self.episode, self.note = episode, note

    def __init__(self, room: Room, episode: int) -> None:
        super().__init__()
        self.room, self.episode = room, episode
        self.view: EpisodeView | None = None
        self.bible: Bible | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading…", id="episode-head", markup=False)
        with TabbedContent(id="episode-tabs"):
            with TabPane("Script", id="tab-script"), VerticalScroll(classes="page"):
                yield Static("", id="script", markup=False)
            with TabPane("Shots", id="tab-shots"):
                yield DataTable(id="shots", cursor_type="row", zebra_stripes=True)
            with TabPane("Review", id="tab-review"), VerticalScroll():
                yield Static("", id="review", markup=False)
            with TabPane("Revisions", id="tab-revisions"), Horizontal(id="revisions"):
                for side in ("left", "right"):
                    with Vertical(classes="revision-column"):
                        yield Select([], id=f"rev-{side}", allow_blank=True, prompt="revision")
                        with VerticalScroll():
                            yield Static("", id=f"rev-{side}-text", markup=False)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.title = safe(self.room.spec.title).plain
        self.sub_title = f"episode {self.episode}"
        table = self.query_one("#shots", DataTable)
        for name in SHOT_COLUMNS:
            table.add_column(name, key=name)
        self.load()

    @work(thread=True, exclusive=True, group="episode", exit_on_error=False)
    def load(self) -> None:
        try:
            view, bible = self.room.episode(self.episode), self.room.bible()
        except Exception as exc:  # noqa: BLE001 - shown as a notification
            to_ui(self.app, report_error, self.app, exc, f"opening episode {self.episode}")
            return
        to_ui(self.app, self.fill, view, bible)

    def fill(self, view: EpisodeView, bible: Bible | None) -> None:
        if not self.is_attached or view.episode != self.episode:
            return  # closed, or the writer stepped on to another episode meanwhile
        self.view, self.bible = view, bible
        self.sub_title = f"episode {self.episode}"
        self.query_one("#episode-head", Static).update(self._head(view))
        script = self.query_one("#script", Static)
        if view.script is not None:
            script.update(screenplay(view.script, bible))
        else:
            script.update(Text("Not accepted yet: no script to show. Draft it from the board (F5) or the chat "
                               f"(/draft {self.episode}).", style="dim"))
        table = self.query_one("#shots", DataTable)
        table.clear()
        for shot in view.shots.shots if view.shots is not None else ():
            table.add_row(*shot_cells(shot), key=shot.shot_id)
        self.query_one("#review", Static).update(self._review(view))
        options = [(Text(self._revision_label(r)), i) for i, r in enumerate(view.revisions)]
        for side, pick in (("left", 0), ("right", len(options) - 1)):
            select = self.query_one(f"#rev-{side}", Select)
            select.set_options(options)
            if options:
                select.value = pick
            self._show_revision(side, pick if options else None)

    def _head(self, view: EpisodeView) -> Text:
        out = Text(f"Episode {self.episode}", style="bold")
        if view.script is not None:
            out.append_text(untrusted(f": {view.script.title}", "bold"))
        row = view.row
        if row is not None:
            out.append("\n")
            out.append_text(untrusted(row.logline))
            kind = f"\ncliffhanger: {row.cliffhanger.kind} (strength {row.cliffhanger.strength}) "
            out.append_text(untrusted(kind + row.cliffhanger.hook_line, "dim"))
            spec = self.room.spec
            if spec.episode_kind(self.episode) in ("cut", "first_paid"):
                out.append(f"  {spec.episode_label(self.episode, spec.language)}", style="bold red")
        return out

    def _revision_label(self, rev: RevisionView) -> str:
        score = f" · {rev.overall:.1f}" if rev.overall is not None else ""
        errors = len(rev.continuity.errors()) if rev.continuity is not None else 0
        accepted = self.view.accepted_revision if self.view is not None else None
        return f"r{rev.revision}{score}" + (f" · {errors} errors" if errors else "") + \
            (" · accepted" if accepted == rev.revision else "")

    def _review(self, view: EpisodeView) -> Text:
        accepted = view.accepted_revision
        findings = view.review.open_findings if view.review is not None else ()
        chosen = next((r for r in view.revisions if r.revision == accepted), None)
        if chosen is None and view.revisions:
            chosen = view.revisions[-1]
        if chosen is None:
            return review_text(None, None, None, accepted, findings)
        return review_text(chosen.critique, chosen.continuity, chosen.overall, chosen.revision, findings)

    def _show_revision(self, side: str, index: int | None) -> None:
        target = self.query_one(f"#rev-{side}-text", Static)
        if self.view is None or index is None or not 0 <= index < len(self.view.revisions):
            target.update(Text("No revisions yet.", style="dim"))
            return
        rev = self.view.revisions[index]
        out = Text(self._revision_label(rev) + "\n\n", style="bold")
        if rev.script is None:
            out.append("this draft cannot be read (damaged file)", style="red")
        else:
            out.append_text(screenplay(rev.script, self.bible, width=max(28, self.size.width // 2 - 6)))
        target.update(out)

    def on_select_changed(self, event: Select.Changed) -> None:
        side = (event.select.id or "").removeprefix("rev-")
        if side in ("left", "right"):
            value = event.value
            self._show_revision(side, value if isinstance(value, int) else None)

    def action_tab(self, pane: str) -> None:
        self.query_one("#episode-tabs", TabbedContent).active = pane

    def action_back(self) -> None:
        self.dismiss(None)

    def action_step(self, delta: int) -> None:
        n = self.episode + delta
        if 1 <= n <= self.room.spec.episodes:
            self.episode = n
            self.query_one("#episode-head", Static).update("loading…")
            self.load()

    def action_redraft(self) -> None:
        self._ask_note(f"Redraft episode {self.episode}: your note for the writer", "", self.Redraft)

    def action_stronger_cliffhanger(self) -> None:
        self._ask_note(f"Revise the cliffhanger of episode {self.episode}: what should the ending do?",
                       "a stronger cliffhanger", self.ReviseCliffhanger)

    def _ask_note(self, question: str, value: str,
                  request: type[EpisodeScreen.Redraft | EpisodeScreen.ReviseCliffhanger]) -> None:
        episode = self.episode

        def given(note: str | None) -> None:
            if note and note.strip():
                self.post_message(request(episode, note.strip()))

        self.app.push_screen(PromptScreen(question, value), given)
