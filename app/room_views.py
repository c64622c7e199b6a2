"""What the room hands the terminal UI: one episode with its revisions, and what an action did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.season.artifacts import ArcRow, ContinuityReport, Critique, EpisodeScript, Review
from cliffhanger.agents.season.screenplay import fountain
from cliffhanger.agents.season.shotlist import ShotList

if TYPE_CHECKING:
    from cliffhanger.agents.roles.showrunner_chat import Action
    from cliffhanger.agents.season.store import ModelKind, SeasonStore

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RevisionView:
    revision: int
    script: EpisodeScript | None  # None: the draft on disk cannot be read
    critique: Critique | None
    continuity: ContinuityReport | None
    overall: float | None


@dataclass(frozen=True)
class EpisodeView:
    episode: int
    row: ArcRow | None
    script: EpisodeScript | None
    shots: ShotList | None
    review: Review | None
    revisions: list[RevisionView]
    fountain: str

    @property
    def accepted_revision(self) -> int | None:
        return self.review.accepted_revision if self.review is not None else None


@dataclass(frozen=True)
class ActionResult:
    text: str
    ok: bool = True
    changed: list[int] = field(default_factory=list)
    action: Action | None = None


def read_episode(store: SeasonStore, episode: int, title: str) -> EpisodeView:
    """Everything on disk about `episode` of the season `title`. A damaged review, draft, critique or
    continuity report shows as missing, so the rest of the episode can still be looked at."""
    arc = store.arc()
    script = store.script(episode)
    try:
        review = store.review(episode)
    except UserError:  # SeasonError: review.json is damaged
        review = None
    revisions = []
    for rev in store.revisions(episode):
        entry = review.revision(rev) if review is not None else None
        revisions.append(RevisionView(rev, _maybe(store, episode, rev, "draft", EpisodeScript),
                                      _maybe(store, episode, rev, "critique", Critique),
                                      _maybe(store, episode, rev, "continuity", ContinuityReport),
                                      entry.overall if entry is not None else None))
    text = fountain(script, store.bible(), title) if script else ""
    return EpisodeView(episode, arc.row(episode) if arc else None, script, store.shots(episode), review, revisions,
                       text)


def _maybe(store: SeasonStore, episode: int, revision: int, kind: ModelKind, schema: type[M]) -> M | None:
    try:
        return store.revision(episode, revision, kind, schema)
    except UserError:  # SeasonError: the file is damaged
        return None
