"""Eval suites: premises to draft with every configuration, and which episodes get judged.

A suite is a YAML file (`evals/suites/smoke.yaml`, `standard.yaml`, or any path). Every premise
becomes one season per configuration; the judged episodes are the first, every paywall episode and
the last, where the drama is made or lost.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from cliffhanger.agents.errors import UserError, format_validation_error
from cliffhanger.agents.season.artifacts import Language, SeasonSpec
from cliffhanger.genres.errors import GenreError
from cliffhanger.genres.ids import Id
from cliffhanger.genres.loader import load_catalog

BUILTIN = ("smoke", "standard")


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
    premises: tuple[Premise, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        seen: set[str] = set()
        for p in self.premises:
            if p.id in seen:
                raise ValueError(f"premise id {p.id!r} appears twice")
            seen.add(p.id)
        return self


def judged_episodes(spec: SeasonSpec) -> list[tuple[int, str]]:
    """(episode, position label): the first, every paywall episode, the last."""
    out = {1: "first"}
    for ep in spec.paywall.paywall_episodes:
        out.setdefault(ep, f"paywall {ep}")
    out.setdefault(spec.episodes, "last")
    return sorted(out.items())


def load_suite(name_or_path: str, genres_dirs: list[Path] | None = None) -> Suite:
    """A built-in suite by name, or a YAML file; SuiteError (one line, file and premise named) otherwise."""
    if name_or_path in BUILTIN:
        where = f"built-in suite {name_or_path}"
        text = resources.files("cliffhanger.evals").joinpath("suites", f"{name_or_path}.yaml").read_text(encoding="utf-8")
    else:
        path = Path(name_or_path)
        where = str(path)
        if not path.is_file():
            raise SuiteError(f"no suite {name_or_path!r}: use {' or '.join(BUILTIN)}, or the path of a suite YAML file")
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
