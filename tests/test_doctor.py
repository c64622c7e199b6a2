"""`cliffhanger doctor` against the sim (every verdict) and against the real bundled local model."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cliffhanger.agents.llm.local import local_available
from cliffhanger.app.cli import main


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["doctor", *args])
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def doctor_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code, out, _ = doctor(capsys, *args, "--format", "json")
    return code, json.loads(out)


def probes(report: dict) -> dict[str, str]:
    return {p["name"]: p["status"] for p in report["probes"]}


def test_doctor_against_the_sim_everything_works(capsys, sim_url: str) -> None:
    code, report = doctor_json(capsys, "--base-url", sim_url, "--provider", "sim")
    assert code == 0 and report["ok"] is True
    assert report["working_methods"] == ["json_schema", "function_calling", "json_mode"]
    got = probes(report)
    for name in ("reachable", "auth", "models listed", "plain completion", "usage reported", "streaming",
                 "usage in streaming"):
        assert got[name] == "ok", (name, report)
    assert "profile sim works as configured" in report["recommendation"]


def test_doctor_table_output(capsys, sim_url: str) -> None:
    code, out, _ = doctor(capsys, "--base-url", sim_url, "--provider", "sim")
    assert code == 0
    assert "structured: json_schema" in out and "ok: usable: structured output works via json_schema" in out


def test_doctor_starts_the_sim_itself_when_no_url_is_given(capsys) -> None:
    code, report = doctor_json(capsys, "--provider", "sim")
    assert code == 0 and report["base_url"].startswith("http://127.0.0.1:")


def test_doctor_recommends_function_calling_where_json_schema_is_rejected(capsys, make_sim) -> None:
    url = make_sim(quirks="no-json-schema,no-stream-usage")
    code, report = doctor_json(capsys, "--base-url", url, "--model", "deepseek-like")
    got = probes(report)
    assert code == 0
    assert got["structured: json_schema"] == "failed" and got["structured: function_calling"] == "ok"
    assert got["usage in streaming"] == "warning"
    assert 'structured_method = "function_calling"' in report["recommendation"]


def test_doctor_verdict_when_no_method_yields_json(capsys, make_sim) -> None:
    url = make_sim(faults="malformed:1.0")
    code, out, _ = doctor(capsys, "--base-url", url, "--model", "tiny")
    assert code == 1
    assert "returned no valid JSON by any method" in out


def test_doctor_unreachable(capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, report = doctor_json(capsys, "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m")
    assert code == 1 and probes(report)["reachable"] == "failed"
    assert report["verdict"].startswith(f"cannot reach http://127.0.0.1:{port}/v1: is the server running?")


def test_doctor_html_endpoint(capsys, make_sim) -> None:
    code, report = doctor_json(capsys, "--base-url", make_sim(quirks="html"), "--model", "m")
    assert code == 1 and "answers HTML, not the OpenAI API" in report["verdict"]


def test_doctor_wrong_key_never_shown(capsys, make_sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-abcdef123456")
    url = make_sim(api_key="sk-right-key-000000000")
    code, out, err = doctor(capsys, "--base-url", url, "--model", "m")
    assert code == 1 and "refused the API key" in out
    assert "sk-wrong-key-abcdef123456" not in out + err


def test_doctor_bad_arguments_exit_2_with_one_line(capsys) -> None:
    code, out, err = doctor(capsys, "--provider", "gpt5")
    assert code == 2 and out == ""
    assert err.startswith("error: settings") and "unknown provider 'gpt5'" in err and err.count("\n") == 1
    code, _, err = doctor(capsys, "--timeout", "soon")
    assert code == 2 and "Invalid value for '--timeout'" in err


@pytest.mark.local_model
@pytest.mark.skipif(not local_available(), reason='needs the [local] extra: pip install -e ".[local]"')
def test_doctor_against_the_real_bundled_model(capsys) -> None:
    code, out, err = doctor(capsys, "--provider", "local", "--format", "json")
    report = json.loads(out)
    assert "small bundled model: for trying the pipeline, not for quality" in err
    assert code == 0, report
    assert "function_calling" in report["working_methods"]
    assert probes(report)["reachable"] == "ok" and probes(report)["usage reported"] == "ok"
    assert report["base_url"].startswith("http://127.0.0.1:")


def _servers_using(cache: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "cliffhanger.agents.llm.local_serve" in cmdline and cache in cmdline:
                pids.append(int(proc.name))
    return pids


@pytest.mark.local_model
@pytest.mark.skipif(not local_available(), reason='needs the [local] extra: pip install -e ".[local]"')
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_local_server_stops_when_we_stop(shared_cache: Path, how: signal.Signals) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "cliffhanger.app", "doctor", "--provider", "local"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert "small bundled model" in proc.stderr.readline()
        deadline = time.monotonic() + 60
        while not _servers_using(str(shared_cache)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _servers_using(str(shared_cache)), "the local server never started"
        time.sleep(1.0)
        proc.send_signal(how)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 15
    while _servers_using(str(shared_cache)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _servers_using(str(shared_cache)) == []
    if how == signal.SIGINT:
        assert proc.returncode == 130 and "interrupted" in proc.stderr.read()
