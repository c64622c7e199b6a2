"""The shot planner: an accepted episode script becomes a ShotList that video models take clip by clip.

The model proposes shots in screen order (`ShotPlan`); `build_shot_list` turns any valid plan into a
valid ShotList deterministically, so a weak model's plan is repaired rather than retried:
- scenes follow the script: an unknown scene number moves to the nearest real scene, and shots are
  kept in scene order (stable), because the script's scenes play in order;
- characters are bible characters (matched by id, name or alias), each carrying the locked
  descriptor, which is also written into both prompts so identity survives every clip boundary, and
  the arc row's walk-ons that the script puts in a scene (a sneering clerk), with their one-line look;
- dialogue is timed from the speech rates in `artifacts`; a speech too long for the longest clip is
  split at a sentence, clause or word boundary across consecutive shots of the same set-up;
- durations are the target's clip lengths, then lengthened, shortened, split or dropped until the
  episode lands within SHOT_RUNTIME_TOLERANCE of the spec's runtime (`fits_runtime()`, `off_grid()`);
- the first shot is the hook, the last the cliffhanger; within a scene each shot starts on the last
  frame of the one before (`first_frame_ref`).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model

from cliffhanger.agents.llm.client import StructuredModel
from cliffhanger.agents.prompts import render
from cliffhanger.agents.roles.continuity import script_text
from cliffhanger.agents.roles.shot_timing import (
    MAX_SHOTS,
    SPEECH_MARGIN_S,
    ShotDraft,
    SpokenLine,
    fit_durations,
    group_lines,
    initial_duration,
    name_key,
    split_speech,
)
from cliffhanger.agents.season.artifacts import (
    DIALOGUE_UNITS_PER_S,
    TURN_PAUSE_S,
    ArcRow,
    Bible,
    Character,
    EpisodeScript,
    SeasonSpec,
    VisualDescriptor,
    WalkOn,
    count_units,
    fit_look,
)
from cliffhanger.agents.season.shotlist import (
    CLIP_LENGTHS_S,
    Angle,
    BeatRole,
    Movement,
    Shot,
    ShotCharacter,
    ShotList,
    ShotSize,
    VideoTarget,
    shot_id,
)
from cliffhanger.genres.ids import is_id
from cliffhanger.genres.pack import GenrePack
from cliffhanger.memory.checker import CanonState

log = logging.getLogger(__name__)

PROMPT_LIMIT = 1500  # shotlist.py sets no per-target limit; stays under Shot.prompt's 2,000
GENERIC_LENGTHS_S = tuple(n / 2 for n in range(4, 25))  # 'generic' takes any length: plan 2-12 s
MIN_LINE_S = 0.5
DEFAULT_NEGATIVE = "extra fingers, distorted face, different face, text artifacts, watermark, horizontal frame"


# ---- the model's answer ----------------------------------------------------------------------------

class _Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlannedLine(_Plan):
    """A line spoken on screen in the shot."""

    speaker: str = Field(description="Character id of the speaker, from the character list.", max_length=64)
    line: str = Field(description="The line in the script language, copied verbatim from the script.", max_length=300)
    emotion: str = Field(description="How it is delivered, in English, e.g. 'cold fury'.", max_length=80)


class PlannedSound(_Plan):
    """What is heard besides on-screen dialogue."""

    vo_os: str | None = Field(description="Voice-over or off-screen line as 'speaker_id (VO): line'; null when none.",
                              max_length=300)
    sfx: list[Annotated[str, StringConstraints(max_length=80)]] = Field(description="Sound effects in order, e.g. 'glass shatters'.", max_length=8)
    music_cue: str | None = Field(description="Music cue, e.g. 'tense strings swell'; null to use the genre's.",
                                  max_length=200)


class PlannedShot(_Plan):
    """One clip: one action, one camera set-up."""

    scene: int = Field(description="Number of the script scene this shot belongs to.", ge=1, le=99)
    shot_size: ShotSize = Field(description="Shot size.")
    angle: Angle = Field(description="Camera angle.")
    movement: Movement = Field(description="Camera movement.")
    lens: str = Field(description="Lens, e.g. '35mm' or '85mm shallow depth of field'.", max_length=80)
    characters: list[Annotated[str, StringConstraints(max_length=64)]] = Field(description="Ids of the characters visible in the frame.", max_length=6)
    action: str = Field(description="What we see, in English, present tense: one concrete, filmable action.",
                        max_length=1000)
    dialogue: list[PlannedLine] = Field(description="Lines spoken on screen in this shot, in order.", max_length=6)
    sound: PlannedSound = Field(description="Voice-over, sound effects and music.")
    on_screen_text: str | None = Field(description="Caption or title card, e.g. '三年后'; null when none.",
                                       max_length=200)
    beat_role: BeatRole = Field(description="What the shot does: hook, escalation, payoff, cliffhanger, "
                                "transition or other.")
    duration_hint_s: float = Field(description="Intended length in seconds, one of the allowed clip lengths.",
                                   gt=0, le=30)
    prompt: str = Field(description="Model-ready video prompt in English: subject, action, setting, light, "
                        "camera, lens.", max_length=PROMPT_LIMIT)
    prompt_native: str = Field(description="The same prompt in the script language.", max_length=PROMPT_LIMIT)
    negative_prompt: str = Field(description="What the clip must not show, e.g. 'extra fingers, watermark'.",
                                 max_length=200)


class ShotPlan(_Plan):
    """The storyboard of one episode: shots in screen order, hook first and cliffhanger last."""

    shots: list[PlannedShot] = Field(description="Shots in screen order.", min_length=1, max_length=MAX_SHOTS)


def clip_lengths(target: VideoTarget) -> tuple[float, ...]:
    """The clip lengths the planner uses for `target`, shortest first."""
    return tuple(float(n) for n in CLIP_LENGTHS_S[target]) or GENERIC_LENGTHS_S


def shot_plan_bounds(runtime_s: float, target: VideoTarget = "generic") -> tuple[int, int]:
    """(min, max) shots for an episode: enough clips of the longest length to fill the runtime, at
    most as many of the shortest (never under 3 s) as fit; 90 s generic gives (8, 30), kling (9, 18).
    """
    lengths = clip_lengths(target)
    low = max(1, math.ceil(runtime_s / lengths[-1]))
    return min(low, MAX_SHOTS), max(min(low, MAX_SHOTS), min(MAX_SHOTS, math.floor(runtime_s / max(3.0, lengths[0]))))


@functools.cache
def _bounded_plan(low: int, high: int) -> type[ShotPlan]:
    # Same name, so scripted answers and logs see "ShotPlan"; the bounds shape what a model returns.
    return create_model(
        "ShotPlan", __base__=ShotPlan, __doc__=ShotPlan.__doc__, __module__=__name__,
        shots=(list[PlannedShot], Field(description=f"Shots in screen order, {low} to {high}.",
                                        min_length=low, max_length=high)),
    )


def shot_plan_schema(runtime_s: float, target: VideoTarget = "generic") -> type[ShotPlan]:
    """`ShotPlan` with the shot count bounded by `shot_plan_bounds(runtime_s, target)`."""
    return _bounded_plan(*shot_plan_bounds(runtime_s, target))


# ---- who can be in frame -------------------------------------------------------------------------------

@dataclass(frozen=True)
class InFrame:
    """Someone a shot can show: a bible character with the locked look, or a walk-on of the episode's arc
    row with its one-line look (`descriptor`, pasted into every prompt that shows them)."""

    id: str
    name: str
    aliases: tuple[str, ...]
    descriptor: str
    reference_image: str | None = None

    @classmethod
    def character(cls, c: Character) -> InFrame:
        return cls(c.id, c.name, c.aliases, c.visual.as_prompt(), c.reference_image)

    @classmethod
    def walk_on(cls, w: WalkOn) -> InFrame:
        # the id read as words ("sneering clerk") names them in the English prompt when the name is not ascii
        return cls(w.id, w.name, (w.id.replace("_", " "),), w.look)

    def shot_character(self) -> ShotCharacter:
        return ShotCharacter(id=self.id, descriptor=self.descriptor, reference_image=self.reference_image)


def walk_ons_in(script: EpisodeScript, row: ArcRow | None, bible: Bible) -> list[WalkOn]:
    """The arc row's walk-ons the script puts in a scene's cast (or gives a line), that are not bible
    characters: the one-episode parts the shots may show."""
    if row is None:
        return []
    present = {i for s in script.scenes for i in s.cast} | {d.speaker for d in script.dialogue()}
    cast = {c.id for c in bible.characters}
    return [w for w in row.walk_ons if w.id in present and w.id not in cast]


def _cast_index(people: Iterable[InFrame]) -> dict[str, InFrame]:
    """Id, name and alias (normalised) -> who; the first one named wins (bible characters come first)."""
    known: dict[str, InFrame] = {}
    for p in people:
        for name in (p.id, p.name, *p.aliases):
            known.setdefault(name_key(name), p)
    return known


# ---- plan -> shot list -------------------------------------------------------------------------------

def build_shot_list(plan: ShotPlan, *, script: EpisodeScript, bible: Bible, spec: SeasonSpec, pack: GenrePack,
                    target: VideoTarget = "generic", notes: list[str] | None = None,
                    row: ArcRow | None = None) -> ShotList:
    """The plan as a ShotList for `target` (contract in the module docstring). Ids neither the bible nor
    the arc `row`'s walk-ons in the script know are dropped from the frame; a speaker that is neither a
    character nor an id loses the line. What is dropped or left off is said in `notes` (when given) as
    well as in the log.
    """
    notes = [] if notes is None else notes
    lengths = clip_lengths(target)
    rate = DIALOGUE_UNITS_PER_S[spec.language]
    known = _cast_index([*(InFrame.character(c) for c in bible.characters),
                         *(InFrame.walk_on(w) for w in walk_ons_in(script, row, bible))])
    capacity_s = lengths[-1] - SPEECH_MARGIN_S
    max_units = math.floor(capacity_s * rate)

    drafts: list[ShotDraft] = []
    for p in sorted(plan.shots, key=lambda p: min(max(p.scene, 1), len(script.scenes))):
        scene = min(max(p.scene, 1), len(script.scenes))
        cast = tuple({c.id: c for c in (known.get(name_key(n)) for n in p.characters) if c}.values())[:6]
        lines: list[SpokenLine] = []
        for d in p.dialogue:
            who = known.get(name_key(d.speaker))
            speaker = who.id if who else d.speaker.strip()
            if not is_id(speaker) or not d.line.strip():
                log.warning("episode %s: dropped a line by unknown speaker %r", script.episode, d.speaker)
                notes.append(f"dropped a line of scene {scene}: its speaker {d.speaker[:40]!r} is not a character id")
                continue
            for piece in split_speech(d.line.strip(), max_units):
                seconds = round(max(MIN_LINE_S, count_units(piece) / rate), 2)
                lines.append(SpokenLine(speaker, piece, d.emotion.strip() or "neutral", seconds))
        groups = group_lines(lines, capacity_s) if lines else [()]
        for i, group in enumerate(groups):
            drafts.append(ShotDraft(scene, p, cast, group, p.duration_hint_s / len(groups), continued=i > 0))

    for i, d in enumerate(drafts):
        d.duration = initial_duration(d, lengths, target, hook=i == 0)
    fit_durations(drafts, lengths, spec.runtime_s, notes)
    shots = _assemble(drafts, script=script, spec=spec, pack=pack)
    result = ShotList(episode=script.episode, target=target, runtime_s=spec.runtime_s, shots=shots)
    if not result.fits_runtime():
        log.warning("episode %s: shots run %g s against a %g s runtime", script.episode,
                    result.total_duration_s, spec.runtime_s)
        notes.append(f"the shots run {result.total_duration_s:g} s against a {spec.runtime_s:g} s runtime")
    return result


def _assemble(drafts: list[ShotDraft], *, script: EpisodeScript, spec: SeasonSpec, pack: GenrePack) -> list[Shot]:
    shots: list[Shot] = []
    numbers: dict[int, int] = {}
    cues = pack.visual.music_cues
    start, previous = 0.0, None
    for i, d in enumerate(drafts):
        scene = script.scenes[d.scene - 1]
        numbers[d.scene] = numbers.get(d.scene, 0) + 1
        sid = shot_id(script.episode, d.scene, numbers[d.scene])
        p = d.plan
        # pieces of the first and last planned shots share their role; nothing else may claim it
        role: BeatRole = ("hook" if i == 0 or p is drafts[0].plan and p is not drafts[-1].plan
                     else "cliffhanger" if p is drafts[-1].plan
                     else "escalation" if p.beat_role in ("hook", "cliffhanger") else p.beat_role)
        cue = (p.sound.music_cue or "").strip() or cues[
            0 if role == "hook" else -1 if role == "cliffhanger"
            else min(len(cues) - 2, max(1, round(start / spec.runtime_s * (len(cues) - 1))))]
        action = p.action.strip() or p.prompt.strip()[:1000] or "The scene continues."
        if d.continued:
            action = f"{action[:985]} (continued)"
        speech = sum(ln.seconds for ln in d.lines) + TURN_PAUSE_S * max(0, len(d.lines) - 1)
        t = min(SPEECH_MARGIN_S / 2, max(0.0, (d.duration - speech) / 2))
        dialogue = []
        for ln in d.lines:
            dialogue.append({"speaker": ln.speaker, "line": ln.text, "emotion": ln.emotion[:80],
                             "start_s": round(t, 2), "duration_s": ln.seconds})
            t += ln.seconds + TURN_PAUSE_S
        shots.append(Shot(
            episode=script.episode, scene=d.scene, shot_id=sid, start_s=round(start, 3), duration_s=d.duration,
            aspect_ratio=spec.aspect_ratio, shot_size=p.shot_size, angle=p.angle, movement=p.movement,
            lens=p.lens.strip() or "35mm", characters=[c.shot_character() for c in d.cast],
            location=scene.location, time_of_day=scene.time, action=action, dialogue=dialogue,
            sound={"vo_os": (p.sound.vo_os or "").strip() or None, "music_cue": cue,
                   "sfx": [s.strip() for s in p.sound.sfx if s.strip()]},
            on_screen_text=(p.on_screen_text or "").strip() or None,
            first_frame_ref=previous if i and drafts[i - 1].scene == d.scene else None,
            last_frame_ref=f"{sid}:last",
            prompt=_with_descriptors(d.cast, p.prompt.strip() or action, native=False, language=spec.language),
            prompt_native=_with_descriptors(d.cast, p.prompt_native.strip() or p.prompt.strip() or action,
                                            native=True, language=spec.language),
            negative_prompt=p.negative_prompt.strip() or DEFAULT_NEGATIVE, beat_role=role,
        ))
        start += d.duration
        previous = f"{sid}:last"
    return shots


def _display_name(c: InFrame, native: bool) -> str:
    if native or c.name.isascii():
        return c.name
    return next((a for a in c.aliases if a.isascii()), c.name)


def _with_descriptors(cast: tuple[InFrame, ...], body: str, *, native: bool, language: str) -> str:
    """'Name: descriptor.' for each character in frame, then `body` cut (at a space) to PROMPT_LIMIT."""
    sep = "：" if native and language == "zh" else ": "
    head = " ".join(f"{_display_name(c, native)}{sep}{c.descriptor.rstrip('.')}." for c in cast)
    room = max(PROMPT_LIMIT - len(head) - 1, 0)
    if len(body) > room:
        cut = body[:room]
        body = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return f"{head} {body}".strip()[:2000]


# ---- the call ----------------------------------------------------------------------------------------

def _characters_text(script: EpisodeScript, bible: Bible, row: ArcRow | None = None) -> str:
    present = {i for s in script.scenes for i in s.cast} | {d.speaker for d in script.dialogue()}
    cast = [c for c in bible.characters if c.id in present] or list(bible.characters)
    lines = [f"- {c.id} ({' / '.join([c.name, *c.aliases])}): {c.visual.as_prompt()}" for c in cast]
    lines += [f"- {w.id} ({w.name}, walk-on in this episode only): {w.look}" for w in walk_ons_in(script, row, bible)]
    return "\n".join(lines)


def _look_text(pack: GenrePack, runtime_s: float) -> str:
    v = pack.visual
    beats = ", ".join(f"{b.role} {b.start_s:g}-{b.end_s:g} s" for b in pack.beats_for(runtime_s))
    return (f"Grading: {v.grading}\nLighting: {v.lighting}\nLens: {v.lens}\nCamera: {v.camera}\n"
            f"Music cues: {' / '.join(v.music_cues)}\nSignature sound effects: {' / '.join(v.sfx)}\n"
            f"Beat timing: {beats}")


def _lengths_text(target: VideoTarget) -> str:
    if not CLIP_LENGTHS_S[target]:
        return "any length from 2 to 12 s in half seconds"
    return " or ".join(f"{n:g} s" for n in CLIP_LENGTHS_S[target])


async def plan_shots(model: StructuredModel, *, script: EpisodeScript, bible: Bible, spec: SeasonSpec,
                     pack: GenrePack, target: VideoTarget = "generic", notes: list[str] | None = None,
                     row: ArcRow | None = None) -> tuple[ShotList, str]:
    """Ask the model for a shot plan of `script` and build it; returns (shot list, prompt ref). What the
    build drops is said in `notes` (when given). With the episode's arc `row`, its walk-ons in the script
    are in the character list and in frame with their one-line look."""
    low, high = shot_plan_bounds(spec.runtime_s, target)
    prompt = render(
        "shots.plan", episode=script.episode, target=target, clip_lengths=_lengths_text(target),
        runtime_s=spec.runtime_s, shots=f"{low}-{high}", script=script_text(script),
        characters=_characters_text(script, bible, row), look=_look_text(pack, spec.runtime_s),
        language="Chinese (zh)" if spec.language == "zh" else "English (en)",
    )
    plan = await model.structured(shot_plan_schema(spec.runtime_s, target), [("user", prompt.text)],
                                  episode=script.episode, prompt=prompt.ref)
    return (build_shot_list(plan, script=script, bible=bible, spec=spec, pack=pack, target=target, notes=notes,
                            row=row), prompt.ref)


# ---- the look as of an episode -------------------------------------------------------------------------

_WARDROBE = ("wardrobe", "outfit", "clothes", "costume", "dress", "uniform")
_MARKS = ("scar", "wound", "injur", "bandage", "mark", "tattoo", "hair", "glasses", "limp", "cast", "pregnan",
          "look", "appearance", "blind", "burn", "bruise")


def bible_as_of(bible: Bible, state: CanonState) -> Bible:
    """The bible with each character's locked look updated from canon as of an episode.

    A scar gained in episode 20 shows from episode 20 on: canon traits and states whose attribute is
    about looks (scar, injury, hair, glasses, ...) are appended to the character's marks, and a
    wardrobe/outfit state replaces the signature wardrobe. Everything else stays locked.
    """
    people = []
    for c in bible.characters:
        facts = [f for (subj, _), f in sorted({**state.traits, **state.states}.items()) if subj == c.id]
        wardrobe = next((str(f.value).strip() for f in reversed(facts)
                         if any(w in f.attribute.lower() for w in _WARDROBE) and str(f.value).strip()), None)
        marks = [f"{f.attribute.replace('_', ' ')}: {f.value}" for f in facts
                 if any(m in f.attribute.lower() for m in _MARKS) and not any(w in f.attribute.lower() for w in _WARDROBE)]
        if not wardrobe and not marks:
            people.append(c)
            continue
        look = {**c.visual.model_dump(), "wardrobe": (wardrobe or c.visual.wardrobe)[:300].strip(),
                "marks": "; ".join(filter(None, [c.visual.marks, *marks]))[:300].strip()}
        # Validated, so the look as of this episode still fits every shot (DESCRIPTOR_LIMIT) like the bible's;
        # canon that cannot be worn (it would not validate) leaves the bible's look as it was.
        try:
            visual = VisualDescriptor.model_validate(fit_look(look))
        except ValidationError:
            log.warning("%s: the look from canon does not fit a shot; the bible's look is kept", c.id)
            visual = c.visual
        people.append(c.model_copy(update={"visual": visual}))
    return bible.model_copy(update={"characters": tuple(people)})
