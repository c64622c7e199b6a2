"""Canon facts: the contract shared by the ledger, the checker, fact extraction and `canon check`.

A fact says something about an entity at a point in the story:

    {"subject": "lin_xia", "kind": "state", "attribute": "status", "value": "dead",
     "episode": 14, "scene": 2, "change": true, "evidence": "林夏倒在血泊中，没了气息。"}

Facts are ordered by episode, then scene, then their order in the file (`seq`). In a JSONL file a line
may also declare an entity and its aliases: {"entity": "lin_xia", "type": "character", "aliases": ["林夏"]}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from cliffhanger.genres.ids import Id

FactKind = Literal["trait", "state", "presence", "knows", "uses", "holds"]
EntityType = Literal["character", "item", "place", "faction", "secret", "other"]
Scalar = str | int | float | bool

# Kinds whose attribute is fixed by the contract.
FIXED_ATTRIBUTE: dict[str, str] = {"presence": "appears", "knows": "secret", "uses": "secret", "holds": "item"}

# Entity ids follow the one id rule of every layer (genres/ids.py).
EntityId = Id
Attribute = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class Fact(BaseModel):
    """One time-stamped statement of canon."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A name or alias is allowed here (canon files may say "林夏"); it is resolved to the entity id
    # before the fact reaches a ledger, which keeps only facts whose subject is an `EntityId`.
    subject: Name = Field(description="entity id the fact is about (a name or alias is resolved to the id)")
    kind: FactKind = Field(description="trait, state, presence, knows, uses or holds")
    attribute: Attribute = Field(description="what about the subject: eye_colour, status, location, appears, secret, item")
    value: Scalar = Field(description="the value; for knows/uses a secret id, for holds an item id")
    episode: int = Field(ge=0, le=1000, description="episode where this becomes true; 0: before episode 1 (the bible)")
    scene: int = Field(0, ge=0, le=500, description="scene within the episode (0: the episode as a whole)")
    change: bool = Field(False, description="true when this deliberately changes an earlier value (a planned change)")
    evidence: str = Field("", max_length=2000, description="the script line that shows it")

    @model_validator(mode="after")
    def _contract(self) -> Fact:
        fixed = FIXED_ATTRIBUTE.get(self.kind)
        if fixed and self.attribute != fixed:
            raise ValueError(f"a {self.kind} fact has attribute {fixed!r}, not {self.attribute!r}")
        if self.kind in ("knows", "uses", "holds") and not (isinstance(self.value, str) and self.value.strip()):
            raise ValueError(f"a {self.kind} fact's value is an id like 'jade_pendant', not {self.value!r}")
        if self.kind == "presence" and self.value is not True:
            raise ValueError("a presence fact has value true (the subject acts, speaks or is seen)")
        return self

    @property
    def norm_value(self) -> Scalar:
        """The value compared by the rules: strings are case- and space-insensitive."""
        return " ".join(self.value.split()).lower() if isinstance(self.value, str) else self.value

    def describe(self) -> str:
        where = f"ep {self.episode}" + (f" sc {self.scene}" if self.scene else "")
        return f"{self.subject} {self.kind} {self.attribute}={self.value!r} ({where})"


class Entity(BaseModel):
    """An entity of the canon and the names it goes by, in any language."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: EntityId
    type: EntityType = "other"
    name: str = Field("", max_length=200)
    aliases: tuple[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)], ...] = ()


class FactFileError(ValueError):
    """A canon file that cannot be read; one line per problem: FILE:LINE: what, and how to fix it."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else ""))


def read_jsonl(path: Path) -> tuple[list[Entity], list[Fact]]:
    """Entities and facts from a JSONL file, in file order. FactFileError names every bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FactFileError([f"{path}: not found: check the path"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FactFileError([f"{path}: cannot read ({exc.__class__.__name__}): it must be UTF-8 JSONL"]) from None
    entities: list[Entity] = []
    facts: list[Fact] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno}): one JSON object per line")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path}:{number}: expected a JSON object, got {type(data).__name__}")
            continue
        try:
            if "entity" in data:
                entities.append(Entity.model_validate({**{k: v for k, v in data.items() if k != "entity"},
                                                       "id": data["entity"]}))
            else:
                facts.append(Fact.model_validate(data))
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                field = ".".join(str(p) for p in err["loc"]) or "(line)"
                problems.append(f"{path}:{number}: {field}: {err['msg'].removeprefix('Value error, ')}")
    if problems:
        raise FactFileError(problems)
    return entities, facts


def write_jsonl(path: Path, facts: list[Fact]) -> None:
    path.write_text("".join(f.model_dump_json(exclude_defaults=True) + "\n" for f in facts), encoding="utf-8")
