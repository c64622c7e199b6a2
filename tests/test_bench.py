"""scripts/bench.py --quick prints the machine, the command and one markdown table with a number in every row.

Figures are not checked against targets: tests assert behaviour, never timings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"
CACHE_ROLES = ("writer", "critic", "continuity: fact extraction", "continuity: review")
# metric (a prefix, unique among the rows) -> its target cell, or None where the target is not checked
ROWS: dict[str, str | None] = {
    "our overhead per model call, concurrency 1": "<= 5",
    "our overhead per model call, concurrency 4": "-",
    "writer prompt tokens, episodes": "<= 1.25",
    "tokens per episode, all roles": "-",
    **{f"cacheable prefix share, {role}": ">= 0.5" for role in CACHE_ROLES},
    "cost per 4-episode season, DeepSeek-class, without cache-hit pricing": "-",
    "cost per 4-episode season, DeepSeek-class, with cache-hit pricing": "-",
    "cost per 4-episode season, GPT-4o-mini-class, with cache-hit pricing": "-",
    "cost per 4-episode season, DeepSeek-class, lower than $": ">= 30%",
    "season wall time, concurrency 1": None,
    "season wall time, concurrency 8": None,
    "speed-up, concurrency 8 over 1": None,
    "episode wall over its critical path": "-",
    "two seasons in one draft: requests refused for the cap": "0",
    "two seasons in one draft: slowest season over fastest": "<= 1.5",
    "two seasons in one draft: wall over one season alone": "<= 1.6",
    "eval smoke: wall over longest season": "<= 1.5",
    "eval 2-premise standard cut: wall over longest season": "<= 1.5",
    "standard suite estimated wall time": None,
    "canon check throughput": None,
    "retrieval p95 at": None,
    "peak resident memory": None,
}
MAY_BE_NEGATIVE = ("cost per 4-episode season, DeepSeek-class, lower than $",)  # a saving can come out < 0


def table(stdout: str) -> list[list[str]]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("|")]
    assert lines[0] == "| metric | value | unit / notes | target |", stdout
    assert set(lines[1]) <= set("|-: "), lines[1]
    return [[cell.strip() for cell in ln.strip("|").split(" | ")] for ln in lines[2:]]


def test_quick_run_prints_every_row_with_a_number() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=420)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "# command: python scripts/bench.py --quick" in out.stdout
    assert "# machine: " in out.stdout and " cpus, " in out.stdout and "python 3." in out.stdout
    for i in range(1, 10):
        assert f"# {i}/9 " in out.stderr, out.stderr

    rows = table(out.stdout)
    assert all(len(r) == 4 for r in rows), rows
    by_metric: dict[str, tuple[float, str]] = {}
    for want, target in ROWS.items():
        found = [r for r in rows if r[0].startswith(want)]
        assert len(found) == 1, (want, [r[0] for r in rows])
        metric, value, notes, cell = found[0]
        number = float(value.replace(",", ""))
        assert number == number, (metric, value)  # not nan
        assert want in MAY_BE_NEGATIVE or number >= 0, (metric, value)
        assert notes, metric
        if target is not None:
            assert cell == target, (metric, cell)
        by_metric[want] = (number, notes)
    assert len(rows) == len(ROWS)

    # the notes say what was run
    assert "bench_overhead.py --episodes 2" in by_metric["our overhead per model call, concurrency 1"][1]
    assert "writer + max(critic, extraction + review) + decision" in by_metric["episode wall over its critical path"][1]
    assert "--seasons 4" in by_metric["standard suite estimated wall time"][1]
    assert "all 58 seasons at once" in by_metric["standard suite estimated wall time"][1]
    for role in CACHE_ROLES:
        share, notes = by_metric[f"cacheable prefix share, {role}"]
        assert 0 <= share <= 1, (role, share)
        assert "4-episode season at concurrency 1" in notes
    without = by_metric["cost per 4-episode season, DeepSeek-class, without cache-hit pricing"][0]
    with_cache = by_metric["cost per 4-episode season, DeepSeek-class, with cache-hit pricing"][0]
    assert 0 < with_cache <= without
    assert by_metric["two seasons in one draft: requests refused for the cap"][0].is_integer()
