"""Timing a shot list: speech cut to fit a clip, lines grouped into shots, and clip lengths fitted to
the episode's runtime (lengthen, shorten, split or drop one shot at a time).

Split from the shot planner so that the planner holds the model's answer and its repair into shots,
and this module the arithmetic of seconds, which the keyframe and timeline exports read as well.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cliffhanger.agents.season.artifacts import TURN_PAUSE_S, count_units
from cliffhanger.agents.season.shotlist import SHOT_RUNTIME_TOLERANCE, VideoTarget, quantise_duration

if TYPE_CHECKING:
    from cliffhanger.agents.roles.shot_planner import InFrame, PlannedShot

log = logging.getLogger(__name__)

HOOK_MAX_S = 5.0  # the hook lands in the first 3-5 s
SPEECH_MARGIN_S = 0.5  # breath before the first and after the last line of a shot
MAX_LINES_PER_SHOT = 6
MAX_SHOTS = 80


_LEVELS = (  # each pattern covers the whole text; coarsest boundary first
    re.compile(r".+?(?:[.!?。！？…]+[\"'”’」』)）]*\s*|$)", re.S),
    re.compile(r".+?(?:[,;:，、；：—]+\s*|$)", re.S),
    re.compile(r"\S+\s*|\s+"),
    re.compile(r"[A-Za-z0-9'’]+[^\w\s]*\s*|.[^\w\s]*\s*", re.S),  # CJK by character, latin words whole
)


def split_speech(text: str, max_units: int) -> list[str]:
    """`text` in pieces of at most `max_units` (count_units), cut at the coarsest boundary that works:
    sentence, clause, word, then CJK character; a latin word is never cut.
    """
    return [p.strip() for p in _pack(text, max(1, max_units), 0) if p.strip()]


def _pack(text: str, cap: int, level: int) -> list[str]:
    if count_units(text) <= cap or level == len(_LEVELS):
        return [text]
    out: list[str] = []
    current = ""
    for token in _LEVELS[level].findall(text):
        if count_units(token) > cap:
            out += [current, *_pack(token, cap, level + 1)]
            current = ""
        elif count_units(current + token) > cap:
            out.append(current)
            current = token
        else:
            current += token
    return [*out, current]


@dataclass(frozen=True)
class SpokenLine:
    speaker: str
    text: str
    emotion: str
    seconds: float


@dataclass
class ShotDraft:
    scene: int
    plan: PlannedShot
    cast: tuple[InFrame, ...]
    lines: tuple[SpokenLine, ...]
    hint: float
    continued: bool = False
    duration: float = 0.0

    @property
    def need(self) -> float:
        if not self.lines:
            return 0.0
        return sum(ln.seconds for ln in self.lines) + TURN_PAUSE_S * (len(self.lines) - 1) + SPEECH_MARGIN_S


def name_key(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


def group_lines(lines: list[SpokenLine], capacity_s: float) -> list[tuple[SpokenLine, ...]]:
    """Consecutive lines packed into shots whose speech fits `capacity_s`."""
    out: list[list[SpokenLine]] = [[]]
    for ln in lines:
        group = out[-1]
        used = sum(x.seconds for x in group) + TURN_PAUSE_S * len(group)
        if group and (used + ln.seconds > capacity_s or len(group) >= MAX_LINES_PER_SHOT):
            out.append([])
        out[-1].append(ln)
    return [tuple(g) for g in out]


def initial_duration(d: ShotDraft, lengths: tuple[float, ...], target: VideoTarget, *, hook: bool) -> float:
    q = quantise_duration(d.hint, target)
    want = min(lengths, key=lambda n: (abs(n - q), -n))
    if hook:
        want = min(want, max([n for n in lengths if n <= HOOK_MAX_S] or [lengths[0]]))
    return max(want, _fitting(d.need, lengths))


def _fitting(need: float, lengths: tuple[float, ...]) -> float:
    return next((n for n in lengths if n >= need - 1e-9), lengths[-1])


def fit_durations(drafts: list[ShotDraft], lengths: tuple[float, ...], runtime: float, notes: list[str]) -> None:
    """Lengthen, shorten, split or drop shots, one step at a time, each step bringing the total
    closer to `runtime`; stops when no step helps and the total is within tolerance.
    """
    tolerance = SHOT_RUNTIME_TOLERANCE * runtime
    while len(drafts) > MAX_SHOTS:
        _drop(drafts, math.inf, notes)
    seen: set[tuple[float, ...]] = set()
    for _ in range(10_000):  # a bound for safety; every step moves closer or the loop ends
        state = tuple(d.duration for d in drafts)
        if state in seen:
            return
        seen.add(state)
        gap = runtime - sum(state)
        if gap > 0:
            # the hook stays short unless nothing else can take the time
            if not _grow(drafts, lengths, gap, first=1) and gap > tolerance and not _split(drafts, lengths, gap):
                _grow(drafts, lengths, gap, first=0)
        elif gap < 0 and not _shrink(drafts, lengths, -gap) and -gap > tolerance:
            _drop(drafts, -gap, notes)


def _grow(drafts: list[ShotDraft], lengths: tuple[float, ...], gap: float, first: int) -> bool:
    options = [(i, n) for i, d in enumerate(drafts) if i >= first
               for n in [next((x for x in lengths if x > d.duration), None)] if n is not None and n - d.duration < 2 * gap]
    if not options:
        return False
    # shots the model wanted longer grow first, then the shortest
    i, n = min(options, key=lambda o: (drafts[o[0]].duration - drafts[o[0]].hint, drafts[o[0]].duration))
    drafts[i].duration = n
    return True


def _shrink(drafts: list[ShotDraft], lengths: tuple[float, ...], excess: float) -> bool:
    options = [(i, n) for i, d in enumerate(drafts)
               for n in [next((x for x in reversed(lengths) if x < d.duration), None)]
               if n is not None and n >= d.need - 1e-9 and d.duration - n < 2 * excess]
    if not options:
        return False
    i, n = min(options, key=lambda o: (drafts[o[0]].hint - drafts[o[0]].duration, -drafts[o[0]].duration))
    drafts[i].duration = n
    return True


def _split(drafts: list[ShotDraft], lengths: tuple[float, ...], gap: float) -> bool:
    """Add a continuation of the longest middle shot, taking the second half of its lines, when that helps."""
    n = len(drafts)
    i = max(range(n), key=lambda j: (0 < j < n - 1, drafts[j].duration, len(drafts[j].lines), j))
    d = drafts[i]
    half = (len(d.lines) + 1) // 2
    clone = replace(d, lines=d.lines[half:], continued=True)
    clone.duration = _fitting(clone.need, lengths)
    if len(drafts) >= MAX_SHOTS or clone.duration >= 2 * gap:
        return False
    d.lines = d.lines[:half]
    drafts.insert(i + 1, clone)
    return True


def _drop(drafts: list[ShotDraft], excess: float, notes: list[str]) -> None:
    """Drop the middle shot whose loss costs least and brings the total closest to the runtime."""
    options = [i for i in range(1, len(drafts) - 1) if drafts[i].duration <= 2 * excess]
    if options:
        i = min(options, key=lambda j: (bool(drafts[j].lines), drafts[j].plan.beat_role not in ("transition", "other"),
                                        abs(excess - drafts[j].duration)))
        if drafts[i].lines:
            log.warning("scene %s: dropped a shot with dialogue to fit the runtime", drafts[i].scene)
            notes.append(f"dropped a shot of scene {drafts[i].scene} with dialogue to fit the runtime")
        del drafts[i]
