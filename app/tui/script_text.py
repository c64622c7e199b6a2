"""Season artifacts as styled, untrusted-safe `rich.text.Text`: a screenplay page, a review, the bible,
a canon answer. Pure functions: no widgets, no I/O.

The page follows screenplay layout in character cells: scene headings flush left and bold, action
across the page, cues indented towards the centre, parentheticals and dialogue in a narrower column.
Lines wrap by cell width, so Chinese (double-width) text keeps its column.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from cliffhanger.app.console import untrusted

if TYPE_CHECKING:
    from cliffhanger.agents.season.artifacts import (
        Bible,
        ContinuityFinding,
        ContinuityReport,
        Critique,
        EpisodeScript,
    )
    from cliffhanger.memory.query import CanonAnswer

_TIME = {"day": "DAY", "night": "NIGHT", "dawn": "DAWN", "dusk": "DUSK"}
_DELIVERY = {"OS": " (O.S.)", "VO": " (V.O.)"}


@functools.cache
def _measure() -> Console:
    return Console(width=400, color_system=None, highlight=False, file=io.StringIO())


def _wrap(text: str, width: int) -> list[Text]:
    lines: list[Text] = []
    for para in str(text).splitlines() or [""]:
        lines.extend(untrusted(para).wrap(_measure(), max(width, 8)))
    return lines


def _block(out: Text, text: str, indent: int, width: int, style: str = "") -> None:
    for line in _wrap(text, width):
        line = line.copy()
        line.stylize(style)
        out.append(" " * indent)
        out.append_text(line)
        out.append("\n")


def screenplay(script: EpisodeScript, bible: Bible | None, width: int = 60) -> Text:
    """The episode as a screenplay page `width` cells wide."""
    people = {c.id: c.name for c in bible.characters} if bible else {}
    places = {loc.id: loc.name for loc in bible.locations} if bible else {}
    cue_at, talk_at = width * 3 // 8, width // 6
    talk_w, paren_at = width - 2 * talk_at, width // 4
    out = Text()
    _block(out, f"Episode {script.episode}: {script.title}", 0, width, "bold underline")
    for scene in script.scenes:
        out.append("\n")
        where = places.get(scene.location, scene.location)
        heading = f"{scene.label(script.episode)}  {scene.int_ext}. {where} - {_TIME[scene.time]}"
        _block(out, heading.upper() if heading.isascii() else heading, 0, width, "bold")
        if scene.cast:
            _block(out, "cast: " + ", ".join(people.get(c, c) for c in scene.cast), 0, width, "dim")
        for el in scene.elements:
            out.append("\n")
            if el.type == "action":
                _block(out, el.text, 0, width)
                continue
            name = people.get(el.speaker, el.speaker)
            _block(out, (name.upper() if name.isascii() else name) + _DELIVERY.get(el.delivery or "", ""),
                   cue_at, width - cue_at, "bold")
            if el.parenthetical:
                paren = el.parenthetical.strip("()（） ")
                _block(out, f"({paren})", paren_at, width - 2 * paren_at, "italic")
            _block(out, el.line, talk_at, talk_w)
    out.append("\n")
    for line in _wrap(script.ending_hook, width - 8):
        _block(out, line.plain, max(0, (width - line.cell_len) // 2), width, "bold italic")
    out.rstrip()
    return out


def review_text(critique: Critique | None, continuity: ContinuityReport | None, overall: float | None,
                revision: int | None, findings: Iterable[ContinuityFinding] = ()) -> Text:
    """Rubric scores with reasons, must-fix notes, notes and continuity findings quoting both sides."""
    from cliffhanger.agents.season.artifacts import CRITERIA

    out = Text()
    head = "Review" + (f" of revision {revision}" if revision is not None else "")
    out.append(head + (f": overall {overall:.1f}" if overall is not None else "") + "\n\n", style="bold")
    if critique is None:
        out.append("No critique yet.\n", style="dim")
    else:
        for name in CRITERIA:
            if (c := getattr(critique, name)) is None:  # a critique from before the criterion
                continue
            out.append(f"{name.replace('_', ' '):22} {c.score:>2}/10  ", style="bold")
            out.append_text(untrusted(c.reason))
            out.append("\n")
        if critique.must_fix:
            out.append("\nMust fix\n", style="bold")
            for item in critique.must_fix:
                out.append("  - ")
                out.append_text(untrusted(item))
                out.append("\n")
        if critique.notes:
            out.append("\nNotes\n", style="bold")
            out.append_text(untrusted(critique.notes))
            out.append("\n")
    items = continuity.findings if continuity is not None else tuple(findings)
    out.append(f"\nContinuity findings: {len(items)}\n", style="bold")
    for f in items:
        out.append(f"  [{f.severity}] ", style="bold red" if f.severity == "error" else "yellow")
        out.append_text(untrusted(f"{f.rule} · {f.subject}" + (f" · scene {f.scene}" if f.scene else "")))
        out.append("\n    ")
        out.append_text(untrusted(f.explanation))
        for label, text in (("canon", f"«{f.canon_fact}»"), ("script", f"«{f.script_quote}»"), ("fix", f.suggested_fix)):
            out.append(f"\n    {label}: ", style="dim")
            out.append_text(untrusted(text))
        out.append("\n")
    out.rstrip()
    return out


def bible_text(bible: Bible | None) -> Text:
    """Characters with their locked looks, locations and secrets."""
    out = Text()
    if bible is None:
        out.append("No bible yet: draft the season (F5 drafts the next episode) and the showrunner writes one.",
                   style="dim")
        return out
    out.append("Premise\n", style="bold underline")
    out.append_text(untrusted(bible.premise))
    out.append("\n\nCharacters\n", style="bold underline")
    for c in bible.characters:
        out.append_text(untrusted(c.name, "bold"))
        out.append_text(untrusted(f"  ({c.id}, {c.role}" + (f", {c.age}" if c.age is not None else "") + ")", "dim"))
        if c.aliases:
            out.append_text(untrusted("  aka " + ", ".join(c.aliases), "dim"))
        out.append("\n")
        for label, value in (("wants", c.want), ("secret", c.secret or "-"), ("arc", c.arc), ("voice", c.voice),
                             ("look (locked)", c.visual.as_prompt())):
            out.append(f"  {label}: ", style="italic")
            out.append_text(untrusted(value))
            out.append("\n")
    out.append("\nLocations\n", style="bold underline")
    for loc in bible.locations:
        out.append_text(untrusted(loc.name, "bold"))
        out.append_text(untrusted(f"  ({loc.id}, {loc.int_ext})\n  {loc.description}\n  look: {loc.visual}\n"))
    out.append("\nSecrets\n", style="bold underline")
    for s in bible.secrets:
        out.append_text(untrusted(s.id, "bold"))
        reveal = f"episode {s.planned_reveal_episode}" if s.planned_reveal_episode else "not this season"
        out.append_text(untrusted(f"  {s.description}\n  known by: {', '.join(s.known_by) or 'no one'}; "
                                  f"planned reveal: {reveal}\n"))
    out.rstrip()
    return out


def canon_text(answer: CanonAnswer) -> Text:
    """A canon answer: each named entity's state with episode references and evidence, then lore."""
    out = untrusted(f"Canon as of episode {answer.until_episode}: {answer.question}", "bold")
    out.append("\n")
    if not answer.entities:
        out.append("No known character, item or secret is named in the question.\n", style="dim")
    for ent in answer.entities:
        out.append_text(untrusted(f"{ent.name} ({ent.id}, {ent.type})", "bold"))
        out.append("\n")
        if not ent.lines:
            out.append("    nothing recorded yet\n", style="dim")
        for ln in ent.lines:
            where = f"ep {ln.episode}" + (f" sc {ln.scene}" if ln.scene else "")
            out.append_text(untrusted(f"    {ln.text}  ({where})" + (f"  «{ln.evidence}»" if ln.evidence else "")))
            out.append("\n")
    if answer.lore:
        out.append("Related lore\n", style="bold")
        for hit in answer.lore:
            out.append_text(untrusted(f"    (ep {hit.episode}) {hit.text}"))
            out.append("\n")
    out.rstrip()
    return out
