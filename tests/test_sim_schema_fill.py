"""schema_fill: values valid against nasty JSON schemas and pydantic models, for many seeds."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import uuid
from enum import StrEnum
from typing import Annotated, Literal

import jsonschema
import pytest
from pydantic import BaseModel, ConfigDict, Field

from cliffhanger.agents.sim.drama_text import DramaText
from cliffhanger.agents.sim.regex_gen import pattern_candidates
from cliffhanger.agents.sim.schema_check import conforms
from cliffhanger.agents.sim.schema_fill import fill

SEEDS = range(50)
TEXTS = (DramaText("en"), DramaText("zh"), DramaText("en", ("Mia Chen", "Leo Park")))

NASTY: dict[str, dict] = {
    "nested_arrays_bounds": {
        "type": "object",
        "properties": {
            "grid": {
                "type": "array", "minItems": 2, "maxItems": 3,
                "items": {"type": "array", "minItems": 1, "maxItems": 2,
                          "items": {"type": "integer", "minimum": -3, "maximum": 3}},
            },
            "exact": {"type": "array", "minItems": 5, "maxItems": 5, "items": {"type": "string"}},
            "many": {"type": "array", "minItems": 7, "items": {"type": "boolean"}},
            "none": {"type": "array", "maxItems": 0, "items": {"type": "string"}},
        },
        "required": ["grid", "exact", "many", "none"],
        "additionalProperties": False,
    },
    "enums_and_consts": {
        "type": "object",
        "properties": {
            "mood": {"enum": ["cold", "furious", 3, None]},
            "kind": {"const": "hook"},
            "tags": {"type": "array", "uniqueItems": True, "minItems": 3, "maxItems": 3,
                     "items": {"enum": ["a", "b", "c", "d"]}},
            "words": {"type": "array", "uniqueItems": True, "minItems": 6, "items": {"type": "string", "maxLength": 12}},
            "typed_enum": {"type": "string", "enum": ["x", 1, "y"]},
        },
        "required": ["mood", "kind", "tags", "words", "typed_enum"],
    },
    "optional_fields": {
        "type": "object",
        "properties": {f"opt_{i}": {"type": "string", "minLength": 2} for i in range(8)} | {
            "must": {"type": "integer"}},
        "required": ["must"],
        "additionalProperties": False,
        "minProperties": 3,
        "maxProperties": 6,
    },
    "numbers": {
        "type": "object",
        "properties": {
            "open_unit": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "tenth": {"type": "number", "minimum": 0.1, "maximum": 0.9, "multipleOf": 0.1},
            "quarter_neg": {"type": "number", "exclusiveMaximum": -10.5, "multipleOf": 0.25},
            "int_step": {"type": "integer", "minimum": 1000, "multipleOf": 7},
            "int_open": {"type": "integer", "exclusiveMinimum": 4, "exclusiveMaximum": 6},
            "big": {"type": "integer", "minimum": 10**9},
            "episode": {"type": "integer", "minimum": 1},
        },
        "required": ["open_unit", "tenth", "quarter_neg", "int_step", "int_open", "big", "episode"],
    },
    "draft4_numbers": {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {
            "above5": {"type": "number", "minimum": 5, "exclusiveMinimum": True, "maximum": 6},
            "below0": {"type": "integer", "maximum": 0, "exclusiveMaximum": True},
        },
        "required": ["above5", "below0"],
    },
    "anyof_null": {
        "type": "object",
        "properties": {
            "maybe": {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}]},
            "multi": {"type": ["integer", "null"], "minimum": 2, "maximum": 2},
            "either": {"oneOf": [{"type": "integer", "multipleOf": 2}, {"type": "integer", "multipleOf": 3}]},
            "mixed": {"anyOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                                {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
        },
        "required": ["maybe", "multi", "either", "mixed"],
    },
    "recursive_ref": {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                    "parent": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
                },
                "required": ["name", "children", "parent"],
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/node",
    },
    "definitions_ref": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"pos": {"type": "integer", "minimum": 1}, "pair": {"type": "array", "items": [
            {"$ref": "#/definitions/pos"}, {"type": "string", "format": "date"}], "additionalItems": False}},
        "type": "object",
        "properties": {"p": {"$ref": "#/definitions/pair"}, "q": {"$ref": "#/definitions/pos"}},
        "required": ["p", "q"],
    },
    "patterns": {
        "type": "object",
        "properties": {
            "ident": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"},
            "code": {"type": "string", "pattern": r"^\d{2,3}-\d+$"},
            "scene": {"type": "string", "pattern": r"^E\d{2}S\d{2}$", "maxLength": 6},
            "alt": {"type": "string", "pattern": "^(hook|payoff|cliffhanger)$"},
            "hex": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
            "long_word": {"type": "string", "pattern": "^[a-z]+$", "minLength": 9, "maxLength": 12},
            "unanchored": {"type": "string", "pattern": "ok"},
            "lookahead": {"type": "string", "pattern": r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$"},
            "time": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
        },
        "required": ["ident", "code", "scene", "alt", "hex", "long_word", "unanchored", "lookahead", "time"],
    },
    "prefix_items": {
        "type": "object",
        "properties": {
            "closed": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string", "maxLength": 3},
                                                        {"type": "boolean"}], "items": False},
            "open": {"type": "array", "prefixItems": [{"const": "head"}], "items": {"type": "integer"},
                     "minItems": 3},
        },
        "required": ["closed", "open"],
    },
    "all_of": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer", "minimum": 0}}, "required": ["a"]},
            {"properties": {"a": {"maximum": 5}, "b": {"type": "string", "minLength": 3}}, "required": ["b"]},
            {"properties": {"c": {"enum": [1, 2, 3]}}, "required": ["c"]},
            {"properties": {"c": {"enum": [2, 3, 4]}}},
        ]
    },
    "strings": {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "mail": {"type": "string", "format": "email"},
            "link": {"type": "string", "format": "uri"},
            "uid": {"type": "string", "format": "uuid"},
            "tiny": {"type": "string", "maxLength": 3},
            "wide": {"type": "string", "minLength": 300},
            "logline": {"type": "string", "maxLength": 25},
            "not_empty": {"type": "string", "minLength": 1, "not": {"const": "x"}},
        },
        "required": ["when", "day", "mail", "link", "uid", "tiny", "wide", "logline", "not_empty"],
    },
    "dict_values": {
        "type": "object",
        "additionalProperties": {"type": "object", "properties": {"age": {"type": "integer", "minimum": 18}},
                                 "required": ["age"]},
        "minProperties": 2,
    },
    "top_level_array": {"type": "array", "items": {"type": "string", "enum": ["x"]}, "minItems": 1, "maxItems": 1},
    "empty_schema": {},
}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_nasty_schemas_validate_for_many_seeds(name: str) -> None:
    schema = NASTY[name]
    validator = jsonschema.validators.validator_for(schema)(schema)
    for seed in SEEDS:
        value = fill(schema, random.Random(seed), TEXTS[seed % len(TEXTS)])
        errors = [e.message for e in validator.iter_errors(value)]
        assert not errors, f"seed {seed}: {json.dumps(value, ensure_ascii=False)[:400]} -> {errors}"
        assert conforms(value, schema)


def test_patterns_produce_full_matches() -> None:
    for seed in SEEDS:
        value = fill(NASTY["patterns"], random.Random(seed), DramaText())
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", value["ident"])
        assert re.fullmatch(r"\d{2,3}-\d+", value["code"])
        assert value["alt"] in ("hook", "payoff", "cliffhanger")


def test_optional_properties_are_sometimes_there_and_sometimes_not() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a"]}
    seen_b = {("b" in fill(schema, random.Random(seed), DramaText())) for seed in SEEDS}
    assert seen_b == {True, False}


def test_unbounded_arrays_get_one_to_four_items() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    sizes = {len(fill(schema, random.Random(seed), DramaText())) for seed in SEEDS}
    assert sizes <= {1, 2, 3, 4} and len(sizes) > 1


def test_recursion_is_cut_short() -> None:
    schema = NASTY["recursive_ref"]

    def depth(node: dict | None) -> int:
        if node is None:
            return 0
        return 1 + max([depth(c) for c in node["children"]] + [depth(node["parent"])])

    assert max(depth(fill(schema, random.Random(seed), DramaText())) for seed in SEEDS) <= 6


def test_fill_is_deterministic_and_seed_sensitive() -> None:
    schema = NASTY["numbers"] | {}
    a = [fill(schema, random.Random(7), DramaText()) for _ in range(2)]
    assert a[0] == a[1]
    assert len({json.dumps(fill(NASTY["strings"], random.Random(s), DramaText())) for s in range(5)}) == 5


def test_strings_follow_field_names_and_max_length() -> None:
    text = DramaText("en", ("Mia Chen", "Leo Park"))
    schema = {"type": "object", "properties": {
        "speaker": {"type": "string"}, "location": {"type": "string"}, "character_id": {"type": "string"},
        "hook": {"type": "string", "maxLength": 40},
    }, "required": ["speaker", "location", "character_id", "hook"]}
    for seed in range(20):
        value = fill(schema, random.Random(seed), text)
        assert value["speaker"] in ("Mia Chen", "Leo Park")
        assert value["character_id"] in ("mia_chen", "leo_park")
        assert re.fullmatch(r"[a-z0-9_]+", value["character_id"])
        assert len(value["hook"]) <= 40 and value["hook"]


def test_pattern_candidates_cover_common_constructs() -> None:
    rng = random.Random(1)
    for pattern in (r"^\d{2,3}-\d+$", "^[a-z_][a-z0-9_]*$", r"^(a|bc)+\1$", r"[^\W\d]{3}", r"^\s?\w+@\w+\.com$"):
        candidates = pattern_candidates(pattern, rng)
        assert candidates and any(re.search(pattern, c) for c in candidates), pattern
    assert pattern_candidates(r"\p{L}+", rng) == []  # not Python syntax: callers fall back


# -- pydantic round trips ---------------------------------------------------------------------------


class BeatRole(StrEnum):
    hook = "hook"
    escalation = "escalation"
    payoff = "payoff"
    cliffhanger = "cliffhanger"


class DialogueLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: str
    line: Annotated[str, Field(min_length=1, max_length=60)]
    emotion: str | None = None
    timing_s: float = Field(ge=0, le=15)


class Shot(BaseModel):
    shot_id: str = Field(pattern=r"^\d{2,3}-\d+$")
    duration_s: Literal[4, 5, 6, 8, 10, 12]
    shot_size: str
    characters: list[str] = Field(default_factory=list, max_length=4)
    dialogue: list[DialogueLine] = Field(default_factory=list)
    beat_role: BeatRole
    aspect_ratio: Literal["9:16"] = "9:16"
    intensity: int = Field(gt=0, lt=11, multiple_of=1)
    weight: float = Field(gt=0, le=1, multiple_of=0.05)


class Scene(BaseModel):
    number: int = Field(ge=1)
    location: str
    time_of_day: Literal["day", "night"]
    shots: list[Shot] = Field(min_length=1, max_length=3)
    cast: set[str] = Field(default_factory=set)


class Episode(BaseModel):
    episode: int = Field(ge=1, le=100)
    title: str = Field(max_length=30)
    logline: str
    scenes: list[Scene] = Field(min_length=1, max_length=3)
    cliffhanger: str | None
    paywall: bool = False
    ratings: dict[str, int] = Field(default_factory=dict)
    span: tuple[int, str]
    drafted_at: dt.datetime
    air_date: dt.date | None = None
    draft_id: uuid.UUID
    notes: list[str] | None = None


class Fact(BaseModel):
    subject: str
    attribute: str
    value: str | int | bool
    evidence: Annotated[str, Field(max_length=80)] | None = None


class Ledger(BaseModel):
    facts: list[Fact]
    children: list[Ledger] = Field(default_factory=list)


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(ge=1, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Pets(BaseModel):
    pets: list[Annotated[Cat | Dog, Field(discriminator="kind")]] = Field(min_length=2)


@pytest.mark.parametrize("model", [DialogueLine, Shot, Scene, Episode, Fact, Ledger, Pets])
def test_pydantic_models_round_trip(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    for seed in SEEDS:
        value = fill(schema, random.Random(seed), TEXTS[seed % len(TEXTS)])
        validator.validate(value)
        model.model_validate(value)
        model.model_validate_json(json.dumps(value, ensure_ascii=False))


def test_pydantic_optional_fields_prefer_values_over_null() -> None:
    schema = Episode.model_json_schema()
    nulls = sum(fill(schema, random.Random(seed), DramaText())["cliffhanger"] is None for seed in SEEDS)
    assert nulls < len(SEEDS) / 3
