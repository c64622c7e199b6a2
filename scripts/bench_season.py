#!/usr/bin/env python3
"""Season benchmarks against `cliffhanger sim`: overhead, concurrency speed-up, context growth, cost, memory.

    python scripts/bench_season.py [--episodes 60] [--realistic-episodes 4] [--language zh]

1. instant sim (ttft 0, 100,000 tokens/s): a full season end to end; wall seconds, model calls, and
   milliseconds of our own overhead per call (wall time minus the time the sim spent answering,
   divided by calls);
2. realistic sim (ttft 500 ms, 60 tokens/s, 8 concurrent requests): a shorter season at concurrency 1
   and 8, and the speed-up;
3. writer prompt tokens per episode: the mean over episodes 51-60 divided by the mean over 6-15
   (the writer's context must not grow with the season: target <= 1.25);
4. tokens per episode (all roles) and the season's cost at DeepSeek-class and GPT-4o-mini-class prices;
5. peak resident memory of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cliffhanger.agents.llm.crew import open_crew
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.profiles import price_for
from cliffhanger.agents.llm.role_names import ROOM_ROLES
from cliffhanger.agents.llm.usage import UsageLog, UsageRecord, read_usage, usage_summary
from cliffhanger.agents.run import run_season
from cliffhanger.agents.season.artifacts import SeasonSpec
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.faults import FaultPlan
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.agents.state import RunSettings
from cliffhanger.memory.embeddings import HashEmbedding


def season(root: Path, episodes: int, language: str) -> SeasonStore:
    spec = SeasonSpec.create(title="Bench", logline="被调包的真千金回到豪门复仇。" if language == "zh" else
                             "The swapped heiress returns to take her name back.",
                             genre="revenge" if language == "zh" else "revenge_us", language=language,
                             episodes=episodes, runtime_s=90, free_episodes=min(10, episodes - 1))
    return SeasonStore.create(root, spec)


def draft(store: SeasonStore, url: str, concurrency: int, embedding: object) -> tuple[float, list[UsageRecord]]:
    ep = EndpointConfig(provider="sim", base_url=url, model="sim-drama", timeout_s=300)
    with open_crew({r: ep for r in ROOM_ROLES}, usage=UsageLog(store.usage_path),
                   policy=CallPolicy(max_retries=8, backoff_base_s=0.05)) as crew:
        started = time.perf_counter()
        result = asyncio.run(run_season(store, crew, RunSettings(concurrency=concurrency, embedding=embedding)))
        wall = time.perf_counter() - started
    if result.stop != "done":
        sys.exit(f"season stopped early: {result.stop} {result.message}")
    return wall, read_usage(store.usage_path)


def sim_seconds(log: Path) -> float:
    return sum(json.loads(line)["latency_ms"] for line in log.read_text().splitlines() if line.strip()) / 1000


def writer_first_drafts(rows: list[UsageRecord]) -> dict[int, int]:
    """Prompt tokens of the writer's first draft of each episode, by episode."""
    writer: dict[int, list[int]] = {}
    for r in rows:
        if r.role == "writer" and r.episode:
            writer.setdefault(r.episode, []).append(r.tokens_in)
    return {ep: v[0] for ep, v in writer.items()}


def token_totals(rows: list[UsageRecord]) -> tuple[int, int]:
    """Prompt and completion tokens of all calls."""
    totals = usage_summary(rows)
    return totals.tokens_in, totals.tokens_out


def season_cost(rows: list[UsageRecord], model: str) -> float:
    """What the calls in `rows` would cost at `model`'s list prices (agents/profiles.py)."""
    price = price_for(model, "openai")
    assert price is not None, f"no price for {model}"
    return price.cost(*token_totals(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--realistic-episodes", type=int, default=4)
    parser.add_argument("--language", choices=("zh", "en"), default="zh")
    parser.add_argument("--real-embedding", action="store_true", help="use the USE model for the lore index")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the sim's random names trip shot-list warnings by the thousand
    embedding = None if args.real_embedding else HashEmbedding()
    print(f"# command: python scripts/bench_season.py {' '.join(sys.argv[1:])}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        log = tmp_path / "sim.jsonl"
        with run_in_thread(SimConfig(faults=FaultPlan(), log_path=log, tps=100000.0)) as url:
            store = season(tmp_path / "instant", args.episodes, args.language)
            wall, rows = draft(store, url, 4, embedding)
        answering = sim_seconds(log)
        calls = len(rows)
        print("\n== 1. instant sim, full season")
        print(f"episodes {args.episodes}  wall {wall:.1f} s  model calls {calls}  "
              f"sim answering {answering:.1f} s  our overhead {(wall - answering) / calls * 1000:.1f} ms/call "
              f"(concurrency 4; overlapping calls make this an upper bound)")

        first = writer_first_drafts(rows)
        print("\n== 3. writer prompt tokens (first draft of each episode)")
        if args.episodes >= 60:
            early = statistics.mean(first[e] for e in range(6, 16))
            late = statistics.mean(first[e] for e in range(51, 61))
            print(f"mean eps 6-15 {early:.0f}  mean eps 51-60 {late:.0f}  ratio {late / early:.3f} (target <= 1.25)")
        else:
            print("needs --episodes 60")
        print("episode:tokens " + " ".join(f"{e}:{first[e]}" for e in sorted(first)[:: max(1, len(first) // 12)]))

        tin, tout = token_totals(rows)
        print("\n== 4. tokens and cost")
        for role, used in usage_summary(rows).by_role.items():
            print(f"  {role:11} {used.calls:5d} calls {used.tokens_in:>11,} in {used.tokens_out:>10,} out")
        print(f"tokens per episode (all roles): {(tin + tout) / args.episodes:,.0f}")
        for model in ("deepseek-chat", "gpt-4o-mini"):
            cost = season_cost(rows, model)
            print(f"season cost at {model} prices: ${cost:.2f} (${cost / args.episodes:.3f} per episode)")

        print(f"\n== 2. realistic sim (ttft 500 ms, 60 tok/s, max 8 in flight), {args.realistic_episodes} episodes")
        walls = {}
        for conc in (1, 8):
            with run_in_thread(SimConfig(faults=FaultPlan(), ttft_ms=500, tps=60.0, max_concurrency=8)) as url:
                store = season(tmp_path / f"real{conc}", args.realistic_episodes, args.language)
                walls[conc], real_rows = draft(store, url, conc, embedding)
            print(f"concurrency {conc}: wall {walls[conc]:.1f} s, {len(real_rows)} calls")
        print(f"speed-up at concurrency 8: {walls[1] / walls[8]:.2f}x")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n== 5. peak resident memory: {peak:.0f} MB")


if __name__ == "__main__":
    main()
