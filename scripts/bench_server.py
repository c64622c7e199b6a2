#!/usr/bin/env python3
"""Seasons on LangGraph Server: many submitted at once against one season alone, and our overhead per call.

    python scripts/bench_server.py [--seasons 8] [--episodes 4] [--jobs 8] [--ttft-ms 300] [--tps 400]
                                   [--checkpoint-url postgresql://...]

Starts `cliffhanger sim` (the latency given) and `cliffhanger serve --jobs N` (app/serve.py, as the command
does), creates the seasons with `cliffhanger new`, then:

1. submits ONE season with `cliffhanger submit --follow` (the command's code path) and times it;
2. submits `--seasons` others at once and times them all: wall time of all over the lone season's
   (target <= 1.5 at --jobs 8);
3. our overhead per model call, the server's against the command line's: one season drafted by
   `cliffhanger draft` and one by the server, each against an instant sim in its own process, wall time
   minus the time the sim was answering, over the calls.

The server's checkpoints are in its memory unless --checkpoint-url. The lore index uses the hash embedding.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cliffhanger.agents.state import RunSettings
from cliffhanger.app.serve import EMBEDDING_ENV, IN_FLIGHT_ENV, ServeRequest, start_server
from cliffhanger.app.submit import SubmitRequest, submit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sim(log: Path, *flags: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cliffhanger.app", "sim", "--port", str(port), "--log", str(log),
                             *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}/v1"


def new_season(folder: Path, episodes: int, i: int) -> None:
    subprocess.run([sys.executable, "-m", "cliffhanger.app", "new", str(folder), "--genre", "revenge", "--episodes",
                    str(episodes), "--free", str(max(1, episodes - 1)), "--title", f"千金{i}",
                    "--logline", f"第{i}个被调包的真千金回到豪门复仇。"], check=True, stdout=subprocess.DEVNULL)


def logged(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def model_env(url: str) -> dict[str, str]:
    return {"CLIFFHANGER_PROVIDER": "openai-compatible", "CLIFFHANGER_BASE_URL": url, "CLIFFHANGER_MODEL": "sim-drama",
            "OPENAI_API_KEY": "sim", EMBEDDING_ENV: "hash"}


def timed_submit(server: str, folders: list[Path], run: RunSettings | None = None) -> float:
    started = time.monotonic()
    code = submit(SubmitRequest(tuple(folders), server, follow=True, run=run or RunSettings()), lambda line: None)
    if code != 0:
        sys.exit(f"submit exited {code}")
    return time.monotonic() - started


def overhead(root: Path, episodes: int, jobs: int, checkpoint_url: str | None) -> tuple[float, float]:
    """ms per call outside the sim: (the command line's run_season in this process, the server's), each after an
    unmeasured warm-up season (one-time costs: imports, packs, the tokenizer), instant sim in its own process."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench import busy_seconds  # the union of the sim's answering intervals, as bench.py counts it
    from bench_overhead import draft  # the command line's figure, as scripts/bench_overhead.py measures it
    from bench_season import season  # the same season for both

    figures = []
    for how in ("cli", "server"):
        log = root / f"instant-{how}.jsonl"
        sim, url = start_sim(log, "--tps", "100000")
        try:
            if how == "cli":
                draft(url, root / "cli-warm", 2)
                log.write_text("", encoding="utf-8")
                wall, _ = draft(url, root / "cli", episodes)
            else:
                warm, folder = season(root / "server-warm", 2, "zh").root, season(root / "server", episodes, "zh").root
                server = start_server(ServeRequest(port=0, jobs=jobs, checkpoint_url=checkpoint_url, env=model_env(url)))
                one = RunSettings(concurrency=1)  # as the command line's figure: calls never overlap
                try:
                    timed_submit(server.url, [warm], one)
                    log.write_text("", encoding="utf-8")
                    wall = timed_submit(server.url, [folder], one)
                finally:
                    server.stop()
        finally:
            sim.terminate()
            sim.wait()
        answered = logged(log)
        figures.append((wall - busy_seconds(answered)) / len(answered) * 1000)
    return figures[0], figures[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seasons", type=int, default=8)
    ap.add_argument("--episodes", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--ttft-ms", type=int, default=300)
    ap.add_argument("--tps", type=float, default=400.0)
    ap.add_argument("--checkpoint-url", help="PostgreSQL for the server's checkpoints (default: its memory)")
    args = ap.parse_args()
    print(f"# command: python scripts/bench_server.py {' '.join(sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sim, url = start_sim(root / "sim.jsonl", "--ttft-ms", str(args.ttft_ms), "--tps", str(args.tps))
        folders = [root / f"s{i}" for i in range(args.seasons + 1)]
        for i, folder in enumerate(folders):
            new_season(folder, args.episodes, i)
        server = start_server(ServeRequest(port=0, jobs=args.jobs, checkpoint_url=args.checkpoint_url,
                                           env={**model_env(url), IN_FLIGHT_ENV: "64"}))
        try:
            alone = timed_submit(server.url, folders[:1])
            together = timed_submit(server.url, folders[1:])
        finally:
            server.stop()
            sim.terminate()
            sim.wait()
        cli_ms, server_ms = overhead(root, args.episodes, args.jobs, args.checkpoint_url)
    print(f"sim ttft {args.ttft_ms} ms, {args.tps:g} tok/s; {args.episodes}-episode seasons; server --jobs {args.jobs}")
    print(f"one season alone: {alone:.1f} s; {args.seasons} submitted at once: {together:.1f} s; "
          f"ratio {together / alone:.2f} (target <= 1.5)")
    print(f"our overhead per model call (instant sim, {args.episodes}-episode season after a warm-up one): "
          f"command line {cli_ms:.1f} ms, "
          f"server {server_ms:.1f} ms")
    return 0 if together / alone <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
