"""scripts/bench_canon.py: the synthetic canon's planted violations are exactly what the checker finds."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import Counter
from pathlib import Path

from cliffhanger.memory.checker import RULES, check, resolver

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_canon.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_canon", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_planted_violations_found_and_tables_printed() -> None:
    bench = _load()
    entities, facts, expected = bench.generate(2000, 60, seed=3, planted=4)
    assert {rule for rule, _ in expected} == set(RULES)
    assert sum(expected.values()) == 4 * len(RULES)
    found = check([], facts, resolver(bench.alias_map(entities)))
    assert Counter((v.rule, v.fact) for v in found) == expected

    out = subprocess.run([sys.executable, str(SCRIPT), "--facts", "2000", "--items", "500", "--queries", "20"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    for heading in ("== 1. check throughput", "== 2. retrieval latency", "== 3. cross-lingual hit rate"):
        assert heading in out.stdout
    assert "violations match the planted ones exactly" in out.stdout
    rows = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines() if line.split()[:1] == [RULES[0]]}
    assert rows[RULES[0]][:2] == ["10", "10"]
