#!/usr/bin/env python3
"""The benchmark: one run against `cliffhanger sim` on this machine, printed as one markdown table.

    python scripts/bench.py [--episodes 60] [--realistic-episodes 3] [--retrieval-items 20000] [--quick]

Rows, all measured in this run (the README's table is pasted from this output):

- our overhead per model call: a season against the instant sim (ttft 0, 100,000 tokens/s), wall time
  minus the time the sim was answering (the union of its requests' intervals, so calls in flight
  together count once), divided by the model calls;
- season wall time against the realistic sim (ttft 500 ms, 60 tokens/s, 8 requests in flight at most)
  at concurrency 1 and 8, and the speed-up; a short season, since it takes minutes;
- writer prompt tokens of the first draft, mean of episodes 51-60 over 6-15 (target <= 1.25), tokens
  per episode (all roles), and the season's cost at DeepSeek-class and GPT-4o-mini-class prices, all
  from the instant season;
- canon check throughput on a synthetic 60-episode canon, and lore retrieval p95 at 20,000 items with
  the USE embedding and an episode filter (scripts/bench_canon.py's generator and code);
- peak resident memory of this process and of the sim subprocesses.

The sim runs as a separate process (`python -m cliffhanger.app sim`), so its work does not share our
interpreter. The pieces come from scripts/bench_season.py and scripts/bench_canon.py; this script
only runs them and tabulates. `--quick` shrinks every size (and speeds the realistic sim up) for the
test; it prints the same rows.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import platform
import re
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
SIM_PEAKS: dict[str, float | None] = {}  # peak RSS of each sim subprocess, MB
COST_MODELS = (("DeepSeek-class", "deepseek-chat"), ("GPT-4o-mini-class", "gpt-4o-mini"))
WRITER_RATIO_TARGET = 1.25
# full run / --quick; a flag given explicitly wins over both
SIZES = {"episodes": (60, 12), "realistic_episodes": (3, 1), "retrieval_items": (20000, 600),
         "canon_facts": (20000, 2000), "queries": (200, 20), "ttft_ms": (500, 20), "tps": (60.0, 3000.0)}


def load(name: str) -> ModuleType:
    """A sibling script as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def sim_process(tmp: Path, name: str, *flags: str) -> Iterator[tuple[str, Path]]:
    """`cliffhanger sim` on a free port in a subprocess; yields its base URL and request log."""
    log, out = tmp / f"sim-{name}.jsonl", tmp / f"sim-{name}.out"
    cmd = [sys.executable, "-m", "cliffhanger.app", "sim", "--port", "0", "--log", str(log), *flags]
    with out.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"listening on (\S+)", out.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"cliffhanger sim did not start ({shlex.join(cmd)}):\n{out.read_text()}")
            time.sleep(0.05)
        yield found.group(1), log
    finally:
        SIM_PEAKS[name] = vm_hwm_mb(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly on Ctrl-C
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident memory of a running process (Linux /proc), else None."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) / 1024 if found else None


def sim_requests(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def busy_seconds(requests: list[dict[str, Any]]) -> float:
    """Seconds during which the sim was answering at least one request (the union of their intervals)."""
    spans = sorted((end - r["latency_ms"] / 1000, end) for r in requests
                   for end in [datetime.fromisoformat(r["time"]).timestamp()])
    total, start, stop = 0.0, None, None
    for a, b in spans:
        if stop is None or a > stop:
            total += (stop - start) if stop is not None and start is not None else 0.0
            start, stop = a, b
        else:
            stop = max(stop, b)
    return total + ((stop - start) if stop is not None and start is not None else 0.0)


def windows(n: int) -> tuple[range, range]:
    """Episodes 6-15 and 51-60 of a 60-episode season, scaled to n episodes."""
    lo, hi = round(n / 12) + 1, max(round(n / 4), round(n / 12) + 1)
    return range(lo, hi + 1), range(max(hi + 1, n - round(n / 6) + 1), n + 1)


def span(r: range) -> str:
    return f"{r.start}-{r.stop - 1}" if len(r) > 1 else str(r.start)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, help="instant-sim season length (default 60; --quick 12)")
    parser.add_argument("--realistic-episodes", type=int, help="realistic-sim season length (default 3; --quick 1)")
    parser.add_argument("--retrieval-items", type=int, help="items in the lore index (default 20000; --quick 600)")
    parser.add_argument("--canon-facts", type=int, help="facts in the checked canon (default 20000; --quick 2000)")
    parser.add_argument("--queries", type=int, help="retrieval queries (default 200; --quick 20)")
    parser.add_argument("--ttft-ms", type=int, help="realistic sim time to first token (default 500; --quick 20)")
    parser.add_argument("--tps", type=float, help="realistic sim tokens per second (default 60; --quick 3000)")
    parser.add_argument("--language", choices=("zh", "en"), default="zh")
    parser.add_argument("--real-embedding", action="store_true",
                        help="the seasons' lore index uses the USE model (default: the hash embedding)")
    parser.add_argument("--quick", action="store_true", help="small sizes and a fast 'realistic' sim, for the test")
    args = parser.parse_args(argv)
    for key, (full, quick) in SIZES.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.disable(logging.WARNING)  # the sim's random names trip shot-list warnings by the thousand
    bench_season, bench_canon = load("bench_season"), load("bench_canon")
    from cliffhanger.memory.embeddings import HashEmbedding, UsemEmbedding

    embedding = UsemEmbedding() if args.real_embedding else HashEmbedding()
    emb_name = "USE" if args.real_embedding else "hash"
    print(f"# command: {shlex.join(['python', 'scripts/bench.py', *(sys.argv[1:] if argv is None else argv)])}")
    print(f"# machine: {os.cpu_count()} cpus, {platform.machine()}, {platform.system()} {platform.release()}, "
          f"python {platform.python_version()}")
    print(f"# load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    rows: list[tuple[str, str, str, str]] = []
    started = time.perf_counter()
    cpu0 = time.process_time()

    with tempfile.TemporaryDirectory(prefix="cliffhanger-bench-") as tmp_name:
        tmp = Path(tmp_name)
        n = args.episodes
        print(f"# 1/4 instant sim, {n} episodes ...", file=sys.stderr, flush=True)
        with sim_process(tmp, "instant", "--tps", "100000") as (url, log):
            store = bench_season.season(tmp / "instant", n, args.language)
            wall, usage = bench_season.draft(store, url, 4, embedding)
        requests = sim_requests(log)
        busy = busy_seconds(requests)
        calls = len(usage)
        rows.append(("our overhead per model call", f"{(wall - busy) / calls * 1000:.1f}",
                     f"ms; instant sim, {n} episodes at concurrency 4: {wall:.1f} s wall - {busy:.1f} s the sim was "
                     f"answering, over {calls} calls ({emb_name} embedding for the lore index)"
                     + (f", {bad} requests refused (retried)" if (bad := sum(r["status"] != 200 for r in requests))
                        else ""), ""))

        early, late = windows(n)
        first = bench_season.writer_first_drafts(usage)
        e_mean = statistics.mean(first[e] for e in early)
        l_mean = statistics.mean(first[e] for e in late)
        rows.append((f"writer prompt tokens, episodes {span(late)} over {span(early)}", f"{l_mean / e_mean:.2f}",
                     f"mean first-draft prompt {l_mean:,.0f} / {e_mean:,.0f} tokens ({n}-episode season)",
                     f"<= {WRITER_RATIO_TARGET}"))
        tin, tout = bench_season.token_totals(usage)
        rows.append(("tokens per episode, all roles", f"{(tin + tout) / n:,.0f}",
                     f"tokens; {tin:,} in + {tout:,} out over {n} episodes", ""))
        for label, model in COST_MODELS:
            cost = bench_season.season_cost(usage, model)
            rows.append((f"cost per {n}-episode season, {label}", f"{cost:.2f}",
                         f"USD at {model} list prices (${cost / n:.3f} per episode)", ""))

        walls, inflight, real_calls, refused = {}, {}, {}, {}
        sim_flags = ("--ttft-ms", str(args.ttft_ms), "--tps", f"{args.tps:g}", "--max-concurrency", "8")
        for conc in (1, 8):
            print(f"# 2/4 realistic sim, {args.realistic_episodes} episodes at concurrency {conc} ...",
                  file=sys.stderr, flush=True)
            with sim_process(tmp, f"real{conc}", *sim_flags) as (url, log):
                store = bench_season.season(tmp / f"real{conc}", args.realistic_episodes, args.language)
                walls[conc], real_usage = bench_season.draft(store, url, conc, embedding)
            reqs = sim_requests(log)
            refused[conc] = sum(r["status"] != 200 for r in reqs)
            real_calls[conc] = len(real_usage)
            inflight[conc] = sum(r["latency_ms"] for r in reqs) / 1000 / walls[conc]
        where = (f"sim ttft {args.ttft_ms} ms, {args.tps:g} tok/s, max 8 in flight; "
                 f"{args.realistic_episodes}-episode season")
        for conc in (1, 8):
            rows.append((f"season wall time, concurrency {conc}", f"{walls[conc]:.1f}",
                         f"s; {where}, {real_calls[conc]} calls, {inflight[conc]:.2f} calls in flight on average"
                         + (f", {refused[conc]} requests refused (retried)" if refused[conc] else ""), ""))
        rows.append(("speed-up, concurrency 8 over 1", f"{walls[1] / walls[8]:.2f}",
                     "x; episodes are drafted one after another: only continuity + critic, the previous "
                     "episode's shot list and the act plans run side by side", ""))

        print(f"# 3/4 canon check, {args.canon_facts} facts ...", file=sys.stderr, flush=True)
        canon_args = bench_canon.build_parser().parse_args(
            ["--facts", str(args.canon_facts), "--episodes", "60", "--items", str(args.retrieval_items),
             "--queries", str(args.queries)])
        fig = bench_canon.run_checks(canon_args)
        per_ep, whole = fig["timings"]
        rows.append(("canon check throughput", f"{per_ep['rate']:,.0f}",
                     f"facts/s; last episode ({per_ep['new']} facts) checked against a {per_ep['total']:,}-fact "
                     f"60-episode canon, median of {canon_args.runs}; whole canon from scratch {whole['rate']:,.0f}; "
                     + ("planted violations found exactly" if fig["ok"] else "MISMATCH with the planted violations"),
                     ""))

        print(f"# 4/4 retrieval, {args.retrieval_items} items ...", file=sys.stderr, flush=True)
        corpus = bench_canon.retrieval_corpus(canon_args)
        ret = bench_canon.measure_retrieval(canon_args, UsemEmbedding(), corpus, tmp / "retrieval")
        rows.append((f"retrieval p95 at {ret['items']:,} items", f"{ret['p95_ms']:.1f}",
                     f"ms; USE embedding, k=8, episode filter, {canon_args.queries} queries; p50 {ret['p50_ms']:.1f} ms",
                     ""))

    # The sims' own peaks come from /proc: RUSAGE_CHILDREN's ru_maxrss is no use here, since Linux
    # carries the parent's high-water mark at fork into the child's figure across exec.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    sims = ", ".join(f"{k} {v:.0f}" for k, v in SIM_PEAKS.items() if v is not None)
    rows.append(("peak resident memory", f"{own:.0f}",
                 "MB, this process (ru_maxrss)" + (f"; sim subprocesses {sims} MB (VmHWM)" if sims else ""), ""))
    total = time.perf_counter() - started
    print(f"# load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; run took {total:.0f} s wall, "
          f"{time.process_time() - cpu0:.0f} s cpu in this process")
    print()
    print("| metric | value | unit / notes | target |")
    print("|---|---:|---|---|")
    for metric, value, notes, target in rows:
        print(f"| {metric} | {value} | {notes} | {target or '-'} |")
    return 0 if fig["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
