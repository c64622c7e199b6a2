"""A one-model server needs no model name: the crew asks `/models` and uses the only one, or says what to do."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from season_kit import make_season, run_cli, tree_hash

from cliffhanger.agents.errors import ConfigError
from cliffhanger.agents.llm.crew import open_crew
from cliffhanger.agents.llm.doctor import run_doctor
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.model_discovery import resolve_models
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.app.settings import load_settings

FIX = "pass --model NAME or set model in cliffhanger.toml"
ROLES = ("showrunner", "writer", "critic")


def asked(url: str, model: str = "", **kw: object) -> EndpointConfig:
    return EndpointConfig(provider="openai-compatible", base_url=url, model=model, **kw)  # type: ignore[arg-type]


def sim(tmp_path: Path, *models: str, **kw: object) -> Iterator[str]:
    return run_in_thread(SimConfig(models=models, log_path=tmp_path / "sim.jsonl", **kw))  # type: ignore[arg-type]


def requests(tmp_path: Path) -> list[dict]:
    path = tmp_path / "sim.jsonl"
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def model_list_requests(tmp_path: Path) -> int:
    return sum(1 for r in requests(tmp_path) if r["mode"] is None)  # chat requests carry a mode


def free_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def discover(endpoints: dict[str, EndpointConfig]) -> tuple[dict[str, EndpointConfig], list[str]]:
    said: list[str] = []
    return resolve_models(endpoints, said.append, timeout_s=5), said


def refused(endpoints: dict[str, EndpointConfig]) -> str:
    said: list[str] = []
    with pytest.raises(ConfigError) as info:
        resolve_models(endpoints, said.append, timeout_s=5)
    message = str(info.value)
    assert said == [] and "\n" not in message and message.endswith(FIX), message
    return message


@pytest.fixture
def raw_server() -> Iterator[Callable[..., str]]:
    """A loopback server that answers every GET with the given status, body and content type."""
    servers: list[ThreadingHTTPServer] = []

    def start(body: bytes | str | object, status: int = 200, kind: str = "application/json") -> str:
        raw = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def listing(*ids: object) -> dict:
    return {"object": "list", "data": [{"id": i, "object": "model"} for i in ids]}


# ---- resolve_models ------------------------------------------------------------------------------------------


def test_the_only_model_is_used_for_every_role_and_announced_once(tmp_path: Path) -> None:
    with sim(tmp_path, "qwen3-8b") as url:
        resolved, said = discover({r: asked(url) for r in ROLES})
    assert {r: ep.model for r, ep in resolved.items()} == dict.fromkeys(ROLES, "qwen3-8b")
    assert said == [f"no model set: using qwen3-8b, the only model {url} serves"]
    assert model_list_requests(tmp_path) == 1


def test_several_models_are_listed_with_the_fix_and_none_is_picked(tmp_path: Path) -> None:
    with sim(tmp_path, "qwen3-8b", "llama-3.1-8b", "gemma-3-4b") as url:
        message = refused({r: asked(url) for r in ROLES})
    assert message == (f"no model name is configured and {url} serves 3 models "
                       f"(qwen3-8b, llama-3.1-8b, gemma-3-4b): {FIX}")


def test_a_long_model_list_is_cut_at_ten(tmp_path: Path) -> None:
    with sim(tmp_path, *(f"model-{i:02d}" for i in range(25))) as url:
        message = refused({"writer": asked(url)})
    assert "serves 25 models (model-00, model-01," in message and "model-09 and 15 more)" in message
    assert "model-10" not in message


def test_an_unreachable_server_is_one_line_with_the_fix() -> None:
    url = free_port_url()
    message = refused({"writer": asked(url)})
    assert message == (f"no model name is configured and the model list of {url} could not be read "
                       f"(cannot connect: is the server running?): {FIX}")


def test_a_configured_model_is_never_overridden_nor_asked_about(tmp_path: Path) -> None:
    dead = free_port_url()  # any request to it would fail
    resolved, said = discover({"writer": asked(dead, "my-model"), "critic": asked(dead, "other")})
    assert [ep.model for ep in resolved.values()] == ["my-model", "other"] and said == []
    with sim(tmp_path, "qwen3-8b") as url:
        resolved, said = discover({"writer": asked(url, "my-model"), "critic": asked(url)})
    assert resolved["writer"].model == "my-model" and resolved["critic"].model == "qwen3-8b"
    assert model_list_requests(tmp_path) == 1 and len(said) == 1


def test_each_server_is_asked_once_and_roles_keep_their_own(tmp_path: Path) -> None:
    with sim(tmp_path, "big") as one, run_in_thread(SimConfig(models=("small",))) as two:
        resolved, said = discover({"showrunner": asked(one), "writer": asked(one + "/"), "critic": asked(two)})
    assert [ep.model for ep in resolved.values()] == ["big", "big", "small"]
    assert said == [f"no model set: using big, the only model {one} serves",
                    f"no model set: using small, the only model {two} serves"]
    assert model_list_requests(tmp_path) == 1


def test_the_key_is_sent_and_never_shown(tmp_path: Path) -> None:
    key = "sk-local-secret-1234567890"
    with sim(tmp_path, "qwen3-8b", api_key=key) as url:
        resolved, _ = discover({"writer": asked(url, api_key=SecretStr(key))})
        assert resolved["writer"].model == "qwen3-8b"
        wrong = "sk-wrong-secret-0987654321"
        message = refused({"writer": asked(url, api_key=SecretStr(wrong))})
    assert "(HTTP 401: the API key was refused)" in message and wrong not in message and key not in message


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (dict(body="<html><body>router login</body></html>", kind="text/html"),
         "it answers an HTML page, not the OpenAI API; the base URL usually ends in /v1"),
        (dict(body="model list coming soon", kind="text/plain"), "its answer is not JSON"),
        (dict(body="[" * 100_000), "its answer is not JSON"),
        (dict(body={"error": "nope"}, status=404), "HTTP 404"),
        (dict(body={"error": "overloaded"}, status=503), "HTTP 503"),
        (dict(body={"models": ["a"]}), "its answer has no model list"),
        (dict(body=listing()), "it lists no models"),
        (dict(body=listing("x" * 201)), "its one model id is not a printable name of up to 200 characters"),
        (dict(body=listing("evil\x1b[2J\x07")), "its one model id is not a printable name"),
        (dict(body=listing("mo\u202edel")), "its one model id is not a printable name"),
    ],
    ids=["html", "text", "deep-json", "404", "503", "no-data", "empty", "too-long", "escape-codes", "bidi"],
)
def test_answers_that_are_not_one_usable_model(raw_server: Callable[..., str], answer: dict, why: str) -> None:
    url = raw_server(**answer)
    message = refused({"writer": asked(url)})
    assert message.startswith(f"no model name is configured and the model list of {url} could not be read ({why}")
    assert all(c.isprintable() for c in message)


def test_untrusted_ids_are_shown_without_control_characters(raw_server: Callable[..., str]) -> None:
    url = raw_server(listing("good-model", "\x1b]0;pwned\x07evil\x1b[31m", "y" * 300, 7, None))
    message = refused({"writer": asked(url)})
    assert all(c.isprintable() for c in message)
    assert "serves 3 models (good-model, ]0;pwnedevil[31m, yyyy" in message and "y" * 41 not in message


def test_one_listed_model_with_repeats_and_junk_entries_counts_once(raw_server: Callable[..., str]) -> None:
    url = raw_server({"data": [{"id": "only"}, {"id": "only"}, "junk", {"name": "no id"}]})
    resolved, said = discover({"writer": asked(url)})
    assert resolved["writer"].model == "only" and len(said) == 1


# ---- settings and the crew -----------------------------------------------------------------------------------


def test_settings_with_a_base_url_and_no_model_leave_the_model_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    ep = load_settings().endpoint("showrunner")
    assert (ep.provider, ep.base_url, ep.model) == ("openai-compatible", "http://127.0.0.1:8000/v1", "")
    monkeypatch.setenv("CLIFFHANGER_MODEL", "qwen3-8b")
    assert load_settings().endpoint("showrunner").model == "qwen3-8b"
    vllm = load_settings(flags={"provider": "vllm", "model": None}).endpoint("writer")
    assert vllm.model == "qwen3-8b"  # the environment's model still wins over asking
    monkeypatch.delenv("CLIFFHANGER_MODEL")
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert load_settings(flags={"provider": "vllm"}).endpoint("writer").model == ""  # the profile's base URL


def test_settings_without_a_base_url_still_refuse() -> None:
    with pytest.raises(ConfigError, match="provider openai-compatible needs a base URL"):
        load_settings(flags={"provider": "openai-compatible"}).endpoint("writer")


def test_the_crew_fills_in_the_model_after_starting_servers(tmp_path: Path) -> None:
    said: list[str] = []
    with sim(tmp_path, "qwen3-8b") as url:
        endpoints = {"writer": asked(url), "critic": asked(url), "shots": EndpointConfig("sim", "", "sim-drama")}
        with open_crew(endpoints, announce=said.append) as crew:
            assert crew["writer"].endpoint.model == "qwen3-8b"
            assert crew.endpoints["critic"].model == "qwen3-8b"
            assert crew.endpoints["shots"].model == "sim-drama" and crew.endpoints["shots"].base_url
            started = crew.endpoints["shots"].base_url
            httpx.get(started + "/models", timeout=5).raise_for_status()
    assert said == [f"no model set: using qwen3-8b, the only model {url} serves"]
    with pytest.raises(httpx.ConnectError):  # closing the crew stopped the sim it started
        httpx.get(started + "/models", timeout=5)


def _sims_running() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("cliffhanger-sim-")}


def test_the_crew_refuses_several_models_and_stops_what_it_started(tmp_path: Path) -> None:
    with sim(tmp_path, "a", "b") as url:
        before = _sims_running()
        with pytest.raises(ConfigError, match=r"serves 2 models \(a, b\)") as info:
            open_crew({"shots": EndpointConfig("sim", "", "sim-drama"), "writer": asked(url)})
        # Stopped by open_crew, not by garbage collection: the traceback (held in `info`) keeps its frames.
        assert _sims_running() == before and info.tb is not None


# ---- the command line ------------------------------------------------------------------------------------------


def test_draft_with_only_openai_base_url_uses_the_servers_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_season(tmp_path / "season", 2, free=1)
    with sim(tmp_path, "qwen3-8b") as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        code, out, err = run_cli(capsys, "draft", store.root, "--until", "1")
    assert code == 0, (out, err)
    assert err.count("no model set: using qwen3-8b, the only model") == 1 and "stopped after episode 1" in out
    chats = [r for r in requests(tmp_path) if r["mode"] is not None]
    assert chats and {r["model"] for r in chats} == {"qwen3-8b"}
    assert model_list_requests(tmp_path) == 1
    assert {json.loads(ln)["model"] for ln in store.usage_path.read_text(encoding="utf-8").splitlines()} == {"qwen3-8b"}


def test_draft_against_a_several_model_server_is_one_line_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_season(tmp_path / "season", 2, free=1)
    before = tree_hash(store.root)
    with sim(tmp_path, "qwen3-8b", "qwen3-32b") as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        code, out, err = run_cli(capsys, "draft", store.root)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err == f"error: no model name is configured and {url} serves 2 models (qwen3-8b, qwen3-32b): {FIX}\n"
    assert tree_hash(store.root) == before
    assert all(r["mode"] is None for r in requests(tmp_path))  # no chat request was made


def test_doctor_with_only_a_base_url_probes_the_only_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with sim(tmp_path, "qwen3-8b") as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        code, out, err = run_cli(capsys, "doctor", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True and report["model"] == "qwen3-8b"
    assert err == f"no model set: using qwen3-8b, the only model {url} serves\n"
    assert {r["model"] for r in requests(tmp_path) if r["mode"] is not None} == {"qwen3-8b"}


def test_doctor_with_only_a_base_url_and_several_models_names_them(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with sim(tmp_path, "a", "b") as url:
        code, out, err = run_cli(capsys, "doctor", "--base-url", url)
    assert code == 2 and out == ""
    assert err == f"error: no model name is configured and {url} serves 2 models (a, b): {FIX}\n"


def test_run_doctor_itself_resolves_or_reports_a_missing_model(tmp_path: Path) -> None:
    with sim(tmp_path, "qwen3-8b") as url:
        report = asyncio.run(run_doctor(asked(url), timeout_s=10))
    assert report.ok and report.model == "qwen3-8b"
    assert {p.name: p.detail for p in report.probes}["models listed"] == (
        f"no model set: using qwen3-8b, the only model {url} serves")
    with sim(tmp_path, "a", "b") as url:
        report = asyncio.run(run_doctor(asked(url), timeout_s=10))
    assert not report.ok and report.verdict.endswith(f"serves 2 models (a, b): {FIX}")
    assert {p.name: p.status for p in report.probes}["models listed"] == "failed"
    assert not any(p.name.startswith("structured") for p in report.probes)  # no call with an empty model
