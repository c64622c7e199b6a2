"""Screen time: how long a script plays, and how many scenes and elements a runtime holds.

One estimator (`timeline`, `estimate_s`) times dialogue and action lines; one scene guide (`scene_guide`)
turns a runtime into scene and element counts. The writer's prompt, the episode schema's bounds, the arc
planner's wording and the eval metrics all read these two, so a script written to the guide estimates at
its target runtime.

Calibration (scripts/bench_runtime.py prints the error per example):
- Timed examples: the worked examples of the built-in genre packs (two per pack) (genres/packs/*.yaml `examples`), each timed
  shot by shot as it would cut on screen and stated in the pack (`examples.opening_hook_s`,
  `paywall_cliffhanger_s`; issue 17's reading of the revenge 卡点 example, about 15 s, is one of them). These
  readings are the ground truth (`timed_examples`); every example estimates within 20% of its reading
  (tests/test_runtime_estimate.py).
- Published rate, as a cross-check: a 90 s Chinese vertical episode holds about 500-650 characters of
  script. At the guide's 28 elements, half of them speeches, 575 characters with a third in dialogue
  estimate at 89 s (500-650 characters: 75-100 s; half in dialogue: 85-110 s).
- DramaBench (../shared/data/dramabench) was not used: its scripts carry no runtime.

The model, per scene in screen order (rates fitted to the timed examples: zh mean error 8%, en 6%):
- dialogue: units / DIALOGUE_UNITS_PER_S + TURN_PAUSE_S (zh 4.5 chars/s, en 2.9 words/s: micro-drama
  delivery is quicker than film dialogue and the cuts between lines are tight);
- action: max(MIN_ACTION_S, units / ACTION_UNITS_PER_S). Action text describes a picture, and a picture
  is taken in faster than it is read: "会场大门被推开。所有股东同时起身。" is two 1.5 s shots, not 5 s of
  reading, so zh action runs at 8 chars/s (en 4 words/s), and never under 2 s (a shot has to register).
  Speech quoted inside an action line (继母喊：“就是她挪用了公款！”) is timed at the dialogue rate;
- overlap: an action line right after a speech in the same scene starts under the speech's last words
  (the reaction shot, the door opening as the sentence ends): ACTION_OVERLAP_S (0.5 s), at most half
  the action and at most the speech, is not added. Action before a speech and parentheticals add
  nothing extra; a scene cut breaks the overlap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, NamedTuple

Language = Literal["zh", "en"]
Kind = Literal["action", "dialogue"]

DIALOGUE_UNITS_PER_S: dict[str, float] = {"zh": 4.5, "en": 2.9}
ACTION_UNITS_PER_S: dict[str, float] = {"zh": 8.0, "en": 4.0}
MIN_ACTION_S = 2.0
TURN_PAUSE_S = 0.3
ACTION_OVERLAP_S = 0.5
RUNTIME_TOLERANCE = 0.15

_UNIT_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[A-Za-z0-9]+(?:['’][A-Za-z]+)*")
_QUOTE_RE = re.compile(r"“([^”]*)”|「([^」]*)」|\"([^\"]*)\"")


def count_units(text: str) -> int:
    """CJK characters plus latin words and numbers; punctuation and spaces do not count."""
    return len(_UNIT_RE.findall(text))


def speech_s(line: str, language: Language) -> float:
    """Seconds one dialogue line takes, with the pause before the next turn."""
    return count_units(line) / DIALOGUE_UNITS_PER_S[language] + TURN_PAUSE_S


def action_s(text: str, language: Language) -> float:
    """Seconds one action line takes on its own; quoted speech in it runs at the dialogue rate."""
    quoted = sum(count_units("".join(m.groups(""))) for m in _QUOTE_RE.finditer(text))
    picture = count_units(text) - quoted
    return max(MIN_ACTION_S, picture / ACTION_UNITS_PER_S[language]) + quoted / DIALOGUE_UNITS_PER_S[language]


def timeline(elements: Iterable[tuple[Kind, str]], language: Language) -> list[float]:
    """Seconds each element of one scene adds to the runtime, in order (overlap already taken off)."""
    added: list[float] = []
    last_speech = 0.0
    for kind, text in elements:
        if kind == "dialogue":
            last_speech = speech_s(text, language)
            added.append(last_speech)
        else:
            own = action_s(text, language)
            added.append(own - min(ACTION_OVERLAP_S, own / 2, last_speech))
            last_speech = 0.0
    return added


def estimate_s(scenes: Iterable[Iterable[tuple[Kind, str]]], language: Language) -> float:
    """Screen time in seconds of scenes given as (kind, text) elements; scene cuts break overlap."""
    return round(sum(sum(timeline(scene, language)) for scene in scenes), 1)


# ---- the scene guide ------------------------------------------------------------------------------------

# A vertical episode changes scene every 18-30 s (a 90 s episode: 3-5 scenes), and an element (an action
# line or a speech) plays in ELEMENT_S: the mean the estimator gives the packs' timed examples (zh 3.2 s
# over 73 elements, en 3.1 s over 24).
SCENE_S = (30.0, 18.0)
ELEMENT_S: dict[str, float] = {"zh": 3.2, "en": 3.2}


class SceneGuide(NamedTuple):
    """Scene and element counts for a runtime; unpacks as (scenes_lo, scenes_hi, per_lo, per_hi)."""

    scenes_lo: int
    scenes_hi: int
    per_lo: int
    per_hi: int



def guide_elements(runtime_s: float, language: Language = "zh") -> int:
    """About how many elements (action lines and speeches) an episode of `runtime_s` holds in all."""
    return max(1, round(runtime_s / ELEMENT_S[language]))


def scene_guide(runtime_s: float, language: Language = "zh") -> SceneGuide:
    """Scene and element counts for an episode of `runtime_s` seconds.

    The episode holds about `guide_elements` elements in all (its runtime at the examples' density); the
    per-scene range lets the most scenes share them (per_lo: 95% of the total over scenes_hi) and the
    fewest scenes hold 110% of them (per_hi: over scenes_lo), both inside the 15% runtime tolerance.
    """
    scenes_lo = max(1, round(runtime_s / SCENE_S[0]))
    scenes_hi = max(scenes_lo + 1, round(runtime_s / SCENE_S[1]))
    total = runtime_s / ELEMENT_S[language]
    per_lo = max(3, round(total * 0.95 / scenes_hi))
    per_hi = max(per_lo + 2, round(total * 1.1 / scenes_lo))
    return SceneGuide(scenes_lo, scenes_hi, per_lo, per_hi)


def guide_text(runtime_s: float, language: Language) -> str:
    """The scene guide as the writer's prompt states it."""
    g = scene_guide(runtime_s, language)
    total = guide_elements(runtime_s, language)
    if language == "zh":
        return (f"{g.scenes_lo}-{g.scenes_hi} 场，每场 {g.per_lo}-{g.per_hi} 条（△动作或台词），全集约 {total} 条，"
                f"总时长约 {runtime_s:.0f} 秒")
    return (f"{g.scenes_lo}-{g.scenes_hi} scenes of {g.per_lo}-{g.per_hi} elements (action lines or speeches) "
            f"each, about {total} in all, about {runtime_s:.0f} s")


# ---- calibration set -----------------------------------------------------------------------------------

EXAMPLE_NAMES = ("opening_hook", "paywall_cliffhanger")


def timed_examples(packs: Iterable[object]) -> dict[tuple[str, str], float]:
    """The calibration set: every worked example whose pack states how long it plays on screen
    (`examples.opening_hook_s` / `paywall_cliffhanger_s`: timed shot by shot as it would cut, beats of
    1.5-2 s per picture, zh speech at 4-5 chars/s, en at 2.5-3 words/s), keyed by (pack id, example name)."""
    out: dict[tuple[str, str], float] = {}
    for pack in packs:
        for name in EXAMPLE_NAMES:
            stated = pack.examples.duration_s(name)  # type: ignore[attr-defined]
            if stated is not None:
                out[pack.id, name] = stated  # type: ignore[attr-defined]
    return out

_HEADING_RE = re.compile(r"^(?:\d+-\d+\s|INT[./]|EXT\.|I/E\b)")
_CAST_RE = re.compile(r"^人物[：:]")
_ZH_SPEECH_RE = re.compile(r"^[^\s△▲（(：:“”\"]{1,16}?\s*(?:[（(][^）)]{0,80}[）)])?\s*[：:]\s*(\S.*)$")
_EN_SPEECH_RE = re.compile(r"^[A-Z][A-Z0-9 .'’-]{0,30}?\s*(?:\([^)]{0,80}\))?:\s*(\S.*)$")


def example_scenes(text: str, language: Language) -> list[list[tuple[Kind, str]]]:
    """A pack example's text (`1-1 内 客厅 夜` / `INT. HALL - NIGHT` headings, `人物：` cast lines, `△` action,
    `角色（动作）：台词` or `NAME (paren): line` speeches, other lines action) as scenes of (kind, text).
    """
    speech_re = _ZH_SPEECH_RE if language == "zh" else _EN_SPEECH_RE
    scenes: list[list[tuple[Kind, str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or _CAST_RE.match(line):
            continue
        if _HEADING_RE.match(line) or not scenes:
            scenes.append([])
            if _HEADING_RE.match(line):
                continue
        if line[0] in "△▲":
            scenes[-1].append(("action", line[1:].strip()))
        elif m := speech_re.match(line):
            scenes[-1].append(("dialogue", m.group(1)))
        else:
            scenes[-1].append(("action", line))
    return [s for s in scenes if s]
