"""What makes a micro-drama script read as machine-written: tic families matched as patterns, and banned
moves given to the writer as rules.

- A tic family (`TicFamily`) is one habit of AI prose ("嘴角勾起一抹X", "眼底闪过一丝X", "a flicker of X")
  with an id, a short why and regex patterns, per language. `find_tics` finds them in any text (action
  lines, dialogue, parentheticals); a pack's own `tics` (see `genres.pack.PackTic`) are added to its
  language's families.
- A move is a habit no pattern can match ("the lead announces her own identity"); moves are rules in
  words, rendered for the writer by `moves_text`.
- The unit of `slop_rate` is the script unit of `agents.season.artifacts.count_units`: one CJK character
  or one latin word/number (punctuation and spaces do not count), so Chinese is measured per 1,000
  characters and English per 1,000 words. genres is the bottom layer, so the rule is restated here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Language = Literal["zh", "en"]

_UNIT_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[A-Za-z0-9]+(?:['’][A-Za-z]+)*")
_HAN = r"[\u4e00-\u9fff]"
_NP = r"[^，。！？、；：,.!?;:\s“”\"（）()]"  # one character of the same clause


@dataclass(frozen=True)
class TicFamily:
    """One habit of AI prose: `id` names it in notes, `why` says what to write instead."""

    id: str
    why: str
    patterns: tuple[str, ...]

    def compiled(self) -> re.Pattern[str]:
        return _compile(self.patterns)


@dataclass(frozen=True)
class Tic:
    """One match: the family it belongs to and the span of `text` it covers."""

    family: str
    text: str
    start: int
    end: int


def _compile(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


FAMILIES: dict[Language, tuple[TicFamily, ...]] = {
    "zh": (
        TicFamily("smirk", "嘴角勾起/上扬一抹X：写演员能演的动作或直接写台词",
                  (rf"嘴角(?:微微|轻轻)?(?:勾起|上扬|扬起|微扬|噙着|挂着|浮起|泛起|勾了勾)了?(?:一抹{_NP}{{0,6}}?(?:笑意?|弧度|冷意|讥讽|嘲讽|玩味|得意))?",
                   rf"(?:勾起|扬起|露出|浮起|泛起|挂着)一抹{_NP}{{0,6}}?(?:笑意?|弧度|冷意|讥讽|嘲讽|玩味|得意)",
                   rf"一抹{_NP}{{0,4}}?(?:冷笑|笑意|弧度)")),
        TicFamily("flash_in_eyes", "眼底闪过一丝X：镜头拍不到眼底，写一个看得见的反应",
                  (rf"(?:眼[中底里神]|眸[中底光子]?|目光[中里]?)(?:快速|迅速)?(?:闪过|掠过|划过|闪烁着|浮现出?|涌起|透出|透着)(?:一[丝抹缕道](?:{_NP}{{0,6}}?的)?{_HAN}{{1,2}})?",)),
        TicFamily("trace_of", "一丝/一抹/一缕X：情绪的计量词，写具体动作",
                  (r"一[丝抹缕](?!不苟|不挂|毫)",)),
        TicFamily("as_if", "仿佛/宛如/犹如：剧本写镜头，不写比喻",
                  (r"仿佛|宛如|犹如|恍若|好似",)),
        TicFamily("cannot_help", "不禁/不由得：写动作本身",
                  (r"不禁|不由得|不由自主",)),
        TicFamily("slow_soft", "缓缓/微微/淡淡：填充副词，删掉或换成具体的节奏",
                  (r"缓缓|微微|淡淡|轻轻地",)),
        TicFamily("suddenly", "顿时/霎时：用剪辑表现，不用副词",
                  (r"顿时|霎时|刹那间|一瞬间",)),
        TicFamily("nameless", "莫名的X：说清是什么，或删掉",
                  (r"莫名(?!其妙)",)),
        TicFamily("romance_face", "眸/薄唇/邪魅/深邃：网文脸谱，写角色做什么",
                  (r"眸|薄唇|邪魅|深邃的(?:眼|目光)",)),
        TicFamily("meaningful", "意味深长/不容置疑/一字一句：告诉观众怎么理解，而不是让台词本身做到",
                  (r"意味深长|不容置疑|不容置喙|一字一[顿句]|似笑非笑",)),
        TicFamily("frozen_air", "空气凝固/落针可闻：写一个具体的声音或停顿",
                  (r"空气(?:仿佛|似乎|瞬间|都)?(?:凝固|凝结)了?|时间(?:仿佛|似乎)?(?:静止|停止)了?|鸦雀无声|落针可闻",)),
        TicFamily("crowd_gasp", "全场哗然/倒吸凉气：给一个人一句具体的反应台词",
                  (r"倒吸一口(?:凉气|冷气)|(?:全场|众人)(?:一片)?哗然|所有人都(?:惊呆|愣住)了|不可置信|难以置信",)),
        TicFamily("aura", "周身散发着X的气息：气场拍不到，写别人怎么让路",
                  (r"(?:周身|浑身)散发(?:着|出)|生人勿近|(?:强大的|恐怖的)(?:气场|威压|气势)",)),
        TicFamily("heart_lurch", "心中一紧/漏跳一拍/五味杂陈：内心活动要外化成动作或OS",
                  (r"心(?:中|头|里|脏)?(?:猛地|不由)?(?:一紧|一震|一颤|一沉|咯噔)|漏跳了?一拍|五味杂陈|涌上心头",)),
    ),
    "en": (
        TicFamily("testament", "'a testament to': say what it proves, or cut it",
                  (r"\ba testament to\b",)),
        TicFamily("something_shifted", "'something shifted': show what changed on screen",
                  (r"\bsomething (?:shifted|changed|stirred|broke|snapped)\b(?: (?:in|between|within|inside) \w+)?",)),
        TicFamily("flicker_of", "'a flicker of X': name the visible reaction instead",
                  (r"\ba (?:flicker|glint|flash|ghost|trace|hint|wave|surge|pang|spark) of \w+",)),
        TicFamily("held_breath", "'let out a breath she didn't know she was holding': the most parodied line in AI prose",
                  (r"\b(?:let out|released|exhaled) a (?:shaky |long |slow )?breath(?: (?:s?he|i|they|you) (?:didn't|did not|hadn't) (?:know|realized?) (?:s?he|i|they|you) (?:was|were|had been) holding)?",
                   r"\ba breath (?:s?he|i|they) (?:didn't|did not) know\b")),
        TicFamily("weight_of", "'the weight of': an abstraction the camera cannot film",
                  (r"\bthe weight of\b",)),
        TicFamily("barely_a_whisper", "'her voice barely above a whisper': write (quietly) or nothing",
                  (r"\b(?:(?:her|his|their|my) voice )?barely (?:above|more than) a whisper\b",)),
        TicFamily("eyes_that_held", "'eyes that held a storm': show the look's effect on someone",
                  (r"\beyes that (?:held|hold|spoke|told|burned)\b",)),
        TicFamily("little_did", "'little did she know': a script does not narrate",
                  (r"\blittle did (?:s?he|they|i|we|anyone|he) know\b",)),
        TicFamily("spine_chill", "'a chill ran down her spine': film the reaction",
                  (r"\b(?:a )?(?:chill|shiver)s? (?:ran|runs|went|crept|raced) (?:down|up) (?:his|her|my|their) spine\b",
                   r"\bsent (?:shivers|a shiver|chills) down\b")),
        TicFamily("thick_air", "'the air grew thick': write a sound or a pause",
                  (r"\bthe air (?:grew|was|hung|felt) (?:thick|heavy)\b", r"\bthe silence was deafening\b",
                   r"\b(?:you )?could hear a pin drop\b", r"\btime (?:seemed to )?(?:stood|stand|stop|stopped) still\b",
                   r"\b(?:hung|hangs) heavy in the air\b")),
        TicFamily("smirk_played", "'a smirk played on her lips': give the line instead",
                  (r"\ba (?:smirk|smile|grin) (?:played|tugged|danced|curled) (?:on|at|across)\b",
                   r"\b(?:smile|smirk) (?:that )?(?:didn't|did not) reach (?:his|her|their|my) eyes\b")),
        TicFamily("heart_skipped", "'her heart skipped a beat': externalise it",
                  (r"\b(?:her|his|my|their) heart (?:skipped|shattered|lurched|clenched|hammered)\b",)),
        TicFamily("couldnt_help", "'couldn't help but': write the action",
                  (r"\b(?:couldn't|could not|can't|cannot) help but\b",)),
        TicFamily("mixture_of", "'a mix of X and Y': pick the one the actor plays",
                  (r"\ba (?:mix|mixture|blend|cocktail) of \w+(?: \w+)? and\b",)),
        TicFamily("stock_words", "palpable / tapestry / steely resolve / newfound / unspoken: stock filler",
                  (r"\bpalpable\b|\btapestry\b|\bsteely (?:resolve|gaze|determination)\b|\bnewfound\b|\bunspoken\b",
                   r"\bevery fib(?:er|re) of (?:his|her|my|their) being\b", r"\bin a voice laced with\b")),
    ),
}

# A tic is tolerated once an episode (about 600 characters / 200-250 words at 90 s), two are a habit.
# Judgment calls, not calibrated: per 1,000 units, above this the rule check asks for a cut.
TIC_LIMIT_PER_1000: dict[Language, float] = {"zh": 3.0, "en": 5.0}

# Moves every pack bans, written as rules for the writer (the pack's own `moves` are added).
BASE_MOVES: dict[Language, tuple[str, ...]] = {
    "zh": (
        "主角不自报身份（“我就是……”“你知道我是谁吗”）：身份由证据、第三方或一通电话揭开",
        "反派不喊口号式威胁（“你会付出代价的”“你给我等着”）：威胁要具体到一件事、一个时间",
        "结尾不讲道理、不总结寓意：停在画面或一句台词上",
        "不连用惊叹（“什么？！”“不可能！”接二连三）：一个人一句具体的反应就够",
        "不写镜头拍不到的东西（心里想、气场、空气）：内心用OS，其余写成动作",
        "没有人为了推进剧情而降智：每个角色的选择都要有他自己的理由",
    ),
    "en": (
        "The lead never announces their own identity (\"I am ...\", \"Do you know who I am?\"): proof, a third party "
        "or one phone call reveals it",
        "No slogan threats (\"You'll regret this\", \"This isn't over\"): a threat names a concrete thing and a time",
        "No moral at the end: stop on an image or a line",
        "No strings of \"What?!\" / \"Impossible!\": one person, one specific reaction",
        "Nothing a camera cannot film (thoughts, auras, the air): inner voice as V.O., the rest as action",
        "No one acts stupid to move the plot: every choice has the character's own reason",
    ),
}


def units(text: str) -> int:
    """Script units of `text` (see the module docstring): CJK characters plus latin words and numbers."""
    return len(_UNIT_RE.findall(text))


def families(language: str, extra: Iterable[TicFamily] = ()) -> tuple[TicFamily, ...]:
    """The language's tic families, then `extra` (a pack's own, see `GenrePack.tic_families`)."""
    return (*FAMILIES["zh" if language == "zh" else "en"], *extra)


def find_tics(text: str, language: str, extra: Iterable[TicFamily] = ()) -> list[Tic]:
    """The tics in `text`, in order and not overlapping: where matches of several families overlap, the
    earliest wins and then the longest ("嘴角勾起一抹冷笑" is one smirk, not a smirk and a trace_of)."""
    found = [Tic(f.id, m.group(0), m.start(), m.end())
             for f in families(language, extra) for m in f.compiled().finditer(text) if m.end() > m.start()]
    found.sort(key=lambda t: (t.start, -(t.end - t.start)))
    kept: list[Tic] = []
    for tic in found:
        if not kept or tic.start >= kept[-1].end:
            kept.append(tic)
    return kept


def slop_rate(texts: Iterable[str], language: str, extra: Iterable[TicFamily] = ()) -> float:
    """Tics per 1,000 script units over all `texts` (0.0 when they hold no units)."""
    extra = tuple(extra)
    texts = list(texts)
    total = sum(units(t) for t in texts)
    hits = sum(len(find_tics(t, language, extra)) for t in texts)
    return round(hits / total * 1000, 2) if total else 0.0


def check_pattern(pattern: str) -> str:
    """`pattern` if it compiles as a Python regex and cannot match empty text; ValueError saying why not."""
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression ({exc}): escape special characters "
                         "such as ( ) [ ] ? * + with a backslash") from None
    if compiled.fullmatch(""):
        raise ValueError(f"{pattern!r} matches empty text: make it match at least one character")
    return pattern


def moves_text(language: str, pack_moves: Sequence[str] = ()) -> str:
    """The banned moves as rules for the writer, one bullet a line, in the script's language."""
    lang: Language = "zh" if language == "zh" else "en"
    return "\n".join(f"- {m}" for m in (*BASE_MOVES[lang], *pack_moves))
