#!/usr/bin/env python3
"""Runtime estimator error on the genre packs' timed worked examples.

    python scripts/bench_runtime.py

Per example: the on-screen timing the pack states (`examples.opening_hook_s`, `paywall_cliffhanger_s`), the estimate of the rates
before issue 17 (action at 3 zh chars / 2 en words per second, added on top of dialogue at 4.0 / 2.5,
0.3 s per turn, 1 s least per action) and the current estimate (`runtime.estimate_s`), with the errors
and their mean absolute value per language. Exits 1 when an example is off by more than 20%.
"""

from __future__ import annotations

import sys

from cliffhanger.agents.season.runtime import (
    Kind,
    Language,
    count_units,
    estimate_s,
    example_scenes,
    timed_examples,
)
from cliffhanger.genres.loader import load_catalog

LIMIT = 0.20


def before_s(scenes: list[list[tuple[Kind, str]]], language: Language) -> float:
    """The estimate of the rates before issue 17."""
    dialogue, action = {"zh": 4.0, "en": 2.5}[language], {"zh": 3.0, "en": 2.0}[language]
    return round(sum(count_units(t) / dialogue + 0.3 if k == "dialogue" else max(1.0, count_units(t) / action)
                     for scene in scenes for k, t in scene), 1)


def main() -> int:
    packs = load_catalog(include_user_dir=False).packs
    print("| example | lang | stated s | before s | error | after s | error |")
    print("|---|---|---:|---:|---:|---:|---:|")
    errors: dict[str, list[tuple[float, float]]] = {}
    worst = 0.0
    timed = timed_examples(packs.values())
    if not timed:
        print("no pack states how long its examples play (examples.opening_hook_s)", file=sys.stderr)
        return 1
    for (pack_id, name), stated in sorted(timed.items()):
        pack = packs[pack_id]
        scenes = example_scenes(getattr(pack.examples, name), pack.language)
        old, new = before_s(scenes, pack.language), estimate_s(scenes, pack.language)
        e_old, e_new = (old - stated) / stated, (new - stated) / stated
        errors.setdefault(pack.language, []).append((e_old, e_new))
        worst = max(worst, abs(e_new))
        print(f"| {pack_id}.{name} | {pack.language} | {stated:.1f} | {old:.1f} | {e_old:+.0%} | {new:.1f} | {e_new:+.0%} |")
    for lang, pairs in sorted(errors.items()):
        mean_old = sum(abs(a) for a, _ in pairs) / len(pairs)
        mean_new = sum(abs(b) for _, b in pairs) / len(pairs)
        print(f"| mean absolute error ({len(pairs)} examples) | {lang} | | | {mean_old:.0%} | | {mean_new:.0%} |")
    print(f"\nworst error after: {worst:.0%} (limit {LIMIT:.0%})")
    return 1 if worst > LIMIT else 0


if __name__ == "__main__":
    sys.exit(main())
