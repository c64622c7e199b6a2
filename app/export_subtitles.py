"""Subtitles from the shot lists: SRT (the `srt` package) and WebVTT (`webvtt-py`), one file per episode.

Contracts
- Every timed line of a shot list (`ShotDialogue`) becomes one or more cues, in the script language, from
  `shot.start_s + line.start_s` for `line.duration_s`; times in whole milliseconds.
- A cue holds at most `MAX_LINES` lines of at most `CJK_LINE` characters (text with Chinese, Japanese or
  Korean in it) or `LATIN_LINE` characters (any other), sized for a vertical 9:16 frame. Latin text breaks
  at spaces; CJK text after punctuation (or a space) where it can, else at the limit, never leaving a
  line that starts with closing punctuation; the two lines of a cue are then balanced (`balanced`), so no
  word or character is left alone under a full line. A line too long for one cue is split into consecutive cues
  across its time span, each cue's share proportional to its characters: the first starts when the line
  does, the last ends when it does, with no gap between them.
- No speaker name: micro-dramas burn in the line alone (the timeline's dialogue track keeps who speaks).
  Voice-over in `Sound.vo_os` has no timing and is not subtitled.
- Hostile text stays text. Whitespace (newlines too) collapses to one space, so a line never ends a cue
  early or fakes a cue of its own; control characters are dropped. SRT has no escapes, and players read
  `<i>` and `{\\an8}` in it as styling: `< > { }` are written as their full-width forms `＜ ＞ ｛ ｝`, which
  also turns `-->` into `--＞`. WebVTT escapes `& < >` as the format says (`&amp; &lt; &gt;`).
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from cliffhanger.agents.season.shotlist import ShotDialogue, ShotList

CJK_LINE = 16
LATIN_LINE = 42
MAX_LINES = 2

# A CJK line may break after these (and after a space); a line may not start with the closing ones.
_BREAK_AFTER = "，。！？；：、…—,.!?;:」』”’）》〉】)]"
_SEGMENT = re.compile(rf"[^{re.escape(_BREAK_AFTER)}\s]+[{re.escape(_BREAK_AFTER)}\s]*|[{re.escape(_BREAK_AFTER)}\s]+")
_SRT_PLAIN = str.maketrans({"<": "＜", ">": "＞", "{": "｛", "}": "｝"})


@dataclass(frozen=True)
class Cue:
    """One subtitle on screen: `lines` shown from `start_ms` to `end_ms`; `text` is the part of the spoken
    line it holds (its lines joined as they read)."""

    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    text: str
    shot_id: str
    speaker: str  # canon id
    line_no: int  # which line of the shot, from 1

    @property
    def line_id(self) -> str:
        """The spoken line this cue belongs to: 'EEE-SS-NN.K', the shot and the line's place in it."""
        return f"{self.shot_id}.{self.line_no}"


def plain(text: str) -> str:
    """`text` on one line: whitespace runs (newlines too) as one space, control characters dropped."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch.isspace())
    return " ".join(kept.split())


def is_cjk(text: str) -> bool:
    """True when `text` holds a wide (CJK) character: it is then broken at `CJK_LINE` characters a line."""
    return any(unicodedata.east_asian_width(ch) in "WF" and ch.isalnum() for ch in text)


def line_limit(text: str) -> int:
    return CJK_LINE if is_cjk(text) else LATIN_LINE


def break_lines(text: str, limit: int | None = None) -> list[str]:
    """`text` (made `plain`) as lines of at most `limit` characters (default: `line_limit(text)`)."""
    text = plain(text)
    limit = limit or line_limit(text)
    if not text:
        return []
    if not is_cjk(text):
        return textwrap.wrap(text, width=limit, break_long_words=True, break_on_hyphens=False)
    lines: list[str] = []
    line = ""
    for seg in _SEGMENT.findall(text):
        if len(line + seg.rstrip()) <= limit:
            line += seg
            continue
        if line.strip():
            lines.append(line.strip())
        line = seg.lstrip()
        while len(line.rstrip()) > limit:  # no break point within the limit: cut, keeping closers with their text
            cut = limit
            while cut > 1 and line[cut] in _BREAK_AFTER:
                cut -= 1
            lines.append(line[:cut].strip())
            line = line[cut:].lstrip()
    if line.strip():
        lines.append(line.strip())
    return lines


def _joined(lines: Iterable[str], cjk: bool) -> str:
    return ("" if cjk else " ").join(lines)


def balanced(lines: tuple[str, ...], cjk: bool) -> tuple[str, ...]:
    """Two lines of one cue re-broken where their halves come out nearest in length (a tie to the longer
    second line), at a space (Latin) or after punctuation (CJK; in the middle when it has none), each half
    within the limit: no one-word or one-character last line under a full one."""
    if len(lines) != 2:
        return lines
    text = _joined(lines, cjk)
    limit = CJK_LINE if cjk else LATIN_LINE
    if cjk:
        points = [m.end() for m in _SEGMENT.finditer(text)][:-1]
        if not points:
            middle = (len(text) + 1) // 2
            while middle > 1 and text[middle] in _BREAK_AFTER:
                middle -= 1
            points = [middle]
    else:
        points = [i for i, ch in enumerate(text) if ch == " "]
    splits = [(text[:p].strip(), text[p:].strip()) for p in points]
    fits = [(a, b) for a, b in splits if a and b and len(a) <= limit and len(b) <= limit]
    return min(fits, key=lambda ab: (abs(len(ab[0]) - len(ab[1])), len(ab[0]) > len(ab[1])), default=lines)


def line_cues(dialogue: ShotDialogue, shot_start_s: float, shot_id: str, line_no: int) -> list[Cue]:
    """The cues of one spoken line: one when it fits `MAX_LINES` lines, else consecutive cues over its span."""
    start_ms = round((shot_start_s + dialogue.start_s) * 1000)
    end_ms = max(round((shot_start_s + dialogue.start_s + dialogue.duration_s) * 1000), start_ms + 1)
    lines = break_lines(dialogue.line)
    if not lines:
        return []
    cjk = is_cjk(dialogue.line)
    groups = [tuple(lines[i:i + MAX_LINES]) for i in range(0, len(lines), MAX_LINES)]
    weights = [sum(len(x) for x in g) for g in groups]
    total, done, cues, at = sum(weights), 0, [], start_ms
    for group, weight in zip(groups, weights, strict=True):
        done += weight
        end = start_ms + round((end_ms - start_ms) * done / total) if done < total else end_ms
        if end > at:  # a span of fewer milliseconds than pieces (never in practice): the rest join the last cue
            cues.append(Cue(at, end, balanced(group, cjk), _joined(group, cjk), shot_id, dialogue.speaker, line_no))
            at = end
        elif cues:
            last = cues[-1]
            merged = last.lines + group
            cues[-1] = Cue(last.start_ms, last.end_ms, merged, _joined(merged, cjk), shot_id, last.speaker, line_no)
    return cues


def episode_cues(shot_list: ShotList) -> list[Cue]:
    """Every cue of an episode, in screen order."""
    cues = [cue for shot in shot_list.shots for n, d in enumerate(shot.dialogue, start=1)
            for cue in line_cues(d, shot.start_s, shot.shot_id, n)]
    return sorted(cues, key=lambda c: (c.start_ms, c.end_ms))


def srt_text(cues: Iterable[Cue]) -> str:
    """An SRT document of `cues`, numbered from 1 (`srt.compose`)."""
    import srt

    subs = [srt.Subtitle(index=i, start=timedelta(milliseconds=c.start_ms), end=timedelta(milliseconds=c.end_ms),
                         content="\n".join(line.translate(_SRT_PLAIN) for line in c.lines))
            for i, c in enumerate(cues, start=1)]
    return srt.compose(subs, reindex=True, strict=True)


def _vtt_time(ms: int) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _vtt_escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_text(cues: Iterable[Cue]) -> str:
    """A WebVTT document of `cues` (`webvtt-py`), cue text escaped."""
    import webvtt

    captions = [webvtt.Caption(start=_vtt_time(c.start_ms), end=_vtt_time(c.end_ms),
                               text=[_vtt_escape(line) for line in c.lines]) for c in cues]
    return webvtt.WebVTT(captions=captions).content


def subtitle_files(fmt: str, language: str, shot_lists: Iterable[ShotList]) -> Iterator[tuple[str, str]]:
    """(file name, text) per episode: '001.zh.srt' for `fmt` 'srt', '001.zh.vtt' for 'vtt'."""
    render = srt_text if fmt == "srt" else vtt_text
    for sl in shot_lists:
        yield f"{sl.episode:03d}.{language}.{fmt}", render(episode_cues(sl))
