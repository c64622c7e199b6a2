"""`export --format tts`: every line of the season's shot lists as JSON lines for a text-to-speech engine.

One object a line, in screen order: episode, scene, shot_id, start_s and end_s within the episode (from the shot
list's dialogue timing; a VO/OS line, which the shot list does not time, is placed in its shot and marked
"timing": "estimated"), speaker (canon id) and name, delivery (on_screen, VO, OS), in_frame, voice (the
casting, its one-line description and the user's voice id per TTS provider; null for a VO/OS line nobody in the
cast owns), emotion, language and text. See `cliffhanger.agents.season.speech` for the rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from cliffhanger.agents.season.artifacts import ArcPlan, Bible, Language, WalkOn
from cliffhanger.agents.season.shotlist import ShotList
from cliffhanger.agents.season.speech import TimedLine, timed_lines

TTS_KEYS = ("episode", "scene", "shot_id", "line_id", "start_s", "end_s", "speaker", "name", "delivery", "in_frame", "voice",
            "emotion", "language", "text", "timing")


def tts_record(line: TimedLine) -> dict[str, object]:
    data = line.model_dump(mode="json")
    if line.voice is not None:
        data["voice"] = {**data["voice"], "voices": dict(line.voice.voices), "description": line.voice.describe()}
    return {k: data[k] for k in TTS_KEYS}


def tts_jsonl(shot_lists: Iterable[ShotList], bible: Bible, language: Language, arc: ArcPlan | None = None) -> str:
    """The lines of `shot_lists` as JSON lines (module docstring); the `arc` rows' walk-ons get voices too."""
    walk_ons: dict[int, tuple[WalkOn, ...]] = {r.episode: r.walk_ons for r in arc.rows} if arc is not None else {}
    lines = timed_lines(shot_lists, bible, language, walk_ons)
    return "".join(json.dumps(tts_record(ln), ensure_ascii=False) + "\n" for ln in lines)
