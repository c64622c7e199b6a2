"""The sim's faults, provider quirks, auth, concurrency cap, latency and request log, over HTTP."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from cliffhanger.agents.llm.parsing import strip_think
from cliffhanger.agents.sim.config import SimConfig, parse_faults, parse_quirks
from cliffhanger.agents.sim.runner import run_in_thread

SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "beats": {"type": "array", "items": {"type": "string"}, "minItems": 2}},
    "required": ["title", "beats"],
}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "Ep", "schema": SCHEMA}}
TOOLS = [{"type": "function", "function": {"name": "Ep", "parameters": SCHEMA}}]
FORCED = {"type": "function", "function": {"name": "Ep"}}


def post(url: str, timeout: float = 10, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    body.setdefault("model", "sim-drama")
    body.setdefault("messages", [{"role": "user", "content": "Episode 4: Ava finds the letter."}])
    with httpx.Client(trust_env=False, timeout=timeout) as client:
        return client.post(f"{url}/chat/completions", json=body, headers=headers or {})


def sim(faults: str = "", quirks: str = "", **kw: Any):
    return run_in_thread(SimConfig(faults=parse_faults(faults), quirks=parse_quirks(quirks), **kw))


# -- faults ------------------------------------------------------------------------------------------


def test_fault_429_sets_retry_after_ms() -> None:
    with sim("429:1") as url:
        r = post(url)
    assert r.status_code == 429
    assert 0 < int(r.headers["retry-after-ms"]) <= 1000
    assert r.json()["error"]["code"] == "rate_limit_exceeded"


def test_fault_500_is_an_openai_error() -> None:
    with sim("500:1") as url:
        r = post(url)
        with pytest.raises(openai.InternalServerError):
            openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0).chat.completions.create(
                model="sim-drama", messages=[{"role": "user", "content": "hi"}])
    assert r.status_code == 500 and r.json()["error"]["type"] == "server_error"


@pytest.mark.parametrize("extra", [{"response_format": JSON_SCHEMA}, {"response_format": {"type": "json_object"}},
                                   {"tools": TOOLS, "tool_choice": FORCED}])
def test_fault_malformed_gives_json_that_does_not_parse(extra: dict[str, Any]) -> None:
    with sim("malformed:1.0") as url:
        for i in range(5):
            c = post(url, messages=[{"role": "user", "content": f"ep {i}"}], **extra).json()["choices"][0]
            text = c["message"]["content"] if "tools" not in extra else c["message"]["tool_calls"][0]["function"][
                "arguments"]
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
            assert c["finish_reason"] == "stop"


def test_fault_truncate_halves_and_reports_length() -> None:
    with sim() as url:
        whole = post(url, response_format=JSON_SCHEMA).json()
    with sim("truncate:1") as url:
        cut = post(url, response_format=JSON_SCHEMA).json()
    assert cut["choices"][0]["finish_reason"] == "length"
    full_text, cut_text = whole["choices"][0]["message"]["content"], cut["choices"][0]["message"]["content"]
    assert full_text.startswith(cut_text) and len(cut_text) < 0.75 * len(full_text)
    assert cut["usage"]["completion_tokens"] < whole["usage"]["completion_tokens"]


def test_fault_think_prefixes_reasoning() -> None:
    with sim("think:1") as url:
        content = post(url, response_format=JSON_SCHEMA).json()["choices"][0]["message"]["content"]
    assert content.startswith("<think>") and "</think>" in content
    assert set(json.loads(strip_think(content))) >= {"title", "beats"}


def test_fault_timeout_hangs_until_the_client_gives_up(tmp_path: Path) -> None:
    log = tmp_path / "sim.jsonl"
    with sim("timeout:1", hang_s=30, log_path=log) as url:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            post(url, timeout=0.5)
        assert time.monotonic() - started < 5
        deadline = time.monotonic() + 5
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the server notices the disconnect and logs it
    (line,) = [json.loads(x) for x in log.read_text().splitlines()]
    assert line["fault"] == "timeout" and line["status"] == 499


def test_fault_timeout_answers_after_hang_s() -> None:
    with sim("timeout:1", hang_s=0.3) as url:
        started = time.monotonic()
        r = post(url)
        assert r.status_code == 200 and time.monotonic() - started >= 0.3


def test_identical_retries_draw_new_faults_and_replay_the_same() -> None:
    def statuses() -> list[int]:
        with sim("500:0.5", seed=3) as url:
            return [post(url).status_code for _ in range(12)]

    first = statuses()
    assert set(first) == {200, 500}
    assert statuses() == first


# -- quirks --------------------------------------------------------------------------------------------


def test_quirk_no_json_schema_refuses_json_schema_but_not_tools() -> None:
    with sim(quirks="no-json-schema") as url:
        r = post(url, response_format=JSON_SCHEMA)
        assert r.status_code == 400 and "json_schema" in r.json()["error"]["message"]
        assert post(url, tools=TOOLS, tool_choice=FORCED).status_code == 200
        assert post(url, response_format={"type": "json_object"}).status_code == 200


def test_quirk_json_object_only() -> None:
    with sim(quirks="json-object-only") as url:
        assert post(url, response_format=JSON_SCHEMA).status_code == 400
        assert post(url, response_format={"type": "json_object"}).status_code == 200
        assert post(url, tools=TOOLS, tool_choice=FORCED).json()["choices"][0]["finish_reason"] == "tool_calls"


def test_quirk_no_tools() -> None:
    with sim(quirks="no-tools") as url:
        assert post(url, tools=TOOLS, tool_choice=FORCED).status_code == 400
        assert post(url, tools=TOOLS).status_code == 400
        assert post(url, response_format=JSON_SCHEMA).status_code == 200


def _stream_events(r: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(e[6:]) for e in r.text.split("\n\n") if e.startswith("data: {")]


def test_quirk_no_usage_hides_usage_everywhere() -> None:
    with sim(quirks="no-usage") as url:
        assert "usage" not in post(url).json()
        events = _stream_events(post(url, stream=True, stream_options={"include_usage": True}))
    assert events and all(not e.get("usage") for e in events)


def test_quirk_no_stream_usage_hides_it_only_when_streaming() -> None:
    with sim(quirks="no-stream-usage") as url:
        assert post(url).json()["usage"]["completion_tokens"] > 0
        events = _stream_events(post(url, stream=True, stream_options={"include_usage": True}))
    assert events and all(not e.get("usage") for e in events)


def test_quirk_think_wraps_every_answer() -> None:
    with sim(quirks="think") as url:
        plain = post(url).json()["choices"][0]["message"]["content"]
        structured = post(url, response_format=JSON_SCHEMA).json()["choices"][0]["message"]["content"]
    assert plain.startswith("<think>") and structured.startswith("<think>")
    assert json.loads(strip_think(structured))["title"]


def test_quirk_html_answers_every_v1_request_with_a_page() -> None:
    with sim(quirks="html") as url:
        for r in (post(url), httpx.get(f"{url}/models", trust_env=False)):
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert "<html" in r.text.lower()
        assert httpx.get(url.removesuffix("/v1") + "/health", trust_env=False).json() == {"status": "ok"}


def test_api_key_is_required_when_set(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    with sim(api_key="sk-secret-123", log_path=log) as url:
        for headers in ({}, {"Authorization": "Bearer sk-wrong"}, {"Authorization": "sk-secret-123"}):
            r = post(url, headers=headers)
            assert r.status_code == 401
            assert r.json() == {"error": {"message": r.json()["error"]["message"], "type": "invalid_request_error",
                                          "param": None, "code": "invalid_api_key"}}
        assert post(url, headers={"Authorization": "Bearer sk-secret-123"}).status_code == 200
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url, api_key="sk-wrong", max_retries=0).models.list()
        assert [m.id for m in openai.OpenAI(base_url=url, api_key="sk-secret-123").models.list()] == ["sim-drama"]
    text = log.read_text()
    assert "sk-secret-123" not in text and "sk-wrong" not in text
    assert [json.loads(x)["status"] for x in text.splitlines()][:4] == [401, 401, 401, 200]


# -- concurrency, latency, log --------------------------------------------------------------------------


def test_concurrency_cap_answers_429_beyond_the_limit() -> None:
    results: list[httpx.Response] = []
    with sim(max_concurrency=2, ttft_ms=900) as url:
        threads = [threading.Thread(target=lambda i=i: results.append(post(url, messages=[
            {"role": "user", "content": f"request {i}"}]))) for i in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join()
        assert post(url).status_code == 200  # slots are freed afterwards
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 200, 429, 429]
    limited = next(r for r in results if r.status_code == 429)
    assert limited.headers["retry-after-ms"] == "50" and limited.json()["error"]["code"] == "rate_limit_exceeded"


def test_streaming_requests_hold_their_slot_until_done() -> None:
    body = {"model": "sim-drama", "stream": True, "messages": [{"role": "user", "content": "Episode 4"}]}
    with sim(max_concurrency=1, tps=150) as url, httpx.Client(trust_env=False, timeout=10) as client:
        with client.stream("POST", f"{url}/chat/completions", json=body) as streaming:
            lines = streaming.iter_lines()
            assert next(lines).startswith("data: ")  # headers and a first chunk are out, the rest is pacing
            assert post(url, messages=[{"role": "user", "content": "other"}]).status_code == 429
            assert "data: [DONE]" in list(lines)
        assert post(url, max_tokens=5).status_code == 200


def test_ttft_and_tps_slow_answers_down() -> None:
    with sim() as url:
        fast = post(url).json()
    tokens = fast["usage"]["completion_tokens"]
    with sim(ttft_ms=150, tps=tokens / 0.3) as url:
        started = time.monotonic()
        post(url)
        assert time.monotonic() - started >= 0.45
        started = time.monotonic()
        with httpx.Client(trust_env=False) as client, client.stream("POST", f"{url}/chat/completions", json={
                "model": "sim-drama", "stream": True,
                "messages": [{"role": "user", "content": "Episode 4: Ava finds the letter."}]}) as r:
            arrivals = [time.monotonic() - started for _ in r.iter_lines()]
    assert arrivals[0] >= 0.15 and arrivals[-1] - arrivals[0] >= 0.2


def test_log_has_one_line_per_request(tmp_path: Path) -> None:
    log = tmp_path / "nested" / "requests.jsonl"
    with sim("500:0.5", seed=5, log_path=log) as url:
        post(url)
        post(url, stream=True, stream_options={"include_usage": True})
        post(url, response_format=JSON_SCHEMA)
        post(url, tools=TOOLS, tool_choice=FORCED)
        post(url, response_format={"type": "json_object"})
        httpx.post(f"{url}/chat/completions", content=b"nope", trust_env=False)
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == 6
    for line in lines:
        streamed_200 = line["stream"] and line["status"] == 200  # a stream also says what it sent
        assert set(line) == {"time", "model", "mode", "stream", "prompt_tokens", "completion_tokens", "latency_ms",
                             "status", "fault"} | ({"tokens_sent"} if streamed_200 else set())
        assert line["time"].endswith("Z") and line["latency_ms"] >= 0
    assert [x["mode"] for x in lines] == ["text", "text", "json_schema", "tools", "json_object", None]
    assert [x["stream"] for x in lines][:2] == [False, True]
    assert lines[-1]["status"] == 400
    for line in lines[:5]:
        assert line["model"] == "sim-drama" and line["prompt_tokens"] > 0
        assert (line["status"], line["fault"]) in ((200, None), (500, "500"))
        assert (line["completion_tokens"] > 0) == (line["status"] == 200)


# -- hostile output ----------------------------------------------------------------------------------

BOUNDED = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
        "title": {"type": "string", "maxLength": 40},
        "lines": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 300}, "minItems": 4,
                  "maxItems": 6},
        "kind": {"type": "string", "enum": ["reveal", "threat"]},
    },
    "required": ["id", "title", "lines", "kind"],
}
BOUNDED_FORMAT = {"type": "json_schema", "json_schema": {"name": "Ep", "schema": BOUNDED}}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [s for v in items for s in _strings(v)]


def test_hostile_kinds_parse_and_the_help_names_them(capsys) -> None:
    from cliffhanger.app.cli import main

    plan = parse_faults("hostile:0.3,inject:0.1,huge:0.05,nested:0.05")
    assert dict(plan.probabilities) == {"hostile": 0.3, "inject": 0.1, "huge": 0.05, "nested": 0.05}
    with pytest.raises(SystemExit):
        main(["sim", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert all(k in shown for k in ("hostile", "inject", "huge", "nested"))


def test_fault_inject_fills_strings_with_payloads_and_stays_schema_valid() -> None:
    from cliffhanger.agents.sim import hostile
    from cliffhanger.agents.sim.schema_check import conforms

    seen: set[str] = set()
    with sim("inject:1") as url:
        for i in range(12):
            content = post(url, messages=[{"role": "user", "content": f"Episode {i}"}],
                           response_format=BOUNDED_FORMAT).json()["choices"][0]["message"]["content"]
            value = json.loads(content)
            assert conforms(value, BOUNDED, BOUNDED), value
            assert re.fullmatch(r"[a-z][a-z0-9_]{0,63}", value["id"]) and value["kind"] in ("reveal", "threat")
            seen |= {p for s in _strings(value) for p in hostile.PAYLOADS if p[:12] in s}
    assert len(seen) >= 6  # many kinds of payload, not one
    assert any("\x1b" in p for p in seen) or any("[" in p for p in seen)


def test_fault_inject_in_plain_and_streamed_text() -> None:
    from cliffhanger.agents.sim import hostile

    with sim("inject:1") as url:
        plain = post(url).json()["choices"][0]["message"]["content"]
        streamed = "".join(e["choices"][0]["delta"].get("content") or "" for e in _stream_events(post(url, stream=True))
                           if e["choices"])
    assert plain == streamed
    assert sum(p in plain for p in hostile.PAYLOADS) >= 2


def test_fault_huge_sends_100000_characters_past_max_length_and_max_tokens() -> None:
    from cliffhanger.agents.sim.schema_check import conforms

    with sim("huge:1") as url:
        bounded = post(url, response_format=BOUNDED_FORMAT, max_tokens=50).json()["choices"][0]
        free = post(url, response_format=JSON_SCHEMA, max_tokens=50).json()["choices"][0]
        text = post(url, max_tokens=50).json()["choices"][0]
    for choice in (bounded, free, text):
        assert choice["finish_reason"] == "stop" and len(choice["message"]["content"]) >= 100_000
    value = json.loads(bounded["message"]["content"])
    assert max(map(len, _strings(value))) == 100_000 and not conforms(value, BOUNDED, BOUNDED)  # meant to be refused
    value = json.loads(free["message"]["content"])
    assert max(map(len, _strings(value))) == 100_000 and conforms(value, SCHEMA, SCHEMA)  # the schema allows it


@pytest.mark.parametrize("extra", [{"response_format": JSON_SCHEMA}, {"tools": TOOLS, "tool_choice": FORCED}, {}])
def test_fault_nested_sends_10000_levels(extra: dict[str, Any]) -> None:
    from cliffhanger.agents.llm.parsing import json_depth

    with sim("nested:1") as url:
        message = post(url, max_tokens=20, **extra).json()["choices"][0]["message"]
    text = message["content"] if "tools" not in extra else message["tool_calls"][0]["function"]["arguments"]
    assert json_depth(text) >= 10_000
    if extra:
        with pytest.raises(RecursionError):
            json.loads(text)


def test_fault_hostile_draws_every_shape_and_replays() -> None:
    from cliffhanger.agents.llm.parsing import json_depth

    def answers() -> list[str]:
        with sim("hostile:1", seed=11) as url:
            return [post(url, messages=[{"role": "user", "content": f"Episode {i}"}], response_format=JSON_SCHEMA)
                    .json()["choices"][0]["message"]["content"] for i in range(24)]

    first = answers()
    shapes = {"huge" if len(a) >= 100_000 else "nested" if json_depth(a) >= 10_000 else "inject" for a in first}
    assert shapes == {"inject", "huge", "nested"}
    assert answers() == first
