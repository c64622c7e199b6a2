"""The showrunner: bible, act plan, arc rows (in passes per act), and accept/revise decisions.

Model answers are complete JSON validated against the artifacts; what a schema cannot express
(renumbering, dangling ids, paywall flags, cliffhanger strength at the paywall) is repaired here,
deterministically, so the plan always agrees with the spec whatever the model wrote.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cliffhanger.agents.llm.client import StructuredModel
from cliffhanger.agents.prompts import Prompt, render
from cliffhanger.agents.season.artifacts import (
    ArcPlan,
    ArcRow,
    Bible,
    ContinuityReport,
    Critique,
    SeasonSpec,
    fit_look,
)
from cliffhanger.genres.pack import GenrePack

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


class ActOutline(BaseModel):
    """One act of the season."""

    model_config = ConfigDict(extra="forbid")

    act: int = Field(description="act number, from 1", ge=1, le=10)
    goal: str = Field(description="what the act achieves", max_length=400)
    turning_points: list[str] = Field(description="3-6 turning points in order", min_length=2, max_length=8)
    reveals: list[str] = Field(description="ids of secrets that surface in this act", max_length=10)
    ending: str = Field(description="how the act ends", max_length=300)


class SeasonOutline(BaseModel):
    """The season, act by act."""

    model_config = ConfigDict(extra="forbid")

    acts: list[ActOutline] = Field(description="one entry per act, in order", min_length=1, max_length=10)


class ActRows(BaseModel):
    """Beat-sheet rows for the episodes of one act."""

    model_config = ConfigDict(extra="forbid")

    rows: list[ArcRow] = Field(description="one row per episode of the act, in order")


class Decision(BaseModel):
    """The showrunner's call on a reviewed draft."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "revise"] = Field(description="accept the draft, or send it back")
    notes: list[str] = Field(description="concrete notes for the writer (empty when accepting)", max_length=8)


# ---- act ranges ---------------------------------------------------------------------------------

def act_ranges(pack: GenrePack, episodes: int) -> list[tuple[int, int]]:
    """(first, last) episode of each pack act for a season of `episodes` (acts never empty)."""
    numbers = pack.act_of_each_episode(episodes)
    ranges: dict[int, list[int]] = {}
    for ep, act in enumerate(numbers, start=1):
        ranges.setdefault(act, []).append(ep)
    return [(eps[0], eps[-1]) for _, eps in sorted(ranges.items())]


def paywall_summary(spec: SeasonSpec) -> str:
    p = spec.paywall
    if p.mode == "ad":
        return "ad-supported: every episode is free; every ending must hook"
    points = ", ".join(str(e) for e in p.paywall_episodes)
    return f"episodes 1-{p.free_episodes} free; paywall points at episodes {points}"


def genre_brief(pack: GenrePack) -> str:
    tropes = "; ".join(f"{t.name}: {t.how_it_plays}" for t in pack.tropes[:6])
    people = "; ".join(f"{a.name} ({a.role}): {a.description}" for a in pack.archetypes[:6])
    return f"{pack.description}\nTone: {pack.tone}\nAudience: {pack.audience}\nTropes: {tropes}\nArchetypes: {people}"


def _prompt(name: str, language: str, **values: object) -> Prompt:
    return render(f"{name}.{language}", **values)


# ---- bible ---------------------------------------------------------------------------------------

def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def repair_bible(data: Any) -> Any:
    """Drop dangling `known_by` ids and duplicate ids so a sound bible is not refused for bookkeeping, and
    shorten a look that would not fit a shot as one prompt (`fit_look`) rather than refuse the bible."""
    chars = data.get("characters") or []
    seen: set[str] = set()
    for group in ("characters", "locations", "secrets"):
        kept = []
        for item in data.get(group) or []:
            if isinstance(item, dict):
                if "id" in item:
                    item["id"] = _stripped(item["id"])  # ids are compared as the bible will hold them
                if item.get("id") not in seen:
                    seen.add(item.get("id"))
                    kept.append(item)
        data[group] = kept
    ids = {c.get("id") for c in chars if isinstance(c, dict)}
    for c in data["characters"]:
        if isinstance(c.get("visual"), dict):
            c["visual"] = fit_look(c["visual"])
    for s in data.get("secrets") or []:
        s["known_by"] = [k for k in (_stripped(k) for k in s.get("known_by") or []) if k in ids]
    return data


async def plan_bible(model: StructuredModel, spec: SeasonSpec, pack: GenrePack) -> tuple[Bible, str]:
    p = _prompt("showrunner.plan_bible", spec.language, title=spec.title, logline=spec.logline,
                genre_name=pack.names.zh if spec.language == "zh" else pack.names.en, genre_brief=genre_brief(pack),
                episodes=spec.episodes, runtime_s=spec.runtime_s, paywall_summary=paywall_summary(spec))
    bible = await model.structured(Bible, [("user", p.text)], prompt=p.ref, repair=repair_bible)
    return bible, p.ref


def _characters(bible: Bible) -> str:
    return "\n".join(f"- {c.id} {c.name} ({c.role}): {c.want}" for c in bible.characters)


def _secrets(bible: Bible) -> str:
    return "\n".join(f"- {s.id}: {s.description} (known by {', '.join(s.known_by) or 'no one'}; "
                     f"reveal ep {s.planned_reveal_episode or '-'})" for s in bible.secrets) or "(none)"


async def plan_acts(model: StructuredModel, spec: SeasonSpec, pack: GenrePack, bible: Bible) -> tuple[SeasonOutline, str]:
    ranges = act_ranges(pack, spec.episodes)
    acts = "\n".join(f"- act {i}: episodes {a}-{b}: {pack.acts[i - 1].name}: {pack.acts[i - 1].job}"
                     for i, (a, b) in enumerate(ranges, start=1))
    p = _prompt("showrunner.plan_acts", spec.language, title=spec.title, logline=spec.logline, premise=bible.premise,
                characters=_characters(bible), secrets=_secrets(bible), acts=acts, episodes=spec.episodes,
                paywall_summary=paywall_summary(spec))

    def repair(data: Any) -> Any:
        got = {a.get("act"): a for a in data.get("acts") or [] if isinstance(a, dict)}
        template = next(iter(got.values()), None)
        out = []
        for i in range(1, len(ranges) + 1):
            act = dict(got.get(i) or template or {})
            act["act"] = i
            out.append(act)
        data["acts"] = out
        return data

    outline = await model.structured(SeasonOutline, [("user", p.text)], prompt=p.ref, repair=repair)
    return outline, p.ref


def _marker(spec: SeasonSpec, ep: int) -> str:
    if spec.paywall.mode == "ad":
        return "ad"
    if spec.is_paywall_cliffhanger(ep):
        return "LAST FREE BEFORE PAYWALL" if spec.is_free(ep) else "BEFORE PAYWALL"
    if spec.is_paywall(ep):
        return "PAYWALL"
    return "free" if spec.is_free(ep) else "paid"


def must_be_strong(spec: SeasonSpec, ep: int) -> bool:
    """Episodes whose ending must make people pay: before a paywall point, and the paywall episode itself."""
    return spec.paywall.mode == "paywall" and (spec.is_paywall_cliffhanger(ep) or spec.is_paywall(ep))


async def plan_act_rows(model: StructuredModel, spec: SeasonSpec, pack: GenrePack, bible: Bible,
                        outline: SeasonOutline, act: int, previous_rows: list[ArcRow]) -> tuple[list[ArcRow], str]:
    first, last = act_ranges(pack, spec.episodes)[act - 1]
    count = last - first + 1
    plan = outline.acts[act - 1]
    due = [s for s in bible.secrets if s.planned_reveal_episode and first <= s.planned_reveal_episode <= last]
    p = _prompt(
        "showrunner.plan_act_rows", spec.language, title=spec.title, act_number=act, act_name=pack.acts[act - 1].name,
        act_goal=f"{plan.goal} Turning points: {'; '.join(plan.turning_points)}. Ends: {plan.ending}",
        first=first, last=last,
        episode_list="\n".join(f"- {ep}: {_marker(spec, ep)}" for ep in range(first, last + 1)),
        cliffhanger_kinds="\n".join(f"- {k.id} ({'paywall' if k.paywall else 'ordinary'}, strength {k.strength}): "
                                    f"{k.description}" for k in pack.cliffhanger_kinds),
        payoff_kinds="\n".join(f"- {k.id}: {k.description}" for k in pack.payoff_kinds),
        beats="\n".join(f"- {b.role} {b.start_s:g}-{b.end_s:g} s: {b.description}" for b in pack.beats_for(spec.runtime_s)),
        characters=_characters(bible),
        secrets_due="\n".join(f"- {s.id}: reveal in episode {s.planned_reveal_episode}" for s in due) or "(none)",
        previous_rows=json.dumps([r.model_dump(mode="json") for r in previous_rows[-2:]], ensure_ascii=False) or "[]",
    )
    schema = _rows_schema(count)
    out = await model.structured(schema, [("user", p.text)], prompt=p.ref,
                                 repair=lambda d: _repair_rows(d, spec, pack, bible, act, first, last))
    return list(out.rows), p.ref


def _rows_schema(count: int) -> type[ActRows]:
    from pydantic import create_model

    return create_model(  # exactly `count` rows: the sim and grammar-based servers honour the bounds
        "ActRows", __base__=ActRows,
        rows=(list[ArcRow], Field(description="one row per episode of the act, in order", min_length=count,
                                  max_length=count)),
    )


def _repair_rows(data: Any, spec: SeasonSpec, pack: GenrePack, bible: Bible, act: int, first: int,
                 last: int) -> Any:
    rows = [r for r in data.get("rows") or [] if isinstance(r, dict)]
    while rows and len(rows) < last - first + 1:
        rows.append(dict(rows[-1]))
    rows = rows[: last - first + 1]
    secret_ids = {s.id for s in bible.secrets}
    due = {s.planned_reveal_episode: s.id for s in bible.secrets if s.planned_reveal_episode}
    strong = pack.paywall_kinds()
    known_kinds = {k.id for k in pack.cliffhanger_kinds}
    for i, row in enumerate(rows):
        ep = first + i
        row["episode"], row["act"], row["paywall"] = ep, act, spec.is_paywall(ep)
        reveals = [r for r in row.get("reveals") or [] if r in secret_ids]
        if ep in due and due[ep] not in reveals:
            reveals.append(due[ep])
        row["reveals"] = reveals
        cliff = dict(row.get("cliffhanger") or {})
        if cliff.get("kind") not in known_kinds:
            cliff["kind"] = pack.ordinary_kinds()[i % len(pack.ordinary_kinds())].id
        if must_be_strong(spec, ep):
            if cliff["kind"] not in {k.id for k in strong}:
                cliff["kind"] = strong[i % len(strong)].id
            cliff["strength"] = max(int(cliff.get("strength") or 0), 5 if spec.is_paywall_cliffhanger(ep) else 4)
        row["cliffhanger"] = cliff
    data["rows"] = rows
    return data


def assemble_arc(spec: SeasonSpec, pack: GenrePack, rows: list[ArcRow]) -> ArcPlan:
    """The season's arc from the act passes. Two episodes in a row never end on the same kind of
    cliffhanger (the act passes cannot see each other's edges): the later one takes another kind of
    the same class (paywall-strength or ordinary)."""
    ordered = sorted(rows, key=lambda r: r.episode)
    out: list[ArcRow] = []
    for row in ordered:
        if out and out[-1].cliffhanger.kind == row.cliffhanger.kind:
            same_class = pack.paywall_kinds() if must_be_strong(spec, row.episode) else pack.ordinary_kinds()
            choices = [k.id for k in same_class if k.id != row.cliffhanger.kind] or [row.cliffhanger.kind]
            cliff = row.cliffhanger.model_copy(update={"kind": choices[row.episode % len(choices)]})
            row = row.model_copy(update={"cliffhanger": cliff})
        out.append(row)
    return ArcPlan(rows=tuple(out))


# ---- decisions ---------------------------------------------------------------------------------

def decision_rules(critique: Critique | None, continuity: ContinuityReport, runtime_s: float, target_s: float,
                   pack: GenrePack, threshold: float) -> list[str]:
    """Reasons a draft cannot be accepted yet, from rules alone (empty: it may be accepted)."""
    reasons = [f"continuity: {f.explanation} (script: {f.script_quote})" for f in continuity.errors()]
    if abs(runtime_s - target_s) > 0.15 * target_s:
        reasons.append(f"runtime: estimated {runtime_s:.0f} s against a target of {target_s:.0f} s "
                       f"({'cut' if runtime_s > target_s else 'add'} material)")
    score = critique.overall(pack.rubric_weights) if critique is not None else threshold
    if score < threshold:
        reasons.append(f"critic: overall {score:.1f} is below {threshold:.1f}")
    return reasons


async def decide(model: StructuredModel, *, episode: int, revision: int, max_revisions: int, row: ArcRow,
                 critique: Critique | None, continuity: ContinuityReport, reasons: list[str]) -> tuple[Decision, str]:
    p = render("showrunner.decide", episode=episode, revision=revision, max_revisions=max_revisions,
               arc_row=row.model_dump_json(),
               critique=critique.model_dump_json() if critique else "(no critic in this run: judge the draft yourself)",
               continuity=continuity.model_dump_json(), runtime_note="; ".join(reasons) or "on target")
    decision = await model.structured(Decision, [("user", p.text)], episode=episode, prompt=p.ref)
    return decision, p.ref
