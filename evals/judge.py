"""The judge: pairwise verdicts (both orders) and pointwise diagnostics of drafted episodes.

Contracts
- Pairwise (EQ-Bench Creative Writing v3 style): two drafts of the same premise and episode are shown
  as "Episode 1" and "Episode 2", never by configuration, once in each order. A criterion (and the
  overall choice) is won only when both orders agree; any disagreement is a tie. Both drafts are cut
  to the shorter one's length first (`truncate_common`) so that length cannot buy a win.
- Pointwise: one draft, per criterion an analysis then a 0-10 score. A diagnostic (degradation over the
  season), not the ranking.
- The judge returns pydantic objects only (`PairVerdict`, `PointVerdict`: these are the schema names a
  `ScriptedClient` is scripted under). Results are frozen pydantic records whose `as_record()` is the
  line written to results.jsonl and whose `model_validate` (or `load_results`) reads it back, checked.
- The judge reads each draft in its season: the premise (the suite's logline, and the bible's premise
  when the season has a bible), the previous episode's ending in the same season (its last scene's last
  lines and ending hook: did this episode pay it off?), and the series notes (the suite's notes, else
  the genre pack's). All are part of the rendered prompt, so a changed context is judged again.
- Every record keeps the prompt's `name@hash` and a sha256 of the rendered prompt; `matches` re-renders
  and compares, so a re-run can reuse a judgment only when the prompt file and both texts are unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
    model_validator,
)

from cliffhanger.agents.llm.client import StructuredModel
from cliffhanger.agents.prompts import Prompt, render
from cliffhanger.agents.season.artifacts import Language, count_units

CRITERIA = ("hook", "cliffhanger_pull", "payoff", "pacing", "escalation", "surprise", "character_consistency",
            "dialogue", "earned_emotion", "freshness")
CRITERION_DEFINITIONS: dict[str, str] = {
    "hook": "The first 3-5 seconds grab: conflict, danger or a striking image before any set-up.",
    "cliffhanger_pull": "The last beat stops one frame before an answer the viewer needs to see next.",
    "payoff": "The promised payoff (reveal, face-slap, reversal) lands on screen with a visible reaction.",
    "pacing": "A turn or payoff every 30-60 seconds, no dead air, nothing that drags.",
    "escalation": "The stakes rise within the episode and against where it started.",
    "surprise": "Turns the viewer did not see coming that still fit: obvious in hindsight, never arbitrary.",
    "character_consistency": "Everyone acts and sounds like themselves; nobody knows what they should not.",
    "dialogue": "Short, speakable lines with subtext and a winner in every exchange; no exposition dumps.",
    "earned_emotion": "Humiliation, anger and tenderness are set up by action on screen, not asserted.",
    "freshness": "Stock beats are avoided or given a new turn; no stale phrasing.",
}
Outcome = Literal["a", "b", "tie"]
Choice = Literal["1", "2", "tie"]
Analysis = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1200)]
CUT_MARK = "[…]"  # no letters or CJK characters: it adds no units to a cut text
_SENTENCE_END = {"zh": "。！？…；!?", "en": ".!?;"}
_LANGUAGE_NAME = {"zh": "Chinese", "en": "English"}
_UNIT_NAME = {"zh": "characters", "en": "words"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CriterionChoice(_Frozen):
    """One criterion of a pairwise verdict: the comparison first, then the choice."""

    analysis: Analysis = Field(description="Two or three sentences comparing both drafts, citing each.")
    choice: Choice = Field(description="'1' or '2' for the better draft on this criterion, 'tie' when level.")


class CriterionScore(_Frozen):
    """One criterion of a pointwise verdict: the analysis first, then the score."""

    analysis: Analysis = Field(description="Two or three sentences on this criterion, citing the script.")
    score: int = Field(ge=0, le=10, description="0-10 on the banded scale of the prompt.")


PairVerdict = create_model(
    "PairVerdict", __base__=_Frozen, __doc__="The judge's comparison of two drafts, criterion by criterion.",
    **{c: (CriterionChoice, Field(description=CRITERION_DEFINITIONS[c])) for c in CRITERIA},
    overall_analysis=(Analysis, Field(description="Which draft more viewers would finish and pay to continue, and why.")),
    overall=(Choice, Field(description="'1', '2' or 'tie' overall.")),
)
PointVerdict = create_model(
    "PointVerdict", __base__=_Frozen, __doc__="The judge's scores of one draft, criterion by criterion.",
    **{c: (CriterionScore, Field(description=CRITERION_DEFINITIONS[c])) for c in CRITERIA},
)


@dataclass(frozen=True)
class Candidate:
    """One drafted episode to judge. `episodes` is the season length (for the relative position)."""

    config: str
    premise: str
    episode: int
    position: str  # suites.JudgedEpisode.label, e.g. "the opening"
    text: str  # the script as plain text (agents.continuity.script_text)
    language: Language
    episodes: int
    logline: str = ""  # the season's logline (the same for every config of a premise)
    bible_premise: str = ""  # this season's bible premise, "" without a bible
    previous_ending: str = ""  # `previous_ending` of episode - 1 in this season, "" for episode 1 or none
    notes: str = ""  # series notes for the judge (`rubric_hint` of the judge calls overrides them)

    def __post_init__(self) -> None:
        if not 1 <= self.episode <= self.episodes:
            raise ValueError(f"episode {self.episode} is outside a season of {self.episodes}")
        if self.language not in _LANGUAGE_NAME:
            raise ValueError(f"language must be zh or en, not {self.language!r}")

    @property
    def relative_position(self) -> float:
        """0 for the first episode, 1 for the last."""
        return 0.0 if self.episodes == 1 else (self.episode - 1) / (self.episodes - 1)


# ---- length control ------------------------------------------------------------------------------

def _prefix(line: str, room: int, language: str) -> str:
    """The longest start of `line` with at most `room` units, ending at a sentence end when it has one."""
    lo, hi = 0, len(line)
    while lo < hi:  # units only grow with the prefix, and a partly cut word already counts
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if count_units(line[:mid]) <= room else (lo, mid - 1)
    head = line[:lo]
    end = max(head.rfind(ch) for ch in _SENTENCE_END[language])
    return head[: end + 1] if end >= 0 and count_units(head[: end + 1]) else head.rstrip()


def _cut(text: str, budget: int, language: str) -> str:
    if count_units(text) <= budget:
        return text
    lines = text.splitlines()
    # The ending decides a micro-drama: keep the last line (script_text's "Ending hook") and cut the middle.
    tail = lines[-1] if len(lines) > 1 and count_units(lines[-1]) <= budget // 4 else None
    body = lines[:-1] if tail is not None else lines
    room = budget - (count_units(tail) if tail else 0)
    kept: list[str] = []
    for line in body:
        n = count_units(line)
        if n > room:
            # A whole-line cut when it wastes little; otherwise the start of the next line as well.
            if room > budget // 10 or not kept:
                part = _prefix(line, room, language)
                if count_units(part):
                    kept.append(part)
            break
        kept.append(line)
        room -= n
    return "\n".join([*kept, CUT_MARK, *([tail] if tail else [])])


def truncate_common(a_text: str, b_text: str, language: str) -> tuple[str, str, int]:
    """Both texts cut to the shorter one's length in units (`count_units`): `(a, b, units)`.

    The shorter text is unchanged; the longer keeps its opening and its last line and loses the middle,
    at a line boundary where that wastes under a tenth of the budget, else inside a line at a sentence
    end or a unit. The cut is marked `CUT_MARK`. Neither result holds more than `units` units.
    """
    if language not in _SENTENCE_END:
        raise ValueError(f"language must be zh or en, not {language!r}")
    units = min(count_units(a_text), count_units(b_text))
    return _cut(a_text, units, language), _cut(b_text, units, language), units


# ---- context -------------------------------------------------------------------------------------

PREVIOUS_LINES = 3  # elements of the previous episode's last scene shown to the judge


def previous_ending(script: Any, lines: int = PREVIOUS_LINES) -> str:
    """How an episode ended, as the judge of the next one reads it: its last scene's heading, the last
    `lines` elements of that scene (formatted as `agents.continuity.script_text` formats them) and the
    ending hook. `script` is an EpisodeScript; "" when it has no scenes.
    """
    from cliffhanger.agents.roles.continuity import script_text

    if not script.scenes:
        return ""
    body = script_text(script).splitlines()
    start = max(i for i, line in enumerate(body) if line.startswith("Scene "))
    scene = body[start:-1]  # the heading and every element line of the last scene
    return "\n".join([scene[0], *scene[1:][-lines:], body[-1]])


def _premise(c: Candidate) -> str:
    return c.logline.strip() or "(not given)"


def _before(c: Candidate) -> str:
    """What this draft follows: its season's bible premise (when there is one) and the previous ending."""
    parts = [f"This writer's series bible premise: {c.bible_premise.strip()}"] if c.bible_premise.strip() else []
    if c.episode == 1:
        parts.append("This is the first episode: nothing comes before it.")
    elif c.previous_ending.strip():
        parts.append(f"Episode {c.episode - 1} of the same season (same writer) ended:\n{c.previous_ending.strip()}")
    else:
        parts.append(f"Episode {c.episode - 1} of this season is not available.")
    return "\n".join(parts)


def _hint(c: Candidate, rubric_hint: str) -> str:
    return rubric_hint.strip() or c.notes.strip() or "(none)"


# ---- prompts -------------------------------------------------------------------------------------

def _length_note(lengths: dict[str, int], language: str) -> str:
    unit = _UNIT_NAME[language]
    if lengths["a"] == lengths["b"]:
        return f"Both drafts run the same length ({lengths['judged']} {unit}); nothing was cut."
    return (f"The two drafts were equalised in length: the longer one was cut to {lengths['judged']} {unit}, the "
            f"length of the shorter, keeping its opening (and its closing line when that is short); the cut is "
            f"marked {CUT_MARK}.")


def _pair_prompts(a: Candidate, b: Candidate, rubric_hint: str) -> tuple[tuple[Prompt, Prompt], dict[str, int]]:
    if (a.premise, a.episode) != (b.premise, b.episode) or a.config == b.config:
        raise ValueError(f"a pair is two configs on one premise and episode, not {a.config}/{a.premise}/"
                         f"{a.episode} and {b.config}/{b.premise}/{b.episode}")
    a_text, b_text, units = truncate_common(a.text, b.text, a.language)
    lengths = {"a": count_units(a.text), "b": count_units(b.text), "judged": units}
    common = dict(episode=a.episode, episodes=a.episodes, position=a.position,
                  language_name=_LANGUAGE_NAME[a.language], length_note=_length_note(lengths, a.language),
                  premise=_premise(a), rubric_hint=_hint(a, rubric_hint))
    return (render("judge.pairwise", first=a_text, second=b_text, first_before=_before(a), second_before=_before(b),
                   **common),
            render("judge.pairwise", first=b_text, second=a_text, first_before=_before(b), second_before=_before(a),
                   **common)), lengths


def _point_prompt(c: Candidate, rubric_hint: str) -> Prompt:
    return render("judge.pointwise", episode=c.episode, episodes=c.episodes, position=c.position, script=c.text,
                  language_name=_LANGUAGE_NAME[c.language], premise=_premise(c), before=_before(c),
                  rubric_hint=_hint(c, rubric_hint))


def _sha256(p: Prompt) -> str:
    return hashlib.sha256(p.text.encode("utf-8")).hexdigest()


# ---- records -------------------------------------------------------------------------------------

class JudgeOrder(_Frozen):
    """One of the two calls of a pairwise judgment: who was shown first, what the judge said."""

    first: str  # the config shown as "Episode 1"
    raw: dict[str, Any]  # the PairVerdict as returned, labels "1"/"2"
    prompt: str  # name@hash
    prompt_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Lengths(_Frozen):
    a: int = Field(ge=0)
    b: int = Field(ge=0)
    judged: int = Field(ge=0)


def _combine(a: str, b: str, orders: tuple[JudgeOrder, JudgeOrder]) -> tuple[dict[str, Outcome], Outcome, bool]:
    """Map each order's "1"/"2" back to a/b; a win needs both orders, anything else is a tie."""
    per_order = []
    for order in orders:
        verdict = PairVerdict.model_validate(order.raw)
        label = {"1": "a" if order.first == a else "b", "2": "b" if order.first == a else "a", "tie": "tie"}
        per_order.append({**{c: label[getattr(verdict, c).choice] for c in CRITERIA}, "overall": label[verdict.overall]})
    agreed = {k: v if v == per_order[1][k] else "tie" for k, v in per_order[0].items()}
    overall = agreed.pop("overall")
    return agreed, overall, per_order[0]["overall"] == per_order[1]["overall"]


class PairJudgment(_Frozen):
    """A pairwise judgment of configs `a` and `b` on one premise and episode (a results.jsonl line)."""

    type: Literal["pair"] = "pair"
    premise: str
    episode: int = Field(ge=1)
    position: str
    a: str
    b: str
    criteria: dict[str, Outcome]
    overall: Outcome
    position_consistent: bool  # both orders gave the same overall choice (ties included)
    orders: tuple[JudgeOrder, JudgeOrder]
    lengths: Lengths

    @model_validator(mode="after")
    def _consistent(self) -> PairJudgment:
        if self.a == self.b or (self.orders[0].first, self.orders[1].first) != (self.a, self.b):
            raise ValueError("orders must show a first, then b, and a and b must differ")
        try:
            expected = _combine(self.a, self.b, self.orders)
        except ValidationError as exc:
            raise ValueError(f"a raw verdict is not a PairVerdict: {exc}") from None
        if (self.criteria, self.overall, self.position_consistent) != expected:
            raise ValueError("criteria, overall and position_consistent do not follow from the raw verdicts")
        return self

    def as_record(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def matches(self, a: Candidate, b: Candidate, *, rubric_hint: str = "") -> bool:
        """True when judging `a` and `b` today would send exactly the prompts recorded here."""
        if (a.config, b.config, a.premise, a.episode) != (self.a, self.b, self.premise, self.episode):
            return False
        prompts, _ = _pair_prompts(a, b, rubric_hint)
        return [(p.ref, _sha256(p)) for p in prompts] == [(o.prompt, o.prompt_sha256) for o in self.orders]


class PointScore(_Frozen):
    """A pointwise score of one config's episode (a results.jsonl line)."""

    type: Literal["point"] = "point"
    config: str
    premise: str
    episode: int = Field(ge=1)
    position: str
    relative_position: float = Field(ge=0.0, le=1.0)
    scores: dict[str, Annotated[int, Field(ge=0, le=10)]]
    analyses: dict[str, str]
    prompt: str
    prompt_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

    @model_validator(mode="after")
    def _every_criterion(self) -> PointScore:
        if set(self.scores) != set(CRITERIA) or set(self.analyses) != set(CRITERIA):
            raise ValueError(f"scores and analyses need exactly the criteria {', '.join(CRITERIA)}")
        return self

    @property
    def mean(self) -> float:
        return sum(self.scores.values()) / len(self.scores)

    def as_record(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def matches(self, c: Candidate, *, rubric_hint: str = "") -> bool:
        """True when scoring `c` today would send exactly the prompt recorded here."""
        p = _point_prompt(c, rubric_hint)
        return (c.config, c.premise, c.episode, p.ref, _sha256(p)) == (
            self.config, self.premise, self.episode, self.prompt, self.prompt_sha256)


class RecordError(ValueError):
    """A results.jsonl line that claims to be a pair or point record and is not a valid one."""


def parse_record(record: dict[str, Any]) -> PairJudgment | PointScore:
    """A validated judgment from a results.jsonl record; RecordError when invalid."""
    kinds: dict[str, type[PairJudgment] | type[PointScore]] = {"pair": PairJudgment, "point": PointScore}
    kind = kinds.get(record.get("type"))  # type: ignore[arg-type]
    if kind is None:
        raise RecordError(f"record type {record.get('type')!r} is neither 'pair' nor 'point'")
    try:
        return kind.model_validate(record)
    except ValidationError as exc:
        raise RecordError(f"invalid {record['type']} record: {exc}") from None


def load_results(path: Path) -> list[PairJudgment | PointScore]:
    """The pair and point records of a results.jsonl (other record types are skipped), validated.

    A missing file is empty. A line that is not JSON can only be a write torn by a crash (possibly with
    the next record appended to it): it is skipped, and its judgment is simply made again. A JSON
    record that claims to be a pair or point and does not validate raises RecordError naming the file
    and line: it was edited, or written by an incompatible version.
    """
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    out: list[PairJudgment | PointScore] = []
    for no, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        try:
            if isinstance(record, dict) and record.get("type") not in ("pair", "point"):
                continue
            out.append(parse_record(record))
        except (RecordError, AttributeError) as exc:
            raise RecordError(f"{path}:{no}: {exc}") from None
    return out


# ---- judging -------------------------------------------------------------------------------------

async def judge_pair(model: StructuredModel, a: Candidate, b: Candidate, *, rubric_hint: str = "") -> PairJudgment:
    """Judge `a` against `b` in both orders (two calls, made concurrently). See the module contracts."""
    prompts, lengths = _pair_prompts(a, b, rubric_hint)
    # Both orders at once; the first failure is raised as is, after the other call has ended.
    results = await asyncio.gather(*(
        model.structured(PairVerdict, [("user", p.text)], episode=a.episode, prompt=p.ref) for p in prompts),
        return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise failed[0]
    verdicts: list[Any] = list(results)
    orders = tuple(JudgeOrder(first=first, raw=v.model_dump(mode="json"), prompt=p.ref, prompt_sha256=_sha256(p))
                   for first, v, p in zip((a.config, b.config), verdicts, prompts, strict=True))
    criteria, overall, consistent = _combine(a.config, b.config, orders)  # type: ignore[arg-type]
    return PairJudgment(premise=a.premise, episode=a.episode, position=a.position, a=a.config, b=b.config,
                        criteria=criteria, overall=overall, position_consistent=consistent, orders=orders,
                        lengths=Lengths(**lengths))


async def judge_point(model: StructuredModel, c: Candidate, *, rubric_hint: str = "") -> PointScore:
    """Score one draft 0-10 per criterion (one call), for diagnostics such as degradation."""
    p = _point_prompt(c, rubric_hint)
    v = await model.structured(PointVerdict, [("user", p.text)], episode=c.episode, prompt=p.ref)
    return PointScore(config=c.config, premise=c.premise, episode=c.episode, position=c.position,
                      relative_position=c.relative_position,
                      scores={k: getattr(v, k).score for k in CRITERIA},
                      analyses={k: getattr(v, k).analysis for k in CRITERIA}, prompt=p.ref, prompt_sha256=_sha256(p))


# ---- judge independence --------------------------------------------------------------------------

_FAMILIES = (  # searched in the lower-cased last path segment of a model name
    ("openai", r"(^|[-_:])(chat)?gpt([-.:_]|$)|^o\d([-.:_]|$)"),
    ("deepseek", r"(^|[-_:])deepseek"),
    ("qwen", r"(^|[-_:])(qwen|qwq)"),
    ("anthropic", r"(^|[-_:])claude"),
    ("google", r"(^|[-_:])(gemini|gemma)"),  # Gemma comes out of Gemini's research: same house style
    ("meta", r"(^|[-_:])(meta-)?(code)?llama"),
    ("mistral", r"(^|[-_:])(mistral|mixtral|ministral|codestral|magistral)"),
    ("sim", r"^sim([-_]|$)"),
)


def model_families(model: str) -> frozenset[str]:
    """The lineages of a model name: "openai/gpt-4o-mini" -> {"openai"}; a distilled
    "deepseek-r1-distill-llama-70b" -> {"deepseek", "meta"}; an unknown name is its own family."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    found = frozenset(family for family, pattern in _FAMILIES if re.search(pattern, name))
    return found or frozenset({name})


def same_family(judge_model: str, writer_models: list[str]) -> bool:
    """True when the judge shares a family with any writer: judges favour their own family's prose."""
    judge = model_families(judge_model)
    return any(judge & model_families(w) for w in writer_models)
