"""The names of the roles that call models, defined once.

The room is the five roles that draft a season; the judge scores scripts in evals. Settings, the crew,
the CLI, evals and benchmarks all take these tuples from here.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["showrunner", "writer", "continuity", "critic", "shots", "judge"]
ROOM_ROLES: tuple[Role, ...] = ("showrunner", "writer", "continuity", "critic", "shots")
JUDGE: Role = "judge"
ROLES: tuple[Role, ...] = (*ROOM_ROLES, JUDGE)
