"""Text and script statistics behind the model-free metrics: tokens, n-grams, lexicon matching, hook
timing, ending kinds, payoff overlap and the writer's format contract.

Contracts
- A token is what `count_units` counts: one CJK character or one latin word (lowercased, apostrophes
  kept), so English is measured in words and Chinese in characters by the same function.
- Lexicons are data in `cliffhanger.evals.lexicons`; matching rules are in `lexicon_hits`.
- Everything here is pure and deterministic: the same text gives the same numbers on every machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

from cliffhanger.agents.season.artifacts import (
    Action,
    Bible,
    DialogueLine,
    EpisodeScript,
    Scene,
    SeasonSpec,
    count_units,
)
from cliffhanger.agents.season.runtime import scene_guide, timeline
from cliffhanger.evals.lexicons import (
    COMMAND_STARTS_EN,
    CUT_OFF_ENDINGS,
    ENDING_TERMS,
    HOOK_TERMS,
    PAYOFF_BUILD,
    PAYOFF_STEPS,
    QUESTION_PARTICLES_ZH,
    STOP_CHARS_ZH,
    STOP_WORDS_EN,
)

EndingKind = Literal["question", "threat", "reveal", "interruption", "arrival", "none"]
ENDING_KINDS: tuple[EndingKind, ...] = ("question", "threat", "reveal", "interruption", "arrival", "none")
_CONTENT_KINDS: tuple[EndingKind, ...] = ("arrival", "reveal", "threat")  # in order of precedence
_CLOSERS = "\"'”’」』）)]》 \t\n"  # trailing quotes and brackets do not change how a line ends

# ---- tokens ---------------------------------------------------------------------------------------

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]|[a-z0-9]+(?:'[a-z]+)*")


def _fold(text: str) -> str:
    return text.lower().replace("’", "'").replace("‘", "'")


def tokens(text: str) -> list[str]:
    """The units of `text` (CJK characters and lowercased latin words), in order."""
    return _TOKEN_RE.findall(_fold(text))


def ngrams(toks: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)]


def distinct_n(segments: Iterable[Sequence[str]], n: int) -> float:
    """Distinct n-grams / all n-grams, pooled over segments (no n-gram spans two segments); 0.0 when
    there are none. 1.0 means nothing repeats.
    """
    grams = [g for seg in segments for g in ngrams(seg, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def is_stop(gram: Sequence[str]) -> bool:
    """True when every token of `gram` is an English stop word or a Chinese function character."""
    return all(t in STOP_WORDS_EN or t in STOP_CHARS_ZH for t in gram)


def _stem(word: str) -> str:
    # A light English stemmer, enough for "opens"/"opened"/"open" to meet across an episode break.
    word = word.removesuffix("'s")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_keys(text: str, language: str) -> set[str]:
    """What a payoff overlap compares: English content words (stop words dropped, lightly stemmed),
    Chinese character bigrams within a clause (bigrams of two function characters dropped).
    """
    if language == "en":
        return {_stem(t) for t in tokens(text) if t not in STOP_WORDS_EN and len(t) > 1 and not t.isdigit()}
    keys: set[str] = set()
    for clause in re.split(rf"[^{_CJK}]+", text):
        keys.update(a + b for a, b in zip(clause, clause[1:], strict=False)
                    if not (a in STOP_CHARS_ZH and b in STOP_CHARS_ZH))
    return keys


def overlap_share(earlier: set[str], later: set[str]) -> float:
    """Share of `earlier`'s keys found again in `later` (0-1); 0.0 when `earlier` is empty."""
    return len(earlier & later) / len(earlier) if earlier else 0.0


# ---- lexicon matching ------------------------------------------------------------------------------

def _normalise(text: str, language: str) -> str:
    folded = _fold(text)
    if language == "zh":
        return "".join(re.findall(rf"[{_CJK}a-z0-9]+", folded))
    return " ".join(re.findall(rf"[a-z0-9'{_CJK}]+", folded))


@lru_cache(maxsize=64)
def _pattern(terms: tuple[str, ...], language: str) -> re.Pattern[str] | None:
    parts = []
    for term in terms:
        stem = term.endswith("*")
        norm = _normalise(term.rstrip("*"), language)
        if not norm:
            continue
        body = re.escape(norm) + ("[a-z0-9']*" if stem and language != "zh" else "")
        parts.append((len(norm), body))
    if not parts:
        return None
    # Longest first, so "眼中闪过一丝" is one hit rather than the shorter "闪过一丝" inside it.
    alternation = "|".join(body for _, body in sorted(parts, key=lambda p: -p[0]))
    if language == "zh":
        return re.compile(f"(?:{alternation})")
    return re.compile(f"(?<![a-z0-9'])(?:{alternation})(?![a-z0-9'])")


def lexicon_hits(text: str, terms: Sequence[str], language: str) -> list[str]:
    """The non-overlapping matches of `terms` in `text`, as found (normalised), in order."""
    pattern = _pattern(tuple(terms), language)
    return pattern.findall(_normalise(text, language)) if pattern is not None else []


# ---- hooks and endings -------------------------------------------------------------------------------

def is_hook(text: str, language: str, *, spoken: bool) -> bool:
    """A conflict signal: an exclamation or question mark, a hook-lexicon word, or (English dialogue)
    a sentence that opens with an imperative from COMMAND_STARTS_EN.
    """
    if any(mark in text for mark in "!！?？"):
        return True
    if lexicon_hits(text, HOOK_TERMS[language], language):
        return True
    if spoken and language == "en":
        starts = _pattern(COMMAND_STARTS_EN, "en")
        assert starts is not None
        return any(starts.match(_normalise(s, "en")) for s in re.split(r"[.;:]\s*", text) if s.strip())
    return False


def _trimmed(text: str) -> str:
    return text.rstrip(_CLOSERS)


def _cut_off(text: str) -> bool:
    return _trimmed(text).endswith(CUT_OFF_ENDINGS)


def _asks(text: str, language: str) -> bool:
    end = _trimmed(text).rstrip("!！")
    if end.endswith(("?", "？")):
        return True
    return language == "zh" and end.rstrip("。.").endswith(QUESTION_PARTICLES_ZH)


def classify_ending(texts: Sequence[str], language: str) -> EndingKind:
    """The kind of cliffhanger `texts` (the last element, then the ending hook) end on.

    Content first, in the order arrival, reveal, threat: a lexicon term anywhere in any text decides,
    since what the hook is about matters more than its punctuation ("The real heir is—" is a reveal).
    Then form: a text ending on a dash or ellipsis (or naming an interruption) is an interruption; one
    ending on ?/？ (or, in Chinese, on 吗/么/呢) is a question. Otherwise "none": resolved or flat.
    """
    texts = [t for t in texts if t and t.strip()]
    for kind in _CONTENT_KINDS:
        if any(lexicon_hits(t, ENDING_TERMS[kind][language], language) for t in texts):
            return kind
    if any(_cut_off(t) for t in texts) or any(
            lexicon_hits(t, ENDING_TERMS["interruption"][language], language) for t in texts):
        return "interruption"
    if any(_asks(t, language) for t in texts):
        return "question"
    return "none"


def same_line(a: str, b: str) -> bool:
    """True when one text contains the other once case, whitespace and punctuation are ignored."""
    na, nb = (re.sub(rf"[^{_CJK}a-z0-9]", "", _fold(t)) for t in (a, b))
    return bool(na and nb) and (na in nb or nb in na)


# ---- scripts ---------------------------------------------------------------------------------------------

def element_text(el: Action | DialogueLine) -> str:
    return el.line if isinstance(el, DialogueLine) else el.text


def last_text(script: EpisodeScript) -> str:
    """The text of the episode's final element ("" for a script without one)."""
    return element_text(script.scenes[-1].elements[-1]) if script.scenes and script.scenes[-1].elements else ""


def segments(script: EpisodeScript) -> list[list[str]]:
    """Tokens of each dialogue line and action text, in screen order (n-grams never span two)."""
    return [tokens(element_text(el)) for scene in script.scenes for el in scene.elements]


def scene_seconds(scene: Scene, language: str) -> list[float]:
    """Seconds each element of `scene` adds to the runtime, by the room's own estimator
    (`agents.season.runtime.timeline`: calibrated rates, quoted speech in action, reaction overlap), so the
    clock here and `EpisodeScript.estimate_runtime_s` agree element by element.
    """
    return timeline([(el.type, element_text(el)) for el in scene.elements], language)  # type: ignore[arg-type]


def seconds_to_hook(script: EpisodeScript, language: str) -> float | None:
    """Estimated start time of the first element carrying a conflict signal (`is_hook` on the line,
    action text or parenthetical), or None when no element does.
    """
    clock = 0.0
    for scene in script.scenes:
        for el, added in zip(scene.elements, scene_seconds(scene, language), strict=True):
            spoken = isinstance(el, DialogueLine)
            if is_hook(element_text(el), language, spoken=spoken) or (
                    spoken and el.parenthetical and is_hook(el.parenthetical, language, spoken=False)):
                return round(clock, 1)
            clock += added
    return None


def payoff_score(previous: EpisodeScript, script: EpisodeScript, language: str) -> float:
    """How much of the previous ending (ending_hook + last element) the first scene picks up: the share
    of its `content_keys` found again in the first scene's lines (0-1).
    """
    before = content_keys(f"{previous.ending_hook}\n{last_text(previous)}", language)
    first = "\n".join(element_text(el) for el in script.scenes[0].elements) if script.scenes else ""
    return round(overlap_share(before, content_keys(first, language)), 3)


@lru_cache(maxsize=8)
def _step_pattern(step: str, language: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in PAYOFF_BUILD[step][language]))


def payoff_build(script: EpisodeScript, language: str, bible: Bible | None = None) -> tuple[str, ...]:
    """The steps of a built payoff found in order in the script, a KEYWORD PROXY (no model reads the scene):

    1. "commitment": a dialogue line with a conditional or a vow (`lexicons.PAYOFF_BUILD`: zh 如果/要是…就,
       我当场, 我跪下; en "if she can", "I'll resign", "I swear") not spoken by a protagonist of the bible
       (without a bible, by anyone);
    2. "turn": a later element with evidence words (证据/录音/文件/视频/合同/DNA; evidence, recording,
       document, contract, footage): an action line, or a line not spoken by an antagonist of the bible;
    3. "price": a later element with words of loss (辞退/解除婚约/赔/跪/开除/滚出; fired, engagement off, resign,
       pay, kneel).
    Returns the chain found, earliest first: ("commitment", "turn", "price") when the payoff is built, a
    shorter prefix when it stops early, () when there is no commitment.
    """
    leads = {c.id: c.role for c in bible.characters if c.role in ("protagonist", "antagonist")} if bible else {}
    found: list[str] = []
    for scene in script.scenes:
        for el in scene.elements:
            if len(found) == len(PAYOFF_STEPS):
                return tuple(found)
            step = PAYOFF_STEPS[len(found)]
            speaker = leads.get(el.speaker) if isinstance(el, DialogueLine) else None
            if step == "commitment" and (not isinstance(el, DialogueLine) or speaker == "protagonist"):
                continue
            if step == "turn" and speaker == "antagonist":
                continue
            if _step_pattern(step, language).search(_fold(element_text(el))):
                found.append(step)
    return tuple(found)


def format_problems(script: EpisodeScript, spec: SeasonSpec, bible: Bible | None) -> tuple[int, int, list[str]]:
    """(checks run, checks failed, problems) against the writer's contract: scenes numbered 1..n, on-screen
    speakers in the scene's cast, cast and speakers known to the bible (only with a bible), no line
    without words, the last element matching ending_hook (`same_line`), and the scene and element
    counts of `agents.season.runtime.scene_guide` for the runtime and language. Works on unvalidated scripts (model_construct).
    """
    lo, hi, per_lo, per_hi = scene_guide(spec.runtime_s, spec.language)
    checks: dict[str, list[str]] = {"numbering": [], "cast": [], "empty": [], "ending": [], "scenes": [],
                                    "elements": []}
    known = set(bible.character_ids) if bible is not None else set()
    if bible is not None:
        checks["bible"] = []
    for i, scene in enumerate(script.scenes, start=1):
        if scene.number != i:
            checks["numbering"].append(f"scene {i} is numbered {scene.number}")
        if not per_lo <= len(scene.elements) <= per_hi:
            checks["elements"].append(f"scene {i} has {len(scene.elements)} elements, not {per_lo}-{per_hi}")
        for el in scene.elements:
            if count_units(element_text(el)) == 0:
                checks["empty"].append(f"scene {i}: a {el.type} line has no words")
            if isinstance(el, DialogueLine) and el.delivery is None and el.speaker not in scene.cast:
                checks["cast"].append(f"scene {i}: {el.speaker} speaks but is not in the cast")
        if bible is not None:
            people = {*scene.cast, *(el.speaker for el in scene.elements if isinstance(el, DialogueLine))}
            checks["bible"] += [f"scene {i}: {who} is not a bible character" for who in sorted(people - known)]
    if not lo <= len(script.scenes) <= hi:
        checks["scenes"].append(f"{len(script.scenes)} scenes, not {lo}-{hi}")
    if not same_line(last_text(script), script.ending_hook):
        checks["ending"].append("the last element does not match ending_hook")
    return len(checks), sum(1 for found in checks.values() if found), [p for found in checks.values() for p in found]
