"""Rendering genre packs for people. Pack text can come from user files, so it is shown as text."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from cliffhanger.app.console import console, untrusted

if TYPE_CHECKING:
    from cliffhanger.genres.loader import Catalog
    from cliffhanger.genres.pack import GenrePack


AUDIENCE_TITLES = {"female": "Female audience (女频)", "male": "Male audience (男频)",
                   "overseas": "Overseas (ReelShort, DramaBox ...)", None: "Other"}


def warn_broken(problems: tuple[str, ...]) -> None:
    for problem in problems:
        print(f"warning: skipped a broken pack: {problem}", file=sys.stderr)


def catalog_rows(catalog: Catalog) -> list[dict[str, object]]:
    """One JSON-ready row per pack, sorted by id: what `genres list --format json` prints."""
    return [{"id": p.id, "names": {"zh": p.names.zh, "en": p.names.en}, "language": p.language,
             "audience": p.audience_group, "mode": p.paywall.preferred_mode, "description": p.description}
            for _, p in sorted(catalog.packs.items())]


def print_catalog(catalog: Catalog) -> None:
    from rich.table import Table

    table = Table("id", "names", "language", "audience", "mode", "description")
    for pid in sorted(catalog.packs):
        p = catalog.packs[pid]
        table.add_row(untrusted(pid), untrusted(f"{p.names.zh} / {p.names.en}"), p.language,
                      p.audience_group or "-", p.paywall.preferred_mode, untrusted(p.description))
    console().print(table)


def print_catalog_by_audience(catalog: Catalog) -> None:
    """The packs grouped by audience (female, male, overseas, then packs that name none), for choosing one."""
    from rich.table import Table

    out = console()
    for group, title in AUDIENCE_TITLES.items():
        packs = sorted((p for p in catalog.packs.values() if p.audience_group == group), key=lambda p: p.id)
        if not packs:
            continue
        table = Table("--genre", "names", "language", "mode", title=title, title_justify="left")
        for p in packs:
            table.add_row(untrusted(p.id), untrusted(f"{p.names.zh} / {p.names.en}"), p.language,
                          p.paywall.preferred_mode)
        out.print(table)


def print_pack(pack: GenrePack, runtime_s: int = 90) -> None:
    from rich.panel import Panel
    from rich.table import Table

    out = console()
    out.print(Panel(untrusted(pack.description), title=untrusted(f"{pack.names.zh} / {pack.names.en} ({pack.id})"),
                    subtitle=f"default language: {pack.language}"))
    out.print(untrusted("Tone: " + pack.tone))
    out.print(untrusted(f"Audience ({pack.audience_group or 'not grouped'}): " + pack.audience))

    acts = Table("act", "episodes", "job", title="Season acts")
    for a in pack.acts:
        acts.add_row(untrusted(a.name), f"{a.start:.0%}-{a.end:.0%}", untrusted(a.job))
    out.print(acts)

    beats = Table("beat", "seconds", "what happens", title=f"Episode beats at {runtime_s} s")
    for b in pack.beats_for(runtime_s):
        beats.add_row(b.role, f"{b.start_s:g}-{b.end_s:g}", untrusted(b.description))
    out.print(beats)
    lo, hi = pack.payoff_every_s
    out.print(f"A payoff lands every {lo}-{hi} s.")

    kinds = Table("cliffhanger kind", "paywall", "strength", "how", title="Cliffhanger kinds")
    for k in sorted(pack.cliffhanger_kinds, key=lambda k: (not k.paywall, -k.strength)):
        kinds.add_row(untrusted(f"{k.name} ({k.id})"), "yes" if k.paywall else "", str(k.strength),
                      untrusted(k.description))
    out.print(kinds)

    payoffs = Table("payoff kind", "what the audience gets", title="Payoffs")
    for pk in pack.payoff_kinds:
        payoffs.add_row(untrusted(f"{pk.name} ({pk.id})"), untrusted(pk.description))
    out.print(payoffs)

    tropes = Table("trope", "how it plays", title="Tropes")
    for t in pack.tropes:
        tropes.add_row(untrusted(t.name), untrusted(t.how_it_plays))
    out.print(tropes)

    people = Table("archetype", "role", "description", title="Archetypes")
    for a in pack.archetypes:
        people.add_row(untrusted(f"{a.name} ({a.id})"), a.role, untrusted(a.description))
    out.print(people)

    pw = pack.paywall
    out.print(untrusted(f"Paywall: {pw.free_episodes} free episodes, then every {pw.later_every}. "
                        f"First paywall: {pw.first_paywall}"))
    out.print(untrusted(f"Ad-supported: {pw.ad_mode}"))
    out.print(f"Preferred mode: {pw.preferred_mode}")

    if pack.ladder:
        ladder = Table("rung", "archetype", "holds", "falls by", title="Antagonist ladder (lowest first)")
        names = {a.id: a.name for a in pack.archetypes}
        for n, r in enumerate(pack.ladder, start=1):
            ladder.add_row(str(n), untrusted(f"{names.get(r.archetype, r.archetype)} ({r.archetype})"),
                           untrusted(r.holds), untrusted(r.falls_by))
        out.print(ladder)
    if pack.cards:
        cards = Table("card", "how it plays", title="Cards the lead holds")
        for c in pack.cards:
            cards.add_row(untrusted(c.name), untrusted(c.how_it_plays))
        out.print(cards)
    if pack.compliance:
        review = Table("note", "rule", "checked by rule", title="Content review (the critic's must-fix)")
        for c in pack.compliance:
            review.add_row(untrusted(c.id), untrusted(c.rule), "yes" if c.pattern else "")
        out.print(review)
    moves = pack.moves.zh if pack.language == "zh" else pack.moves.en
    if moves:
        out.print(untrusted("Banned moves: " + " / ".join(moves)))

    weights = pack.normalised_weights()
    out.print("Critic weights: " + ", ".join(f"{c} {w:.0%}" for c, w in weights.items()))
    out.print(untrusted("Avoid (zh): " + " / ".join(pack.avoid.zh)))
    out.print(untrusted("Avoid (en): " + " / ".join(pack.avoid.en)))
    v = pack.visual
    out.print(untrusted(f"Look: {v.grading}; {v.lighting}; {v.lens}; {v.camera}"))
    out.print(untrusted("Music: " + " / ".join(v.music_cues) + "   SFX: " + " / ".join(v.sfx)))
    ex = pack.examples

    def timed(s: float | None) -> str:
        return f", about {s:g} s" if s else ""

    out.print(Panel(untrusted(ex.opening_hook), title=f"Example opening of episode 1{timed(ex.opening_hook_s)}"))
    out.print(Panel(untrusted(ex.paywall_cliffhanger),
                    title=f"Example 卡点集 ending (the last free episode){timed(ex.paywall_cliffhanger_s)}"))
    samples = Table("sample loglines")
    for s in pack.sample_loglines:
        samples.add_row(untrusted(s))
    out.print(samples)
