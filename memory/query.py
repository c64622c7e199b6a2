"""Answering "what does canon say" with episode references, as of an episode.

The deterministic part comes first: every entity the question names (by id, name or alias, in any
language) with its state as of the episode (traits, states, what it knows, what it holds; for a secret
who knows it, for an item who holds it). Related lore from the index follows, never from later episodes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from cliffhanger.memory.checker import CanonState
from cliffhanger.memory.facts import Entity, Fact
from cliffhanger.memory.ledger import Ledger
from cliffhanger.memory.lore import Hit, LoreIndex


@dataclass(frozen=True)
class CanonLine:
    text: str
    episode: int
    scene: int = 0
    evidence: str = ""


@dataclass
class EntityAnswer:
    id: str
    name: str
    type: str
    lines: list[CanonLine] = field(default_factory=list)


@dataclass
class CanonAnswer:
    question: str
    until_episode: int
    entities: list[EntityAnswer]
    lore: list[Hit]

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def mentioned(entities: list[Entity], text: str) -> list[Entity]:
    """Entities whose id, name or an alias appears in `text` (case-insensitive), longest names first."""
    low = text.lower()
    found = []
    for e in entities:
        names = [n for n in (e.id, e.id.replace("_", " "), e.name, *e.aliases) if n]
        if any(n.lower() in low for n in names):
            found.append(e)
    return found


def _line(text: str, f: Fact) -> CanonLine:
    return CanonLine(text=text, episode=f.episode, scene=f.scene, evidence=f.evidence)


def describe_entity(entity: Entity, state: CanonState, names: dict[str, str]) -> EntityAnswer:
    ans = EntityAnswer(entity.id, entity.name or entity.id, entity.type)
    for (subj, attr), f in sorted(state.traits.items()):
        if subj == entity.id:
            ans.lines.append(_line(f"{attr}: {f.value}", f))
    for (subj, attr), f in sorted(state.states.items()):
        if subj == entity.id:
            ans.lines.append(_line(f"{attr}: {f.value}", f))
    for (subj, secret), f in sorted(state.knows.items()):
        if subj == entity.id:
            ans.lines.append(_line(f"knows {names.get(secret, secret)}", f))
        if secret == entity.id:
            ans.lines.append(_line(f"known by {names.get(subj, subj)}", f))
    for item, f in sorted(state.holder.items()):
        if f.subject == entity.id:
            ans.lines.append(_line(f"holds {names.get(item, item)}", f))
        if item == entity.id:
            ans.lines.append(_line(f"held by {names.get(f.subject, f.subject)}", f))
    ans.lines.sort(key=lambda ln: (ln.episode, ln.scene))
    return ans


def answer(season: Path, question: str, *, until_episode: int | None = None, limit: int = 8,
           embedding: object | None = None, lore: bool = True) -> CanonAnswer:
    """What canon says about `question` as of `until_episode` (default: the latest episode).

    `lore=False` answers from the ledger alone, without opening the lore index (for a season
    another process is writing: chromadb is not safe to open beside another writer).
    """
    with Ledger(season / "canon.sqlite") as ledger:
        last = until_episode if until_episode is not None else ledger.last_episode()
        entities = ledger.entities()
        names = {e.id: e.name or e.id for e in entities}
        state = ledger.state_as_of(last)
        people = [describe_entity(e, state, names) for e in mentioned(entities, question)]
        hits: list[Hit] = []
        if lore:
            index = LoreIndex(season / "lore", embedding)
            index.ensure_built(ledger)
            hits = index.query(question, until_episode=last, k=limit)
    return CanonAnswer(question, last, people, hits)
