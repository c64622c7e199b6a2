#!/usr/bin/env python3
"""Our own overhead per model call: a season's wall time minus the time the sim spent answering, over calls.

    python scripts/bench_overhead.py [--episodes 12] [--in-thread]

Drafts one Chinese revenge season at concurrency 1 (calls never overlap, so wall - answering is exactly the
time spent outside the sim) against an instant `cliffhanger sim` started in its own process (with
`--in-thread`, in a thread of this process, as scripts/bench_season.py does: the sim's own work then
competes with ours for the interpreter). A two-episode season is drafted first, unmeasured: a
long-running process pays once for its imports, the genre packs, the tokenizer and the TLS context, not per
call (`--cold` measures with those included). Hash embedding for the lore index.

Work a run hands to threads (the lore index's writes, the checkpointer's) is counted: `run_season` returns
only once it is done, and the wall ends after that; a thread of ours still running then fails the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_season import season, sim_seconds  # noqa: E402

from cliffhanger.agents.llm.crew import open_crew  # noqa: E402
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig  # noqa: E402
from cliffhanger.agents.llm.role_names import ROOM_ROLES  # noqa: E402
from cliffhanger.agents.llm.usage import UsageLog, read_usage  # noqa: E402
from cliffhanger.agents.run import run_season  # noqa: E402
from cliffhanger.agents.sim.config import FaultPlan, SimConfig  # noqa: E402
from cliffhanger.agents.sim.runner import run_in_thread  # noqa: E402
from cliffhanger.agents.state import RunSettings  # noqa: E402
from cliffhanger.memory.embeddings import HashEmbedding  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def draft(url: str, root: Path, episodes: int) -> tuple[float, int]:
    store = season(root, episodes, "zh")
    ep = EndpointConfig(provider="sim", base_url=url, model="sim-drama", timeout_s=300)
    with open_crew({r: ep for r in ROOM_ROLES}, usage=UsageLog(store.usage_path),
                   policy=CallPolicy(max_retries=8, backoff_base_s=0.05)) as crew:
        started = time.perf_counter()
        result = asyncio.run(run_season(store, crew, RunSettings(concurrency=1, embedding=HashEmbedding())))
        wall = time.perf_counter() - started
        busy = [t.name for t in threading.enumerate() if t.name.startswith("lore-sync")]
    if busy:
        sys.exit(f"threads still running after the season: {busy}: the wall would miss their work")
    if result.stop != "done":
        sys.exit(f"season stopped early: {result.stop} {result.message}")
    return wall, len(read_usage(store.usage_path))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=12)
    ap.add_argument("--in-thread", action="store_true", help="run the sim in a thread of this process")
    ap.add_argument("--cold", action="store_true", help="no warm-up season: one-time costs count too")
    args = ap.parse_args()

    print(f"# command: python scripts/bench_overhead.py {' '.join(sys.argv[1:])}")
    with tempfile.TemporaryDirectory() as tmp:
        root, log = Path(tmp), Path(tmp) / "sim.jsonl"
        if args.in_thread:
            with run_in_thread(SimConfig(faults=FaultPlan(), log_path=log, tps=100000.0)) as url:
                if not args.cold:
                    draft(url, root / "warm", 2)
                    log.write_text("", encoding="utf-8")
                wall, calls = draft(url, root / "s", args.episodes)
        else:
            port = free_port()
            sim = subprocess.Popen([sys.executable, "-m", "cliffhanger.app", "sim", "--port", str(port), "--tps",
                                    "100000", "--log", str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                for _ in range(200):
                    try:
                        socket.create_connection(("127.0.0.1", port), 0.2).close()
                        break
                    except OSError:
                        time.sleep(0.1)
                url = f"http://127.0.0.1:{port}/v1"
                if not args.cold:
                    draft(url, root / "warm", 2)
                    log.write_text("", encoding="utf-8")
                wall, calls = draft(url, root / "s", args.episodes)
            finally:
                sim.terminate()
                sim.wait()
        answering = sim_seconds(log)
    where = "in a thread of this process" if args.in_thread else "in its own process"
    print(f"{args.episodes} episodes, {calls} calls, wall {wall:.1f} s, the sim ({where}) answering {answering:.1f} s: "
          f"our overhead {(wall - answering) / calls * 1000:.1f} ms per call (target 5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
