"""Schemas for grammar-constrained servers, and the repair of their answers' bounds."""

from __future__ import annotations

from pydantic import BaseModel, Field

from cliffhanger.agents.llm.strict_schema import clamp_to_schema, grammar_json_schema


class Beat(BaseModel):
    text: str = Field(min_length=2, max_length=400)
    long_min: str = Field(min_length=60, max_length=400)
    free: str
    tags: list[str] = Field(max_length=12)
    beats: list[str] = Field(min_length=3, max_length=8)
    seconds: float = Field(gt=0, le=30)
    count: int = Field(gt=0, lt=10)


def test_default_caps_bound_strings_and_lists() -> None:
    props = grammar_json_schema(Beat)["properties"]
    assert props["text"]["maxLength"] == 100 and props["free"]["maxLength"] == 100
    assert props["long_min"]["maxLength"] == 100 >= props["long_min"]["minLength"]
    assert props["tags"]["maxItems"] == 4 and props["beats"]["maxItems"] == 4


def test_smallest_answer_caps_never_go_below_the_minimum() -> None:
    props = grammar_json_schema(Beat, max_length=24, max_items=None)["properties"]
    assert props["text"]["maxLength"] == 24 and props["free"]["maxLength"] == 24
    assert props["long_min"]["maxLength"] == 60  # its own minimum wins over the cap
    assert props["tags"]["maxItems"] == 1 and props["beats"]["maxItems"] == 3


def test_clamp_moves_values_inside_exclusive_bounds() -> None:
    schema = Beat.model_json_schema()
    fixed = clamp_to_schema({"text": "ok", "long_min": "x" * 60, "free": "", "tags": [], "beats": ["a", "b", "c"],
                             "seconds": 0.0, "count": 10}, schema)
    assert fixed["seconds"] > 0 and fixed["count"] == 9
    Beat.model_validate(fixed)
    assert clamp_to_schema({**fixed, "seconds": 12.0}, schema)["seconds"] == 12.0  # inside: untouched
