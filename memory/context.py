"""The canon a writer needs for one episode, within a token budget that does not grow with the season.

Sections, most important first: the previous episode's ending; the current state of the episode's
cast (status, whereabouts, locked traits, what they hold); the secrets in play and who knows them;
then lore retrieved for the episode's plan (world rules, facts). Lines are added in that order until
the budget is spent, so episode 60 costs what episode 6 does.

The text is in the season's language (`language`): a Chinese writer gets Chinese canon lines, with ids,
attribute names and the values a model wrote left as they are (retrieval still embeds the English
sentences of lore.py; only the rendering changes).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cliffhanger.memory.facts import Fact
from cliffhanger.memory.ledger import Ledger
from cliffhanger.memory.lore import Hit, LoreIndex, fact_id
from cliffhanger.memory.tokens import count_tokens

# Sections are keyed by their English title; a Chinese context prints these titles instead.
_TITLES_ZH = {"Where the last episode ended": "上一集停在哪里", "Cast now": "人物现状",
              "Secrets in play": "在局中的秘密", "Relevant canon": "相关正典"}
# Line shapes per language; `ep` is an episode number.
_WORDS: dict[str, dict[str, str]] = {
    "en": {"since": "since ep {ep}", "locked": "locked", "holds": "{who} holds {what}",
           "known_by": "{what}: known by {who}", "no_one": "no one yet", "ep": "ep {ep}", "tag": "[ep {ep}]",
           "sep": ", "},
    "zh": {"since": "第{ep}集起", "locked": "锁定", "holds": "{who}持有{what}", "known_by": "{what}：知情者 {who}",
           "no_one": "尚无人知道", "ep": "第{ep}集", "tag": "【第{ep}集】", "sep": "、"},
}
# Common state values the continuity extractor writes in English, said in Chinese.
VALUES_ZH = {"alive": "在世", "dead": "已死", "missing": "失踪", "unknown": "不明", "injured": "受伤",
              "unconscious": "昏迷", "true": "是", "false": "否"}
_VERBS_ZH = {"trait": "锁定为", "state": "变为", "presence": "出场", "knows": "得知秘密", "uses": "动用秘密",
             "holds": "持有"}
_EVIDENCE_ZH = {"bible": "见剧集圣经"}  # the evidence of the facts seeded from the bible
_SUMMARY_PREFIX = re.compile(r"^Episode \d+:\s*")


def _value(value: object, language: str) -> str:
    text = str(value)
    return VALUES_ZH.get(text.lower(), text) if language == "zh" else text


def _doc_zh(kind: str, text: str) -> str:
    """A seeded or summary document's fixed English words in Chinese (continuity.seed_canon, the accept node)."""
    if kind == "character":
        return text.replace(" Look: ", " 外形：").replace("wearing ", "穿着")
    return _SUMMARY_PREFIX.sub("", text)


def fact_line(fact: Fact, names: dict[str, str], language: str = "zh") -> str:
    """A retrieved fact in Chinese (the index holds lore.py's English sentence for embedding)."""
    who = names.get(fact.subject, fact.subject)
    where = f"第{fact.episode}集" + (f"第{fact.scene}场" if fact.scene else "")
    verb = _VERBS_ZH[fact.kind]
    value = names.get(str(fact.value), str(fact.value)) if fact.kind in ("knows", "uses", "holds") else \
        _value(fact.value, language)
    head = f"{who}：{verb}" if fact.kind == "presence" else (
        f"{who}：{verb}{value}" if fact.kind in ("knows", "uses", "holds") else f"{who}：{fact.attribute} {verb} {value}")
    evidence = _EVIDENCE_ZH.get(fact.evidence.strip(), fact.evidence)
    return f"{head}（{where}）。{evidence}".strip()


@dataclass
class CanonContext:
    episode: int
    budget: int
    sections: dict[str, list[str]] = field(default_factory=dict)
    tokens: int = 0
    dropped: int = 0  # lines left out for the budget
    language: str = "en"

    def text(self) -> str:
        parts = []
        for key, lines in self.sections.items():
            if lines:
                title = _TITLES_ZH.get(key, key) if self.language == "zh" else key
                parts.append(f"## {title}\n" + "\n".join(f"- {ln}" for ln in lines))
        return "\n\n".join(parts)


async def abuild_context(ledger: Ledger, index: LoreIndex | None, *, episode: int, cast: Iterable[str], plan: str,
                         secrets: Iterable[str] = (), budget: int = 1200, k: int = 12,
                         language: str = "en") -> CanonContext:
    """`build_context` in worker threads, off the event loop (the lore retrieval, embedding the plan and the
    index's search, then the ledger's part): another task of the run (a parallel node's model call) goes on
    meanwhile. The same context, line for line."""
    hits = await index.aquery(plan, until_episode=episode - 1, k=k) if index is not None and plan.strip() else []
    return await asyncio.to_thread(build_context, ledger, index, episode=episode, cast=cast, plan=plan, secrets=secrets,
                                   budget=budget, k=k, language=language, hits=hits)


def build_context(ledger: Ledger, index: LoreIndex | None, *, episode: int, cast: Iterable[str], plan: str,
                  secrets: Iterable[str] = (), budget: int = 1200, k: int = 12,
                  language: str = "en", hits: list[Hit] | None = None) -> CanonContext:
    """Canon as of the end of `episode - 1` for drafting `episode`, in `language` ("zh" or "en"); `hits`: the
    index's answer for `plan`, when already asked (`abuild_context`)."""
    before = episode - 1
    lang = language if language in _WORDS else "en"
    w = _WORDS[lang]
    ctx = CanonContext(episode, budget, language=lang)
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
                add("Cast now", f"{who}: {attr} = {_value(f.value, lang)} ({w['since'].format(ep=f.episode)})"
                    if lang == "en" else f"{who}：{attr} = {_value(f.value, lang)}（{w['since'].format(ep=f.episode)}）")
        for (subj, attr), f in sorted(state.traits.items()):
            if subj == cid:
                add("Cast now", f"{who}: {attr} = {f.value} ({w['locked']})"
                    if lang == "en" else f"{who}：{attr} = {_value(f.value, lang)}（{w['locked']}）")
        for item, f in sorted(state.holder.items()):
            if f.subject == cid:
                held = w["holds"].format(who=who, what=names.get(item, item))
                add("Cast now", f"{held} ({w['since'].format(ep=f.episode)})" if lang == "en"
                    else f"{held}（{w['since'].format(ep=f.episode)}）")
    in_play = {ledger.resolve(s) for s in secrets} | {sec for (subj, sec) in state.knows if subj in cast_ids}
    for sec in sorted(in_play):
        knowers = sorted(f"{names.get(f.subject, f.subject)} ({w['ep'].format(ep=f.episode)})" if lang == "en"
                         else f"{names.get(f.subject, f.subject)}（{w['ep'].format(ep=f.episode)}）"
                         for f in state.who_knows(sec))
        add("Secrets in play", w["known_by"].format(what=names.get(sec, sec),
                                            who=w["sep"].join(knowers) if knowers else w["no_one"]))
    if index is not None and plan.strip():
        facts = {fact_id(f): f for f in ledger.facts(until_episode=before)} if lang == "zh" else {}
        for hit in hits if hits is not None else index.query(plan, until_episode=before, k=k):
            text = hit.text
            if lang == "zh":
                fact = facts.get(hit.id)
                text = fact_line(fact, names, lang) if fact is not None else _doc_zh(hit.kind, text)
            add("Relevant canon", f"{w['tag'].format(ep=hit.episode)} {text}")
    return ctx
