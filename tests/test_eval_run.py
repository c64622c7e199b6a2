"""`cliffhanger eval` end to end against the sim: two configs, the smoke suite, resume, budget, bad input."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest
from season_kit import run_cli

from cliffhanger.evals.suites import judged_episodes, load_suite


def write_config(path: Path, url: str, *, mode: str = "room", revisions: bool = False, price: float = 0.0,
                 extra: str = "") -> Path:
    prices = f'\n[prices."sim-drama"]\ninput_per_m = {price}\noutput_per_m = {price}\n' if price else ""
    path.write_text(f'provider = "sim"\nbase_url = "{url}"\nmax_retries = 1\n{extra}\n[pipeline]\nmode = "{mode}"\n'
                    f"revisions = {str(revisions).lower()}\nconcurrency = 2\n{prices}", encoding="utf-8")
    return path


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "lore" not in p.parts and p.name != "eval_run.json"
            and not p.name.startswith("checkpoints")}


def usage_lines(root: Path) -> int:
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in root.rglob("usage.jsonl"))


@pytest.fixture
def configs(tmp_path: Path, sim_url: str) -> list[str]:
    a = write_config(tmp_path / "room.toml", sim_url)
    b = write_config(tmp_path / "baseline.toml", sim_url, mode="baseline")
    return ["--config", str(a), "--config", str(b)]


def judge_flags(url: str) -> list[str]:
    return ["--judge", "sim-drama", "--judge-provider", "sim", "--judge-base-url", url]


def test_smoke_suite_end_to_end_for_two_configs(capsys, tmp_path: Path, sim_url: str, configs: list[str]) -> None:
    out = tmp_path / "eval"
    code, stdout, err = run_cli(capsys, "eval", "smoke", *configs, *judge_flags(sim_url), "--out", str(out),
                                "--bootstrap", "200")
    assert code == 0, err
    assert "report:" in stdout
    suite = load_suite("smoke")
    for cfg in ("room", "baseline"):
        for p in suite.premises:
            season = out / "seasons" / cfg / p.id
            assert len(list((season / "episodes").glob("*/script.json"))) == p.episodes
    records = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    judged = {(p.id, ep) for p in suite.premises for ep, _ in judged_episodes(p.spec())}
    pairs = {(r["premise"], r["episode"]) for r in records if r["type"] == "pair"}
    points = {(r["config"], r["premise"], r["episode"]) for r in records if r["type"] == "point"}
    assert pairs == judged and len(points) == 2 * len(judged)
    assert all(r["a"] == "room" and r["b"] == "baseline" and len(r["orders"]) == 2 for r in records if r["type"] == "pair")
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "room" in report and "baseline" in report and (out / "report.html").exists()
    assert list(out.glob("*.png"))
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics) == {f"{c}/{p.id}" for c in ("room", "baseline") for p in suite.premises}
    manifest = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    assert manifest["configs"]["room"]["pipeline"]["mode"] == "room"
    assert manifest["configs"]["baseline"]["models"]["writer"] == "sim:sim-drama"

    # Run again: nothing is drafted or judged twice.
    seasons, calls = tree(out / "seasons"), usage_lines(out)
    code, stdout, _ = run_cli(capsys, "eval", "smoke", *configs, *judge_flags(sim_url), "--out", str(out),
                              "--bootstrap", "200")
    assert code == 0 and "0 new judgments" in stdout
    assert tree(out / "seasons") == seasons and usage_lines(out) == calls


def test_an_interrupted_eval_resumes_where_it_stopped(capsys, tmp_path: Path, sim_url: str,
                                                      configs: list[str]) -> None:
    out = tmp_path / "eval"
    assert run_cli(capsys, "eval", "smoke", *configs, *judge_flags(sim_url), "--out", str(out),
                   "--bootstrap", "200")[0] == 0
    results = out / "results.jsonl"
    lines = results.read_text(encoding="utf-8").splitlines()
    results.write_text("\n".join(lines[:-3]) + '\n{"type": "pair", "prem', encoding="utf-8")  # a torn last line
    judge_calls = len((out / "judge_usage.jsonl").read_text(encoding="utf-8").splitlines())
    seasons = tree(out / "seasons")
    code, stdout, err = run_cli(capsys, "eval", "smoke", *configs, *judge_flags(sim_url), "--out", str(out),
                                "--bootstrap", "200")
    assert code == 0, err
    assert "3 new judgments" in stdout and tree(out / "seasons") == seasons
    after = (out / "judge_usage.jsonl").read_text(encoding="utf-8").splitlines()
    assert judge_calls < len(after) <= judge_calls + 3 * 2 * 3  # at most the missing ones (2 orders, retries)


def test_budget_stops_the_eval_and_more_budget_finishes_it(capsys, tmp_path: Path, sim_url: str) -> None:
    a = write_config(tmp_path / "room.toml", sim_url, price=200.0)
    b = write_config(tmp_path / "baseline.toml", sim_url, mode="baseline", price=200.0)
    out = tmp_path / "eval"
    args = ["eval", "smoke", "--config", str(a), "--config", str(b), *judge_flags(sim_url), "--out", str(out),
            "--bootstrap", "200"]
    code, _, err = run_cli(capsys, *args, "--budget-usd", "3")
    last = err.strip().splitlines()[-1]  # progress lines come before the one error line
    assert code == 2 and last.startswith("error: budget reached") and "kept in" in last and "Traceback" not in err
    first = out / "seasons" / "room" / load_suite("smoke").premises[0].id
    assert first.exists()
    code, _, err = run_cli(capsys, *args, "--budget-usd", "100000")
    assert code == 0, err
    assert (out / "report.md").exists()


def test_a_failing_judge_keeps_the_seasons(capsys, tmp_path: Path, sim_url: str, configs: list[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    out = tmp_path / "eval"
    code, _, err = run_cli(capsys, "eval", "smoke", *configs, "--judge", "x", "--judge-provider", "openai-compatible",
                           "--judge-base-url", dead, "--out", str(out))
    last = err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("error: the judge failed") and "kept in" in last and "Traceback" not in err
    seasons, calls = tree(out / "seasons"), usage_lines(out / "seasons")
    code, _, err = run_cli(capsys, "eval", "smoke", *configs, *judge_flags(sim_url), "--out", str(out),
                           "--bootstrap", "200")
    assert code == 0, err
    assert tree(out / "seasons") == seasons and usage_lines(out / "seasons") == calls


@pytest.mark.parametrize(("setup", "says"), [
    ("unknown_key", "temprature"),
    ("unknown_pipeline_key", "critics"),
    ("unknown_genre", "premise one"),
    ("one_config", "at least two --config"),
    ("missing_config", "not found"),
    ("bad_suite", "no suite 'nonesuch'"),
    ("same_name", "same name"),
])
def test_bad_eval_input_is_one_line(capsys, tmp_path: Path, sim_url: str, setup: str, says: str) -> None:
    a = write_config(tmp_path / "a.toml", sim_url)
    b = write_config(tmp_path / "b.toml", sim_url, mode="baseline")
    suite = "smoke"
    files = [a, b]
    if setup == "unknown_key":
        b = write_config(tmp_path / "b.toml", sim_url, extra="temprature = 0.5")
        files = [a, b]
    elif setup == "unknown_pipeline_key":
        b.write_text(b.read_text(encoding="utf-8") + "critics = false\n", encoding="utf-8")
    elif setup == "unknown_genre":
        suite_path = tmp_path / "suite.yaml"
        suite_path.write_text("name: mine\npremises:\n  - id: one\n    title: T\n    logline: A logline that is long enough.\n"
                              "    genre: space_opera\n    language: en\n    episodes: 4\n    free: 2\n", encoding="utf-8")
        suite = str(suite_path)
    elif setup == "one_config":
        files = [a]
    elif setup == "missing_config":
        files = [a, tmp_path / "nope.toml"]
    elif setup == "bad_suite":
        suite = "nonesuch"
    elif setup == "same_name":
        (tmp_path / "x").mkdir()
        files = [a, write_config(tmp_path / "x" / "a.toml", sim_url, mode="baseline")]
    out = tmp_path / "eval"
    args = ["eval", suite, *[x for f in files for x in ("--config", str(f))], *judge_flags(sim_url), "--out", str(out)]
    code, stdout, err = run_cli(capsys, *args)
    assert code == 2 and stdout == "" and says in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (out / "seasons").exists()
