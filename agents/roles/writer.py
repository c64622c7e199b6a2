"""The writer: drafts an episode from its arc row, the bible essentials, the last ending and canon.

The output schema is shaped by the runtime (how many scenes and elements a 90 s episode holds), which
guides real models and makes grammar-constrained servers and the sim return episodes of the right
length. Scene numbering, the episode number and cast lists are repaired deterministically.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import Field, create_model

from cliffhanger.agents.llm.client import StructuredModel
from cliffhanger.agents.prompts import render
from cliffhanger.agents.roles import writer_context as wc
from cliffhanger.agents.roles.continuity import script_text
from cliffhanger.agents.roles.showrunner import act_ranges
from cliffhanger.agents.roles.writer_context import WriterContext, bible_essentials, walk_ons_text
from cliffhanger.agents.season.artifacts import ArcRow, Bible, EpisodeScript, Language, Scene, SeasonSpec
from cliffhanger.agents.season.runtime import guide_text as guide_text  # re-exported for evals/baseline.py
from cliffhanger.agents.season.runtime import (
    scene_guide as scene_guide,  # re-exported for evals/text_stats.py
)
from cliffhanger.genres.ids import is_id
from cliffhanger.genres.pack import GenrePack


@functools.lru_cache(maxsize=32)
def episode_schema(runtime_s: float, language: Language = "zh") -> type[EpisodeScript]:
    """EpisodeScript with scene and element counts bounded by `scene_guide(runtime_s, language)`; one class
    per (runtime, language) for the process (building a model class costs milliseconds, and the client keeps
    its structured-output runnable per schema class)."""
    lo, hi, per_lo, per_hi = scene_guide(runtime_s, language)
    element = Scene.model_fields["elements"].annotation
    sized_scene = create_model(
        "Scene", __base__=Scene,
        elements=(element, Field(description="Action and dialogue in screen order.", min_length=per_lo,
                                 max_length=per_hi)),
    )
    return create_model(
        "EpisodeScript", __base__=EpisodeScript,
        scenes=(tuple[sized_scene, ...], Field(description="Scenes in order.", min_length=lo, max_length=hi)),
    )


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def repair_script(data: Any, episode: int) -> Any:
    """Episode number, scene numbering 1..N, and every on-screen speaker in the scene's cast.

    Ids are compared as the script will hold them (stripped, then the one id rule of genres/ids.py), so
    a cast entry or speaker with a stray newline is the same id, and a cast entry that is no id is dropped.
    """
    data["episode"] = episode
    for n, scene in enumerate(data.get("scenes") or [], start=1):
        scene["number"] = n
        cast: list[str] = []
        for c in (_stripped(c) for c in scene.get("cast") or []):
            if is_id(c) and c not in cast:
                cast.append(c)
        for el in scene.get("elements") or []:
            if el.get("type") not in ("action", "dialogue"):  # the tag has a default, so models omit it
                el["type"] = "dialogue" if "line" in el or "speaker" in el else "action"
            if el.get("type") == "dialogue" and not el.get("delivery"):
                speaker = _stripped(el.get("speaker"))
                if is_id(speaker) and speaker not in cast:
                    cast.append(speaker)
        scene["cast"] = cast[:20]
    return data


# What each place in the money plan asks of an episode (kinds of SeasonSpec.episode_kind), in both languages.
_MONEY: dict[str, dict[str, str]] = {
    "zh": {
        "ad": "每一集的结尾都要留钩子",
        "free": "快速立住主角的委屈和底牌，每集都要让人想看下一集",
        "cut": "结尾卡在观众必须付费才能看下去的那一帧（用能卡付费的强悬念类型，强度5），是全季到此最狠的结尾，不要自己解开",
        "first_paid": "开头三秒兑现上一集卡点集的悬念，中段给到此最大的爽点，结尾再狠一步，让下一次解锁也卖得动",
        "paid": "单独的一次解锁：用爽点和有拉力的结尾挣到它",
    },
    "en": {
        "ad": "every ending must hook like every other",
        "free": "make us ache for the lead and glimpse her hidden card fast; every ending pulls into the next",
        "cut": "its ending is where the viewer must pay (a paywall kind, strength 5): the strongest ending so far, "
               "never resolved here",
        "first_paid": "pay the cut off in the first three seconds, land the biggest payoff yet in the middle, and end "
                      "harder so the next unlock sells",
        "paid": "its own unlock: earn it with a payoff and an ending that pulls",
    },
}


def position(spec: SeasonSpec, pack: GenrePack, episode: int) -> str:
    """Where the episode sits, in the script language: its act and its place in the money plan in the
    trade's words (卡点集 / "last free episode", 付费首集 / "first paid episode", ...) with what that
    place asks of it; the first cut also carries the genre pack's expectation of it."""
    number = next((n for n, (a, b) in enumerate(act_ranges(pack, spec), start=1) if a <= episode <= b),
                  len(pack.acts))
    act = pack.acts[min(number, len(pack.acts)) - 1]
    kind = spec.episode_kind(episode)
    label = spec.episode_label(episode, spec.language)
    money = _MONEY[spec.language][kind]
    points = spec.paywall.paywall_episodes
    if kind == "cut" and points and episode == points[0] - 1:
        money += f"（{pack.paywall.first_paywall}）" if spec.language == "zh" else f" ({pack.paywall.first_paywall})"
    if spec.language == "zh":
        return f"第{episode}集，共{spec.episodes}集；第{number}幕“{act.name}”（{act.job}）；{label}：{money}"
    return f"episode {episode} of {spec.episodes}; act {number} '{act.name}' ({act.job}); {label}: {money}"


def _common(spec: SeasonSpec, pack: GenrePack, bible: Bible | None, row: ArcRow, canon: str) -> dict[str, object]:
    """The variables the draft and revise prompts share, in the season's language."""
    lang = spec.language
    return dict(
        title=spec.title, genre_name=pack.names.zh if lang == "zh" else pack.names.en, episode=row.episode,
        position=position(spec, pack, row.episode), arc_row=wc.row_text(row, pack, bible, lang),
        runtime_s=spec.runtime_s, scene_guide=guide_text(spec.runtime_s, lang), canon=canon or wc.empty(lang, "canon"),
        avoid=" / ".join(pack.avoid_list(lang)), moves=pack.writer_rules(lang), walk_ons=walk_ons_text(row, lang),
        lift_by=wc.push_down_text(pack, spec.runtime_s, lang), inner_voice_max=wc.inner_voice_max(pack),
    )


async def draft_episode(model: StructuredModel, *, spec: SeasonSpec, pack: GenrePack, bible: Bible, row: ArcRow,
                        canon: str, previous_ending: str, writer_notes: str = "",
                        context: WriterContext | None = None) -> tuple[EpisodeScript, str]:
    """Draft an episode from its row, the bible, canon and the season around it (`context`: the previous
    episode's last scene, the last loglines, the next opening, wardrobe as of now)."""
    lang, around = spec.language, context or WriterContext()
    cast = sorted({c.id for c in bible.characters})
    p = render(
        f"writer.draft_episode.{lang}", **_common(spec, pack, bible, row, canon), episodes=spec.episodes,
        beats_timed=wc.beats_text(pack, spec.runtime_s, lang), bible_essentials=bible_essentials(bible, language=lang),
        previous_ending=previous_ending or wc.empty(lang, "opening"),
        previous_scene=wc.previous_scene_text(around.previous, bible, lang),
        recent_loglines=wc.loglines_text(around.recent_rows, lang),
        next_opening=wc.next_opening_text(around.next_row, lang), tone=wc.tone_text(spec, pack),
        example=wc.example_text(spec, pack, row.episode), locations=wc.locations_text(bible, lang),
        wardrobe=wc.wardrobe_text(bible, around.state, lang), address=wc.address_text(bible, lang),
        writer_notes=writer_notes.strip() or wc.empty(lang, "notes"), cast=", ".join(cast),
    )
    script = await model.structured(episode_schema(spec.runtime_s, spec.language), [("user", p.text)], episode=row.episode,
                                    prompt=p.ref, repair=lambda d: repair_script(d, row.episode))
    return EpisodeScript.model_validate(script.model_dump()), p.ref


async def revise_episode(model: StructuredModel, *, spec: SeasonSpec, pack: GenrePack, row: ArcRow,
                         canon: str, draft: EpisodeScript, notes: list[str],
                         bible: Bible | None = None) -> tuple[EpisodeScript, str]:
    p = render(
        f"writer.revise_episode.{spec.language}", **_common(spec, pack, bible, row, canon),
        notes="\n".join(f"- {n}" for n in notes) or ("- 收紧、改狠" if spec.language == "zh" else "- tighten and sharpen"),
        draft=script_text(draft, spec.language),
    )
    script = await model.structured(episode_schema(spec.runtime_s, spec.language), [("user", p.text)], episode=row.episode,
                                    prompt=p.ref, repair=lambda d: repair_script(d, row.episode))
    return EpisodeScript.model_validate(script.model_dump()), p.ref
