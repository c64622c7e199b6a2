"""Raw model text to validated objects: think tags, fences, and never half an object."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from cliffhanger.agents.llm.parsing import (
    OutputProblem,
    ThinkStreamFilter,
    extract_json_text,
    strip_think,
    validate_json,
)


class Beat(BaseModel):
    episode: int = Field(ge=1)
    hook: str


@pytest.mark.parametrize(
    "raw",
    [
        '{"episode": 3, "hook": "她回来了"}',
        '<think>The user wants JSON. {"episode": 99}</think>\n{"episode": 3, "hook": "她回来了"}',
        '<thinking>\nplan\n</thinking>{"episode": 3, "hook": "她回来了"}',
        'Sure! Here it is:\n```json\n{"episode": 3, "hook": "她回来了"}\n```\nAnything else?',
        'reasoning without an opening tag</think>{"episode": 3, "hook": "她回来了"}',
        '{"Beat": {"episode": 3, "hook": "她回来了"}}',
    ],
)
def test_complete_answers_are_recovered(raw: str) -> None:
    assert validate_json(raw, Beat) == Beat(episode=3, hook="她回来了")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ('{"episode": 3, "hook": "她回', "not valid JSON"),
        ('{"episode": 3, "hook": "x",', "not valid JSON"),
        ("<think>still thinking when the tokens ran out", "empty"),
        ("", "empty"),
        ('{"episode": 0, "hook": "x"}', "episode: Input should be greater than or equal to 1"),
        ('{"episode": 2}', "hook: Field required"),
    ],
)
def test_incomplete_or_invalid_answers_are_rejected_with_a_usable_reason(raw: str, problem: str) -> None:
    with pytest.raises(OutputProblem, match=problem):
        validate_json(raw, Beat)


def test_strip_think_keeps_the_answer_only() -> None:
    assert strip_think("<think>a\nb</think>\n\nanswer") == "answer"
    assert strip_think("no tags here") == "no tags here"
    assert extract_json_text('<think>{"x": 1}</think>[1, 2]') == "[1, 2]"


@pytest.mark.parametrize("split", [1, 2, 3, 5, 7, 100])
def test_stream_filter_removes_think_blocks_across_chunk_boundaries(split: int) -> None:
    text = "<think>secret plan with < and <b> inside</think>The heir is alive. a < b <thin"
    filt = ThinkStreamFilter()
    chunks = [text[i : i + split] for i in range(0, len(text), split)]
    out = "".join(filt.feed(c) for c in chunks) + filt.flush()
    assert out == "The heir is alive. a < b <thin"


def test_stream_filter_passes_plain_text_without_holding_it_back() -> None:
    filt = ThinkStreamFilter()
    assert filt.feed("Hello ") == "Hello "
    assert filt.feed("world") == "world"
