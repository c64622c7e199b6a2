"""Eval suites: premises to draft with every configuration, and which episodes get judged.

A suite is a YAML file (`evals/suites/smoke.yaml`, `standard.yaml`, `long.yaml`, or any path). Every
premise becomes one season per configuration; the judged episodes (`judged_episodes`) are where a season
is won or lost: the opening, every 卡点集 and first paid episode, the episode at 75% where long seasons
sag, and the finale.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from cliffhanger.agents.errors import UserError, format_validation_error
from cliffhanger.agents.season.artifacts import Language, SeasonSpec
from cliffhanger.genres.errors import GenreError
from cliffhanger.genres.ids import Id
from cliffhanger.genres.loader import load_catalog

BUILTIN = ("smoke", "standard", "long")


class SuiteError(UserError):
    """A suite that cannot be used: named with its file and premise."""


class Premise(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id = Field(description="Unique in the suite; names the season folders (the one id rule: genres/ids.py).")
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    logline: Annotated[str, StringConstraints(min_length=10, max_length=2000)]
    genre: Id
    language: Language
    episodes: int = Field(ge=2, le=120)
    free: int = Field(ge=0)
    runtime_s: int = Field(90, ge=30, le=300)
    notes: str = Field("", max_length=2000, description="Series notes for the judge (added to the suite's).")

    @model_validator(mode="after")
    def _free_before_the_end(self) -> Premise:
        if self.free >= self.episodes:
            raise ValueError(f"free ({self.free}) must be less than episodes ({self.episodes})")
        return self

    def spec(self) -> SeasonSpec:
        return SeasonSpec.create(title=self.title, logline=self.logline, genre=self.genre, language=self.language,
                                 episodes=self.episodes, runtime_s=self.runtime_s, free_episodes=self.free)


class Suite(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Id
    description: str = ""
    notes: str = Field("", max_length=2000, description="Series notes for the judge, for every premise.")
    premises: tuple[Premise, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        seen: set[str] = set()
        for p in self.premises:
            if p.id in seen:
                raise ValueError(f"premise id {p.id!r} appears twice")
            seen.add(p.id)
        return self


JudgedRole = Literal["opening", "cut", "first_paid", "three_quarters", "finale"]
JUDGED_ROLES: tuple[JudgedRole, ...] = ("opening", "cut", "first_paid", "three_quarters", "finale")
ROLE_LABELS: dict[JudgedRole, str] = {
    "opening": "the opening", "cut": "the 卡点集, the last episode before a paywall point",
    "first_paid": "the first paid episode behind a paywall point", "three_quarters": "75% through the season",
    "finale": "the finale",
}
THREE_QUARTERS = 0.75
JUDGED_RULE = ("Judged episodes: episode 1 (the opening), every 卡点集 (the episode before a paywall point) and "
               "every first paid episode, the episode at 75% of the season (ceil(0.75 x episodes)) and the last; "
               "each once, in order.")


class JudgedEpisode(NamedTuple):
    """One judged episode: its number and why it is judged (one or more roles, in JUDGED_ROLES order)."""

    episode: int
    roles: tuple[JudgedRole, ...]

    @property
    def label(self) -> str:
        """The position as the judge reads it, e.g. "the 卡点集, the last episode before a paywall point"."""
        return "; ".join(ROLE_LABELS[r] for r in self.roles)


def roles_of(label: str) -> tuple[JudgedRole, ...]:
    """The roles a `JudgedEpisode.label` names (a record's `position`); () for a label of another version."""
    by_label = {text: role for role, text in ROLE_LABELS.items()}
    parts = [by_label.get(part) for part in label.split("; ")]
    return tuple(r for r in JUDGED_ROLES if r in parts) if all(parts) else ()


def three_quarter_episode(episodes: int) -> int:
    """The episode in which 75% of the season is reached: ceil(0.75 * episodes) (45 of 60, 8 of 10)."""
    return max(1, math.ceil(THREE_QUARTERS * episodes))


def judged_episodes(spec: SeasonSpec) -> list[JudgedEpisode]:
    """The episodes an eval judges, sorted, each once with every reason it is judged:

    - "opening": episode 1, where the viewer decides to stay;
    - "cut": every 卡点集, the episode before a paywall point (`spec.episode_kind(ep) == "cut"`), whose last
      frame must make the viewer pay;
    - "first_paid": every first paid episode (`== "first_paid"`), which must pay the cut off (a paywall
      episode that is also the one before the next point is a "cut", and judged as one);
    - "three_quarters": the episode at 75% of the season (`three_quarter_episode`), where long seasons sag;
    - "finale": the last episode.
    An ad-supported season has no cut or first paid episodes: opening, 75% and finale only. A 60-episode
    season with paywall points [11, 29, 47] gives 1, 10, 11, 28, 29, 45, 46, 47, 60.
    """
    roles: dict[int, set[JudgedRole]] = {}
    roles.setdefault(1, set()).add("opening")
    for ep in range(1, spec.episodes + 1):
        kind = spec.episode_kind(ep)
        if kind in ("cut", "first_paid"):
            roles.setdefault(ep, set()).add(kind)
    roles.setdefault(three_quarter_episode(spec.episodes), set()).add("three_quarters")
    roles.setdefault(spec.episodes, set()).add("finale")
    return [JudgedEpisode(ep, tuple(r for r in JUDGED_ROLES if r in found)) for ep, found in sorted(roles.items())]


def load_suite(name_or_path: str, genres_dirs: list[Path] | None = None) -> Suite:
    """A built-in suite by name, or a YAML file; SuiteError (one line, file and premise named) otherwise."""
    if name_or_path in BUILTIN:
        where = f"built-in suite {name_or_path}"
        text = resources.files("cliffhanger.evals").joinpath("suites", f"{name_or_path}.yaml").read_text(encoding="utf-8")
    else:
        path = Path(name_or_path)
        where = str(path)
        if not path.is_file():
            raise SuiteError(f"no suite {name_or_path!r}: use {', '.join(BUILTIN[:-1])} or {BUILTIN[-1]}, or the path "
                             "of a suite YAML file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SuiteError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise SuiteError(f"{where}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(format_validation_error(exc, where)) from None
    catalog = load_catalog(genres_dirs or [])
    for p in suite.premises:
        try:
            catalog.get(p.genre)
        except GenreError as exc:
            raise SuiteError(f"{where}: premise {p.id}: {exc}") from None
        try:
            p.spec()
        except ValidationError as exc:
            raise SuiteError(format_validation_error(exc, f"{where}: premise {p.id}")) from None
    return suite
