"""What is spoken in each clip of a shot list: timed lines for text-to-speech, and the speech written into the
prompt of a video model that generates sound with the picture.

Contracts
- `timed_lines` gives every line of the shot lists in screen order: each shot's dialogue with the shot list's
  timing (episode time = shot start + the line's offset), then its voice-over or off-screen line
  (`Sound.vo_os`, which carries no timing: placed after the shot's dialogue, timed by speech rate, inside
  the shot; `timing` says "estimated"). A VO/OS line that repeats a line of the shot's dialogue is not
  read twice.
- Speakers are resolved against the bible (id, name, alias), then the episode's walk-ons; every resolved
  speaker has a voice (`casting.casting_of`, or the walk-on's default). A VO/OS whose speaker cannot be
  named (narration, a voice nobody in the cast owns) has speaker, name and voice None: the user picks a
  narrator voice.
- `speech_prompt` writes a clip's lines as `Name (emotion): "line"` in screen order (a VO/OS line as
  `Name (voice-over): "line"` / `(off-screen)`), then each speaker's voice in one line, so every clip casts
  the same voice; "" when nothing is spoken. Same shot, same text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from cliffhanger.agents.season.artifacts import Bible, Language, WalkOn
from cliffhanger.agents.season.casting import Casting, bible_casting, default_casting, walk_on_casting
from cliffhanger.agents.season.runtime import DIALOGUE_UNITS_PER_S, TURN_PAUSE_S, count_units
from cliffhanger.agents.season.shotlist import Shot, ShotList

Delivery = Literal["on_screen", "VO", "OS"]
LEAD_IN_S = 0.25  # a VO/OS line alone in its shot starts after this breath
MIN_LINE_S = 0.5
LANGUAGE_NAMES = {"zh": "Mandarin Chinese", "en": "English"}

_VO_OS = re.compile(r"^\s*(?P<who>[^()（）:：\n]{0,80}?)\s*[(（]\s*(?P<kind>V\.?O\.?|O\.?S\.?|画外音?|旁白|内心独白|独白|"
                    r"voice[- ]?over|off[- ]?screen)\s*[)）]\s*[:：]?\s*(?P<line>.+?)\s*$", re.I | re.S)
_CJK = re.compile(r"[\u3400-\u9fff]")


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


@dataclass(frozen=True)
class Voice:
    """Who speaks: canon id, display names and casting."""

    id: str
    name: str
    ascii_name: str
    casting: Casting

    def display(self, native: bool) -> str:
        return self.name if native else self.ascii_name


def _ascii_name(name: str, aliases: Iterable[str]) -> str:
    # The name the shot planner gives a character in an English prompt, so the speaker is the one described.
    return name if name.isascii() else next((a for a in aliases if a.isascii()), name)


class Cast:
    """The voices of a season (bible characters, then the walk-ons given), found by id, name or alias."""

    def __init__(self, bible: Bible, walk_ons: Iterable[WalkOn] = ()) -> None:
        castings = bible_casting(bible)
        voices = [Voice(c.id, c.name, _ascii_name(c.name, c.aliases), castings[c.id]) for c in bible.characters]
        voices += [Voice(w.id, w.name, _ascii_name(w.name, (w.id.replace("_", " "),)), walk_on_casting(w)) for w in walk_ons
                   if w.id not in castings]
        self._by_id = {v.id: v for v in voices}
        self._by_name: dict[str, Voice] = {}
        for c in bible.characters:
            for n in (c.id, c.name, *c.aliases):
                self._by_name.setdefault(_key(n), self._by_id[c.id])
        for v in voices:
            for n in (v.id, v.name):
                self._by_name.setdefault(_key(n), v)

    def speaker(self, id: str) -> Voice:
        """The voice of a dialogue speaker id; an id the cast does not know is named by its words, with a
        neutral default voice."""
        known = self._by_id.get(id) or self._by_name.get(_key(id))
        if known is not None:
            return known
        words = id.replace("_", " ")
        return Voice(id, words, words, default_casting(names=[words]))

    def find(self, who: str) -> Voice | None:
        """The voice named `who` (id, name or alias), or None."""
        return self._by_name.get(_key(who)) if who.strip() else None


class TimedLine(BaseModel):
    """One line to be spoken, timed within its episode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    episode: int
    scene: int
    shot_id: str
    line_id: str  # 'EEE-SS-NN.K' for the shot's K-th on-screen line (the timeline's), 'EEE-SS-NN.vo' for its VO/OS
    start_s: float
    end_s: float
    speaker: str | None  # canon id; None for a VO/OS nobody in the cast owns
    name: str | None
    delivery: Delivery
    in_frame: bool
    emotion: str
    language: Language
    text: str
    voice: Casting | None
    timing: Literal["shot_list", "estimated"]


@dataclass(frozen=True)
class _Said:
    start: float  # from the shot's start
    duration: float
    voice: Voice | None
    label: str | None  # how the line names its speaker when no voice is known
    delivery: Delivery
    emotion: str
    text: str
    estimated: bool


def _vo_os(shot: Shot, cast: Cast, language: Language) -> _Said | None:
    raw = (shot.sound.vo_os or "").strip()
    if not raw:
        return None
    m = _VO_OS.match(raw)
    who, kind, text = (m["who"].strip(), m["kind"].lower(), m["line"]) if m else ("", "vo", raw)
    text = text.strip().strip('"“”「」').strip() or text.strip()
    if any(d.line == text for d in shot.dialogue):
        return None
    delivery: Delivery = "OS" if kind.startswith(("o", "off", "画外")) else "VO"
    end = max((d.start_s + d.duration_s for d in shot.dialogue), default=None)
    start = LEAD_IN_S if end is None or end + TURN_PAUSE_S + MIN_LINE_S > shot.duration_s else end + TURN_PAUSE_S
    start = min(start, max(shot.duration_s - MIN_LINE_S, 0.0))
    wanted = max(MIN_LINE_S, count_units(text) / DIALOGUE_UNITS_PER_S[language])
    duration = max(min(wanted, shot.duration_s - start), min(MIN_LINE_S, shot.duration_s))
    return _Said(round(start, 3), round(duration, 3), cast.find(who), who or None, delivery, "neutral", text, True)


def _said(shot: Shot, cast: Cast, language: Language) -> list[_Said]:
    out = [_Said(d.start_s, d.duration_s, cast.speaker(d.speaker), None, "on_screen", d.emotion, d.line, False)
           for d in sorted(shot.dialogue, key=lambda d: d.start_s)]
    vo = _vo_os(shot, cast, language)
    return [*out, vo] if vo is not None else out


def timed_lines(shot_lists: Iterable[ShotList], bible: Bible, language: Language,
                walk_ons: Mapping[int, Iterable[WalkOn]] | None = None) -> list[TimedLine]:
    """Every line of `shot_lists` timed within its episode (module docstring); `walk_ons` are each episode's
    one-episode parts (the arc rows'), so their lines get a voice too."""
    out: list[TimedLine] = []
    casts: dict[int, Cast] = {}
    for sl in shot_lists:
        cast = casts.setdefault(sl.episode, Cast(bible, (walk_ons or {}).get(sl.episode, ())))
        for shot in sl.shots:
            in_frame = {c.id for c in shot.characters}
            spoken = 0
            for s in _said(shot, cast, language):
                start = round(shot.start_s + s.start, 3)
                spoken += s.delivery == "on_screen"
                line_id = f"{shot.shot_id}.{spoken}" if s.delivery == "on_screen" else f"{shot.shot_id}.vo"
                out.append(TimedLine(
                    episode=shot.episode, scene=shot.scene, shot_id=shot.shot_id, line_id=line_id, start_s=start,
                    end_s=round(start + s.duration, 3), speaker=s.voice.id if s.voice else None,
                    name=s.voice.name if s.voice else s.label, delivery=s.delivery,
                    in_frame=s.voice is not None and s.voice.id in in_frame, emotion=s.emotion, language=language,
                    text=s.text, voice=s.voice.casting if s.voice else None,
                    timing="estimated" if s.estimated else "shot_list"))
    return out


def speech_prompt(shot: Shot, cast: Cast, *, native: bool = False) -> str:
    """The clip's speech for a video model that generates sound (module docstring); "" when none."""
    # Both languages a season may be in are told apart by script: Chinese lines are written in CJK.
    language: Language = "zh" if _CJK.search(" ".join([*(d.line for d in shot.dialogue), shot.sound.vo_os or ""])) else "en"
    said = _said(shot, cast, language)
    if not said:
        return ""
    lines, voices = [], {}
    for s in said:
        name = s.voice.display(native) if s.voice else (s.label or "Narrator")
        tag = s.emotion if s.delivery == "on_screen" else "voice-over" if s.delivery == "VO" else "off-screen"
        text = s.text.replace('"', "'")  # the line's own quotes would end it early
        lines.append(f'{name} ({tag}): "{text}"')
        if s.voice:
            voices.setdefault(name, s.voice.casting.describe())
    cast_line = f" Voices: {'; '.join(f'{n}, {d}' for n, d in voices.items())}." if voices else ""
    return f"Dialogue, spoken in {LANGUAGE_NAMES[language]}, lip-synced, no subtitles: {' '.join(lines)}{cast_line}"
