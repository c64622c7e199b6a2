#!/usr/bin/env python3
"""Arc planning against `cliffhanger sim`: the arc rules' findings before and after repair, and how the
act planner's prompt grows act by act.

    python scripts/bench_arc.py [--episodes 60] [--seeds 1,2,3]

For a zh `revenge` and an en `revenge_us` season (the genre pack's paywall plan, as `cliffhanger new`
makes it without flags), planned against the sim once per seed (bible, act plan, each act's rows in
order; the run pauses at the arc review, nothing is drafted):

1. findings per rule of `arc_check.check_arc` at three stages: the rows as the sim wrote them (only
   renumbered into their episodes), the rows after the planner's per-act bookkeeping (plan/act_N.json:
   ids, the bible's schedule given the earlier acts, the cut's strength; "before repair"), and arc.json
   (after `repair_arc`, which the graph runs at assembly);
2. the showrunner's prompt tokens for each act's rows (`showrunner.plan_act_rows`, from the season's
   usage log) and the ratio act 4 / act 2 (the digest of earlier rows must stay bounded: target <= 1.5).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.role_names import ROOM_ROLES
from cliffhanger.agents.llm.usage import UsageLog, read_usage
from cliffhanger.agents.roles import showrunner
from cliffhanger.agents.run import run_season
from cliffhanger.agents.season.arc_check import RULES, check_arc
from cliffhanger.agents.season.artifacts import ArcRow, SeasonSpec
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.agents.state import RunSettings
from cliffhanger.genres.loader import builtin_catalog
from cliffhanger.memory.embeddings import HashEmbedding

RATIO_TARGET = 1.5
SEASONS = (("zh", "revenge", "被调包的真千金回到豪门复仇。"),
           ("en", "revenge_us", "The swapped heiress returns to take her name back."))


class Recording:
    """A model client that keeps each act's answer as the model wrote it, before the planner's repair."""

    def __init__(self, inner: ModelClient) -> None:
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "raw", [])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:  # the run's budget, limiter and ticker
        setattr(self.inner, name, value)

    async def structured(self, schema: Any, messages: Any, *, repair: Any = None, **kw: Any) -> Any:
        def keep(data: Any) -> Any:
            if schema.__name__ == "ActRows":
                self.raw.append(copy.deepcopy(data))
            return repair(data) if repair else data

        return await self.inner.structured(schema, messages, repair=keep, **kw)


def as_written(raw: list[dict[str, Any]], spec: SeasonSpec) -> list[ArcRow]:
    """The acts' rows as the model wrote them, numbered into the season (the last answer of each act)."""
    rows, ep = [], 1
    for act, answer in enumerate(raw, start=1):
        for row in answer.get("rows") or []:
            rows.append(ArcRow.model_validate({**row, "episode": ep, "act": act, "paywall": spec.is_paywall(ep)}))
            ep += 1
    return rows


def plan(root: Path, language: str, genre: str, logline: str, episodes: int,
         seed: int) -> tuple[SeasonStore, list[dict[str, Any]]]:
    pack = builtin_catalog().get(genre)
    mode, free, points = pack.season_paywall(episodes)
    spec = SeasonSpec.create(title="Bench", logline=logline, genre=genre, language=language, episodes=episodes,
                             runtime_s=90, mode=mode, free_episodes=free, paywall_episodes=points)
    store = SeasonStore.create(root, spec)
    with run_in_thread(SimConfig(seed=seed)) as url:
        ep = EndpointConfig(provider="sim", base_url=url, model="sim-drama")
        usage = UsageLog(store.usage_path)
        models: dict[str, Any] = {r: ModelClient(r, ep, usage, CallPolicy(backoff_base_s=0.01)) for r in ROOM_ROLES}
        models["showrunner"] = recording = Recording(models["showrunner"])
        result = asyncio.run(run_season(store, models, RunSettings(review_arc=True, embedding=HashEmbedding())))
    if result.stop != "arc_review":
        sys.exit(f"planning stopped early: {result.stop} {result.message}")
    return store, recording.raw


def measure(store: SeasonStore, raw: list[dict[str, Any]]) -> tuple[list[Counter[str]], list[int]]:
    """Findings per rule at the three stages, and the act-planning prompt tokens, act by act."""
    spec, bible = store.spec(), store.bible()
    pack = builtin_catalog().get(spec.genre)
    acts = len(showrunner.act_ranges(pack, spec))
    rows = [r for n in range(1, acts + 1) for r in store.act_rows(n, showrunner.ActRows).rows]
    stages = [showrunner.assemble_arc(spec, pack, as_written(raw, spec)), showrunner.assemble_arc(spec, pack, rows),
              store.arc()]
    counts = [Counter(f.rule for f in check_arc(arc, bible, spec, pack).findings) for arc in stages]
    tokens = [r.tokens_in for r in read_usage(store.usage_path)
              if r.role == "showrunner" and (r.prompt or "").startswith("showrunner.plan_act_rows.")]
    return counts, tokens


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=60)
    ap.add_argument("--seeds", default="1,2,3", help="sim seeds, comma-separated")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    worst = 0.0
    print(f"# arc planning against the sim: {args.episodes} episodes, seeds {', '.join(map(str, seeds))}\n")
    for language, genre, logline in SEASONS:
        totals: list[Counter[str]] = [Counter(), Counter(), Counter()]
        print(f"## {language} {genre}\n")
        print("| seed | act prompt tokens (act 1, 2, 3, 4) | act4/act2 | findings as written | before repair | after |")
        print("|---|---|---|---|---|---|")
        for seed in seeds:
            with tempfile.TemporaryDirectory(prefix="bench-arc-") as tmp:
                store, raw = plan(Path(tmp) / "s", language, genre, logline, args.episodes, seed)
                counts, tokens = measure(store, raw)
            for total, c in zip(totals, counts, strict=True):
                total += c
            ratio = tokens[3] / tokens[1] if len(tokens) >= 4 else float("nan")
            worst = max(worst, ratio)
            print(f"| {seed} | {', '.join(f'{t:,}' for t in tokens)} | {ratio:.2f} | "
                  + " | ".join(str(sum(c.values())) for c in counts) + " |")
        print(f"\nfindings per rule, summed over {len(seeds)} seeds:\n")
        print("| rule | as written | before repair | after repair |")
        print("|---|---|---|---|")
        for rule in RULES:
            print(f"| {rule} | " + " | ".join(str(t[rule]) for t in totals) + " |")
        print("| total | " + " | ".join(str(sum(t.values())) for t in totals) + " |\n")
    verdict = "ok" if worst <= RATIO_TARGET else "OVER TARGET"
    print(f"worst act4/act2 prompt ratio: {worst:.2f} (target <= {RATIO_TARGET}): {verdict}")
    return 0 if worst <= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
