"""The command line: every command answers --help, bad input is one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import pytest
from season_kit import run_cli

COMMANDS = [
    ["doctor"], ["sim"], ["new"], ["draft"], ["status"], ["chat"], ["export"], ["canon", "check"],
    ["canon", "query"], ["canon", "reindex"], ["genres", "list"], ["genres", "show"], ["genres", "validate"], ["eval"], ["demo"],
]




@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(capsys, command: list[str]) -> None:
    code, out, _ = run_cli(capsys, *command, "--help")
    assert code == 0 and "Usage: cliffhanger " + " ".join(command) in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["sim", "--faults", "oops:0.1"], "unknown fault 'oops' in --faults"),
        (["sim", "--faults", "429:2"], "429"),
        (["sim", "--quirks", "teleport"], "teleport"),
        (["sim", "--port", "70000"], "is not a port number"),
        (["draft"], "Missing argument"),
        (["nonsense"], "No such command 'nonsense'"),
        (["doctor", "--config", "/nonexistent/c.toml"], "not found: check the --config path"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_traceback(capsys, args: list[str], fragment: str) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2, err
    assert fragment in err and err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_no_arguments_shows_help(capsys) -> None:
    code, _, err = run_cli(capsys)
    assert code == 0 and "Commands" in err


def test_sim_command_serves_until_interrupted(tmp_path) -> None:
    log = tmp_path / "sim.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cliffhanger.app", "sim", "--port", "0", "--seed", "3", "--log", str(log)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("cliffhanger sim listening on http://127.0.0.1:")
        url = line.split()[-1]
        body = json.dumps({"model": "sim-drama", "messages": [{"role": "user", "content": "Hello"}]}).encode()
        req = urllib.request.Request(url + "/chat/completions", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            answer = json.loads(resp.read())
        assert answer["choices"][0]["message"]["content"]
        assert json.loads(log.read_text().splitlines()[0])["model"] == "sim-drama"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0
