"""The continuity checker: fact extraction, the deterministic check, and an LLM check that must quote.

- `seed_canon` puts the bible into the ledger: entities with aliases, traits and starting states,
  who knows which secret at the start, world rules and character sheets as documents.
- `extract_facts` asks the model for an episode's facts, resolves names to ids through the ledger's
  aliases, and keeps only facts whose evidence is really in the script (a fact without its line is a
  guess) and whose subject is an entity id (`canon_subject`: a known name, an id, or an ascii name
  that spells one; a sentence or an unknown name is dropped with a note, never guessed). What it keeps
  is canon every later reader accepts: the ledger, the checker and `ContinuityFinding`. Planned changes
  of the arc (a faked death, a revealed identity) are marked `change`.
- `review_continuity` runs the ledger's rules on a draft's facts, then asks the model for what rules
  cannot see; a model finding is kept only when both its quotes are found verbatim, in the canon it
  was shown and in the script, and its subject is an entity id (else it is dropped with a note).
  `finding_from_violation` builds a valid finding from any violation, whatever the ledger holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cliffhanger.agents.llm.client import StructuredModel
from cliffhanger.agents.prompts import render
from cliffhanger.agents.season.artifacts import (
    MAX_EPISODES,
    Bible,
    ContinuityFinding,
    ContinuityReport,
    DialogueLine,
    EpisodeScript,
)
from cliffhanger.genres.ids import is_id, to_id
from cliffhanger.memory.checker import Violation
from cliffhanger.memory.context import abuild_context
from cliffhanger.memory.facts import Entity, Fact
from cliffhanger.memory.ledger import Doc, Ledger
from cliffhanger.memory.lore import LoreIndex

# ---- model output schemas -----------------------------------------------------------------------

class ExtractedFact(BaseModel):
    """One fact the episode establishes."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(description="entity id (or the name as written when new)", max_length=120)
    kind: Literal["trait", "state", "presence", "knows", "uses", "holds"] = Field(description="fact kind")
    attribute: str = Field(description="trait/state name; 'appears', 'secret' or 'item' for the fixed kinds",
                           max_length=64)
    value: str = Field(description="the value; 'true' for presence; an id for secrets and items", max_length=200)
    scene: int = Field(description="scene number of the evidence line", ge=0, le=99)
    change: bool = Field(description="true when this episode shows the value changing")
    evidence: str = Field(description="the script line that shows it, copied exactly", max_length=400)

BRIEF_CHARS = 200  # one bible document in the continuity prompts' opening


class ExtractedFacts(BaseModel):
    """The facts an episode establishes."""

    model_config = ConfigDict(extra="forbid")

    facts: list[ExtractedFact] = Field(description="facts in script order", max_length=120)


class ModelFinding(BaseModel):
    """A contradiction between the draft and canon."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(description="entity id concerned", max_length=64)
    canon_quote: str = Field(description="the canon line, quoted exactly", max_length=300)
    script_quote: str = Field(description="the contradicting script line, quoted exactly", max_length=300)
    explanation: str = Field(description="why both cannot be true", max_length=300)
    suggested_fix: str = Field(description="the smallest script change that removes it", max_length=300)
    severity: Literal["error", "warning"] = Field(description="error must be fixed; warning is worth a look")


class ModelFindings(BaseModel):
    """Contradictions found; empty when the draft is consistent."""

    model_config = ConfigDict(extra="forbid")

    findings: list[ModelFinding] = Field(description="contradictions; empty list when none", max_length=20)


# ---- the bible into the ledger ----------------------------------------------------------------------

def seed_canon(ledger: Ledger, bible: Bible) -> None:
    """Entities, starting facts (episode 0: before the story) and documents from the bible. Idempotent."""
    for c in bible.characters:
        ledger.add_entity(Entity(id=c.id, type="character", name=c.name, aliases=tuple(c.aliases)), strict=False)
        ledger.put_doc(Doc(f"character_{c.id}", "character", f"{c.name}: {c.want} {c.voice} Look: {c.visual.as_prompt()}",
                           0, c.id))
    for loc in bible.locations:
        ledger.add_entity(Entity(id=loc.id, type="place", name=loc.name), strict=False)
        ledger.put_doc(Doc(f"location_{loc.id}", "location", f"{loc.name}: {loc.description}", 0, loc.id))
    for s in bible.secrets:
        ledger.add_entity(Entity(id=s.id, type="secret", name=s.description[:120]), strict=False)
        ledger.put_doc(Doc(f"secret_{s.id}", "secret", s.description, 0, s.id))
    for i, rule in enumerate(bible.world_rules):
        ledger.put_doc(Doc(f"world_rule_{i}", "world_rule", rule))
    start: list[Fact] = []
    for c in bible.characters:
        start.append(Fact(subject=c.id, kind="state", attribute="status", value="alive", episode=0, evidence="bible"))
        if c.age is not None:
            start.append(Fact(subject=c.id, kind="trait", attribute="age_at_start", value=c.age, episode=0,
                              evidence="bible"))
    for s in bible.secrets:
        start += [Fact(subject=who, kind="knows", attribute="secret", value=s.id, episode=0, evidence="bible")
                  for who in s.known_by]
    ledger.record_episode(0, start, source="bible")


def canon_brief(ledger: Ledger) -> str:
    """The bible as the ledger holds it (world rules, characters, places, secrets: the episode-0 documents
    `seed_canon` wrote), one capped line each. Fixed for the season, so both continuity prompts open
    with it and a provider's prompt cache serves it from the second call on."""
    order = {"world_rule": 0, "character": 1, "location": 2, "secret": 3}
    docs = sorted((d for d in ledger.docs(until_episode=0) if d.kind in order), key=lambda d: (order[d.kind], d.id))
    caps = {"world_rule": 6, "character": 12, "location": 10, "secret": 10}
    lines, seen = [], dict.fromkeys(order, 0)
    for d in docs:
        seen[d.kind] += 1
        if seen[d.kind] <= caps[d.kind]:
            label = f"{d.subject} " if d.subject else ""
            lines.append(f"- {d.kind.replace('_', ' ')} {label}{' '.join(d.text.split())[:BRIEF_CHARS]}")
    return "\n".join(lines) or "(no bible recorded)"


# ---- extraction -----------------------------------------------------------------------------------------

def script_lines(script: EpisodeScript) -> list[tuple[int, str]]:
    """(scene, line) for every element, as the writer wrote them."""
    out = []
    for scene in script.scenes:
        for el in scene.elements:
            if isinstance(el, DialogueLine):
                out.append((scene.number, el.line))
            else:
                out.append((scene.number, el.text))
    return out


def script_text(script: EpisodeScript, language: str = "en") -> str:
    """The script as models read it: scene headings, △ action, `speaker (direction) [VO]: line`, the ending hook.

    A Chinese season's prompts read it in Chinese (`第2场（5-2）内 宴会厅，夜；出场：lin_wan`, `lin_wan（冷笑）[OS]：台词`,
    `结尾钩子：...`); ids stay ids. The sim reads both forms (`agents/sim/script_reading.py`)."""
    zh = language == "zh"
    out = []
    for scene in script.scenes:
        if zh:
            out.append(f"第{scene.number}场（{scene.label(script.episode)}）{scene.int_ext_zh} {scene.location}，"
                       f"{scene.time_zh}；出场：{', '.join(scene.cast) or '无'}")
        else:
            out.append(f"Scene {scene.number} ({scene.label(script.episode)}) {scene.int_ext} {scene.location}, {scene.time}; "
                       f"cast: {', '.join(scene.cast) or 'none'}")
        for el in scene.elements:
            if isinstance(el, DialogueLine):
                delivery = f"[{el.delivery}]" if el.delivery else ""
                if zh:
                    paren = f"（{el.parenthetical}）" if el.parenthetical else ""
                    out.append(f"  {el.speaker}{paren}{delivery}：{el.line}")
                else:
                    paren = f" ({el.parenthetical})" if el.parenthetical else ""
                    out.append(f"  {el.speaker}{paren}{' ' + delivery if delivery else ''}: {el.line}")
            else:
                out.append(f"  △ {el.text}")
    out.append(f"结尾钩子：{script.ending_hook}" if zh else f"Ending hook: {script.ending_hook}")
    return "\n".join(out)


def _norm(text: str) -> str:
    return "".join(text.split()).lower().strip("\"'“”「」。.!！?？,，")


def quoted_in(quote: str, haystack: str) -> bool:
    """True when `quote` appears in `haystack`, ignoring whitespace, case and surrounding quotes/punctuation."""
    q = _norm(quote)
    return len(q) >= 2 and q in "".join(haystack.split()).lower()


def _shown(text: str, limit: int = 40) -> str:
    """A model's value as a note shows it: one line, at most `limit` characters, quoted."""
    flat = " ".join(str(text).split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…")


def canon_subject(ledger: Ledger, name: str) -> str | None:
    """The entity id `name` stands for: a known id, name or alias resolved through the ledger, an id,
    or an ascii name that spells one ('Lin Xia' -> 'lin_xia'); None for anything else (a sentence, a
    name canon does not know that is not ascii), which must not become canon."""
    resolved = ledger.resolve(name)
    if is_id(resolved):
        return resolved
    repaired = to_id(name)
    if repaired is None:
        return None
    resolved = ledger.resolve(repaired)
    return resolved if is_id(resolved) else None


async def extract_facts(model: StructuredModel, ledger: Ledger, script: EpisodeScript, *,
                        planned: Iterable[tuple[str, str]] = ()) -> tuple[list[Fact], list[str]]:
    """The episode's facts (ids resolved, evidence verified) and the reasons for anything dropped.

    Every kept fact is valid canon for every later reader; what is not is dropped here, with a note,
    and never reaches the ledger. The ledger is read in a worker thread, off the event loop."""
    resolved, prompt = await asyncio.to_thread(_extract_prompt, ledger, script, planned)
    out = await model.structured(ExtractedFacts, [("user", prompt.text)], episode=script.episode, prompt=prompt.ref)
    return await asyncio.to_thread(_kept_facts, ledger, script, out, resolved)


def _extract_prompt(ledger: Ledger, script: EpisodeScript, planned: Iterable[tuple[str, str]]) -> tuple[set[tuple[str, str]], Any]:
    resolved = {(ledger.resolve(s), a) for s, a in planned}
    entities = "\n".join(f"{e.id}: {', '.join(filter(None, [e.name, *e.aliases]))}" for e in ledger.entities())
    planned_text = ("Planned changes this episode (mark them change=true): "
                    + "; ".join(f"{s}.{a}" for s, a in sorted(resolved))) if resolved else ""
    return resolved, render("continuity.extract_facts", episode=script.episode, entities=entities or "(none yet)",
                            planned=planned_text, script=script_text(script), bible=canon_brief(ledger))


def _kept_facts(ledger: Ledger, script: EpisodeScript, out: ExtractedFacts,
                planned: set[tuple[str, str]]) -> tuple[list[Fact], list[str]]:
    text = script_text(script)
    facts: list[Fact] = []
    dropped: list[str] = []
    for x in out.facts:
        if x.evidence != "bible" and not quoted_in(x.evidence, text):
            dropped.append(f"{x.subject} {x.attribute}: evidence not found in the script")
            continue
        subject = canon_subject(ledger, x.subject)
        if subject is None:
            dropped.append(f"{_shown(x.subject)} {x.attribute}: the subject is not an entity id or a known name")
            continue
        value: Any = x.value
        if x.kind in ("knows", "uses", "holds"):
            value = ledger.resolve(x.value)
        elif x.kind == "presence":
            value = True
        change = x.change or (subject, x.attribute) in planned
        try:
            facts.append(Fact(subject=subject, kind=x.kind, attribute=x.attribute, value=value, episode=script.episode,
                              scene=x.scene, change=change, evidence=x.evidence))
        except ValidationError as exc:
            dropped.append(f"{x.subject} {x.attribute}: {exc.errors()[0]['msg']}")
    return facts, dropped


def screen_facts(ledger: Ledger, facts: Iterable[Fact]) -> tuple[list[Fact], list[str]]:
    """`facts` (read back from a season folder) that the ledger may take, with their subjects resolved,
    and a note for each one dropped: facts written by an older version may have a subject that is no id."""
    kept: list[Fact] = []
    dropped: list[str] = []
    for f in facts:
        subject = canon_subject(ledger, f.subject)
        if subject is None:
            dropped.append(f"{_shown(f.subject)} {f.attribute}: the subject is not an entity id or a known name")
        else:
            kept.append(f if subject == f.subject else f.model_copy(update={"subject": subject}))
    return kept, dropped


# ---- review ---------------------------------------------------------------------------------------------

_FIXES = {
    "trait_changed": "keep the canon value, or make the change happen on screen and mark it",
    "state_changed_silently": "show the change happening, or keep the earlier value",
    "dead_character_active": "remove the character, make it a flashback or a voice on the phone, or reveal the death was faked on screen first",
    "knowledge_before_learning": "show the character learning it first, or cut the line that uses it",
    "item_in_two_hands": "show the hand-over, or give the item back to its holder",
}


UNRESOLVED_SUBJECT = "unresolved_subject"  # a finding's subject when the fact's subject is no entity id


def _line(text: object, fallback: str) -> str:
    """`text` as a finding's Line holds it: stripped, at most 300 characters, never empty."""
    flat = " ".join(str(text).split())
    return (flat[:300].strip() or fallback) if flat else fallback


def finding_from_violation(v: Violation) -> ContinuityFinding:
    """The finding for a rule violation; valid for any violation the ledger's facts can produce (a
    subject that is no id, scene 0 or past 99, an episode outside the season, empty evidence)."""
    f, c = v.fact, v.conflicts_with
    canon = (c.evidence if c is not None and c.evidence.strip() and c.evidence != "bible" else
             (c.describe() if c is not None else "no earlier fact"))
    subject = f.subject if is_id(f.subject) else (to_id(f.subject) or UNRESOLVED_SUBJECT)
    return ContinuityFinding(
        rule=v.rule, severity="error", subject=subject, canon_fact=_line(canon, "no earlier fact"),
        script_quote=_line(f.evidence, "") or _line(f.describe(), "(no line)"),
        episode=min(max(f.episode, 1), MAX_EPISODES), scene=f.scene if 1 <= f.scene <= 99 else None,
        explanation=_line(v.message, v.rule), suggested_fix=_FIXES[v.rule])


async def review_continuity(model: StructuredModel | None, ledger: Ledger, index: LoreIndex | None,
                            script: EpisodeScript, facts: list[Fact], *, planned: Iterable[str] = (),
                            budget: int = 1200, dropped: list[str] | None = None) -> ContinuityReport:
    """Rule findings for `facts`, plus verified model findings when `model` is given. A model finding
    whose subject is no entity id is dropped with a note in `dropped` (when given). The ledger is read in a
    worker thread, off the event loop."""
    dropped = [] if dropped is None else dropped
    violations = await asyncio.to_thread(ledger.check, facts, replacing_episode=script.episode)
    findings = [finding_from_violation(v) for v in violations]
    if model is not None:
        cast = sorted({c for s in script.scenes for c in s.cast})
        ctx = await abuild_context(ledger, index, episode=script.episode, cast=cast,
                                   plan=script_text(script)[:2000], budget=budget)
        canon = ctx.text() or "(nothing recorded yet)"
        already = ", ".join(sorted({v.rule for v in violations})) or "none found"
        bible = await asyncio.to_thread(canon_brief, ledger)
        prompt = render("continuity.review", episode=script.episode, previous=script.episode - 1, canon=canon,
                        already=already, planned="; ".join(planned) or "none", script=script_text(script), bible=bible)
        out = await model.structured(ModelFindings, [("user", prompt.text)], episode=script.episode,
                                     prompt=prompt.ref)
        findings += await asyncio.to_thread(_model_findings, ledger, script, out, f"{bible}\n{canon}", dropped)
    return ContinuityReport(findings=tuple(findings[:50]))


def _model_findings(ledger: Ledger, script: EpisodeScript, out: ModelFindings, canon_text: str,
                    dropped: list[str]) -> list[ContinuityFinding]:
    text = script_text(script)
    findings: list[ContinuityFinding] = []
    for mf in out.findings:
        if not (quoted_in(mf.canon_quote, canon_text) and quoted_in(mf.script_quote, text)):
            continue  # unquoted or misquoted: not evidence, not a finding
        scene = next((n for n, line in script_lines(script) if quoted_in(mf.script_quote, line)), None)
        subject = canon_subject(ledger, mf.subject)
        if subject is None:
            dropped.append(f"model finding on {_shown(mf.subject)}: the subject is not an entity id or a known name")
            continue
        try:
            findings.append(ContinuityFinding(
                rule="model_check", severity=mf.severity, subject=subject,
                canon_fact=_line(mf.canon_quote, ""), script_quote=_line(mf.script_quote, ""),
                episode=script.episode, scene=scene if scene is None or 1 <= scene <= 99 else None,
                explanation=_line(mf.explanation, "contradicts canon"),
                suggested_fix=_line(mf.suggested_fix, "rewrite the line")))
        except ValidationError as exc:  # a bound this code does not know of: say so, never crash
            dropped.append(f"model finding on {_shown(mf.subject)}: {exc.errors()[0]['msg']}")
    return findings
