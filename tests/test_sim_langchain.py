"""The sim through the real client stack: langchain-openai's ChatOpenAI on the openai client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Literal

import openai
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from cliffhanger.agents.sim.config import SimConfig, parse_quirks
from cliffhanger.agents.sim.runner import run_in_thread

CJK = re.compile(r"[\u4e00-\u9fff]")


class Line(BaseModel):
    speaker: str
    line: str = Field(max_length=120)
    emotion: str | None = None


class EpisodeDraft(BaseModel):
    """One drafted episode."""

    episode: int = Field(ge=1, le=80)
    title: str
    logline: str
    lines: list[Line] = Field(min_length=2, max_length=6)
    beat_role: Literal["hook", "escalation", "payoff", "cliffhanger"]
    cliffhanger: str | None = None


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with run_in_thread(SimConfig(seed=11)) as base:
        yield base


def llm(url: str, **kw: object) -> ChatOpenAI:
    return ChatOpenAI(base_url=url, api_key="sk-test", model="sim-drama", max_retries=0, timeout=10, **kw)


def prompt(method: str, extra: str = "") -> list[tuple[str, str]]:
    messages = [("system", "You are the writer. The cast: Mia Chen, a disowned heiress; Leo Park, the CEO who "
                           "ruined her father. Mia wants revenge on Leo." + extra),
                ("user", "Draft episode 7. Mia confronts Leo at the gala.")]
    if method == "json_mode":
        messages.append(("user", "Answer with one JSON object valid against this schema:\n```json\n"
                         + json.dumps(EpisodeDraft.model_json_schema()) + "\n```"))
    return messages


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_structured_output_for_every_method(url: str, method: str) -> None:
    structured = llm(url).with_structured_output(EpisodeDraft, method=method, include_raw=True)
    for i in range(3):
        out = structured.invoke(prompt(method, f" Take {i}."))
        assert out["parsing_error"] is None
        draft = out["parsed"]
        assert isinstance(draft, EpisodeDraft)
        assert {line.speaker for line in draft.lines} <= {"Mia Chen", "Leo Park"}


def test_strict_json_schema_works(url: str) -> None:
    out = llm(url).with_structured_output(EpisodeDraft, method="json_schema", strict=True, include_raw=True).invoke(
        prompt("json_schema"))
    assert isinstance(out["parsed"], EpisodeDraft)


def test_plain_invoke_returns_drama_text_with_the_prompt_cast(url: str) -> None:
    message = llm(url).invoke(prompt("text"))
    assert isinstance(message.content, str) and len(message.content) > 80
    assert "MIA" in message.content or "LEO" in message.content
    assert not CJK.search(message.content)
    assert message.usage_metadata["output_tokens"] > 0
    assert message.response_metadata["finish_reason"] == "stop"


def test_streaming_yields_chunks_and_usage(url: str) -> None:
    chunks = list(llm(url, stream_usage=True).stream(prompt("text")))
    assert len(chunks) > 5
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert isinstance(total, AIMessageChunk) and len(total.content) > 80
    usage = total.usage_metadata
    assert usage is not None and usage["output_tokens"] > 0 and usage["input_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert total.content == llm(url).invoke(prompt("text")).content


def test_chinese_prompt_gets_chinese_content_and_its_names(url: str) -> None:
    message = llm(url).invoke([
        ("system", "你是短剧编剧。角色：林晚、顾沉。林晚是被赶出豪门的真千金，顾沉是冷面总裁。"),
        ("user", "写第十二集：林晚在订婚宴上当众揭穿顾沉的秘密。"),
    ])
    text = message.content
    assert len(CJK.findall(text)) > len(re.findall(r"[A-Za-z]", text))
    assert "林晚" in text and "顾沉" in text


def test_chinese_structured_output_writes_chinese(url: str) -> None:
    out = llm(url).with_structured_output(EpisodeDraft, method="function_calling").invoke(
        [("user", "用中文写第3集。人物：苏念、陆景深。")])
    assert CJK.search(out.logline) and {line.speaker for line in out.lines} <= {"苏念", "陆景深"}


def test_deepseek_like_endpoint_rejects_json_schema_but_serves_tools() -> None:
    with run_in_thread(SimConfig(quirks=parse_quirks("no-json-schema"))) as base:
        with pytest.raises(openai.BadRequestError, match="json_schema"):
            llm(base).with_structured_output(EpisodeDraft, method="json_schema").invoke(prompt("json_schema"))
        out = llm(base).with_structured_output(EpisodeDraft, method="function_calling").invoke(prompt("tools"))
        assert isinstance(out, EpisodeDraft)


def test_openai_client_streams_tool_calls() -> None:
    with run_in_thread(SimConfig()) as base:
        client = openai.OpenAI(base_url=base, api_key="sk-test", max_retries=0)
        tool = {"type": "function", "function": {"name": "EpisodeDraft",
                                                 "parameters": EpisodeDraft.model_json_schema()}}
        stream = client.chat.completions.create(
            model="sim-drama", messages=[{"role": "user", "content": "ep 1"}], tools=[tool], stream=True,
            tool_choice={"type": "function", "function": {"name": "EpisodeDraft"}},
            stream_options={"include_usage": True})
        args, usage = "", None
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.tool_calls:
                args += chunk.choices[0].delta.tool_calls[0].function.arguments or ""
            usage = chunk.usage or usage
        EpisodeDraft.model_validate_json(args)
        assert usage is not None and usage.completion_tokens > 0
