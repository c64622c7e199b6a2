#!/usr/bin/env python3
"""Prompt caching: how much of each role's prompt a provider's cache can serve, and what that saves.

    python scripts/bench_prompt_cache.py [--episodes 60] [--language zh] [--seed 0]

Drafts one season against the instant sim (ttft 0, 100,000 tokens/s, seed fixed, concurrency 1 so the
calls come in one order) with request bodies logged, then prints:

1. per role, the cacheable prefix share: for each call, the longest prefix (in prompt tokens, counted
   as the sim counts them: tool and schema definitions first, as providers put them, then the messages)
   shared with the previous call of the same task (schema and the prompt's opening line: the writer's
   drafts and its revisions, the critic's reviews, continuity's fact extraction and its review are each
   a sequence), over its prompt tokens; mean over calls, the first call of each sequence left out;
2. the cached share the sim reported (longest prefix shared with any earlier request of the model, by
   OpenAI's rule: 128-token steps from 1,024) and the usage log recorded;
3. the season's cost at DeepSeek-class (deepseek-chat) and GPT-4o-mini-class list prices, without
   cache-hit pricing (every prompt token at the input price) and with it (cached tokens at the
   cached-input rate), and the reduction; beside the README's $0.92 for the same run before the
   prompts were reordered.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import statistics
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from cliffhanger.agents.llm.profiles import price_for
from cliffhanger.agents.llm.usage import UsageRecord, usage_summary
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.faults import FaultPlan
from cliffhanger.agents.sim.prompt_cache import request_tokens, shared_prefix
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.memory.embeddings import HashEmbedding

HERE = Path(__file__).resolve().parent
BEFORE_USD = 0.92  # README: 60-episode season at deepseek-chat prices, before this change
ROLES = {"EpisodeScript": "writer", "Critique": "critic", "ExtractedFacts": "continuity",
         "ModelFindings": "continuity", "Decision": "showrunner"}


def _bench_season() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_season", HERE / "bench_season.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prefix_shares(log: Path, model: str = "sim-drama") -> dict[str, list[float]]:
    """Per role (task in brackets where a role has several), the share of each call's prompt shared
    with the previous call of the same task. A task is the schema asked for plus the prompt's first
    line (the role brief opens every prompt)."""
    last: dict[tuple[str, str], list[int]] = {}
    out: dict[str, list[float]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if "messages" not in rec or rec.get("status") != 200:
            continue
        messages = rec["messages"]
        first = next((m for m in messages if m.get("role") == "user"), messages[0]).get("content") or ""
        head = str(first).strip().splitlines()[0][:60] if str(first).strip() else ""
        schema = rec.get("schema") or "text"
        role = ROLES.get(schema, schema.lower())
        if schema in ("ExtractedFacts", "ModelFindings"):
            role = f"continuity ({'extract' if schema == 'ExtractedFacts' else 'review'})"
        tokens = request_tokens(messages, rec.get("extra_prompt") or "", model)  # tools and schema first
        key = (schema, head)
        if key in last and tokens:
            out.setdefault(role, []).append(shared_prefix(tokens, last[key]) / len(tokens))
        last[key] = tokens
    return dict(sorted(out.items()))


def costs(rows: list[UsageRecord], model: str) -> tuple[float, float]:
    """The season at `model`'s list prices: (every prompt token at the input price, cache hits priced)."""
    price = price_for(model, "openai")
    assert price is not None and price.cached_input_per_m is not None, f"no cached price for {model}"
    full = sum(price.cost(r.tokens_in, r.tokens_out) for r in rows)
    cached = sum(price.cost(r.tokens_in, r.tokens_out, r.cached_in) for r in rows)
    return full, cached


def measure(episodes: int = 60, language: str = "zh",
            seed: int = 0) -> tuple[dict[str, list[float]], list[UsageRecord]]:
    """Drafts the season (instant sim in a thread, request bodies logged, concurrency 1): the prefix shares
    per role (prefix_shares) and the season's usage records."""
    bs = _bench_season()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "sim.jsonl"
        config = SimConfig(faults=FaultPlan(), log_path=log, log_bodies=True, tps=100000.0, seed=seed)
        with run_in_thread(config) as url:
            store = bs.season(Path(tmp) / "season", episodes, language)
            _, rows = bs.draft(store, url, 1, HashEmbedding())
        return prefix_shares(log), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--language", choices=("zh", "en"), default="zh")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    print(f"# command: python scripts/bench_prompt_cache.py {' '.join(sys.argv[1:])}".rstrip())
    shares, rows = measure(args.episodes, args.language, args.seed)

    print(f"\n== cacheable prefix share per role ({args.episodes} episodes, {args.language}; "
          "longest prefix shared with the previous call of the same task, over its prompt tokens)")
    print("| role | calls | mean share | min | target |\n|---|---:|---:|---:|---|")
    for role, values in shares.items():
        target = ">= 0.5" if role.split(" ")[0] in ("writer", "critic", "continuity") else "-"
        print(f"| {role} | {len(values) + 1} | {statistics.mean(values):.2f} | {min(values):.2f} | {target} |")

    total = usage_summary(rows)
    print("\n== cached prompt tokens the sim reported (usage.jsonl cached_in)")
    print("| role | calls | prompt tokens | cached | share |\n|---|---:|---:|---:|---:|")
    for role, t in [*total.by_role.items(), ("all", total)]:
        print(f"| {role} | {t.calls} | {t.tokens_in:,} | {t.cached_in:,} | {t.cached_share:.2f} |")

    print(f"\n== season cost ({args.episodes} episodes, {total.tokens_in:,} in + {total.tokens_out:,} out)")
    for label, model in (("DeepSeek-class", "deepseek-chat"), ("GPT-4o-mini-class", "gpt-4o-mini")):
        full, cached = costs(rows, model)
        print(f"{label} ({model}): without cache-hit pricing ${full:.2f}, with ${cached:.2f} "
              f"({(1 - cached / full) * 100:.0f}% lower)")
    _, deepseek = costs(rows, "deepseek-chat")
    print(f"against the README's ${BEFORE_USD:.2f} for the same run before: ${deepseek:.2f}, "
          f"{(1 - deepseek / BEFORE_USD) * 100:.0f}% lower (target: at least 30%)")


if __name__ == "__main__":
    main()
