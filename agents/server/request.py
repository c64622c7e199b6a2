"""What a client sends to start or resume a season on the server: a small JSON object, LangGraph's run
`context` (never `configurable`: the server refuses both at once).

The season folder is given as an absolute path: the server resolves nothing against its own folder. Every
other field is a `RunSettings` field the command line also has; the server fills in the rest itself (the
models from its own settings, the embedding)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.state import RunSettings

GRAPH_ID = "season"  # the graph's name in langgraph.json
# Thread ids must be UUIDs: a season's thread is uuid5 of its id in this namespace, so every client (and the
# command line's own Postgres checkpoints) finds the same thread for the same season.
THREAD_NAMESPACE = uuid.UUID("3b1d7c1e-5a0e-4f2b-9a57-6b0c1f1e2d3a")


def thread_id(season_id: str) -> str:
    return str(uuid.uuid5(THREAD_NAMESPACE, f"cliffhanger-season:{season_id}"))


@dataclass(frozen=True)
class SeasonRequest:
    season: str = ""               # absolute path of the season folder, as the server sees it
    until: int | None = None
    concurrency: int = 4
    max_revisions: int = 2
    review: str | None = None      # "arc": pause after the arc for a person's review
    target: str = "generic"
    budget_usd: float | None = None
    move_checkpoints: bool = False  # the season's checkpoints may move to the server's

    @classmethod
    def of(cls, folder: Path, settings: RunSettings) -> SeasonRequest:
        return cls(season=str(folder.resolve()), until=settings.until, concurrency=settings.concurrency,
                   max_revisions=settings.max_revisions, review="arc" if settings.review_arc else None,
                   target=settings.target, budget_usd=settings.budget_usd,
                   move_checkpoints=settings.move_checkpoints)

    def wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: Any) -> SeasonRequest:
        """The request a run was started with; UserError (one line) for one no season can run with."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise UserError("the run's context must be a JSON object with the season folder: use `cliffhanger submit`")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"unknown field(s) in the run's context: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        request = cls(**data)
        if not request.season or not Path(request.season).is_absolute():
            raise UserError(f"the run's context names no season folder by absolute path ({request.season!r}): "
                            "use `cliffhanger submit DIR`")
        if request.review not in (None, "arc"):
            raise UserError(f"review {request.review!r} is not supported: use review 'arc' or none")
        return request

    def settings(self, **more: Any) -> RunSettings:
        return RunSettings(until=self.until, concurrency=self.concurrency, max_revisions=self.max_revisions,
                           review_arc=self.review == "arc", target=self.target, budget_usd=self.budget_usd, **more)
