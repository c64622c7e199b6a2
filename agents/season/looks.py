"""Each character's look as of an episode, and the look versions of a season (one reference sheet each).

The bible locks a look; canon changes it from the episode a look fact is recorded in (a scar gained in
episode 20 shows from episode 20 on: the shot planner's `bible_as_of` reads canon's traits and states).
Nothing else records look changes, so the versions are derived: the bible as of every episode, compared
look by look. A version is numbered in order of first appearance over the whole season (episodes 1..N),
so its id (`sheet-lin_wan-v2`) does not depend on which episodes an export picks, and a look that comes
back (the old outfit again) is its old version again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cliffhanger.agents.season.artifacts import Bible, Character


def sheet_id(subject: str, version: int | None = None) -> str:
    """The reference sheet id of a character's look version ('sheet-lin_wan-v2') or of a location ('sheet-hall')."""
    return f"sheet-{subject}" if version is None else f"sheet-{subject}-v{version}"


def episode_ranges(episodes: Iterable[int]) -> str:
    """[1, 2, 3, 7, 9, 10] -> '1-3, 7, 9-10'."""
    out: list[str] = []
    run: list[int] = []
    for e in sorted(set(episodes)):
        if run and e != run[-1] + 1:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else f"{run[0]}")
            run = []
        run.append(e)
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else f"{run[0]}")
    return ", ".join(out)


@dataclass(frozen=True)
class LookVersion:
    """One look a character wears on screen, and the episodes that show it."""

    character: Character  # as of the first episode with this look
    version: int
    episodes: tuple[int, ...]

    @property
    def look(self) -> str:
        return self.character.visual.as_prompt()

    @property
    def sheet_id(self) -> str:
        return sheet_id(self.character.id, self.version)


class LookBook:
    """The bible as of each episode 1..`episodes`, and every character's look versions.

    `bible_at(e)` is the bible as of episode e (canon applied); it is asked only for episode 1 and the
    episodes in `changes` (those canon has facts for), since between them nothing can change. Without
    `bible_at` every episode shows the bible's own looks.
    """

    def __init__(self, bible: Bible, episodes: int, bible_at: Callable[[int], Bible] | None = None,
                 changes: Iterable[int] = ()) -> None:
        self.episodes = max(1, episodes)
        asked = {1, *(e for e in changes if 1 < e <= self.episodes)} if bible_at else set()
        self._bibles: list[Bible] = []  # index e - 1
        current = bible
        for e in range(1, self.episodes + 1):
            if e in asked and bible_at is not None:
                current = bible_at(e)
            self._bibles.append(current)
        self._versions: dict[str, list[LookVersion]] = {}
        self._at: dict[tuple[str, int], int] = {}  # (character, episode) -> version
        for c in bible.characters:
            looks: dict[str, tuple[Character, list[int]]] = {}
            for e, b in enumerate(self._bibles, 1):
                now = next((x for x in b.characters if x.id == c.id), c)
                entry = looks.setdefault(now.visual.as_prompt(), (now, []))
                entry[1].append(e)
                self._at[c.id, e] = list(looks).index(now.visual.as_prompt()) + 1
            self._versions[c.id] = [LookVersion(who, n, tuple(eps)) for n, (who, eps) in enumerate(looks.values(), 1)]

    def bible(self, episode: int) -> Bible:
        """The bible as of `episode` (clamped to the season)."""
        return self._bibles[min(max(episode, 1), self.episodes) - 1]

    def versions(self, character: str) -> list[LookVersion]:
        """The character's looks in order of first appearance; [] for an id the bible does not know."""
        return list(self._versions.get(character, []))

    def version(self, character: str, episode: int) -> LookVersion | None:
        """The look the character wears in `episode`; None for an id the bible does not know (a walk-on)."""
        n = self._at.get((character, min(max(episode, 1), self.episodes)))
        return None if n is None else self._versions[character][n - 1]
