"""scripts/bench.py --quick prints the machine, the command and one markdown table with a number in every row.

Figures are not checked against targets: tests assert behaviour, never timings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"
ROWS = (
    "our overhead per model call",
    "writer prompt tokens, episodes",
    "tokens per episode, all roles",
    "cost per 12-episode season, DeepSeek-class",
    "cost per 12-episode season, GPT-4o-mini-class",
    "season wall time, concurrency 1",
    "season wall time, concurrency 8",
    "speed-up, concurrency 8 over 1",
    "canon check throughput",
    "retrieval p95 at",
    "peak resident memory",
)


def table(stdout: str) -> list[list[str]]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("|")]
    assert lines[0] == "| metric | value | unit / notes | target |", stdout
    assert set(lines[1]) <= set("|-: "), lines[1]
    return [[cell.strip() for cell in ln.strip("|").split(" | ")] for ln in lines[2:]]


def test_quick_run_prints_every_row_with_a_number() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "# command: python scripts/bench.py --quick" in out.stdout
    assert "# machine: " in out.stdout and " cpus, " in out.stdout and "python 3." in out.stdout

    rows = table(out.stdout)
    assert all(len(r) == 4 for r in rows), rows
    for metric, value, notes, _target in rows:
        assert float(value.replace(",", "")) >= 0, (metric, value)
        assert notes, metric
    metrics = [r[0] for r in rows]
    for want in ROWS:
        assert sum(m.startswith(want) for m in metrics) == 1, (want, metrics)
    assert len(rows) == len(ROWS)
    writer = next(r for r in rows if r[0].startswith("writer prompt tokens"))
    assert writer[3] == "<= 1.25"
