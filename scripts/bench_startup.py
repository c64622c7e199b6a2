#!/usr/bin/env python3
"""Start-up time of the command line: `cliffhanger --help` and a model-free command, median of N runs.

    python scripts/bench_startup.py [--runs 15]

Prints one row per command: median and worst wall time in milliseconds, and which heavy libraries
(langchain, openai, chromadb, textual, ...) the command imported. Target: well under a second.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("langchain_openai", "langchain_core", "langgraph", "openai", "chromadb", "textual", "uvicorn", "llama_cpp")
COMMANDS = [["--help"], ["draft", "--help"], ["sim", "--faults", "bogus:1"]]

PROBE = (
    "import sys\n"
    "sys.argv = ['cliffhanger'] + sys.argv[1:]\n"
    "try:\n    from cliffhanger.app.cli import main; main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"{'command':32} {'median ms':>10} {'max ms':>8}  heavy imports")
    for cmd in COMMANDS:
        times = []
        heavy = ""
        for _ in range(args.runs):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", PROBE, *cmd], capture_output=True, text=True)
            times.append((time.perf_counter() - t0) * 1000)
            heavy = next((ln[6:] for ln in out.stderr.splitlines() if ln.startswith("HEAVY=")), None)
            if heavy is None:  # the probe failed (cliffhanger not importable by this python): no figure at all
                sys.exit(f"cliffhanger {' '.join(cmd)} did not run under {sys.executable}: {out.stderr.strip()[-300:]}")
        print(f"{'cliffhanger ' + ' '.join(cmd):32} {statistics.median(times):10.0f} {max(times):8.0f}  {heavy or '-'}")


if __name__ == "__main__":
    main()
