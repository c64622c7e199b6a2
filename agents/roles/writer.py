"""The writer: drafts an episode from its arc row, the bible essentials, the last ending and canon.

The output schema is shaped by the runtime (how many scenes and elements a 90 s episode holds), which
guides real models and makes grammar-constrained servers and the sim return episodes of the right
length. Scene numbering, the episode number and cast lists are repaired deterministically.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model

from cliffhanger.agents.llm.client import StructuredModel
from cliffhanger.agents.prompts import render
from cliffhanger.agents.roles.continuity import script_text
from cliffhanger.agents.season.artifacts import ArcRow, Bible, EpisodeScript, Scene, SeasonSpec
from cliffhanger.genres.ids import is_id
from cliffhanger.genres.pack import GenrePack


def scene_guide(runtime_s: float) -> tuple[int, int, int, int]:
    """(min scenes, max scenes, min elements per scene, max elements per scene) for a runtime.

    A vertical episode runs about 20-30 s per scene and 3-4 s per action or line.
    """
    scenes_lo = max(1, round(runtime_s / 35))
    scenes_hi = max(scenes_lo, round(runtime_s / 18))
    total = runtime_s / 3.6
    per_lo = max(3, round(total / scenes_lo * 0.8))
    per_hi = max(per_lo + 2, round(total / scenes_lo * 1.3))
    return scenes_lo, scenes_hi, per_lo, per_hi


def guide_text(runtime_s: float, language: str) -> str:
    lo, hi, per_lo, per_hi = scene_guide(runtime_s)
    if language == "zh":
        return f"{lo}-{hi} 场，每场 {per_lo}-{per_hi} 条（△动作或台词），总时长约 {runtime_s:.0f} 秒"
    return f"{lo}-{hi} scenes of {per_lo}-{per_hi} elements (action lines or speeches) each, about {runtime_s:.0f} s"


def episode_schema(runtime_s: float) -> type[EpisodeScript]:
    """EpisodeScript with scene and element counts bounded for `runtime_s`."""
    lo, hi, per_lo, per_hi = scene_guide(runtime_s)
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


def bible_essentials(bible: Bible, cast: set[str] | None = None) -> str:
    people = [c for c in bible.characters if cast is None or c.id in cast] or list(bible.characters)
    lines = [f"Premise: {bible.premise}"]
    lines += [f"World rule: {r}" for r in bible.world_rules[:6]]
    lines += [f"{c.id} {c.name} ({c.role}, {c.age if c.age is not None else '?'}): wants {c.want}; voice: {c.voice}"
              for c in people[:8]]
    return "\n".join(lines)


def position(spec: SeasonSpec, pack: GenrePack, episode: int) -> str:
    act = pack.act_for(episode, spec.episodes)
    if spec.paywall.mode == "ad":
        money = "ad-supported: the ending must hook like every ending"
    elif spec.is_paywall_cliffhanger(episode):
        money = "the episode before a paywall point: its ending must make the viewer pay"
    elif spec.is_paywall(episode):
        money = "the first episode behind a paywall point: pay off what they paid for, then hook again"
    else:
        money = "free episode" if spec.is_free(episode) else "paid episode"
    return f"episode {episode} of {spec.episodes}; act '{act.name}' ({act.job}); {money}"


def _beats(pack: GenrePack, runtime_s: float) -> str:
    return "\n".join(f"- {b.role} {b.start_s:g}-{b.end_s:g} s: {b.description}" for b in pack.beats_for(runtime_s))


async def draft_episode(model: StructuredModel, *, spec: SeasonSpec, pack: GenrePack, bible: Bible, row: ArcRow,
                        canon: str, previous_ending: str, writer_notes: str = "") -> tuple[EpisodeScript, str]:
    cast = sorted({c.id for c in bible.characters})
    p = render(
        f"writer.draft_episode.{spec.language}", title=spec.title,
        genre_name=pack.names.zh if spec.language == "zh" else pack.names.en, episode=row.episode,
        episodes=spec.episodes, position=position(spec, pack, row.episode), arc_row=row.model_dump_json(),
        beats_timed=_beats(pack, spec.runtime_s), runtime_s=spec.runtime_s,
        scene_guide=guide_text(spec.runtime_s, spec.language), bible_essentials=bible_essentials(bible),
        canon=canon or "(nothing yet)", previous_ending=previous_ending or "(the season opens here)",
        writer_notes=writer_notes.strip() or "(none)",
        avoid=" / ".join(pack.avoid_list(spec.language)), cast=", ".join(cast),
    )
    script = await model.structured(episode_schema(spec.runtime_s), [("user", p.text)], episode=row.episode,
                                    prompt=p.ref, repair=lambda d: repair_script(d, row.episode))
    return EpisodeScript.model_validate(script.model_dump()), p.ref


async def revise_episode(model: StructuredModel, *, spec: SeasonSpec, pack: GenrePack, row: ArcRow,
                         canon: str, draft: EpisodeScript, notes: list[str]) -> tuple[EpisodeScript, str]:
    p = render(
        f"writer.revise_episode.{spec.language}", title=spec.title,
        genre_name=pack.names.zh if spec.language == "zh" else pack.names.en, episode=row.episode,
        position=position(spec, pack, row.episode), arc_row=row.model_dump_json(), runtime_s=spec.runtime_s,
        scene_guide=guide_text(spec.runtime_s, spec.language), canon=canon or "(nothing yet)",
        notes="\n".join(f"- {n}" for n in notes) or "- tighten and sharpen", draft=script_text(draft),
        avoid=" / ".join(pack.avoid_list(spec.language)),
    )
    script = await model.structured(episode_schema(spec.runtime_s), [("user", p.text)], episode=row.episode,
                                    prompt=p.ref, repair=lambda d: repair_script(d, row.episode))
    return EpisodeScript.model_validate(script.model_dump()), p.ref
