"""Quotes in sim answers: where a schema asks for evidence or a quote, the sim copies a line the prompt shows.

A string field quotes when its name says so (`evidence`, `quote`, `canon_quote`, `script_quote`, `citation`,
`excerpt`) or its description does ("copied exactly", "quoted exactly", "verbatim", "word for word"). It
quotes the canon when its name or description says canon, else the script. An object with such a field is
filled around one anchor line: the quote is the line, verbatim (a prefix when the field is shorter), and the
fields beside it agree with it: the subject or speaker is the character who speaks the line (or whom it
names), the scene is the line's scene.

Objects shaped like a canon fact (`subject`, `kind` with 'presence' among its values, `attribute`,
`value`) are read off the script the way the extraction prompt asks: a presence for every character heard
in a scene, their location when it changes (marked as a change), and a death when an action line shows a
named character die. A list of such facts holds all of them, in script order. A list of quoting objects
described as "empty when none" (findings) is mostly empty, as from a model that finds the draft consistent.

Everything is drawn from the caller's `random.Random`: same prompt and seed, same answer.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from cliffhanger.agents.sim.drama_text import key_words
from cliffhanger.agents.sim.schema_check import conforms
from cliffhanger.agents.sim.schema_merge import Impossible, flatten
from cliffhanger.agents.sim.script_reading import Material, ScriptLine

_QUOTE_KEYS = frozenset({"evidence", "quote", "quotation", "citation", "excerpt"})
_QUOTE_WORDS = re.compile(r"\b(?:quoted?|copied|copy|verbatim|word for word)\b|原文|照抄|逐字", re.IGNORECASE)
_SUBJECT_KEYS = frozenset({"subject", "speaker", "character", "who", "entity", "person"})
FINDING_RATE = 0.2  # how often a list of quoted findings ("empty when none") has one


@dataclass(frozen=True)
class Anchor:
    """The line an object is filled around, and what it says about whom."""

    line: ScriptLine | None = None
    canon: str | None = None
    subject: str | None = None
    fact: tuple[str, str, str, bool] | None = None  # kind, attribute, value, change


def quote_source(key: str | None, s: dict[str, Any]) -> str | None:
    """'script' or 'canon' when the string field `key` (schema `s`) asks for a quote; else None."""
    if not _stringy(s):
        return None
    words = set(key_words(key))
    desc = str(s.get("description") or "")
    if not (words & _QUOTE_KEYS or _QUOTE_WORDS.search(desc)):
        return None
    if "canon" in words or re.search(r"canon|正典", desc, re.IGNORECASE):
        return "canon"
    if re.search(r"\bbible\b|圣经", desc, re.IGNORECASE):
        return None  # nothing of the bible to quote from: written as usual
    return "script"


def _stringy(s: dict[str, Any]) -> bool:
    """A string schema, or one with a string among its types or its anyOf/oneOf branches (`str | None`)."""
    types = s.get("type") if isinstance(s.get("type"), list) else [s.get("type")]
    branches = [b for b in (s.get("anyOf") or s.get("oneOf") or []) if isinstance(b, dict)]
    return "string" in types or any(_stringy(b) for b in branches)


class Quoter:
    """Anchors and the values they decide, for the objects of one answer."""

    def __init__(self, material: Material, root: dict[str, Any]) -> None:
        self.material = material
        self.root = root

    # -- what a schema asks for --------------------------------------------------------------
    def _props(self, s: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out = {}
        for name, sub in (s.get("properties") or {}).items():
            try:
                out[name] = flatten(sub, self.root)[0]
            except Impossible:
                continue
        return out

    def sources(self, s: dict[str, Any]) -> dict[str, str]:
        """Property name -> 'script' / 'canon', for the properties of object schema `s` that quote."""
        return {n: src for n, sub in self._props(s).items() if (src := quote_source(n, sub)) is not None}

    def _is_fact(self, props: dict[str, dict[str, Any]]) -> bool:
        kind = props.get("kind") or {}
        return ("presence" in (kind.get("enum") or []) and {"subject", "attribute", "value"} <= set(props))

    def _can_quote(self, sources: dict[str, str]) -> bool:
        have = {"script": bool(self.material.script), "canon": bool(self.material.canon)}
        return bool(sources) and all(have[src] for src in sources.values())

    # -- lists ----------------------------------------------------------------------------------
    def plan_items(self, array: dict[str, Any], item: dict[str, Any], rng: random.Random) -> list[Anchor] | None:
        """Anchors for the items of an array of quoting objects, or None to leave the count to the filler."""
        props = self._props(item)
        sources = self.sources(item)
        if not sources:
            return None
        low, high = array.get("minItems", 0), array.get("maxItems")
        if not self._can_quote(sources):
            return [] if low == 0 else None  # nothing to quote: nothing to report, if the schema allows it
        if self._is_fact(props) and "script" in sources.values():
            anchors = self.facts()
        elif low == 0 and re.search(r"\bempty\b|为空|空列表", str(array.get("description") or ""), re.IGNORECASE):
            anchors = [self.pick(sources, props, rng)] if rng.random() < FINDING_RATE else []
        else:
            return None
        while len(anchors) < low:
            anchors.append(self.pick(sources, props, rng))
        return anchors[:high] if high is not None else anchors

    def facts(self) -> list[Anchor]:
        """The facts a script shows, scene by scene in script order (see the module docstring)."""
        m = self.material
        out: list[Anchor] = []
        seen: set[tuple[str, int]] = set()
        dead: set[str] = set()
        where: dict[str, str] = {}

        def present(who: str, line: ScriptLine) -> None:
            if who in dead or (who, line.scene) in seen:
                return
            seen.add((who, line.scene))
            out.append(Anchor(line, subject=who, fact=("presence", "appears", "true", False)))
            if line.location and where.get(who) != line.location:
                where[who] = line.location
                out.append(Anchor(line, subject=who, fact=("state", "location", line.location, True)))

        scenes: dict[int, list[ScriptLine]] = {}
        for line in m.script:
            scenes.setdefault(line.scene, []).append(line)
        for lines in scenes.values():
            for line in lines:
                if line.speaker is not None:
                    if line.heard_here:
                        present(line.speaker, line)
                    continue
                dying = m.dies_in(line)
                for who in dying:
                    if who not in dead:
                        out.append(Anchor(line, subject=who, fact=("state", "status", "dead", True)))
                        dead.add(who)
                for who in m.mentioned(line.text):
                    if who not in dying and (not line.cast or who in line.cast):
                        present(who, line)
            for who in lines[0].cast:  # the rest of the scene's cast is seen in it, from its first line
                present(who, lines[0])
        return out

    # -- one object -------------------------------------------------------------------------------
    def pick(self, sources: dict[str, str], props: dict[str, dict[str, Any]], rng: random.Random) -> Anchor:
        """A random anchor for one quoting object."""
        m = self.material
        line = canon = subject = None
        if "script" in sources.values() and m.script:
            wants_person = bool(_SUBJECT_KEYS & {w for n in props for w in key_words(n)})
            spoken = [ln for ln in m.script if ln.speaker is not None and ln.delivery is None] or \
                [ln for ln in m.script if ln.speaker is not None]
            line = rng.choice(spoken if wants_person and spoken else list(m.script))
            subject = line.speaker or next(iter(m.mentioned(line.text)), None)
        if "canon" in sources.values() and m.canon:
            limit = min((props[n].get("maxLength") or 10**6) for n, src in sources.items() if src == "canon")
            short = [c for c in m.canon if len(c) <= limit] or list(m.canon)
            about = [c for c in short if subject and subject in m.mentioned(c)]
            canon = rng.choice(about or short)
            if subject is None:
                subject = next(iter(m.mentioned(canon)), None)
        if subject is None and m.people:
            subject = rng.choice(m.people)
        return Anchor(line, canon, subject)

    def values(self, s: dict[str, Any], anchor: Anchor | None, rng: random.Random) -> dict[str, Any]:
        """Values the anchor decides for object schema `s` (each valid against its property's schema)."""
        sources = self.sources(s)
        if not sources or not self._can_quote(sources):
            return {}
        props = self._props(s)
        anchor = anchor or (self.facts_one(rng) if self._is_fact(props) else None) or self.pick(sources, props, rng)
        out: dict[str, Any] = {}

        def put(name: str, value: Any) -> None:
            if value is not None and name in props and name not in out and conforms(value, props[name], self.root):
                out[name] = value

        for name, src in sources.items():
            text = anchor.canon if src == "canon" else (anchor.line.text if anchor.line else None)
            if text is not None:
                high = props[name].get("maxLength")
                put(name, text[:high] if high is not None else text)
        for name, sub in props.items():
            words = set(key_words(name))
            if words & _SUBJECT_KEYS and _stringy(sub):
                put(name, anchor.subject)
            elif "scene" in words and sub.get("type") in ("integer", "number") and anchor.line is not None:
                put(name, anchor.line.scene)
        if anchor.fact is not None:
            kind, attribute, value, change = anchor.fact
            put("kind", kind)
            put("attribute", attribute)
            put("value", value)
            if "change" in props:
                put("change", change)
        return out

    def facts_one(self, rng: random.Random) -> Anchor | None:
        """One fact of the script, for a fact object met outside a list."""
        facts = self.facts()
        return rng.choice(facts) if facts else None
