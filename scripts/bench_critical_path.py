#!/usr/bin/env python3
"""An episode's critical path against its wall time, from one season's usage log.

    python scripts/bench_critical_path.py [--episodes 4] [--ttft-ms 500] [--tps 60] [--concurrency 8]

Creates a Chinese revenge season with `cliffhanger new`, drafts it with `cliffhanger draft` against
`cliffhanger sim` (started in its own process with the latency given: ttft 500 ms and 60 tokens/s is the
realistic sim of the README's tables), and reads usage.jsonl (each call's end time and latency). An
episode's revisions each run: the writer, then the critic beside continuity (fact extraction, then the
continuity review), then the showrunner's decision. Its critical path is the sum over its revisions of

    writer + max(critic, extraction + review) + decision

with each call's own latency: the least wall time the episode could take with these calls, if nothing
else held it up. Its wall time runs from its first writer call's start to the next episode's first
writer call's start (the last episode's: to the end of its last call). Printed per episode and in
total, with the ratio (1.00: nothing but the model calls on the path) and the shot lists' calls, which
run beside the episodes. Exits 0; the figures are for the README and the closing note.
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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Call:
    task: str       # writer, critic, extract, review, decide, shots, plan
    episode: int | None
    start: float    # seconds since the epoch
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def task_of(record: dict) -> str:
    prompt, role = record.get("prompt") or "", record["role"]
    if role == "continuity":
        return "extract" if "extract" in prompt else "review"
    if role == "showrunner":
        return "decide" if "decide" in prompt else "plan"
    return role


def read_calls(usage: Path) -> list[Call]:
    calls = []
    for line in usage.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get("outcome") != "ok":
            continue
        end = datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
        calls.append(Call(task_of(r), r.get("episode"), end - float(r["latency_s"]), end))
    return sorted(calls, key=lambda c: c.start)


def critical_path(calls: list[Call]) -> float:
    """Sum over revisions of writer + max(critic, extract + review) + decide; a revision is one writer call
    and the calls that start after it and before the next writer call."""
    writers = [c for c in calls if c.task == "writer"]
    total = 0.0
    for i, w in enumerate(writers):
        until = writers[i + 1].start if i + 1 < len(writers) else float("inf")
        rest = [c for c in calls if c.task != "writer" and w.start <= c.start < until]
        of = {t: sum(c.seconds for c in rest if c.task == t) for t in ("critic", "extract", "review", "decide")}
        total += w.seconds + max(of["critic"], of["extract"] + of["review"]) + of["decide"]
    return total


def episode_rows(calls: list[Call]) -> list[tuple[int, int, float, float]]:
    """(episode, revisions, critical path, wall) per drafted episode."""
    room = [c for c in calls if c.episode and c.task in ("writer", "critic", "extract", "review", "decide")]
    episodes = sorted({c.episode for c in room if c.episode})
    first = {ep: min(c.start for c in room if c.episode == ep and c.task == "writer") for ep in episodes}
    rows = []
    for i, ep in enumerate(episodes):
        mine = [c for c in room if c.episode == ep]
        end = first[episodes[i + 1]] if i + 1 < len(episodes) else max(c.end for c in mine)
        rows.append((ep, sum(1 for c in mine if c.task == "writer"), critical_path(mine), end - first[ep]))
    return rows


def measure(episodes: int = 4, ttft_ms: int = 500, tps: float = 60.0, concurrency: int = 8,
            keep: Path | None = None) -> tuple[float, list[Call]]:
    """Creates and drafts the season against its own sim: the whole draft's wall seconds and its calls."""
    env = {**os.environ, "OPENAI_API_KEY": "sim"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp) / "season"
        port = free_port()
        sim = subprocess.Popen([sys.executable, "-m", "cliffhanger.app", "sim", "--port", str(port), "--ttft-ms",
                                str(ttft_ms), "--tps", str(tps)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            subprocess.run([sys.executable, "-m", "cliffhanger.app", "new", str(folder), "--genre", "revenge",
                            "--episodes", str(episodes), "--free", str(max(0, episodes - 1)),
                            "--logline", "被调包的真千金回到豪门复仇。", "--title", "千金"],
                           check=True, env=env, stdout=subprocess.DEVNULL)
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "cliffhanger.app", "draft", str(folder), "--provider",
                            "openai-compatible", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "sim-drama",
                            "--concurrency", str(concurrency)], check=True, env=env, stdout=subprocess.DEVNULL)
            wall = time.monotonic() - started
        finally:
            sim.terminate()
            sim.wait()
        return wall, read_calls(folder / "usage.jsonl")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=4)
    ap.add_argument("--ttft-ms", type=int, default=500)
    ap.add_argument("--tps", type=float, default=60.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--keep", type=Path, help="draft into this folder (kept) instead of a temporary one")
    args = ap.parse_args()
    print(f"# command: python scripts/bench_critical_path.py {' '.join(sys.argv[1:])}".rstrip())
    wall, calls = measure(args.episodes, args.ttft_ms, args.tps, args.concurrency, args.keep)
    rows = episode_rows(calls)
    print(f"sim ttft {args.ttft_ms} ms, {args.tps:g} tok/s; {args.episodes} episodes at --concurrency "
          f"{args.concurrency}; the whole draft {wall:.1f} s")
    print("\n| episode | revisions | critical path, s | wall, s | wall / path |\n|---:|---:|---:|---:|---:|")
    for ep, revs, path, ep_wall in rows:
        print(f"| {ep} | {revs} | {path:.1f} | {ep_wall:.1f} | {ep_wall / path:.2f} |")
    path, ep_wall = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(f"| all | {sum(r[1] for r in rows)} | {path:.1f} | {ep_wall:.1f} | {ep_wall / path:.2f} |")
    shots = [c for c in calls if c.task == "shots"]
    last_room = max(c.end for c in calls if c.task != "shots")
    tail = max((c.end for c in shots), default=last_room) - last_room
    print(f"\nshot lists: {len(shots)} calls, {sum(c.seconds for c in shots):.1f} s of model time beside the "
          f"episodes; {tail:.1f} s after the last episode's decision (the last shot list)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
