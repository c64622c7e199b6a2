#!/usr/bin/env python3
"""Eval throughput against a latency sim: are an eval's seasons drafted side by side?

    python scripts/bench_eval.py [--quick] [--episodes 4] [--seasons N] [--only smoke|cut]

Runs `cliffhanger eval` (evals.run.run_eval, the command's own code path) twice against one `cliffhanger sim`
subprocess (ttft 500 ms, 60 tokens/s, no concurrency cap) with two configs, `room` (the full room, the
default pipeline) and `baseline`, and the sim as the judge:

1. the `smoke` suite (2 premises x 4 episodes, 4 seasons);
2. a 6-premise cut of `standard`: its first 3 zh and first 3 en premises, each cut to `--episodes`
   episodes (default 4; free episodes cut to keep a paywall inside), 12 seasons.

For each: the eval's wall time over its longest single season's (target <= 1.5: the seasons run side by
side, the judging of a premise overlaps the others' drafting), and the sum of the seasons' walls (about
what drafting them one after another took before). From the cut, the estimated wall time of the full
`standard` suite (29 premises x 2 configs, 8-12 episodes): each config's seconds per episode from the cut,
times every premise's episodes, spread over `--seasons` (default: all 58 at once; also 4, the default of
`cliffhanger eval`), never less than its longest season, times the cut's eval/longest ratio.

`--quick`: 2 episodes per season and a 10x faster sim (ttft 50 ms, 600 tokens/s): a minute or two, to
check the plumbing; its figures are not the README's. The lore index uses the hash embedding.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.app.eval_cmd import load_eval_config
from cliffhanger.evals.run import EvalRequest, run_eval, season_dir
from cliffhanger.evals.suites import Suite, load_suite
from cliffhanger.memory.embeddings import HashEmbedding

CONFIGS = ("room", "baseline")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sim(ttft_ms: int, tps: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from cliffhanger.app.cli import main; main()", "sim", "--port", str(port),
                             "--ttft-ms", str(ttft_ms), "--tps", str(tps)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/v1/models", timeout=1).read()
            return proc, url + "/v1"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the sim did not start")


def cut(suite: Suite, episodes: int, per_language: int = 3) -> Suite:
    """The first 3 zh and first 3 en premises (`per_language` of each), each cut to `episodes` episodes
    with a paywall inside."""
    zh = [p for p in suite.premises if p.language == "zh"][:per_language]
    en = [p for p in suite.premises if p.language == "en"][:per_language]
    premises = tuple(p.model_copy(update={"episodes": episodes, "free": min(p.free, max(1, episodes // 2))})
                     for p in (*zh, *en))
    return suite.model_copy(update={"name": "standard_cut", "premises": premises})


def shorten(suite: Suite, episodes: int) -> Suite:
    return suite.model_copy(update={"premises": tuple(
        p.model_copy(update={"episodes": episodes, "free": min(p.free, episodes - 1)}) for p in suite.premises)})


def run(suite: Suite, url: str, folder: Path, seasons: int) -> dict[str, float]:
    paths = []
    for name in CONFIGS:
        path = folder / f"{name}.toml"
        path.write_text(f'name = "{name}"\nprovider = "sim"\nbase_url = "{url}"\nmodel = "sim-drama"\n'
                        f'timeout_s = 600\n[pipeline]\nmode = "{name}"\n', encoding="utf-8")
        paths.append(path)
    out = folder / suite.name
    judge = EndpointConfig(provider="sim", base_url=url, model="sim-drama", timeout_s=600)
    req = EvalRequest(suite=suite, configs=[load_eval_config(p) for p in paths], judge=judge, out=out,
                      bootstrap=200, embedding=HashEmbedding(), seasons=seasons,
                      progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
    started = time.perf_counter()
    asyncio.run(run_eval(req))
    wall = time.perf_counter() - started
    walls = {(c, p.id): SeasonStore(season_dir(out, c, p.id)).eval_wall_s() for c in CONFIGS for p in suite.premises}
    per_episode = {c: sum(w for (cc, _), w in walls.items() if cc == c) / sum(p.episodes for p in suite.premises)
                   for c in CONFIGS}
    return {"wall": wall, "longest": max(walls.values()), "sum": sum(walls.values()), "seasons": len(walls),
            **{f"per_episode_{c}": v for c, v in per_episode.items()}}


def estimate(cut_row: dict[str, float], seasons: int) -> float:
    standard = load_suite("standard")
    times = [cut_row[f"per_episode_{c}"] * p.episodes for c in CONFIGS for p in standard.premises]
    spread = max(max(times), sum(times) / seasons)
    return spread * cut_row["wall"] / cut_row["longest"]


ESTIMATE_SEASONS = (58, 4)  # the standard suite all at once, and `cliffhanger eval`'s default


def measure(ttft_ms: int, tps: float, smoke_episodes: int | None, episodes: int, per_language: int = 3,
            seasons: int = 0, only: str | None = None) -> dict[str, Any]:
    """Both evals (or `only` one) against one sim with this latency: {"rows": [(label, seasons at once,
    run()'s figures)], "cut": the cut's figures or None, "estimates": {seasons at once: seconds} for the
    standard suite (empty without the cut)}. `smoke_episodes` shortens the smoke suite (None: as it is)."""
    proc, url = start_sim(ttft_ms, tps)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            smoke = load_suite("smoke")
            smoke = shorten(smoke, smoke_episodes) if smoke_episodes else smoke
            standard = cut(load_suite("standard"), episodes, per_language)
            for label, suite in ((f"smoke ({smoke.premises[0].episodes} episodes)", smoke),
                                 (f"standard cut ({len(standard.premises)} premises x {episodes} episodes)", standard)):
                if only and not label.startswith("smoke" if only == "smoke" else "standard"):
                    continue
                print(f"{label}: drafting and judging...", file=sys.stderr, flush=True)
                n = seasons or len(suite.premises) * len(CONFIGS)
                rows.append((label, n, run(suite, url, Path(tmp), n)))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    c = rows[-1][2] if only != "smoke" else None
    return {"rows": rows, "cut": c, "estimates": {n: estimate(c, n) for n in ESTIMATE_SEASONS} if c else {}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 episodes, a 10x faster sim: a plumbing check")
    ap.add_argument("--episodes", type=int, default=4, help="episodes per premise of the standard cut (default 4)")
    ap.add_argument("--seasons", type=int, default=0, help="seasons at once (default: all of the eval's)")
    ap.add_argument("--only", choices=("smoke", "cut"), help="run one of the two evals")
    args = ap.parse_args()
    ttft, tps, episodes = (50, 600.0, 2) if args.quick else (500, 60.0, args.episodes)
    got = measure(ttft, tps, 2 if args.quick else None, episodes, seasons=args.seasons, only=args.only)
    rows = got["rows"]
    print(f"\nsim: ttft {ttft} ms, {tps:g} tokens/s, no cap on requests in flight; configs room and baseline; "
          "judge: the sim")
    print("| eval | seasons (at once) | eval wall s | longest season s | ratio | sum of season walls s |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, n, r in rows:
        print(f"| {label} | {r['seasons']:.0f} ({n}) | {r['wall']:.1f} | {r['longest']:.1f} | "
              f"{r['wall'] / r['longest']:.2f} | {r['sum']:.1f} |")
    c = got["cut"]
    if c is None:
        return
    print(f"\nseconds per episode in the cut: room {c['per_episode_room']:.1f}, baseline {c['per_episode_baseline']:.1f}")
    for n, est in got["estimates"].items():
        print(f"standard suite (29 premises x 2 configs), --seasons {n}: about {est / 3600:.1f} h "
              f"({math.ceil(est / 60)} min)")


if __name__ == "__main__":
    main()
