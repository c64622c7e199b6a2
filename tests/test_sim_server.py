"""The sim over HTTP (httpx on 127.0.0.1): wire shapes, streaming, modes, determinism, max_tokens, bad bodies."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.runner import pick_free_port, run_in_thread
from cliffhanger.memory.tokens import count_tokens

SCENE_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string"},
        "lines": {"type": "array", "minItems": 2, "maxItems": 4, "items": {
            "type": "object",
            "properties": {"speaker": {"type": "string"}, "line": {"type": "string", "maxLength": 80}},
            "required": ["speaker", "line"], "additionalProperties": False,
        }},
        "tension": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["location", "lines", "tension"],
    "additionalProperties": False,
}
TOOL = {"type": "function", "function": {"name": "Scene", "description": "a scene", "parameters": SCENE_SCHEMA}}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with run_in_thread(SimConfig(seed=1)) as base:
        yield base


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


def chat(http: httpx.Client, url: str, **body: Any) -> httpx.Response:
    body.setdefault("model", "sim-drama")
    body.setdefault("messages", [{"role": "user", "content": "Write the next scene for Mia and Leo."}])
    return http.post(f"{url}/chat/completions", json=body)


def sse(response: httpx.Response) -> list[Any]:
    """The data events of a streamed response; '[DONE]' stays a string."""
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line.strip()]
    return [e if e == "[DONE]" else json.loads(e) for e in events]


def test_health_and_models(url: str, http: httpx.Client) -> None:
    assert http.get(url.removesuffix("/v1") + "/health").json() == {"status": "ok"}
    models = http.get(f"{url}/models").json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == ["sim-drama"]
    assert chat(http, url, model="any-model-name").json()["model"] == "any-model-name"


def test_plain_completion_has_openai_shape(url: str, http: httpx.Client) -> None:
    r = chat(http, url)
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int) and body["model"] == "sim-drama"
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    message = choice["message"]
    assert message["role"] == "assistant" and message["tool_calls"] is None
    assert len(message["content"]) > 80
    usage = body["usage"]
    assert usage["completion_tokens"] == count_tokens(message["content"])
    assert usage["prompt_tokens"] > 0 and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_json_schema_content_validates(url: str, http: httpx.Client) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "Scene", "schema": SCENE_SCHEMA, "strict": True}}
    for i in range(10):
        r = chat(http, url, response_format=fmt, messages=[{"role": "user", "content": f"scene {i}"}])
        jsonschema.validate(json.loads(r.json()["choices"][0]["message"]["content"]), SCENE_SCHEMA)


@pytest.mark.parametrize("choice", [{"type": "function", "function": {"name": "Scene"}}, "required", "any"])
def test_forced_tool_call_arguments_validate(url: str, http: httpx.Client, choice: Any) -> None:
    other = {"type": "function", "function": {"name": "Other", "parameters": {"type": "object"}}}
    tools = [TOOL] if choice == "any" else [TOOL, other]
    body = chat(http, url, tools=tools, tool_choice=choice).json()
    (c,) = body["choices"]
    assert c["finish_reason"] == "tool_calls" and c["message"]["content"] is None
    (call,) = c["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_") and call["function"]["name"] == "Scene"
    jsonschema.validate(json.loads(call["function"]["arguments"]), SCENE_SCHEMA)


def test_tools_with_auto_choice_answer_in_text(url: str, http: httpx.Client) -> None:
    c = chat(http, url, tools=[TOOL], tool_choice="auto").json()["choices"][0]
    assert c["finish_reason"] == "stop" and c["message"]["content"]


def test_json_object_uses_the_last_schema_fence(url: str, http: httpx.Client) -> None:
    decoy = {"type": "object", "properties": {"decoy": {"type": "string"}}, "required": ["decoy"]}
    prompt = ("Old example:\n```json\n" + json.dumps(decoy) + "\n```\nNot a schema:\n```json\n[1, 2]\n```\n"
              "Answer with JSON valid against:\n```json\n" + json.dumps(SCENE_SCHEMA) + "\n```")
    r = chat(http, url, response_format={"type": "json_object"}, messages=[{"role": "user", "content": prompt}])
    jsonschema.validate(json.loads(r.json()["choices"][0]["message"]["content"]), SCENE_SCHEMA)
    generic = chat(http, url, response_format={"type": "json_object"}).json()["choices"][0]["message"]["content"]
    value = json.loads(generic)
    assert isinstance(value, dict) and value


def test_streaming_text_with_usage(url: str, http: httpx.Client) -> None:
    events = sse(chat(http, url, stream=True, stream_options={"include_usage": True}))
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) > 5
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finish == ["stop"]
    last = chunks[-1]
    assert last["choices"] == [] and last["usage"]["completion_tokens"] == count_tokens(text)
    # The same request without streaming writes the same text.
    plain = chat(http, url).json()["choices"][0]["message"]["content"]
    assert plain == text


def test_streaming_without_include_usage_sends_no_usage(url: str, http: httpx.Client) -> None:
    chunks = sse(chat(http, url, stream=True))[:-1]
    assert all("usage" not in c or c["usage"] is None for c in chunks)
    assert all(c["choices"] for c in chunks)


def test_streaming_tool_call_arguments_come_in_pieces(url: str, http: httpx.Client) -> None:
    events = sse(chat(http, url, stream=True, tools=[TOOL], tool_choice="required"))
    chunks = [c for c in events[:-1] if c["choices"]]
    first = chunks[0]["choices"][0]["delta"]["tool_calls"][0]
    assert first["function"]["name"] == "Scene" and first["id"].startswith("call_")
    pieces = [c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
              for c in chunks[1:] if c["choices"][0]["delta"].get("tool_calls")]
    assert len(pieces) > 3
    jsonschema.validate(json.loads("".join(pieces)), SCENE_SCHEMA)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_n_gives_several_choices(url: str, http: httpx.Client) -> None:
    body = chat(http, url, n=2).json()
    assert [c["index"] for c in body["choices"]] == [0, 1]
    assert body["choices"][0]["message"]["content"] != body["choices"][1]["message"]["content"]


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_cuts_and_reports_length(url: str, http: httpx.Client, field: str) -> None:
    body = chat(http, url, **{field: 12}).json()
    c = body["choices"][0]
    assert c["finish_reason"] == "length"
    assert count_tokens(c["message"]["content"]) <= 12 and body["usage"]["completion_tokens"] <= 12
    fmt = {"type": "json_schema", "json_schema": {"name": "Scene", "schema": SCENE_SCHEMA}}
    c = chat(http, url, response_format=fmt, **{field: 10}).json()["choices"][0]
    assert c["finish_reason"] == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(c["message"]["content"])
    assert chat(http, url, max_tokens=4000).json()["choices"][0]["finish_reason"] == "stop"


def test_same_seed_and_request_give_identical_bodies(url: str, http: httpx.Client) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "Scene", "schema": SCENE_SCHEMA}}
    first = chat(http, url, response_format=fmt).content
    assert chat(http, url, response_format=fmt).content == first
    with run_in_thread(SimConfig(seed=1)) as again:
        assert chat(http, again, response_format=fmt).content == first
    with run_in_thread(SimConfig(seed=2)) as other:
        assert chat(http, other, response_format=fmt).content != first
    assert chat(http, url, response_format=fmt, temperature=0.5).content != first


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "m"}, "messages"),
    ({"model": "m", "messages": []}, "messages"),
    ({"model": "m", "messages": [{"content": "hi"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"}, "max_tokens"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}},
     "response_format.type"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [TOOL],
      "tool_choice": {"type": "function", "function": {"name": "Nope"}}}, "tool_choice"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": "Scene"}, "tools"),
])
def test_bad_bodies_get_openai_style_400(url: str, http: httpx.Client, body: dict[str, Any], param: str) -> None:
    r = http.post(f"{url}/chat/completions", json=body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
def test_unparseable_bodies_get_400_not_500(url: str, http: httpx.Client, raw: bytes) -> None:
    r = http.post(f"{url}/chat/completions", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_unknown_v1_paths_get_json_404(url: str, http: httpx.Client) -> None:
    r = http.post(f"{url}/responses", json={})
    assert r.status_code == 404 and "error" in r.json()


def test_pick_free_port_gives_a_bindable_port() -> None:
    port = pick_free_port()
    assert 1024 <= port <= 65535
    with run_in_thread(SimConfig(port=port)) as base:
        assert base == f"http://127.0.0.1:{port}/v1"


def test_serve_announces_its_port_and_stops_cleanly_on_ctrl_c() -> None:
    code = ("from cliffhanger.agents.sim.config import SimConfig\n"
            "from cliffhanger.agents.sim.runner import serve\n"
            "serve(SimConfig(seed=4))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"cliffhanger sim listening on (http://127\.0\.0\.1:(\d+)/v1)\n", line)
        assert match and int(match.group(2)) > 0, line
        with httpx.Client(trust_env=False, timeout=10) as client:
            assert client.get(f"{match.group(1)}/models").status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
