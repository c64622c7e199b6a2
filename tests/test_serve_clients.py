"""The server's other clients: `cliffhanger eval --server` (room seasons drafted on the server, with the server's
keys kept on the server) and Ctrl-C under `cliffhanger submit --follow`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from season_kit import make_season, run_cli

pytest.importorskip("langgraph_api", reason="the serve extra is not installed")

from serve_kit import SERVER_KEY  # noqa: E402

from cliffhanger.agents.errors import UserError  # noqa: E402
from cliffhanger.agents.llm.call_limits import Budget, BudgetExhausted  # noqa: E402
from cliffhanger.agents.llm.endpoint import EndpointConfig  # noqa: E402
from cliffhanger.agents.llm.role_names import ROOM_ROLES  # noqa: E402
from cliffhanger.agents.server.request import SeasonRequest, with_server_keys  # noqa: E402
from cliffhanger.agents.state import RunSettings  # noqa: E402
from cliffhanger.app.serve import Server  # noqa: E402
from cliffhanger.evals.on_server import ServerShares  # noqa: E402
from cliffhanger.evals.suites import load_suite  # noqa: E402


def write_config(path: Path, text: str, mode: str = "room") -> Path:
    path.write_text(f'max_retries = 1\n{text}\n[pipeline]\nmode = "{mode}"\nrevisions = false\nconcurrency = 2\n',
                    encoding="utf-8")
    return path


def eval_cli(capsys: pytest.CaptureFixture[str], configs: tuple[Path, Path], sim: str, out: Path, server: str,
             *more: object) -> tuple[int, str, str]:
    """`cliffhanger eval smoke` of two configs with the sim as judge, drafting on `server`."""
    return run_cli(capsys, "eval", "smoke", "--config", configs[0], "--config", configs[1], "--judge", "sim-drama",
                   "--judge-provider", "sim", "--judge-base-url", sim, "--out", out, "--bootstrap", "200",
                   "--server", server, *more)


def test_eval_drafts_the_room_seasons_on_the_server_and_the_baseline_here(
        capsys, tmp_path: Path, server: Server, sim_for_server: str) -> None:
    room = write_config(tmp_path / "room.toml", f'provider = "sim"\nbase_url = "{sim_for_server}"')
    base = write_config(tmp_path / "baseline.toml", f'provider = "sim"\nbase_url = "{sim_for_server}"', "baseline")
    out = tmp_path / "eval"
    code, stdout, err = eval_cli(capsys, (room, base), sim_for_server, out, server.url)
    assert code == 0, err
    suite = load_suite("smoke")
    assert len(suite.premises) >= 2
    for p in suite.premises:
        on_server, here = out / "seasons" / "room" / p.id, out / "seasons" / "baseline" / p.id
        for season in (on_server, here):
            assert len(list((season / "episodes").glob("*/script.json"))) == p.episodes
        # The room season ran on the server: its checkpoints are the server's (PostgreSQL), not a file here.
        assert (on_server / "checkpoints.place").read_text(encoding="utf-8").startswith("postgresql://")
        assert not (on_server / "checkpoints.sqlite").exists() and not (here / "checkpoints.place").exists()
        assert "- Stopped: done" in (on_server / "report.md").read_text(encoding="utf-8")
    records = [json.loads(ln) for ln in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any(r["type"] == "pair" for r in records) and (out / "report.md").exists()
    everything = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert SERVER_KEY.encode() not in everything

    # The same command again drafts nothing: the server's seasons are finished and kept.
    usage = {p: p.read_bytes() for p in out.rglob("usage.jsonl")}
    code, stdout, _ = eval_cli(capsys, (room, base), sim_for_server, out, server.url)
    assert code == 0 and "0 new judgments" in stdout
    assert {p: p.read_bytes() for p in out.rglob("usage.jsonl")} == usage


def test_a_config_on_a_provider_the_server_holds_no_key_for_fails_its_seasons_with_one_line(
        capsys, tmp_path: Path, server: Server, sim_for_server: str) -> None:
    # deepseek needs a key; the server holds one only for its own provider and URL (openai-compatible at the sim).
    keyed = write_config(tmp_path / "keyed.toml", f'provider = "deepseek"\nbase_url = "{sim_for_server}"\n'
                                                  'model = "deepseek-chat"\napi_key = "sk-client-side-987654321"')
    base = write_config(tmp_path / "baseline.toml", f'provider = "sim"\nbase_url = "{sim_for_server}"', "baseline")
    out = tmp_path / "eval"
    code, _, err = eval_cli(capsys, (keyed, base), sim_for_server, out, server.url)
    assert code == 2, err
    assert "this server holds no key" in err and "keyed/" in err
    assert "sk-client-side-987654321" not in err  # the client's key is never sent, nor shown
    assert not list((out / "seasons" / "keyed").glob("*/episodes/*/script.json"))


def test_eval_with_no_server_there_is_one_line_before_anything_is_drafted(capsys, tmp_path: Path,
                                                                          sim_url: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    cfgs = [write_config(tmp_path / f"{n}.toml", f'provider = "sim"\nbase_url = "{sim_url}"') for n in ("a", "b")]
    code, _, err = eval_cli(capsys, (cfgs[0], cfgs[1]), sim_url, tmp_path / "eval", f"http://127.0.0.1:{free}")
    assert code == 2 and "no server answers at" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "eval" / "seasons").exists()


def test_the_run_context_carries_models_without_keys_and_the_server_adds_only_its_own() -> None:
    secret = "sk-client-secret-123456789"
    theirs = {r: EndpointConfig("deepseek", "https://api.deepseek.com", "deepseek-chat", api_key=None) for r in ROOM_ROLES}
    sent = {r: EndpointConfig("deepseek", "https://api.deepseek.com/", "deepseek-chat",
                              api_key=__import__("pydantic").SecretStr(secret)) for r in ROOM_ROLES}
    wire = SeasonRequest.of(Path("/s"), RunSettings(critic=False), sent).wire()
    assert secret not in json.dumps(wire) and wire["critic"] is False
    back = SeasonRequest.from_wire(json.loads(json.dumps(wire)))
    wanted = back.endpoints()
    assert wanted is not None and all(ep.api_key is None for ep in wanted.values())
    own = {r: EndpointConfig("deepseek", "https://api.deepseek.com", "x", api_key=__import__("pydantic").SecretStr("sk-own-1234567"))
           for r in ROOM_ROLES}
    keyed = with_server_keys(wanted, own)
    assert all(ep.api_key is not None and ep.api_key.get_secret_value() == "sk-own-1234567" for ep in keyed.values())
    # Another URL (a client's choice) never gets the server's key: a keyed provider is refused, a keyless one
    # goes without a key.
    elsewhere = {r: EndpointConfig("deepseek", "http://attacker.example/v1", "deepseek-chat") for r in ROOM_ROLES}
    with pytest.raises(UserError, match="holds no key"):
        with_server_keys(elsewhere, own)
    local = {r: EndpointConfig("openai-compatible", "http://127.0.0.1:9/v1", "m") for r in ROOM_ROLES}
    assert all(ep.api_key is None for ep in with_server_keys(local, own).values())
    assert theirs  # the shape a config without a key has
    with pytest.raises(UserError, match="unknown fields"):
        SeasonRequest.from_wire({**wire, "models": {r: {"provider": "sim", "api_key": "x"} for r in ROOM_ROLES}})


def test_server_seasons_share_the_eval_budget_and_never_hold_more_than_it() -> None:
    budget = Budget(1.0, spent_usd=0.2)
    shares = ServerShares(budget, seats=4)
    held = [shares.take() for _ in range(4)]
    assert all(h is not None and h > 0 for h in held)
    assert sum(h for h in held if h) == pytest.approx(0.8)  # equal shares of what is left, never more
    shares.settle(held[0], 0.05)  # a season ends having spent less than its share: the rest is free again
    assert budget.spent_usd == pytest.approx(0.25) and shares.held == 3
    assert shares.take() == pytest.approx(0.15)
    spent = Budget(0.5, spent_usd=0.5)
    with pytest.raises(BudgetExhausted, match="budget reached"):
        ServerShares(spent, seats=2).take()
    assert ServerShares(None, seats=2).take() is None


def test_ctrl_c_under_submit_follow_cancels_the_run_and_a_resubmit_finishes(server: Server, tmp_path: Path) -> None:
    store = make_season(tmp_path / "s", 8, free=4)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cliffhanger.app", "submit", str(store.root), "--server", server.url,
                             "--follow"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        lines.append(line.rstrip())
        if "episode 1: " in line or time.monotonic() > deadline:  # the run is going on the server
            break
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    lines += rest.splitlines()
    assert proc.returncode == 130, lines
    assert any("stopped: the runs were cancelled" in ln for ln in lines), lines
    assert not any("Traceback" in ln for ln in lines), lines
    assert len(store.accepted_episodes()) < 8  # stopped mid-season

    import asyncio

    from langgraph_sdk import get_client

    from cliffhanger.agents.server.request import thread_id

    async def statuses() -> list[str]:
        client = get_client(url=server.url)
        return [r["status"] for r in await client.runs.list(thread_id(store.season_id()))]

    now = asyncio.run(statuses())  # right away: submit waited for the cancellation before it exited
    assert now and not {"running", "pending"} & set(now) and "interrupted" in now, now
    from cliffhanger.app.submit import SubmitRequest, submit

    said: list[str] = []
    assert submit(SubmitRequest((store.root,), server.url, follow=True), said.append) == 0, said
    assert store.accepted_episodes() == list(range(1, 9))


def test_a_server_season_stops_at_its_share_of_the_budget_and_more_budget_finishes_the_eval(
        capsys, tmp_path: Path, server: Server, sim_for_server: str) -> None:
    priced = f'provider = "sim"\nbase_url = "{sim_for_server}"\n[prices."sim-drama"]\ninput_per_m = 4.0\noutput_per_m = 4.0'
    room = write_config(tmp_path / "room.toml", priced)
    base = write_config(tmp_path / "baseline.toml", priced, "baseline")
    out = tmp_path / "eval"
    code, _, err = eval_cli(capsys, (room, base), sim_for_server, out, server.url, "--budget-usd", "0.5")
    assert code == 2 and "budget" in err.strip().splitlines()[-1], err
    rooms = [out / "seasons" / "room" / p.id for p in load_suite("smoke").premises]
    assert any((r / "report.md").exists() and "- Stopped: budget" in (r / "report.md").read_text(encoding="utf-8")
               for r in rooms)  # the server's run stopped at its share, not the eval around it
    from cliffhanger.agents.llm.usage import read_usage, usage_summary

    spent = usage_summary(r for p in out.rglob("*usage.jsonl") for r in read_usage(p)).cost_usd
    assert 0 < spent <= 0.5 + 1e-9  # the shares held never passed the eval's budget
    code, _, err = eval_cli(capsys, (room, base), sim_for_server, out, server.url, "--budget-usd", "50")
    assert code == 0, err
    assert all(len(list((r / "episodes").glob("*/script.json"))) == 4 for r in rooms)
