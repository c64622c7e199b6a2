"""`cliffhanger chat [DIR]`: the Textual app. Opens the season (or the new-season form), shows the
season screen, and keeps every failure inside the app as a readable message.

Opening goes through `Room.open`; a folder that is not a season, or a damaged or older one, gets a
screen that says why and offers a new season or quit. A season being drafted by another process
opens read-only with a banner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from cliffhanger.agents.errors import UserError, one_line
from cliffhanger.app.tui.commands import RoomCommands
from cliffhanger.app.tui.episode import EpisodeScreen
from cliffhanger.app.tui.new_season import NewSeasonScreen, SeasonFields
from cliffhanger.app.tui.season import SeasonScreen
from cliffhanger.app.tui.widgets import OpenFailedScreen, Splash, StatusBar, report_error, safe, to_ui
from cliffhanger.genres.errors import GenreError

if TYPE_CHECKING:
    from typing import Unpack

    from chromadb import EmbeddingFunction

    from cliffhanger.agents.llm.crew import RoleModel
    from cliffhanger.app.room import Room

log = logging.getLogger(__name__)
MAX_INTERNAL_ERRORS = 20
T = TypeVar("T")


class CliffhangerApp(App[int]):
    """The writers' room. `opener(directory)` and `creator(directory, **fields)` default to
    `Room.open` and `Room.create`; tests inject models, an embedding or both functions."""

    CSS_PATH = "styles.tcss"
    TITLE = "cliffhanger"
    COMMANDS = App.COMMANDS | {RoomCommands}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, directory: Path | None = None, *, config: Path | None = None,
                 flags: Mapping[str, object] | None = None, models: Mapping[str, RoleModel] | None = None,
                 embedding: EmbeddingFunction | None = None, opener: Callable[[Path], Room] | None = None,
                 creator: Callable[..., Path] | None = None, new_folder: Path | None = None) -> None:
        super().__init__()
        self.directory = directory
        self.config, self.flags = config, {k: v for k, v in (flags or {}).items() if v is not None}
        self.models, self.embedding = models, embedding
        self.opener = opener or self._open_room
        self.creator = creator or self._create_room
        self.new_folder = new_folder
        self.room: Room | None = None
        self.notices: list[tuple[str, str]] = []  # (severity, message) of every notification, for tests and logs

    # ---- the room --------------------------------------------------------------------------------

    def _open_room(self, directory: Path) -> Room:
        from cliffhanger.app.room import Room  # the room loads the agents: after the first screen is up

        return Room.open(directory, config=self.config, flags=dict(self.flags), models=self.models,
                         embedding=self.embedding)

    @staticmethod
    def _create_room(directory: Path, **fields: Unpack[SeasonFields]) -> Path:
        from cliffhanger.app.room import Room

        return Room.create(directory, **fields)

    def on_mount(self) -> None:
        if self.directory is None:
            self.new_season(self.new_folder)
        else:
            self.open_season(self.directory)

    def new_season(self, folder: Path | None = None) -> None:
        self._replace(NewSeasonScreen(self.creator, folder), self._created)

    def _created(self, path: Path | None) -> None:
        if path is None:
            self.exit(0)
        else:
            self.notify(one_line(f"created {path}"), markup=False)
            self.open_season(path)

    def open_season(self, directory: Path) -> None:
        self._replace(Splash(f"opening {directory} …"))
        self._open_worker(directory)

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def _open_worker(self, directory: Path) -> None:
        try:
            room = self.opener(directory)
        except (UserError, GenreError) as exc:
            to_ui(self, self._open_failed, directory, one_line(str(exc), 600))
            return
        except Exception as exc:  # noqa: BLE001 - a bug: logged, one line on screen
            log.exception("opening %s failed", directory)
            to_ui(self, self._open_failed, directory, f"internal error: {exc.__class__.__name__}: "
                  f"{one_line(str(exc), 200)} (traceback in the log file)")
            return
        if not to_ui(self, self._opened, room):
            room.close()  # the writer quit while the season was opening

    def _opened(self, room: Room) -> None:
        self.room = room
        self._replace(SeasonScreen(room))
        if room.read_only:
            self.notify(f"Read-only: this season is being drafted by {room.locked_by or 'another process'}.",
                        severity="warning", markup=False)

    def _open_failed(self, directory: Path, message: str) -> None:
        def chosen(choice: str | None) -> None:
            if choice == "new":
                self.new_season(None if (directory / "season.toml").exists() else directory)
            else:
                self.exit(2)

        self._replace(OpenFailedScreen(message), chosen)

    def _replace(self, screen: Screen[T], callback: Callable[[T | None], None] | None = None) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(screen, callback)

    # ---- messages from screens above the season screen -----------------------------------------
    # A pushed screen's messages bubble to the app (its parent in the DOM), not to the screen below.

    def _season(self) -> SeasonScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, SeasonScreen)), None)

    def on_episode_screen_redraft(self, message: EpisodeScreen.Redraft) -> None:
        if (season := self._season()) is not None:
            season.redraft(message.episode, message.note)

    def on_episode_screen_revise_cliffhanger(self, message: EpisodeScreen.ReviseCliffhanger) -> None:
        if (season := self._season()) is not None:
            season.redraft(message.episode, message.note, ending_only=True)

    def on_status_bar_shown(self, message: StatusBar.Shown) -> None:
        if (season := self._season()) is not None:
            season.sync_status_bars()

    def on_unmount(self) -> None:
        room, self.room = self.room, None
        if room is not None:
            season = self._season()
            if season is not None:
                season.runner.shutdown()
            try:
                room.close()
            except Exception:  # noqa: BLE001 - closing must not hide how the app ended
                log.exception("closing the room failed")

    # ---- safety nets -----------------------------------------------------------------------------

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        if not markup:  # text that may come from a model or the season: no escape codes either
            message, title = safe(message).plain, safe(title).plain
        self.notices.append((str(severity), str(message)))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _handle_exception(self, error: Exception) -> None:
        # Textual's last resort quits with a traceback on screen. Once a screen is up, a bug in one
        # handler is logged and named in one line instead, and the writer keeps the session; a flood
        # of them (a broken render loop) still ends the app the Textual way.
        self._internal_errors = getattr(self, "_internal_errors", 0) + 1
        if not self.is_running or len(self.screen_stack) < 2 or self._internal_errors > MAX_INTERNAL_ERRORS:
            super()._handle_exception(error)
            return
        report_error(self, error, "cliffhanger")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            report_error(self, event.worker.error, event.worker.name or "background work")


def run_chat(directory: Path | None, config: Path | None = None, flags: Mapping[str, object] | None = None) -> int:
    """Run the app in the terminal; the exit code (0, or 2 after a folder that could not be opened)."""
    app = CliffhangerApp(directory, config=config, flags=flags)
    code = app.run()
    return int(code or 0)
