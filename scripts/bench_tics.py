#!/usr/bin/env python3
"""Slop rate of the genre packs' worked examples (opening hook and paywall cliffhanger).

    python scripts/bench_tics.py [--ref GIT_REF]

Per pack: the tics `genres.cringe.find_tics` finds in its examples (the language's families plus the
pack's own tics) and the slop rate in tics per 1,000 script units (CJK characters / latin words).
`--ref` reads the packs as they were at a git revision (e.g. HEAD, to compare before and after an
edit); the tic families are always the current ones. Exits 1 when any example holds a tic.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from cliffhanger.genres import cringe
from cliffhanger.genres.cringe import TicFamily

ROOT = Path(__file__).resolve().parents[1]
PACKS = ROOT / "genres" / "packs"


def _packs(ref: str | None) -> dict[str, dict[str, Any]]:
    if ref is None:
        return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(PACKS.glob("*.yaml"))}
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{ref}:genres/packs"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    return {Path(n).stem: yaml.safe_load(subprocess.run(["git", "show", f"{ref}:genres/packs/{n}"], cwd=ROOT,
                                                        check=True, capture_output=True, text=True).stdout)
            for n in sorted(names) if n.endswith(".yaml")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", help="read the packs at this git revision instead of the working tree")
    args = ap.parse_args(argv)
    total_hits = total_units = 0
    print(f"{'pack':<20} {'lang':<4} {'units':>6} {'tics':>5} {'per 1,000':>9}  found")
    for pid, data in _packs(args.ref).items():
        lang = data["language"]
        extra = [TicFamily(t["id"], t["why"], (t["pattern"],)) for t in data.get("tics") or []]
        texts = [data["examples"]["opening_hook"], data["examples"]["paywall_cliffhanger"]]
        found = [t.text for text in texts for t in cringe.find_tics(text, lang, extra)]
        n_units = sum(cringe.units(t) for t in texts)
        total_hits, total_units = total_hits + len(found), total_units + n_units
        print(f"{pid:<20} {lang:<4} {n_units:>6} {len(found):>5} {cringe.slop_rate(texts, lang, extra):>9.2f}  "
              + " / ".join(found))
    rate = total_hits / total_units * 1000 if total_units else 0.0
    print(f"{'all packs':<25} {total_units:>6} {total_hits:>5} {rate:>9.2f}")
    return 1 if total_hits else 0


if __name__ == "__main__":
    sys.exit(main())
