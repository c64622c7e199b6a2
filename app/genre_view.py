"""Rendering genre packs for people. Pack text can come from user files, so it is shown as text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cliffhanger.app.console import console, untrusted

if TYPE_CHECKING:
    from cliffhanger.genres.loader import Catalog
    from cliffhanger.genres.pack import GenrePack


def print_catalog(catalog: Catalog) -> None:
    from rich.table import Table

    table = Table("id", "names", "language", "description")
    for pid in sorted(catalog.packs):
        p = catalog.packs[pid]
        table.add_row(untrusted(pid), untrusted(f"{p.names.zh} / {p.names.en}"), p.language, untrusted(p.description))
    console().print(table)


def print_pack(pack: GenrePack, runtime_s: int = 90) -> None:
    from rich.panel import Panel
    from rich.table import Table

    out = console()
    out.print(Panel(untrusted(pack.description), title=untrusted(f"{pack.names.zh} / {pack.names.en} ({pack.id})"),
                    subtitle=f"default language: {pack.language}"))
    out.print(untrusted("Tone: " + pack.tone))
    out.print(untrusted("Audience: " + pack.audience))

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

    weights = pack.normalised_weights()
    out.print("Critic weights: " + ", ".join(f"{c} {w:.0%}" for c, w in weights.items()))
    out.print(untrusted("Avoid (zh): " + " / ".join(pack.avoid.zh)))
    out.print(untrusted("Avoid (en): " + " / ".join(pack.avoid.en)))
    v = pack.visual
    out.print(untrusted(f"Look: {v.grading}; {v.lighting}; {v.lens}; {v.camera}"))
    out.print(untrusted("Music: " + " / ".join(v.music_cues) + "   SFX: " + " / ".join(v.sfx)))
    out.print(Panel(untrusted(pack.examples.opening_hook), title="Example opening hook"))
    out.print(Panel(untrusted(pack.examples.paywall_cliffhanger), title="Example 卡点集 ending (the last free episode)"))
    samples = Table("sample loglines")
    for s in pack.sample_loglines:
        samples.add_row(untrusted(s))
    out.print(samples)
