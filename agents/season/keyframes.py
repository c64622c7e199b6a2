"""Keyframes: one still per camera set-up of a scene, for the clips that open on it.

A scene's first shot has no earlier clip to start from, and a cut to another set-up must not start on the
last frame of a clip framed differently. Both start on their set-up's keyframe (`Shot.setup_id`): a
text-to-image prompt framed like the set-up's first shot, in the shot's aspect ratio (9:16), with the
looks as of the episode: each character's look from the `LookBook` (canon applied), the location's
locked `Location.visual`. A shot that continues the set-up of the shot before keeps the chained last
frame ('EEE-SS-NN:last', `first_frame_ref`); a first frame the user set (any other value) is kept. A
set-up the scene comes back to (shot, reverse shot, shot) opens on the same keyframe again.

Ids: a keyframe is 'kf-' + its setup id; assets.toml maps it (and reference sheet ids, `references`) to the
user's image (`assets`). Location looks reach every video prompt through `with_setting`, applied when
jobs are exported, so a season planned before keyframes gets them without re-planning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import Field

from cliffhanger.agents.season.artifacts import Artifact, AspectRatio, Bible, Episode, Id, Location
from cliffhanger.agents.season.looks import LookBook, sheet_id
from cliffhanger.agents.season.shotlist import Shot, ShotList

CHAINED = re.compile(r"^\d{3}-\d{2}-\d{2}:last$")  # the last frame of an earlier clip (`first_frame_ref`)
KEYFRAME_NEGATIVE = ("text", "captions", "watermark", "logo", "extra fingers", "distorted face", "different face",
                     "horizontal frame", "letterbox")
SETTING_LIMIT = 2000  # Shot.prompt's bound: a prompt with the setting added still fits a shot
_SIZES = {"extreme_wide": "extreme wide shot", "wide": "wide shot", "full": "full shot", "medium": "medium shot",
          "medium_close": "medium close-up", "close_up": "close-up", "extreme_close_up": "extreme close-up",
          "insert": "insert shot", "over_the_shoulder": "over-the-shoulder shot", "pov": "point-of-view shot",
          "two_shot": "two-shot"}
_ANGLES = {"eye_level": "eye-level", "birds_eye": "bird's-eye", "worms_eye": "worm's-eye", "dutch": "Dutch"}
PLACE_WORDS = {"INT": "interior", "EXT": "exterior", "INT/EXT": "interior and exterior"}


def keyframe_id(setup_id: str) -> str:
    return f"kf-{setup_id}"


@dataclass(frozen=True)
class Start:
    """What a clip starts on: `ref` is a keyframe id, an earlier clip's 'EEE-SS-NN:last' or the user's image;
    `keyframe` is the keyframe id when it starts on one."""

    ref: str
    keyframe: str | None


def starts(shot_list: ShotList) -> dict[str, Start]:
    """Shot id -> what its clip starts on (module docstring)."""
    out: dict[str, Start] = {}
    before: Shot | None = None
    for shot in shot_list.shots:
        ref = shot.first_frame_ref
        same_setup = before is not None and before.scene == shot.scene and before.setup_id == shot.setup_id
        if ref and not CHAINED.match(ref) or ref and same_setup:
            out[shot.shot_id] = Start(ref, None)
        else:
            kf = keyframe_id(shot.setup_id)
            out[shot.shot_id] = Start(kf, kf)
        before = shot
    return out


def find_location(bible: Bible, name: str) -> Location | None:
    """The bible location a shot or scene names, by id or (case and spacing aside) by name; None for a one-off place."""
    key = " ".join(name.lower().split())
    return next((loc for loc in bible.locations if loc.id == name), None) or next(
        (loc for loc in bible.locations if " ".join(loc.name.lower().split()) == key), None)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head, space, _ = text[:limit].rpartition(" ")
    return (head if space and len(head) > limit // 2 else text[:limit]).rstrip(" ,;")


def with_setting(prompt: str, shot: Shot, bible: Bible, limit: int = SETTING_LIMIT) -> str:
    """`prompt` with 'Setting: <the location's locked look>.' after the characters' descriptors (which come first
    in every shot prompt, so identity survives a cut to a target's limit), cut to `limit`; unchanged when the
    shot's place is not a bible location or the prompt already holds its look."""
    loc = find_location(bible, shot.location)
    if loc is None or loc.visual.rstrip(". ") in prompt:
        return prompt
    setting = f"Setting: {loc.visual.rstrip('. ')}."
    ends = [i + len(d) for c in shot.characters if (d := c.descriptor.rstrip(". ")) and (i := prompt.find(d)) >= 0]
    if not ends:
        return _cut(f"{setting} {prompt}", limit)
    at = prompt.find(".", max(ends))
    if at < 0:
        return _cut(f"{prompt.rstrip()}. {setting}", limit)
    return _cut(f"{prompt[:at + 1]} {setting} {prompt[at + 1:].lstrip()}".rstrip(), limit)


# ---- the keyframes of a season ----------------------------------------------------------------------------

class AssetRef(Artifact):
    """Someone or somewhere in a keyframe or a job, with the reference sheet of its look as of the episode and the
    image assets.toml (or, for a first look, the bible's `reference_image`) has for it."""

    id: Id = Field(description="Character or location id.")
    sheet: str | None = Field(description="Reference sheet id; null for a walk-on, who has one line of look and no sheet.")
    image: str | None = Field(description="The sheet's image (URL or file); null until assets.toml names one.")


class Keyframe(Artifact):
    """The opening still of a camera set-up: one text-to-image request."""

    id: str = Field(description="'kf-' + setup_id; the key in assets.toml.")
    episode: Episode
    scene: int = Field(ge=1, le=99)
    setup_id: str
    shots: tuple[str, ...] = Field(description="Every shot of the set-up, in screen order.")
    starts: tuple[str, ...] = Field(description="The shots whose clip starts on this still.")
    prompt: str
    negative_prompt: str
    aspect_ratio: AspectRatio
    characters: tuple[AssetRef, ...]
    location: AssetRef | None = Field(description="The bible location; null for a one-off place.")
    image: str | None = Field(description="The still, once assets.toml names it.")


def english_name(name: str, aliases: Iterable[str], id: str) -> str:
    """The name as an English prompt can carry it: the name when ascii, else the first ascii alias, else the id."""
    return next((n for n in (name, *aliases) if n.isascii()), id.replace("_", " ").title())


def character_refs(shot: Shot, looks: LookBook, assets: Mapping[str, str]) -> tuple[AssetRef, ...]:
    """The shot's characters with the sheet of their look as of the shot's episode; a first look with no image in
    assets.toml falls back to the bible's reference_image (which shows the bible's look)."""
    refs = []
    for c in shot.characters:
        v = looks.version(c.id, shot.episode)
        sheet = v.sheet_id if v else None
        image = assets.get(sheet) if sheet else None
        if image is None and v is not None and v.version == 1:
            image = v.character.reference_image
        refs.append(AssetRef(id=c.id, sheet=sheet, image=image))
    return tuple(refs)


def location_ref(shot: Shot, bible: Bible, assets: Mapping[str, str]) -> AssetRef | None:
    loc = find_location(bible, shot.location)
    return None if loc is None else AssetRef(id=loc.id, sheet=sheet_id(loc.id), image=assets.get(sheet_id(loc.id)))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "。", "！", "？", "…")) else f"{text}."


def keyframe_prompt(shot: Shot, bible: Bible) -> str:
    """A text-to-image prompt for the opening frame of `shot`'s set-up, with `bible`'s looks (the episode's)."""
    angle = _ANGLES.get(shot.angle, shot.angle.replace("_", " "))
    parts = [f"Vertical {shot.aspect_ratio} cinematic still, the opening frame of a shot: "
             f"{_SIZES.get(shot.shot_size, shot.shot_size)}, {angle} angle, {shot.lens} lens."]
    cast = {c.id: c for c in bible.characters}
    for c in shot.characters:
        who = cast.get(c.id)
        name = english_name(who.name, who.aliases, who.id) if who else c.id.replace("_", " ")
        parts.append(f"{name}: {(who.visual.as_prompt() if who else c.descriptor).rstrip('. ')}.")
    loc = find_location(bible, shot.location)
    place = f"{loc.visual.rstrip('. ')} ({PLACE_WORDS[loc.int_ext]})" if loc else shot.location
    parts.append(f"Setting: {place}, {shot.time_of_day}.")
    parts.append(_sentence(f"Moment: {shot.action.removesuffix(' (continued)')}"))
    parts.append("Photorealistic, natural skin texture, every face exactly as described, no text on screen.")
    return " ".join(parts)


def _negative(shot: Shot) -> str:
    items = [*KEYFRAME_NEGATIVE, *(x.strip() for x in shot.negative_prompt.split(","))]
    seen: dict[str, str] = {}
    for x in items:
        if x:
            seen.setdefault(x.lower(), x)
    return ", ".join(seen.values())


def keyframes(shot_lists: Iterable[ShotList], looks: LookBook, assets: Mapping[str, str] | None = None) -> list[Keyframe]:
    """One keyframe per camera set-up of every scene, in screen order of the set-ups' first shots."""
    assets = assets or {}
    out = []
    for sl in shot_lists:
        bible = looks.bible(sl.episode)
        start = starts(sl)
        setups: dict[str, list[Shot]] = {}
        for shot in sl.shots:
            setups.setdefault(shot.setup_id, []).append(shot)
        for setup, shots in setups.items():
            first, kf = shots[0], keyframe_id(setup)
            out.append(Keyframe(
                id=kf, episode=sl.episode, scene=first.scene, setup_id=setup, shots=tuple(s.shot_id for s in shots),
                starts=tuple(s.shot_id for s in shots if start[s.shot_id].keyframe == kf),
                prompt=keyframe_prompt(first, bible), negative_prompt=_negative(first),
                aspect_ratio=first.aspect_ratio, characters=character_refs(first, looks, assets),
                location=location_ref(first, bible, assets), image=assets.get(kf)))
    return out
