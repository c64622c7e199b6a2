#!/usr/bin/env python3
"""The benchmark: one run against `cliffhanger sim` on this machine, printed as one markdown table.

    python scripts/bench.py [--episodes 60] [--realistic-episodes 3] [--retrieval-items 20000] [--quick]

Rows, all measured in this run (the README's table is pasted from this output):

- our overhead per model call at concurrency 1: `python scripts/bench_overhead.py --episodes N` run as a
  subprocess (its season at concurrency 1 against an instant sim), the figure before " ms per call" in
  its last line (target <= 5);
- our overhead per model call at concurrency 4: a season against the instant sim (ttft 0, 100,000
  tokens/s), wall time minus the time the sim was answering (the union of its requests' intervals, so
  calls in flight together count once), divided by the model calls;
- writer prompt tokens of the first draft, mean of episodes 51-60 over 6-15 (target <= 1.25), and tokens
  per episode (all roles), from that instant season;
- the cacheable prefix share of the writer's, the critic's and continuity's (fact extraction, review)
  prompts (target >= 0.5 each), and the season's cost at DeepSeek-class prices without and with
  cache-hit pricing, GPT-4o-mini-class with it, and how much lower than issue 19's $0.92 baseline
  (target >= 30%): scripts/bench_prompt_cache.py's method (a season at concurrency 1 against the
  instant sim in a thread, request bodies logged);
- season wall time against the realistic sim (ttft 500 ms, 60 tokens/s, 8 requests in flight at most)
  at concurrency 1 and 8, and the speed-up; a short season, since it takes minutes;
- an episode's wall time over its critical path (writer + max(critic, extraction + review) + decision per
  revision), a short season drafted with the CLI against the realistic sim (scripts/bench_critical_path.py);
- several seasons in one `cliffhanger draft` against a sim capped at 8 requests in flight: requests
  refused for the cap (target 0), slowest season over fastest (target <= 1.5), the shared run's wall
  over one season alone (target <= 1.6) (scripts/bench_many.py);
- eval throughput, `cliffhanger eval`'s own code path against a latency sim: the smoke suite's and a
  6-premise cut of `standard`'s wall time over their longest season (target <= 1.5 each), and the
  standard suite's estimated wall time (scripts/bench_eval.py);
- canon check throughput on a synthetic 60-episode canon, and lore retrieval p95 at 20,000 items with
  the USE embedding and an episode filter (scripts/bench_canon.py's generator and code);
- peak resident memory of this process and of the sim subprocesses it started itself.

The sims run as separate processes (`python -m cliffhanger.app sim`), so their work does not share our
interpreter, except where a script's method puts the sim in a thread (the prompt-cache season). The
pieces come from the scripts named above; this script only runs them and tabulates. The eval rows take
tens of minutes. `--quick` shrinks every size (and speeds the sims up) for the test; it prints the same
rows, the eval cut with 2 premises.
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
WRITER_RATIO_TARGET = 1.25
# full run / --quick; a flag given explicitly wins over both
SIZES = {"episodes": (60, 12), "realistic_episodes": (3, 1), "retrieval_items": (20000, 600),
         "canon_facts": (20000, 2000), "queries": (200, 20), "ttft_ms": (500, 20), "tps": (60.0, 3000.0),
         "overhead_episodes": (12, 2), "cache_episodes": (60, 4), "critical_episodes": (4, 1),
         "many_seasons": (4, 2), "many_episodes": (12, 2), "eval_episodes": (4, 2)}
# full run / --quick, no flag: the several-seasons sim (bench_many's defaults) and the eval's (bench_eval's,
# --quick its 10x faster one, a 2-episode smoke suite and a cut of 1 zh + 1 en premise)
MANY_SIM = ((200, 1500.0), (20, 3000.0))
EVAL_SIM = ((500, 60.0), (50, 600.0))
EVAL_SMOKE_EPISODES = (None, 2)
EVAL_PER_LANGUAGE = (3, 1)
CACHE_ROLES = (("writer", "writer"), ("critic", "critic"), ("continuity (extract)", "continuity: fact extraction"),
               ("continuity (review)", "continuity: review"))
CACHE_TARGET, CACHE_SAVING_TARGET = 0.5, 30
NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def load(name: str) -> ModuleType:
    """A sibling script as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
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
    parser.add_argument("--overhead-episodes", type=int,
                        help="bench_overhead.py's season at concurrency 1 (default 12; --quick 2)")
    parser.add_argument("--cache-episodes", type=int, help="prompt-cache season length (default 60; --quick 4)")
    parser.add_argument("--critical-episodes", type=int,
                        help="critical-path season length, realistic sim (default 4; --quick 1)")
    parser.add_argument("--many-seasons", type=int, help="seasons in one draft (default 4; --quick 2)")
    parser.add_argument("--many-episodes", type=int, help="episodes of each of them (default 12; --quick 2)")
    parser.add_argument("--eval-episodes", type=int, help="episodes per premise of the eval's standard cut "
                        "(default 4; --quick 2)")
    parser.add_argument("--language", choices=("zh", "en"), default="zh")
    parser.add_argument("--real-embedding", action="store_true",
                        help="the seasons' lore index uses the USE model (default: the hash embedding)")
    parser.add_argument("--quick", action="store_true", help="small sizes and fast sims, for the test")
    args = parser.parse_args(argv)
    for key, (full, quick) in SIZES.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    return args


def overhead_at_concurrency_1(episodes: int) -> tuple[float, str]:
    """scripts/bench_overhead.py in a subprocess: the figure before " ms per call" in its last line, and the line."""
    cmd = [sys.executable, str(HERE / "bench_overhead.py"), "--episodes", str(episodes)]
    out = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
    found = re.search(r"([\d.,]+) ms per call", lines[-1]) if lines else None
    if out.returncode != 0 or not found:
        sys.exit(f"{shlex.join(cmd)} failed (exit {out.returncode}):\n{out.stdout}{out.stderr}")
    return float(found.group(1).replace(",", "")), lines[-1]


def count(n: int) -> str:
    return NUMBERS.get(n, str(n))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.disable(logging.WARNING)  # the sim's random names trip shot-list warnings by the thousand
    bench_season, bench_canon = load("bench_season"), load("bench_canon")
    bench_cache, bench_path = load("bench_prompt_cache"), load("bench_critical_path")
    bench_many, bench_eval = load("bench_many"), load("bench_eval")
    from cliffhanger.agents.llm.usage import usage_summary
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
    steps = 9

    def step(i: int, what: str) -> None:
        print(f"# {i}/{steps} {what} ...", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="cliffhanger-bench-") as tmp_name:
        tmp = Path(tmp_name)
        step(1, f"overhead at concurrency 1, scripts/bench_overhead.py --episodes {args.overhead_episodes}")
        per_call, line = overhead_at_concurrency_1(args.overhead_episodes)
        rows.append(("our overhead per model call, concurrency 1", f"{per_call:.1f}",
                     f"ms; `python scripts/bench_overhead.py --episodes {args.overhead_episodes}` in a subprocess, "
                     "its last line: "
                     + re.sub(r"\s*\(target[^)]*\)\s*$", "", line).replace("|", "/"), "<= 5"))

        n = args.episodes
        step(2, f"instant sim, {n} episodes")
        with sim_process(tmp, "instant", "--tps", "100000") as (url, log):
            store = bench_season.season(tmp / "instant", n, args.language)
            wall, usage = bench_season.draft(store, url, 4, embedding)
        requests = sim_requests(log)
        busy = busy_seconds(requests)
        calls = len(usage)
        rows.append(("our overhead per model call, concurrency 4", f"{(wall - busy) / calls * 1000:.1f}",
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

        nc = args.cache_episodes
        step(3, f"prompt cache, instant sim in a thread, {nc} episodes at concurrency 1")
        shares, cache_usage = bench_cache.measure(nc, args.language)
        method = (f"{nc}-episode season at concurrency 1, instant sim in a thread with request bodies logged "
                  "(scripts/bench_prompt_cache.py)")
        for key, name in CACHE_ROLES:
            values = shares.get(key) or []
            rows.append((f"cacheable prefix share, {name}",
                         f"{statistics.mean(values):.2f}" if values else "n/a",
                         f"mean over {len(values)} calls (min {min(values, default=0):.2f}) of the longest prompt "
                         "prefix shared with the previous call of the same task, over its prompt tokens (tools and "
                         f"schema first, as the sim counts them); {method}", f">= {CACHE_TARGET}"))
        totals = usage_summary(cache_usage)
        ds_full, ds_cached = bench_cache.costs(cache_usage, "deepseek-chat")
        mini_full, mini_cached = bench_cache.costs(cache_usage, "gpt-4o-mini")
        rows.append((f"cost per {nc}-episode season, DeepSeek-class, without cache-hit pricing", f"{ds_full:.2f}",
                     f"USD at deepseek-chat list prices, every prompt token at the input price "
                     f"(${ds_full / nc:.3f} per episode); {totals.tokens_in:,} in + {totals.tokens_out:,} out, "
                     f"{method}", ""))
        rows.append((f"cost per {nc}-episode season, DeepSeek-class, with cache-hit pricing", f"{ds_cached:.2f}",
                     f"USD; the {totals.cached_in:,} cached prompt tokens the sim reported ({totals.cached_share:.0%} "
                     f"of the prompt) at the cached-input rate (${ds_cached / nc:.3f} per episode), "
                     f"{(1 - ds_cached / ds_full) * 100:.0f}% lower than without; same season", ""))
        rows.append((f"cost per {nc}-episode season, GPT-4o-mini-class, with cache-hit pricing", f"{mini_cached:.2f}",
                     f"USD at gpt-4o-mini list prices, cached prompt tokens at the cached-input rate; without "
                     f"cache-hit pricing ${mini_full:.2f} ({(1 - mini_cached / mini_full) * 100:.0f}% lower); "
                     "same season", ""))
        before = bench_cache.BEFORE_USD * nc / 60
        rows.append((f"cost per {nc}-episode season, DeepSeek-class, lower than ${before:.2f} before "
                     "(issue 19 baseline)", f"{(1 - ds_cached / before) * 100:.0f}",
                     f"%; ${ds_cached:.2f} with cache-hit pricing against the README's "
                     f"${bench_cache.BEFORE_USD:.2f} for a 60-episode season at deepseek-chat prices before issue 19"
                     + (f", scaled to {nc} episodes" if nc != 60 else ""), f">= {CACHE_SAVING_TARGET}%"))

        walls, inflight, real_calls, refused = {}, {}, {}, {}
        sim_flags = ("--ttft-ms", str(args.ttft_ms), "--tps", f"{args.tps:g}", "--max-concurrency", "8")
        for conc in (1, 8):
            step(4, f"realistic sim, {args.realistic_episodes} episodes at concurrency {conc}")
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

        ne = args.critical_episodes
        step(5, f"critical path, realistic sim, {ne} episodes with the CLI")
        _, path_calls = bench_path.measure(ne, args.ttft_ms, args.tps, 8)
        episodes = bench_path.episode_rows(path_calls)
        path_s, ep_wall = sum(r[2] for r in episodes), sum(r[3] for r in episodes)
        rows.append(("episode wall over its critical path", f"{ep_wall / path_s:.2f}",
                     "x; writer + max(critic, extraction + review) + decision per revision, each call's own latency; "
                     f"`cliffhanger draft --concurrency 8` of a {ne}-episode season, sim in its own process (ttft "
                     f"{args.ttft_ms} ms, {args.tps:g} tok/s): episode walls {ep_wall:.1f} s over critical paths "
                     f"{path_s:.1f} s, {sum(r[1] for r in episodes)} revisions; per episode "
                     + ", ".join(f"{r[3] / r[2]:.2f}" for r in episodes) + " (scripts/bench_critical_path.py)", ""))

        ns, nm = args.many_seasons, args.many_episodes
        (m_ttft, m_tps), cap = MANY_SIM[args.quick], 8
        step(6, f"{ns} seasons x {nm} episodes in one draft")
        many = bench_many.measure(ns, nm, cap, m_ttft, m_tps)
        several = f"{count(ns)} seasons in one draft"
        rows.append((f"{several}: requests refused for the cap", f"{many['refused']}",
                     f"requests of {many['requests']}; `cliffhanger draft` of {ns} seasons x {nm} episodes at "
                     f"--concurrency {cap} against `cliffhanger sim --max-concurrency {cap}` (ttft {m_ttft} ms, "
                     f"{m_tps:g} tok/s; 429 past the cap) (scripts/bench_many.py)", "0"))
        rows.append((f"{several}: slowest season over fastest", f"{many['spread']:.2f}",
                     "x; each season's first to last model call in the shared run: "
                     + ", ".join(f"{x:.1f}" for x in many["spans"]) + " s", "<= 1.5"))
        rows.append((f"{several}: wall over one season alone", f"{many['ratio']:.2f}",
                     f"x; the shared run {many['together']:.1f} s over one more season like them, drafted alone "
                     f"first, {many['alone']:.1f} s", "<= 1.6"))

        (e_ttft, e_tps), per_language = EVAL_SIM[args.quick], EVAL_PER_LANGUAGE[args.quick]
        step(7, f"eval throughput: smoke, then a {2 * per_language}-premise standard cut x {args.eval_episodes} "
             f"episodes (sim ttft {e_ttft} ms, {e_tps:g} tok/s)")
        evals = bench_eval.measure(e_ttft, e_tps, EVAL_SMOKE_EPISODES[args.quick], args.eval_episodes, per_language)
        (smoke_label, smoke_n, smoke), (_, cut_n, cut) = evals["rows"]
        how = (f"`cliffhanger eval`'s code path (evals.run.run_eval), configs room and baseline, the sim as judge; "
               f"sim ttft {e_ttft} ms, {e_tps:g} tok/s, no cap (scripts/bench_eval.py)")
        rows.append(("eval smoke: wall over longest season", f"{smoke['wall'] / smoke['longest']:.2f}",
                     f"x; {smoke_label}, {smoke_n} seasons at once: eval {smoke['wall']:.1f} s, longest season "
                     f"{smoke['longest']:.1f} s, the seasons' walls summed {smoke['sum']:.1f} s; {how}", "<= 1.5"))
        rows.append((f"eval {2 * per_language}-premise standard cut: wall over longest season",
                     f"{cut['wall'] / cut['longest']:.2f}",
                     f"x; standard's first {per_language} zh and {per_language} en premises x {args.eval_episodes} "
                     f"episodes, {cut_n} seasons at once: eval {cut['wall']:.1f} s, longest season "
                     f"{cut['longest']:.1f} s, the seasons' walls summed {cut['sum']:.1f} s; {how}", "<= 1.5"))
        est = evals["estimates"]
        rows.append(("standard suite estimated wall time", f"{est[4] / 3600:.2f}",
                     f"h at --seasons 4 (`cliffhanger eval`'s default); all 58 seasons at once {est[58] / 3600:.2f} h; "
                     "29 premises x 2 configs, from the cut's seconds per episode (room "
                     f"{cut['per_episode_room']:.1f}, baseline {cut['per_episode_baseline']:.1f}) times each "
                     "premise's episodes, spread over the seasons at once, times the cut's eval/longest ratio", ""))

        step(8, f"canon check, {args.canon_facts} facts")
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

        step(9, f"retrieval, {args.retrieval_items} items")
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
