"""Shot lists for AI video models (DESIGN.md section 8), one per episode.

Contracts: shots follow each other without gaps (shot N+1 starts where shot N ends, within
TIMING_EPSILON_S, the first at 0), shot ids are `EEE-SS-NN` and agree with the shot's episode and
scene, and dialogue fits inside its shot. Durations are meant to be one of the target model's clip
lengths (`CLIP_LENGTHS_S`); validation does not insist, so a model's raw answer parses and
`ShotList.retimed()` can snap it (`ShotList.for_target()` re-cuts a list planned for another target).
Shots of one scene framed alike share a camera set-up (`Shot.setup_id`, computed, never stored: shot lists
of any age have it), and a set-up shares one keyframe (`keyframes`).
Schema notes for OpenAI strict mode are in `artifacts`.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from cliffhanger.agents.season.artifacts import (
    MAX_EPISODES,
    Artifact,
    AspectRatio,
    Bible,
    Character,
    Episode,
    Id,
    Line,
    Name,
    RelPath,
    Text,
    TimeOfDay,
    WalkOn,
)

VideoTarget = Literal["kling", "runway", "sora", "veo", "hailuo", "wan", "skyreels", "generic"]

# Clip lengths each model can render, in seconds; 'generic' takes any length.
CLIP_LENGTHS_S: dict[str, tuple[float, ...]] = {
    "sora": (4, 8, 12),
    "veo": (4, 6, 8),
    "kling": (5, 10),
    "runway": (5, 10),
    "hailuo": (6, 10),
    "wan": (5, 8),
    "skyreels": (4, 5),
    "generic": (),
}
TIMING_EPSILON_S = 0.01
SHOT_RUNTIME_TOLERANCE = 0.10
MAX_SHOT_S = 30.0

ShotSize = Literal[
    "extreme_wide", "wide", "full", "medium", "medium_close", "close_up", "extreme_close_up",
    "insert", "over_the_shoulder", "pov", "two_shot",
]
Angle = Literal["eye_level", "high", "low", "birds_eye", "worms_eye", "dutch", "overhead"]
Movement = Literal[
    "static", "pan", "tilt", "push_in", "pull_out", "dolly", "tracking", "handheld", "crane", "orbit",
    "zoom_in", "zoom_out", "whip_pan",
]
BeatRole = Literal["hook", "escalation", "payoff", "cliffhanger", "transition", "other"]
ShortText = Annotated[str, StringConstraints(max_length=200)]
Prompt = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


def shot_id(episode: int, scene: int, number: int) -> str:
    """The shot id 'EEE-SS-NN', e.g. shot_id(17, 2, 5) == '017-02-05'."""
    return f"{episode:03d}-{scene:02d}-{number:02d}"


def quantise_duration(seconds: float, target: VideoTarget) -> float:
    """The target's clip length nearest to `seconds` (ties go to the longer clip); 'generic' rounds
    to 0.5 s, never below 0.5.
    """
    lengths = CLIP_LENGTHS_S[target]
    if not lengths:
        return max(0.5, round(seconds * 2) / 2)
    return float(min(lengths, key=lambda n: (abs(n - seconds), -n)))


@functools.lru_cache(maxsize=1024)
def clip_plan(seconds: float, target: VideoTarget) -> tuple[float, ...]:
    """The target's clips for a shot of `seconds`: one clip, snapped (`quantise_duration`), when the shot fits
    the longest clip; else the fewest clips that cover it to within 10% short, nearest in total (ties go to the
    longer clips): clip_plan(12, "skyreels") == (4.0, 4.0, 4.0), clip_plan(12, "kling") == (10.0, 5.0), an
    editor trims the rest. 'generic' takes any length."""
    lengths = sorted(CLIP_LENGTHS_S[target], reverse=True)
    if not lengths or seconds <= lengths[0]:
        return (quantise_duration(seconds, target),)
    best: tuple[tuple[float, int], tuple[float, ...]] | None = None
    for k in range(1, math.ceil(seconds / lengths[-1]) + 1):
        for combo in itertools.combinations_with_replacement(lengths, k):
            if sum(combo) < 0.9 * seconds:
                continue
            key = (round(abs(sum(combo) - seconds), 6), k)
            if best is None or key < best[0]:
                best = (key, tuple(float(n) for n in combo))
    assert best is not None  # k clips of the shortest length always cover the shot
    return best[1]


def _renumber(shots: list[dict]) -> None:
    """Shot ids numbered again in order within each scene, where a split added clips."""
    count: dict[int, int] = {}
    for shot in shots:
        count[shot["scene"]] = count.get(shot["scene"], 0) + 1
        shot["shot_id"] = shot_id(shot["episode"], shot["scene"], count[shot["scene"]])


class ShotCharacter(Artifact):
    """A character in a shot, carrying the bible's locked look so every clip renders the same face."""

    id: Id = Field(description="Canon character id.")
    descriptor: Text = Field(description="The character's locked visual descriptor, copied verbatim from the bible.")
    reference_image: RelPath | None = Field(
        description="Reference image path relative to the season folder; null when the bible has none."
    )

    @classmethod
    def from_character(cls, character: Character) -> ShotCharacter:
        return cls(id=character.id, descriptor=character.visual.as_prompt(), reference_image=character.reference_image)


class ShotDialogue(Artifact):
    """A line spoken in a shot, timed from the shot's start."""

    speaker: Id = Field(description="Character id of the speaker.")
    line: Line = Field(description="The line, in the script language.")
    emotion: Name = Field(description="How it is delivered, e.g. 'cold fury' (English).")
    start_s: float = Field(description="Offset from the start of the shot, in seconds.", ge=0, le=MAX_SHOT_S)
    duration_s: float = Field(description="How long the line takes, in seconds.", gt=0, le=MAX_SHOT_S)


class Sound(Artifact):
    """What is heard besides on-screen dialogue."""

    vo_os: Line | None = Field(
        description="Voice-over or off-screen speech as 'speaker_id (VO): line' or '(OS)'; null when none."
    )
    sfx: tuple[Name, ...] = Field((), description="Sound effects in order, e.g. 'glass shatters'.", max_length=8)
    music_cue: ShortText | None = Field(description="Music cue, e.g. 'tense strings swell'; null when none.")


class Shot(Artifact):
    """One clip for a video model."""

    episode: Episode = Field(description="Episode number.")
    scene: int = Field(description="Scene number within the episode.", ge=1, le=99)
    shot_id: str = Field(
        description="'EEE-SS-NN': episode, scene and shot number, zero-padded, e.g. '017-02-05'.",
        pattern=r"^\d{3}-\d{2}-\d{2}$",
    )
    start_s: float = Field(description="Start time within the episode, in seconds.", ge=0, le=MAX_EPISODES * 60)
    duration_s: float = Field(
        description="Length in seconds, one of the target model's clip lengths.", gt=0, le=MAX_SHOT_S
    )
    aspect_ratio: AspectRatio = Field("9:16", description="Frame; micro-dramas are vertical 9:16.")
    shot_size: ShotSize = Field(description="Shot size.")
    angle: Angle = Field(description="Camera angle.")
    movement: Movement = Field(description="Camera movement.")
    lens: Name = Field(description="Lens, e.g. '35mm', '85mm shallow depth of field'.")
    characters: tuple[ShotCharacter, ...] = Field(description="Characters visible in the shot.", max_length=6)
    location: Name = Field(description="Bible location id, or a short name for a one-off place.")
    time_of_day: TimeOfDay = Field(description="Time of day.")
    action: Text = Field(description="What happens in the shot, present tense.")
    dialogue: tuple[ShotDialogue, ...] = Field(description="Lines spoken on screen in this shot.", max_length=6)
    sound: Sound = Field(description="Voice-over, effects and music.")
    on_screen_text: ShortText | None = Field(description="Caption or title card, e.g. '三年后'; null when none.")
    first_frame_ref: RelPath | None = Field(description="Image to start the clip from; null when none.")
    last_frame_ref: RelPath | None = Field(description="Image to end the clip on; null when none.")
    prompt: Prompt = Field(description="Model-ready video prompt in English, including each character's descriptor.")
    prompt_native: Prompt = Field(description="The same prompt in the script language.")
    negative_prompt: ShortText = Field(description="What the clip must not show, e.g. 'extra fingers, text'.")
    beat_role: BeatRole = Field(description="What the shot does for the episode.")

    @model_validator(mode="after")
    def _consistent(self) -> Shot:
        prefix = shot_id(self.episode, self.scene, 0)[:-2]
        if not self.shot_id.startswith(prefix):
            raise ValueError(
                f"shot_id {self.shot_id!r} does not match episode {self.episode} scene {self.scene}: "
                f"use '{prefix}NN'"
            )
        ids = [c.id for c in self.characters]
        if len(set(ids)) != len(ids):
            raise ValueError(f"shot {self.shot_id}: a character is listed twice in {ids}")
        for d in self.dialogue:
            if d.start_s + d.duration_s > self.duration_s + TIMING_EPSILON_S:
                raise ValueError(
                    f"shot {self.shot_id}: {d.speaker!r}'s line ends at {d.start_s + d.duration_s:g} s, after the "
                    f"shot's {self.duration_s:g} s: shorten the line or lengthen the shot"
                )
        return self

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    @property
    def setup_id(self) -> str:
        """The camera set-up the shot is framed from, 'EEE-SS-' and 6 hex digits: shots of one scene with the same
        size, angle, lens and characters in frame share it, whatever the movement, and it stays the same when
        other shots are added or cut."""
        key = "|".join((self.shot_size, self.angle, " ".join(self.lens.lower().split()),
                        *sorted(c.id for c in self.characters)))
        return f"{self.shot_id[:6]}-{hashlib.sha256(key.encode()).hexdigest()[:6]}"


class ShotList(Artifact):
    """An episode's shots, back to back from 0 s."""

    episode: Episode = Field(description="Episode number.")
    target: VideoTarget = Field(description="Video model the shots are cut for; 'generic' for any.")
    runtime_s: float = Field(description="Target runtime of the episode in seconds.", gt=0, le=600)
    shots: tuple[Shot, ...] = Field(description="Shots in order.", min_length=1, max_length=80)

    @model_validator(mode="after")
    def _timing(self) -> ShotList:
        seen: set[str] = set()
        expected = 0.0
        for shot in self.shots:
            if shot.episode != self.episode:
                raise ValueError(f"shot {shot.shot_id} belongs to episode {shot.episode}, not {self.episode}")
            if shot.shot_id in seen:
                raise ValueError(f"shot_id {shot.shot_id} is used twice: number shots uniquely within a scene")
            seen.add(shot.shot_id)
            if abs(shot.start_s - expected) > TIMING_EPSILON_S:
                raise ValueError(
                    f"shot {shot.shot_id} starts at {shot.start_s:g} s but the previous shot ends at {expected:g} s: "
                    "each shot starts where the last one ends, the first at 0"
                )
            expected = shot.end_s
        return self

    @property
    def total_duration_s(self) -> float:
        return round(sum(s.duration_s for s in self.shots), 3)

    def fits_runtime(self, tolerance: float = SHOT_RUNTIME_TOLERANCE) -> bool:
        """True when the shots add up to runtime_s within `tolerance` (a fraction)."""
        return abs(self.total_duration_s - self.runtime_s) <= tolerance * self.runtime_s

    def off_grid(self) -> list[str]:
        """Ids of shots whose duration is not one of the target's clip lengths."""
        lengths = CLIP_LENGTHS_S[self.target]
        if not lengths:
            return []
        return [s.shot_id for s in self.shots if not any(abs(s.duration_s - n) <= TIMING_EPSILON_S for n in lengths)]

    def retimed(self) -> ShotList:
        """A copy on the target's clip lengths, start times recomputed. A shot becomes the clips that cover its
        length best (`clip_plan`): one clip, snapped, when that is nearest; else several of the same set-up, one
        after the other, so a 12 s shot is three 4 s clips for a 4-5 s model, not one clip 5 s long. Dialogue
        scales with the (small) snap and goes to the clip it starts in, cut at that clip's end. A scene with a
        split shot has its shots numbered again in order (`EEE-SS-NN`)."""
        shots: list[dict] = []
        start = 0.0
        for s in self.shots:
            parts = clip_plan(s.duration_s, self.target)
            scale = sum(parts) / s.duration_s
            offset = 0.0
            for k, part in enumerate(parts):
                last = k == len(parts) - 1
                lines = [d.model_dump() | {"start_s": round(d.start_s * scale - offset, 3),
                                            "duration_s": round(min(d.duration_s * scale, part - (d.start_s * scale - offset)), 3)}
                         for d in s.dialogue if offset <= d.start_s * scale < offset + part or (last and d.start_s * scale >= offset)]
                lines = [d for d in lines if d["duration_s"] > 0]
                data = s.model_dump()
                data.update(start_s=round(start, 3), duration_s=part, dialogue=lines,
                            first_frame_ref=s.first_frame_ref if k == 0 else None,
                            last_frame_ref=s.last_frame_ref if last else None)
                if k:  # heard and shown once: voice-over, effects, music cue and caption stay with the first clip
                    data.update(sound={"vo_os": None, "sfx": (), "music_cue": None}, on_screen_text=None)
                shots.append(data)
                start += part
                offset += part
        if len(shots) > len(self.shots):
            _renumber(shots)
        return ShotList.model_validate({**self.model_dump(), "shots": shots})

    def for_target(self, target: VideoTarget) -> ShotList:
        """The shot list as `target` takes it: itself when it was cut for `target` and every shot is on its grid,
        else a copy for `target`, `retimed()`. Every export naming a target (shots JSON and CSV, jobs, the
        budget) goes through here, so they agree clip for clip."""
        if self.target == target and not self.off_grid():
            return self
        return ShotList.model_validate({**self.model_dump(), "target": target}).retimed()

    def problems_against(self, bible: Bible, walk_ons: Iterable[WalkOn] = ()) -> list[str]:
        """Characters unknown to the bible (or to the episode's `walk_ons`), or whose descriptor or reference
        image drifted from it (a walk-on carries its one-line look and no reference image)."""
        out: list[str] = []
        chars = {c.id: c for c in bible.characters}
        extras = {w.id: w for w in walk_ons if w.id not in chars}
        for shot in self.shots:
            for sc in shot.characters:
                canon = chars.get(sc.id)
                if canon is None and sc.id in extras:
                    if sc.descriptor != extras[sc.id].look or sc.reference_image is not None:
                        out.append(f"shot {shot.shot_id}: walk-on {sc.id}'s descriptor should be its look "
                                   "from the arc row, verbatim, with no reference image")
                    continue
                if canon is None:
                    out.append(f"shot {shot.shot_id}: {sc.id!r} is not a bible character")
                    continue
                if sc.descriptor != canon.visual.as_prompt():
                    out.append(
                        f"shot {shot.shot_id}: {sc.id}'s descriptor differs from the bible's locked descriptor: "
                        "copy it verbatim (ShotCharacter.from_character)"
                    )
                if sc.reference_image != canon.reference_image:
                    out.append(f"shot {shot.shot_id}: {sc.id}'s reference_image should be {canon.reference_image!r}")
        return out
