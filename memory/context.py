"""The canon a writer needs for one episode, within a token budget that does not grow with the season.

Sections, most important first: the previous episode's ending; the current state of the episode's
cast (status, whereabouts, locked traits, what they hold); the secrets in play and who knows them;
then lore retrieved for the episode's plan (world rules, facts). Lines are added in that order until
the budget is spent, so episode 60 costs what episode 6 does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cliffhanger.memory.ledger import Ledger
from cliffhanger.memory.lore import LoreIndex
from cliffhanger.memory.tokens import count_tokens


@dataclass
class CanonContext:
    episode: int
    budget: int
    sections: dict[str, list[str]] = field(default_factory=dict)
    tokens: int = 0
    dropped: int = 0  # lines left out for the budget

    def text(self) -> str:
        parts = []
        for title, lines in self.sections.items():
            if lines:
                parts.append(f"## {title}\n" + "\n".join(f"- {ln}" for ln in lines))
        return "\n\n".join(parts)


def build_context(ledger: Ledger, index: LoreIndex | None, *, episode: int, cast: Iterable[str], plan: str,
                  secrets: Iterable[str] = (), budget: int = 1200, k: int = 12) -> CanonContext:
    """Canon as of the end of `episode - 1` for drafting `episode`."""
    before = episode - 1
    ctx = CanonContext(episode, budget)
    names = {e.id: e.name or e.id for e in ledger.entities()}
    cast_ids = [ledger.resolve(c) for c in cast]
    state = ledger.state_as_of(before)

    def add(section: str, line: str) -> None:
        cost = count_tokens(line) + 2
        if ctx.tokens + cost > budget:
            ctx.dropped += 1
            return
        ctx.sections.setdefault(section, []).append(line)
        ctx.tokens += cost

    for doc in ledger.docs(kind="ending", until_episode=before):
        if doc.episode == before:
            add("Where the last episode ended", doc.text)
    for cid in cast_ids:
        who = names.get(cid, cid)
        for (subj, attr), f in sorted(state.states.items()):
            if subj == cid:
                add("Cast now", f"{who}: {attr} = {f.value} (since ep {f.episode})")
        for (subj, attr), f in sorted(state.traits.items()):
            if subj == cid:
                add("Cast now", f"{who}: {attr} = {f.value} (locked)")
        for item, f in sorted(state.holder.items()):
            if f.subject == cid:
                add("Cast now", f"{who} holds {names.get(item, item)} (since ep {f.episode})")
    in_play = {ledger.resolve(s) for s in secrets} | {sec for (subj, sec) in state.knows if subj in cast_ids}
    for sec in sorted(in_play):
        knowers = sorted(f"{names.get(f.subject, f.subject)} (ep {f.episode})" for f in state.who_knows(sec))
        add("Secrets in play", f"{names.get(sec, sec)}: known by {', '.join(knowers) if knowers else 'no one yet'}")
    if index is not None and plan.strip():
        for hit in index.query(plan, until_episode=before, k=k):
            add("Relevant canon", f"[ep {hit.episode}] {hit.text}")
    return ctx
