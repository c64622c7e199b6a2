"""The showrunner: bible, act plan, arc rows (one act at a time, in order), and accept/revise decisions.

Model answers are complete JSON validated against the artifacts; what a schema cannot express
(renumbering, dangling ids, paywall flags, cliffhanger strength at the paywall, the bible's schedule) is
repaired deterministically (`bible_plan.repair_bible`, `arc_rows.repair_rows`), so the plan always agrees
with the spec whatever the model wrote; the assembled arc is then audited and repaired by the arc rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cliffhanger.agents.llm.client import StructuredModel
from cliffhanger.agents.prompts import Prompt, render
from cliffhanger.agents.roles import arc_digest, plan_text
from cliffhanger.agents.roles.arc_rows import ActRows as ActRows  # the schema of plan/act_N.json, re-exported
from cliffhanger.agents.roles.arc_rows import repair_rows, rows_schema
from cliffhanger.agents.roles.bible_plan import bible_size, repair_bible
from cliffhanger.agents.roles.compliance import compliance_reasons
from cliffhanger.agents.roles.plan_text import genre_brief as genre_brief  # re-exported
from cliffhanger.agents.roles.review_context import Floor, script_for_decision
from cliffhanger.agents.roles.tics import tic_note
from cliffhanger.agents.season.artifacts import (
    ArcPlan,
    ArcRow,
    Bible,
    ContinuityReport,
    Critique,
    EpisodeScript,
    SeasonSpec,
    asked_for,
)
from cliffhanger.agents.season.runtime import RUNTIME_TOLERANCE, scene_guide
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


class Decision(BaseModel):
    """The showrunner's call on a reviewed draft: the notes passed on to the writer, and the critic's
    must-fix items dropped."""

    # `notes` are the only notes of the critic's and the showrunner's that reach the writer (with the rules'
    # reasons). `dropped` is None only in a decision written before the showrunner chose among the critic's
    # notes; such a decision relays every must-fix item, as it did when it was made.
    model_config = ConfigDict(extra="forbid", json_schema_extra=asked_for("dropped"))

    decision: Literal["accept", "revise"] = Field(description="accept the draft, or send it back")
    notes: list[str] = Field(description="the notes the writer gets: the critic's must-fix items you agree with "
                                         "(sharpened if need be) and your own; empty when accepting", max_length=8)
    dropped: list[str] | None = Field(None, description="the critic's must-fix items you do not pass on, each with "
                                                        "why in a few words; empty when you pass them all on",
                                      max_length=10)


# ---- act ranges ---------------------------------------------------------------------------------

def act_ranges(pack: GenrePack, spec: SeasonSpec) -> list[tuple[int, int]]:
    """(first, last) episode of each act: the pack's split of the season, with act 1 ending on the first
    cut in paywall mode (the 卡点集, the episode before the first paywall point) and the next act starting
    after it. Acts are never empty; a season shorter than the pack's acts has fewer acts."""
    numbers = pack.act_of_each_episode(spec.episodes)
    grouped: dict[int, list[int]] = {}
    for ep, act in enumerate(numbers, start=1):
        grouped.setdefault(act, []).append(ep)
    ranges = [[eps[0], eps[-1]] for _, eps in sorted(grouped.items())]
    points = spec.paywall.paywall_episodes if spec.paywall.mode == "paywall" else ()
    if len(ranges) > 1 and points and points[0] > 1:
        # act 1 ends on the cut, leaving at least one episode for every later act
        ranges[0][1] = min(points[0] - 1, spec.episodes - (len(ranges) - 1))
        for prev, cur in zip(ranges, ranges[1:], strict=False):
            cur[0] = prev[1] + 1
            cur[1] = max(cur[1], cur[0])
        for i in range(len(ranges) - 1, 0, -1):  # pull back what a moved boundary pushed past the end
            ranges[i][1] = min(ranges[i][1], spec.episodes - (len(ranges) - 1 - i))
            ranges[i][0] = min(ranges[i][0], ranges[i][1])
            ranges[i - 1][1] = ranges[i][0] - 1
    return [(a, b) for a, b in ranges]


def paywall_summary(spec: SeasonSpec) -> str:
    """The money plan in the trade's words (see `SeasonSpec.episode_label`), in the script language."""
    p = spec.paywall
    zh = spec.language == "zh"
    if p.mode == "ad":
        return "广告版：每集免费，每集结尾都要留钩子" if zh else "ad-supported: every episode is free; every ending must hook"
    cuts = [e - 1 for e in p.paywall_episodes if e > 1]

    def eps(values: list[int]) -> str:
        return ("、" if zh else ", ").join(str(e) for e in values) or "-"

    first, later = p.paywall_episodes[0], list(p.paywall_episodes[1:])
    if zh:
        return (f"第1-{p.free_episodes}集免费；卡点集（结尾卡住、让观众付费的那一集）：第{eps(cuts)}集；"
                f"付费首集：第{first}集（开头兑现卡点）" + (f"；之后的解锁点：第{eps(later)}集" if later else ""))
    return (f"episodes 1-{p.free_episodes} free; the cut (the episode that ends where the viewer must pay): "
            f"episode(s) {eps(cuts)}; first paid episode: {first} (pays the cut off in its opening)"
            + (f"; later unlock points at episodes {eps(later)}" if later else ""))


def _prompt(name: str, language: str, **values: object) -> Prompt:
    return render(f"{name}.{language}", **values)


# ---- bible ---------------------------------------------------------------------------------------

async def plan_bible(model: StructuredModel, spec: SeasonSpec, pack: GenrePack) -> tuple[Bible, str]:
    acts = len(act_ranges(pack, spec))
    size = bible_size(spec.episodes, acts)
    lang = spec.language
    p = _prompt("showrunner.plan_bible", lang, title=spec.title, logline=spec.logline,
                genre_name=pack.names.zh if lang == "zh" else pack.names.en, genre_brief=genre_brief(pack, lang),
                episodes=spec.episodes, runtime_s=spec.runtime_s, paywall_summary=paywall_summary(spec),
                characters_range="{}-{}".format(*size.characters), secrets_range="{}-{}".format(*size.secrets),
                locations_range="{}-{}".format(*size.locations), antagonists_count=size.antagonists,
                cards_count=size.cards, plants_count=size.plants, acts_count=acts)
    bible = await model.structured(Bible, [("user", p.text)], prompt=p.ref,
                                   repair=lambda d: repair_bible(d, spec.episodes))
    return bible, p.ref


async def plan_acts(model: StructuredModel, spec: SeasonSpec, pack: GenrePack, bible: Bible) -> tuple[SeasonOutline, str]:
    ranges = act_ranges(pack, spec)
    lang = spec.language
    p = _prompt("showrunner.plan_acts", lang, title=spec.title, logline=spec.logline, premise=bible.premise,
                characters=plan_text.characters(bible, lang), secrets=plan_text.secrets(bible, lang),
                acts=plan_text.acts_list(pack, ranges, lang), episodes=spec.episodes,
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


# ---- arc rows ------------------------------------------------------------------------------------

def _marker(spec: SeasonSpec, ep: int) -> str:
    """The episode's place in the money plan, in the trade's words (卡点集 / last free episode, ...)."""
    return spec.episode_label(ep, spec.language)


async def plan_act_rows(model: StructuredModel, spec: SeasonSpec, pack: GenrePack, bible: Bible,
                        outline: SeasonOutline, act: int, previous_rows: list[ArcRow]) -> tuple[list[ArcRow], str]:
    """Act `act`'s rows, planned with the digest of every earlier row (`previous_rows`, acts 1..act-1)."""
    ranges = act_ranges(pack, spec)
    first, last = ranges[act - 1]
    lang = spec.language
    p = _prompt(
        "showrunner.plan_act_rows", lang, title=spec.title, act_number=act, act_name=pack.acts[act - 1].name,
        act_goal=plan_text.act_goal(outline.acts[act - 1], lang), first=first, last=last,
        acts_to_come=plan_text.acts_to_come(pack, outline.acts, ranges, act, lang),
        episode_list="\n".join(f"- {ep}: {_marker(spec, ep)}" for ep in range(first, last + 1)),
        first_cut=plan_text.first_cut(spec, pack, first, last, lang),
        cliffhanger_kinds=plan_text.cliffhanger_kinds(pack, lang), payoff_kinds=plan_text.payoff_kinds(pack, lang),
        beats=plan_text.beats(pack, spec.runtime_s, lang), scenes=_scene_range(spec),
        characters=plan_text.characters(bible, lang), ladder=arc_digest.ladder(bible, act, lang),
        cards=arc_digest.cards_text(bible, lang), due=arc_digest.due_in_act(bible, first, last, lang),
        digest=arc_digest.earlier_rows_digest(previous_rows, act, bible, lang),
    )
    out = await model.structured(rows_schema(last - first + 1, pack, bible), [("user", p.text)], prompt=p.ref,
                                 repair=lambda d: repair_rows(d, spec, pack, bible, act, first, last, previous_rows))
    return [ArcRow.model_validate(r.model_dump(mode="json")) for r in out.rows], p.ref


def assemble_arc(spec: SeasonSpec, pack: GenrePack, rows: list[ArcRow]) -> ArcPlan:
    """The season's arc from the acts' rows, in episode order. The arc rules (`arc_repair.repair_arc`) run
    on it next: they keep endings, payoffs, reveals, plants and the ladder in order across the acts."""
    return ArcPlan(rows=tuple(sorted(rows, key=lambda r: r.episode)))


# ---- decisions ---------------------------------------------------------------------------------

def _scene_range(spec: SeasonSpec) -> str:
    guide = scene_guide(spec.runtime_s, spec.language)
    return f"{guide.scenes_lo}-{guide.scenes_hi}"


def decision_rules(critique: Critique | None, continuity: ContinuityReport, runtime_s: float, target_s: float,
                   pack: GenrePack, threshold: float, *, script: EpisodeScript | None = None,
                   language: Literal["zh", "en"] = "en", floors: Sequence[Floor] = ()) -> list[str]:
    """Reasons a draft cannot be accepted yet, from rules alone (empty: it may be accepted). With the
    `script`, the genre's content-review patterns are checked (`compliance.compliance_reasons`) and its AI-prose
    tics counted (`tics.tic_note`); each of the `floors`
    (`review_context.score_floors`) the critic's score falls under is a reason whatever the mean."""
    zh = language == "zh"
    reasons = [(f"连续性：{f.explanation}（剧本原文：{f.script_quote}）" if zh else
                f"continuity: {f.explanation} (script: {f.script_quote})") for f in continuity.errors()]
    if script is not None:
        reasons += compliance_reasons(script, pack, language)
        if note := tic_note(script, pack, language):
            reasons.append(note)
    if abs(runtime_s - target_s) > RUNTIME_TOLERANCE * target_s:
        over = runtime_s > target_s
        reasons.append(f"时长：估算 {runtime_s:.0f} 秒，目标 {target_s:.0f} 秒（{'删减' if over else '补充'}内容）" if zh else
                       f"runtime: estimated {runtime_s:.0f} s against a target of {target_s:.0f} s "
                       f"({'cut' if over else 'add'} material)")
    score = critique.overall(pack.rubric_weights) if critique is not None else threshold
    if score < threshold:
        reasons.append(f"评审：总分 {score:.1f} 低于 {threshold:.1f}" if zh else
                       f"critic: overall {score:.1f} is below {threshold:.1f}")
    scores = critique.scores() if critique is not None else {}
    for f in floors:
        if f.criterion in scores and scores[f.criterion] < f.minimum:
            reason = getattr(critique, f.criterion).reason
            reasons.append(f"评审：{f.criterion} {scores[f.criterion]} 分，低于{f.why_zh or f.why}的底线 {f.minimum}（{reason}）"
                           if zh else f"critic: {f.criterion} {scores[f.criterion]} is below its floor of {f.minimum} "
                           f"on {f.why} ({reason})")
    return reasons


async def decide(model: StructuredModel, *, episode: int, revision: int, max_revisions: int, row: ArcRow,
                 critique: Critique | None, continuity: ContinuityReport, reasons: list[str],
                 script: EpisodeScript) -> tuple[Decision, str]:
    """Accept or revise, reading the script (or, over budget, the scenes the notes cite and the ending);
    the notes it keeps are the critic's it agrees with and its own (`Decision.notes`)."""
    must_fix = list(critique.must_fix) if critique else []
    p = render("showrunner.decide", episode=episode, revision=revision, max_revisions=max_revisions,
               arc_row=row.model_dump_json(),
               critique=critique.model_dump_json() if critique else "(no critic in this run: judge the draft yourself)",
               must_fix="\n".join(f"{n}. {m}" for n, m in enumerate(must_fix, start=1)) or "(none)",
               continuity=continuity.model_dump_json(), runtime_note="; ".join(reasons) or "on target",
               script=script_for_decision(script, [*must_fix, *reasons]))
    decision = await model.structured(Decision, [("user", p.text)], episode=episode, prompt=p.ref)
    return decision, p.ref
