"""Check built-in genre packs the way the test suite does, one pack at a time, with figures.

    python scripts/check_pack.py [PACK_ID ...]      (no id: every built-in pack)

Per pack: it loads and validates; every field a built-in pack must fill is filled (audience group, ladder,
cards, compliance, moves, stated example durations); each worked example estimates within 20% of its
stated duration (`agents.season.runtime`) and holds no AI-prose tic (`genres.cringe`); its tropes, examples,
cliffhanger kinds, description and tone are its own (shared with no other pack). Exit 1 when a pack falls short.
"""

from __future__ import annotations

import sys

from cliffhanger.agents.season.runtime import estimate_s, example_scenes
from cliffhanger.genres import cringe
from cliffhanger.genres.loader import load_catalog

EXAMPLES = ("opening_hook", "paywall_cliffhanger")
MINIMUM = {"ladder": 3, "cards": 3, "compliance": 3}


def problems_of(pack, others) -> list[str]:  # noqa: ANN001
    out = []
    if pack.audience_group is None:
        out.append("audience_group: set female, male or overseas")
    for field, least in MINIMUM.items():
        if len(getattr(pack, field)) < least:
            out.append(f"{field}: at least {least} (has {len(getattr(pack, field))})")
    moves = pack.moves.zh if pack.language == "zh" else pack.moves.en
    if len(moves) < 3:
        out.append(f"moves.{pack.language}: at least 3 banned habits in the pack's language")
    for name in EXAMPLES:
        text, stated = getattr(pack.examples, name), pack.examples.duration_s(name)
        est = estimate_s(example_scenes(text, pack.language), pack.language)
        if stated is None:
            out.append(f"examples.{name}_s: state how long it plays (estimate {est:.1f} s)")
        elif abs(est - stated) > 0.2 * stated:
            out.append(f"examples.{name}: estimates {est:.1f} s against a stated {stated:g} s (more than 20% off)")
        tics = cringe.find_tics(text, pack.language, pack.tic_families())
        if tics:
            out.append(f"examples.{name}: AI-prose tics {[t.text for t in tics]}")
    if pack.examples.opening_hook_s is not None and pack.examples.opening_hook_s < 20:
        out.append(f"examples.opening_hook: the first ~30 s of episode 1 (states {pack.examples.opening_hook_s:g} s)")
    tropes = {t.name for t in pack.tropes}
    for other in others:
        if other.id == pack.id:
            continue
        if tropes == {t.name for t in other.tropes}:
            out.append(f"tropes: the same list as {other.id}")
        for name in EXAMPLES:
            if getattr(pack.examples, name).strip() == getattr(other.examples, name).strip():
                out.append(f"examples.{name}: the same as {other.id}'s")
        if {k.id for k in pack.cliffhanger_kinds} == {k.id for k in other.cliffhanger_kinds}:
            out.append(f"cliffhanger_kinds: the same ids as {other.id}")
        for attr in ("description", "tone"):
            if getattr(pack, attr) == getattr(other, attr):
                out.append(f"{attr}: the same as {other.id}'s")
    return out


def main(argv: list[str]) -> int:
    packs = load_catalog(include_user_dir=False).packs
    ids = argv or sorted(packs)
    unknown = [i for i in ids if i not in packs]
    if unknown:
        print(f"unknown pack ids: {', '.join(unknown)} (known: {', '.join(sorted(packs))})", file=sys.stderr)
        return 2
    bad = 0
    for pid in ids:
        pack = packs[pid]
        found = problems_of(pack, packs.values())
        times = ", ".join(
            f"{n} {estimate_s(example_scenes(getattr(pack.examples, n), pack.language), pack.language):.1f}"
            f"/{pack.examples.duration_s(n) or 0:g} s" for n in EXAMPLES)
        print(f"{pid:24} {pack.language} {pack.audience_group or '-':8} {pack.paywall.preferred_mode:7} {times}"
              + ("" if not found else "\n  - " + "\n  - ".join(found)))
        bad += bool(found)
    print(f"{len(ids) - bad} of {len(ids)} packs pass")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
