"""Eval configurations: the models of every role and the pipeline switches being compared.

A config file is a `cliffhanger.toml` (model settings: provider, model, `[roles.writer]`, prices...)
plus `name` and a `[pipeline]` table. The model part is resolved by the app's settings (keys come
from the environment, never from results); this module holds the pipeline part and the resolved
config the eval runs with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.profiles import Price
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S


class PipelineConfig(BaseModel):
    """What the room does. `baseline` writes each episode with one prompt and no room at all."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["room", "baseline"] = Field("room", description="room: the full graph; baseline: one prompt per episode")
    revisions: bool = Field(True, description="False: every first draft is accepted")
    max_revisions: int = Field(2, ge=0, le=5, description="bound on revisions when revisions are on")
    critic: bool = Field(True, description="False: no critic; acceptance on rules and the showrunner alone")
    canon_memory: bool = Field(True, description="False: the writer gets no canon and drafts are not checked against it")
    concurrency: int = Field(4, ge=1, le=64)
    target: str = Field("generic", description="video model the shot lists are planned for")

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        if value not in CLIP_LENGTHS_S:
            raise ValueError(f"{value!r} is not a video model: use one of {', '.join(CLIP_LENGTHS_S)}")
        return value

    @property
    def bound(self) -> int:
        return self.max_revisions if self.revisions else 0


@dataclass(frozen=True)
class EvalConfig:
    name: str
    pipeline: PipelineConfig
    endpoints: Mapping[str, EndpointConfig]
    policy: CallPolicy = field(default_factory=CallPolicy)
    prices: Mapping[str, Price] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """What must not change under the same name between a run and its resume (keys excluded)."""
        data = {"pipeline": self.pipeline.model_dump(),
                "models": {r: [e.provider, e.model, e.base_url, e.temperature] for r, e in sorted(self.endpoints.items())}}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, object]:
        """For eval.json and the report: models by role and the switches, never a key."""
        return {"name": self.name, "pipeline": self.pipeline.model_dump(),
                "models": {r: f"{e.provider}:{e.model}" for r, e in sorted(self.endpoints.items())},
                "fingerprint": self.fingerprint()}
