"""The new-season form, for `cliffhanger chat` without a folder (or after a folder failed to open):
folder, logline, genre (from the genre packs), episodes, free episodes, language, optional title.
Dismisses with the created folder; the app then opens it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from cliffhanger.agents.errors import UserError, one_line
from cliffhanger.app.tui.widgets import report_error, safe, to_ui
from cliffhanger.genres.errors import GenreError

LANGUAGES = [(Text("the genre's default"), "default"), (Text("Chinese (zh)"), "zh"), (Text("English (en)"), "en")]


def genre_options() -> list[tuple[Text, str]]:
    """(label, id) for every genre pack, built-in first in id order, then user packs."""
    from cliffhanger.genres.loader import load_catalog

    catalog = load_catalog()
    return [(safe(f"{p.names.en} · {p.names.zh}  ({pid}, {p.language})"), pid)
            for pid, p in sorted(catalog.packs.items())]


def default_folder(base: Path | None = None) -> Path:
    base = base or Path.cwd()
    candidate, n = base / "cliffhanger-season", 2
    while (candidate / "season.toml").exists():
        candidate, n = base / f"cliffhanger-season-{n}", n + 1
    return candidate


class SeasonFields(TypedDict):
    """The form's answers as `Room.create` takes them, after the folder."""

    logline: str
    genre: str
    episodes: int
    free: int
    language: str | None
    title: str | None


class NewSeasonScreen(Screen[Path | None]):
    """Create a season; `create(folder, **fields)` is `Room.create` (injected for tests)."""

    BINDINGS = [Binding("ctrl+s", "create", "Create"), Binding("escape", "leave", "Quit")]

    def __init__(self, create: Callable[..., Path], folder: Path | None = None, genres: list[tuple[Text, str]] | None = None) -> None:
        super().__init__()
        self.create = create
        self.folder = folder or default_folder()
        self.genres = genres if genres is not None else genre_options()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form"):
            yield Static(Text("A new season", style="bold"), id="form-title")
            with Grid(id="form-grid"):
                yield Label("Folder")
                yield Input(str(self.folder), id="folder", compact=True)
                yield Label("Logline")
                yield Input(placeholder="who wants what, and what stands in the way", id="logline", compact=True)
                yield Label("Genre")
                yield Select(self.genres, id="genre", allow_blank=False, value=self._default_genre(), compact=True)
                yield Label("Episodes")
                yield Input("60", id="episodes", type="integer", compact=True)
                yield Label("Free episodes")
                yield Input("10", id="free", type="integer", compact=True)
                yield Label("Language")
                yield Select(LANGUAGES, id="language", allow_blank=False, value="default", compact=True)
                yield Label("Title")
                yield Input(placeholder="optional: taken from the logline", id="title", compact=True)
            yield Static("", id="form-error", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button("Create season", variant="primary", id="create")
                yield Button("Quit", id="quit")
        yield Footer()

    def _default_genre(self) -> str:
        ids = [value for _, value in self.genres]
        return "revenge" if "revenge" in ids else ids[0]

    def on_mount(self) -> None:
        self.title = "cliffhanger"
        self.sub_title = "new season"
        self.query_one("#logline", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "create":
            self.action_create()
        else:
            self.action_leave()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_create()

    def action_leave(self) -> None:
        self.dismiss(None)

    def _fail(self, message: str) -> None:
        self.query_one("#form-error", Static).update(safe(message, "bold red"))
        self.app.notify(one_line(message, 300), title="new season", severity="error", markup=False)

    def fields(self) -> tuple[Path, SeasonFields] | None:
        """The folder and the rest of the form as `Room.create` arguments, or None after showing what is wrong."""
        values = {name: self.query_one(f"#{name}", Input).value.strip()
                  for name in ("folder", "logline", "episodes", "free", "title")}
        if not values["folder"]:
            self._fail("Folder: give a folder for the season, e.g. ./my-season")
            return None
        if not values["logline"]:
            self._fail("Logline: write one or two sentences: who wants what, and what stands in the way")
            return None
        numbers = {}
        for name, label in (("episodes", "Episodes"), ("free", "Free episodes")):
            try:
                numbers[name] = int(values[name])
            except ValueError:
                self._fail(f"{label}: {values[name]!r} is not a whole number")
                return None
        language = self.query_one("#language", Select).value
        return Path(values["folder"]).expanduser(), SeasonFields(
            logline=values["logline"], genre=str(self.query_one("#genre", Select).value), episodes=numbers["episodes"],
            free=numbers["free"], language=None if language == "default" else str(language),
            title=values["title"] or None)

    def action_create(self) -> None:
        form = self.fields()
        if form is None:
            return
        self.query_one("#form-error", Static).update(Text("creating…", style="dim"))
        self.query_one("#create", Button).disabled = True
        self.run_create(*form)

    @work(thread=True, exclusive=True, group="create", exit_on_error=False)
    def run_create(self, directory: Path, fields: SeasonFields) -> None:
        try:
            path = self.create(directory, **fields)
        except (UserError, GenreError) as exc:
            to_ui(self.app, self._failed, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - logged, one line on screen
            to_ui(self.app, report_error, self.app, exc, "new season")
            to_ui(self.app, self._failed, "")
            return
        to_ui(self.app, self.dismiss, Path(path))

    def _failed(self, message: str) -> None:
        self.query_one("#create", Button).disabled = False
        if message:
            self._fail(message)
        else:
            self.query_one("#form-error", Static).update("")
