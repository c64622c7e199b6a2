"""`cliffhanger eval` drafts its (premise, config) seasons side by side: overlap within --seasons, the same
results as one at a time, resume after a kill in the middle, and a failing season that does not stop the rest."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from season_kit import run_cli

from cliffhanger.agents.season.store import SeasonStore

PREMISES = [("zh_one", "zh", "revenge"), ("en_two", "en", "billionaire_romance"), ("zh_three", "zh", "rebirth")]
CONFIGS = ("room", "baseline")
SEASONS = [(c, p) for p, _, _ in PREMISES for c in CONFIGS]


def write_suite(path: Path) -> Path:
    rows = "".join(f"  - id: {pid}\n    title: T {pid}\n    logline: A premise long enough for {pid} to be drafted.\n"
                   f"    genre: {genre}\n    language: {lang}\n    episodes: 2\n    free: 1\n    runtime_s: 60\n"
                   for pid, lang, genre in PREMISES)
    path.write_text(f"name: tiny\npremises:\n{rows}", encoding="utf-8")
    return path


def write_config(path: Path, url: str, mode: str, extra: str = "") -> Path:
    path.write_text(f'provider = "sim"\nbase_url = "{url}"\nmodel = "sim-drama"\nmax_retries = 1\n'
                    f'[pipeline]\nmode = "{mode}"\nrevisions = false\nconcurrency = 2\n{extra}', encoding="utf-8")
    return path


@pytest.fixture
def slow_url(make_sim) -> str:
    return make_sim(ttft_ms=30)  # every call takes a little time, so seasons in flight overlap


@pytest.fixture
def setup(tmp_path: Path, slow_url: str) -> list[str]:
    suite = write_suite(tmp_path / "tiny.yaml")
    return [str(suite), "--config", str(write_config(tmp_path / "room.toml", slow_url, "room")),
            "--config", str(write_config(tmp_path / "baseline.toml", slow_url, "baseline")),
            "--judge", "sim-drama", "--judge-provider", "sim", "--judge-base-url", slow_url, "--bootstrap", "100"]


def eval_cli(capsys, setup: list[str], out: Path, *extra: object) -> tuple[int, str, str]:
    return run_cli(capsys, "eval", *setup, "--out", out, *extra)


def season(out: Path, cfg: str, pid: str) -> Path:
    return out / "seasons" / cfg / pid


def usage_counts(out: Path) -> dict[str, int]:
    return {f"{c}/{p}": len((season(out, c, p) / "usage.jsonl").read_text(encoding="utf-8").splitlines())
            for c, p in SEASONS if (season(out, c, p) / "usage.jsonl").exists()}


def finished(out: Path) -> set[str]:
    return {f"{c}/{p}" for c, p in SEASONS if season(out, c, p).exists()
            and len(SeasonStore(season(out, c, p)).accepted_episodes()) == 2}


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])  # an end before a start
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def usage_span(path: Path) -> tuple[float, float]:
    """From the first call's start to the last call's end, as the season's usage log records them."""
    times = []
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        end = datetime.fromisoformat(rec["time"].replace("Z", "+00:00")).timestamp()
        times += [end - float(rec["latency_s"]), end]
    return min(times), max(times)


def test_seasons_overlap_within_the_cap(capsys, tmp_path: Path, setup: list[str]) -> None:
    out = tmp_path / "eval"
    code, stdout, err = eval_cli(capsys, setup, out, "--seasons", "2")
    assert code == 0, err
    assert "report:" in stdout and finished(out) == {f"{c}/{p}" for c, p in SEASONS}
    # The run's own record: each season's calls from the first to the last.
    spans = [usage_span(season(out, c, p) / "usage.jsonl") for c, p in SEASONS]
    assert most_at_once(spans) == 2
    # Its progress lines: one started and one finished line per season, never more than 2 in between.
    lines = [m.groups() for m in re.finditer(r"season (\S+): (started|finished)", err)]
    assert sorted(n for n, what in lines if what == "started") == sorted(f"{c}/{p}" for c, p in SEASONS)
    assert sorted(n for n, what in lines if what == "finished") == sorted(f"{c}/{p}" for c, p in SEASONS)
    now = peak = 0
    for _, what in lines:
        now += 1 if what == "started" else -1
        peak = max(peak, now)
    assert peak == 2


def test_bad_seasons_is_one_line(capsys, tmp_path: Path, setup: list[str]) -> None:
    code, stdout, err = eval_cli(capsys, setup, tmp_path / "eval", "--seasons", "0")
    assert code == 2 and stdout == "" and err.startswith("error: --seasons 0") and err.count("\n") == 1
    assert not (tmp_path / "eval").exists()


def judgments(out: Path) -> dict[tuple, dict]:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    return {(r["type"], r.get("config"), r["premise"], r["episode"], r.get("a"), r.get("b")): r for r in rows}


def scripts(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in sorted(out.rglob("script.json"))}


def current(setup: list[str], out: Path) -> list[dict]:
    from cliffhanger.app.eval_cmd import load_eval_config
    from cliffhanger.evals.run import EvalRequest, current_records
    from cliffhanger.evals.suites import load_suite

    req = EvalRequest(suite=load_suite(setup[0]), configs=[load_eval_config(Path(p)) for p in (setup[2], setup[4])],
                      judge=None, out=out)
    return current_records(req, {(c, p): SeasonStore(season(out, c, p)) for c, p in SEASONS})


def test_side_by_side_gives_what_one_at_a_time_gives(capsys, tmp_path: Path, setup: list[str]) -> None:
    one, three = tmp_path / "one", tmp_path / "three"
    assert eval_cli(capsys, setup, one, "--seasons", "1")[0] == 0
    assert eval_cli(capsys, setup, three, "--seasons", "3")[0] == 0
    assert scripts(one) == scripts(three) and len(scripts(one)) == 2 * len(SEASONS)
    a, b = judgments(one), judgments(three)
    assert a.keys() == b.keys() and len(a) == 3 * 2 * len(PREMISES)  # a pair and two points, 2 judged episodes
    assert a == b  # the sim answers by content: the verdicts are the same whatever finished first
    # The judgments the report is built from come in the suite's order, whatever order they were made in.
    order = [current(setup, o) for o in (one, three)]
    assert order[0] == order[1] and [r["premise"] for r in order[0]][::6] == [p for p, _, _ in PREMISES]
    m1, m3 = (json.loads((o / "metrics.json").read_text(encoding="utf-8")) for o in (one, three))
    assert m1 == m3
    # The report lists the same judgments in the same order (timings aside).
    def strip(text: str) -> str:
        return re.sub(r"\d+(\.\d+)?", "N", text)
    r1, r3 = ((o / "report.md").read_text(encoding="utf-8") for o in (one, three))
    assert strip(r1) == strip(r3)


def test_a_killed_eval_redoes_only_what_was_in_flight(capsys, tmp_path: Path, setup: list[str]) -> None:
    out = tmp_path / "eval"
    # A real kill (SIGKILL) of a process drafting 3 seasons at once, once two of them have finished.
    proc = subprocess.Popen([sys.executable, "-c", "from cliffhanger.app.cli import main; main()", "eval", *setup,
                             "--out", str(out), "--seasons", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        seen = 0
        for line in proc.stderr:  # type: ignore[union-attr]
            seen += ": finished (" in line
            if seen == 2:
                break
        proc.kill()
    finally:
        proc.wait(timeout=60)
    done_before = finished(out)
    assert 2 <= len(done_before) < len(SEASONS)
    counts = usage_counts(out)
    kept = scripts(out)
    code, stdout, err = eval_cli(capsys, setup, out, "--seasons", "3")
    assert code == 0, err
    assert "report:" in stdout
    after = usage_counts(out)
    assert {k: after[k] for k in done_before} == {k: counts[k] for k in done_before}  # not drafted again
    assert "season " + sorted(done_before)[0] + ": started" not in err
    assert all(scripts(out)[k] == v for k, v in kept.items())  # accepted episodes stay as they were
    assert finished(out) == {f"{c}/{p}" for c, p in SEASONS}
    assert len(judgments(out)) == 3 * 2 * len(PREMISES)


def test_a_failing_season_is_named_and_the_others_finish(capsys, tmp_path: Path, setup: list[str]) -> None:
    from cliffhanger.evals.suites import load_suite

    out = tmp_path / "eval"
    # Another process drafting one season (its lock held) fails that season alone.
    premise = next(p for p in load_suite(setup[0]).premises if p.id == "en_two")
    held = SeasonStore.open_or_create(season(out, "room", "en_two"), premise.spec())
    with held.lock():
        code, stdout, err = eval_cli(capsys, setup, out, "--seasons", "3")
    last = err.strip().splitlines()[-1]
    assert code == 2 and stdout == "" and "Traceback" not in err
    assert last.startswith("error: 1 of 6 seasons failed: room/en_two (") and "being drafted by" in last
    assert "kept in" in last
    assert finished(out) == {f"{c}/{p}" for c, p in SEASONS} - {"room/en_two"}
    judged = judgments(out)
    assert {k[2] for k in judged if k[0] == "pair"} == {"zh_one", "zh_three"}  # judged as their pairs were done
    assert ("point", "baseline", "en_two", 1, None, None) in judged  # the finished half of en_two too
    counts = usage_counts(out)
    code, stdout, err = eval_cli(capsys, setup, out, "--seasons", "3")
    assert code == 0, err
    assert usage_counts(out)["room/zh_one"] == counts["room/zh_one"]
    assert len(judgments(out)) == 3 * 2 * len(PREMISES)


def test_a_config_on_a_dead_server_fails_its_seasons_only(capsys, tmp_path: Path, setup: list[str],
                                                          slow_url: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    broken = write_config(tmp_path / "baseline.toml", slow_url, "baseline",
                          extra=f'[roles.writer]\nbase_url = "{dead}"\n')
    args = [*setup[:3], "--config", str(broken), *setup[5:]]
    out = tmp_path / "eval"
    code, _, err = eval_cli(capsys, args, out, "--seasons", "2")
    last = err.strip().splitlines()[-1]
    assert code == 2 and "Traceback" not in err
    assert last.startswith("error: 3 of 6 seasons failed: baseline/zh_one (")
    assert all(f"baseline/{p}" in last for p, _, _ in PREMISES)
    assert finished(out) == {f"room/{p}" for p, _, _ in PREMISES}
