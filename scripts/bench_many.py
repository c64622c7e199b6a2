#!/usr/bin/env python3
"""Several seasons in one `cliffhanger draft` against one sim with a cap on requests in flight.

    python scripts/bench_many.py [--seasons 4] [--episodes 12] [--cap 8] [--ttft-ms 200] [--tps 1500]

Starts `cliffhanger sim --max-concurrency CAP` (it answers 429 to any request past the cap), creates the
seasons with `cliffhanger new`, drafts ONE of them alone with `cliffhanger draft` and then all of them together
with `cliffhanger draft A B C D --concurrency CAP`, and prints: requests the sim refused for the cap (target
0), each season's wall time in the shared run (first to last call in its usage.jsonl) and the spread
(slowest over fastest, target <= 1.5: no season starved), and the shared run's wall time over the lone
season's (target <= 1.6). Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: object) -> None:
    env = {**os.environ, "OPENAI_API_KEY": "sim"}
    subprocess.run([sys.executable, "-m", "cliffhanger.app", *map(str, args)], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def season_span(folder: Path) -> float:
    """Seconds from the season's first model call to its last (usage.jsonl times)."""
    times = [datetime.fromisoformat(json.loads(line)["time"]) for line in
             (folder / "usage.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return (max(times) - min(times)).total_seconds()


def measure(seasons: int = 4, episodes: int = 12, cap: int = 8, ttft_ms: int = 200,
            tps: float = 1500.0) -> dict[str, Any]:
    """One season drafted alone, then `seasons` in one draft: their walls (s), the sim's requests in the shared
    run and those it refused for the cap, each season's span in the shared run, the spread and the ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        root, port = Path(tmp), free_port()
        log = root / "sim.jsonl"
        sim = subprocess.Popen([sys.executable, "-m", "cliffhanger.app", "sim", "--port", str(port), "--ttft-ms",
                                str(ttft_ms), "--tps", str(tps), "--max-concurrency", str(cap),
                                "--log", str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            model = ["--provider", "openai-compatible", "--base-url", f"http://127.0.0.1:{port}/v1",
                     "--model", "sim-drama", "--concurrency", str(cap)]
            folders = [root / f"s{i}" for i in range(seasons + 1)]
            for i, f in enumerate(folders):
                cli("new", f, "--genre", "revenge", "--episodes", episodes, "--free", min(4, episodes - 1),
                    "--logline", f"第{i}个被调包的真千金回到豪门复仇。", "--title", f"千金{i}")
            started = time.monotonic()
            cli("draft", folders[0], *model)
            alone = time.monotonic() - started
            log.write_text("", encoding="utf-8")
            started = time.monotonic()
            cli("draft", *folders[1:], *model)
            together = time.monotonic() - started
        finally:
            sim.terminate()
            sim.wait()
        records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
        refused = sum(1 for r in records if r.get("status") == 429 and not r.get("fault"))
        spans = [season_span(f) for f in folders[1:]]
    return {"alone": alone, "together": together, "requests": len(records), "refused": refused, "spans": spans,
            "spread": max(spans) / min(spans), "ratio": together / alone}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seasons", type=int, default=4)
    ap.add_argument("--episodes", type=int, default=12)
    ap.add_argument("--cap", type=int, default=8)
    ap.add_argument("--ttft-ms", type=int, default=200)
    ap.add_argument("--tps", type=float, default=1500.0)
    args = ap.parse_args()
    print(f"# command: python scripts/bench_many.py {' '.join(sys.argv[1:])}")
    got = measure(args.seasons, args.episodes, args.cap, args.ttft_ms, args.tps)
    alone, together, refused, spans = got["alone"], got["together"], got["refused"], got["spans"]
    spread, ratio = got["spread"], got["ratio"]
    print(f"one season alone: {alone:.1f} s; {args.seasons} seasons in one draft: {together:.1f} s "
          f"({got['requests']} requests, cap {args.cap}, sim ttft {args.ttft_ms} ms, {args.tps:g} tok/s)")
    print(f"requests refused for the cap: {refused} (target 0)")
    print(f"season wall times in the shared run: {', '.join(f'{s:.1f}' for s in spans)} s; "
          f"slowest over fastest {spread:.2f} (target <= 1.5)")
    print(f"shared run over one season alone: {ratio:.2f} (target <= 1.6)")
    return 0 if refused == 0 and spread <= 1.5 and ratio <= 1.6 else 1


if __name__ == "__main__":
    sys.exit(main())
