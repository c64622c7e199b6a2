"""The app's actions in Textual's command palette (Ctrl+P): drafting, views, exports, episodes by number."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from cliffhanger.app.tui.season import SeasonScreen

EXPORTS = (("fountain", "Fountain screenplay"), ("fdx", "Final Draft"), ("zh-script", "Chinese script format"),
           ("shots-csv", "shot lists as CSV"), ("shots-json", "shot lists as JSON"), ("html", "the season book (HTML)"),
           ("bible-md", "the bible as Markdown"))
_EPISODE = re.compile(r"^\s*(?:ep|episode|#)?\s*(\d{1,3})\s*$", re.IGNORECASE)


def _season(provider: Provider) -> SeasonScreen | None:
    for screen in reversed(provider.app.screen_stack):
        if isinstance(screen, SeasonScreen):
            return screen
    return None


def season_commands(season: SeasonScreen) -> list[tuple[str, str, Callable[[], object]]]:
    """(title, help, callback) for every palette command of an open season."""
    def at(tab: str, then: Callable[[], object] | None = None) -> Callable[[], object]:
        def go() -> None:
            season.activate(tab)
            if then is not None:
                then()
        return go

    out: list[tuple[str, str, Callable[[], object]]] = [
        ("Draft next episode", "draft the first episode that is not accepted yet (F5)", at("board", season.action_draft_next)),
        ("Draft all episodes", "draft the rest of the season (F6)", at("board", season.action_draft_all)),
        ("Open board", "every episode with status, scores and findings (F2)", at("board")),
        ("Open bible", "characters, locations, secrets and the canon search (F3)", at("bible")),
        ("Open chat", "talk to the showrunner (F4)", at("chat")),
        ("Approve the arc", "after an arc review: approve arc.json and continue drafting (/approve)",
         at("board", partial(season.perform_command, "/approve"))),
        ("Season status", "episodes accepted, model calls and cost (/status)",
         at("chat", partial(season.perform_command, "/status"))),
        ("Cancel running work", "stop the reply or action in progress (Esc)", season.action_cancel),
        ("Slash command help", "what you can type in the chat", at("chat", partial(season.chat_help))),
    ]
    out += [(f"Export {name}", f"/export {fmt}: {name} into the season's exports/ folder",
             partial(season.perform_command, f"/export {fmt}")) for fmt, name in EXPORTS]
    return out


class RoomCommands(Provider):
    """Commands of the open season; `12` or `episode 12` opens that episode."""

    async def discover(self) -> Hits:
        season = _season(self)
        if season is None:
            return
        for title, help_text, callback in season_commands(season):
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        season = _season(self)
        if season is None:
            return
        match = _EPISODE.match(query)
        if match:
            n = int(match.group(1))
            yield Hit(1.0, f"Open episode {n}", partial(self._open, season, n), help="script, shots, review, revisions")
        matcher = self.matcher(query)
        for title, help_text, callback in season_commands(season):
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)

    @staticmethod
    def _open(season: SeasonScreen, episode: int) -> None:
        season.activate("board")
        season.open_episode(episode)
