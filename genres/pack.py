"""The genre pack: a genre's conventions as typed data the writers' room, critic and shot planner read.

A pack is YAML under `genres/packs/` (built in) or in a user folder, validated into `GenrePack`.
Everything a later stage needs is exposed as typed values and methods (`act_for`, `beats_for`,
`paywall_kinds`, `rubric_weights`), never as raw dicts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from cliffhanger.genres.cringe import TicFamily, check_pattern, moves_text
from cliffhanger.genres.ids import check_id

Language = Literal["zh", "en"]

# The critic's rubric. agents.artifacts.Critique has one field per criterion; it imports this tuple
# (genres is the bottom layer and imports nothing from the others).
RUBRIC_CRITERIA: tuple[str, ...] = (
    "hook", "cliffhanger_pull", "payoff", "pacing", "escalation",
    "character_consistency", "dialogue", "earned_emotion", "freshness", "surprise", "logic",
)
# Criteria added after the packs were written: a pack that does not weight them gets these weights, so
# every pack written before them stays valid (the others a pack must weight itself).
DEFAULT_RUBRIC_WEIGHTS: dict[str, float] = {"surprise": 1.0, "logic": 1.0}

# Pack ids keep their own rule on purpose: the one id rule (`genres.ids.Id`) narrowed to at most
# PACK_ID_MAX_LENGTH (48) characters. Pack ids are typed by people (`--genre`, `extends:`) and shown in
# `genres list` columns; narrower is safe, because every pack id is then also an `Id` wherever it travels
# (a season's genre, an arc row's cliffhanger kind, an eval premise's genre). Widening it never is.
PACK_ID_MAX_LENGTH = 48


def _check_pack_id(value: str) -> str:
    check_id(value)
    if len(value) > PACK_ID_MAX_LENGTH:
        raise ValueError(f"{value!r} is {len(value)} characters: a pack id has at most {PACK_ID_MAX_LENGTH}")
    return value


PackId = Annotated[str, AfterValidator(_check_pack_id)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1500)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
BeatRole = Literal["hook", "setup", "escalation", "payoff", "reversal", "cliffhanger"]
AudienceGroup = Literal["female", "male", "overseas"]
AUDIENCE_GROUPS: tuple[str, ...] = ("female", "male", "overseas")


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Names(Part):
    zh: Short = Field(description="the genre's name in Chinese")
    en: Short = Field(description="the genre's name in English")


class Trope(Part):
    name: Short = Field(description="the trope")
    how_it_plays: Text = Field(description="how it plays out on screen in this genre")


class Archetype(Part):
    id: PackId = Field(description="archetype id")
    name: Short = Field(description="display name")
    role: Literal["protagonist", "antagonist", "love_interest", "ally", "mentor", "rival", "family", "other"] = Field(
        description="dramatic function")
    description: Text = Field(description="want, wound, typical behaviour and how the audience should feel")


class Act(Part):
    name: Short = Field(description="act name")
    start: Fraction = Field(description="where the act starts, as a fraction of the season's episodes")
    end: Fraction = Field(description="where the act ends, as a fraction of the season's episodes")
    job: Text = Field(description="what this act must achieve")


class BeatTemplate(Part):
    role: BeatRole = Field(description="the beat's job in the episode")
    start: Fraction = Field(description="start, as a fraction of the episode runtime")
    end: Fraction = Field(description="end, as a fraction of the episode runtime")
    description: Text = Field(description="what happens in this beat in this genre")

    @model_validator(mode="after")
    def _ordered(self) -> BeatTemplate:
        if self.end <= self.start:
            raise ValueError(f"beat {self.role}: end ({self.end}) must be after start ({self.start})")
        return self


class TimedBeat(Part):
    role: BeatRole
    start_s: float
    end_s: float
    description: str


class PayoffKind(Part):
    id: PackId = Field(description="payoff kind id")
    name: Short = Field(description="display name")
    description: Text = Field(description="what the audience gets")


class CliffhangerKind(Part):
    id: PackId = Field(description="cliffhanger kind id, used in the arc's rows")
    name: Short = Field(description="display name")
    description: Text = Field(description="how it is built and why it pulls")
    paywall: bool = Field(description="strong enough for a paywall episode")
    strength: int = Field(ge=1, le=5, description="typical pull, 1-5")


class PaywallConventions(Part):
    free_episodes: int = Field(ge=1, le=30, description="usual number of free episodes")
    later_every: int = Field(ge=5, le=40, description="episodes between later paywall points")
    first_paywall: Text = Field(description="what the first cut must deliver: the 卡点集 (卡一, the last free "
                                "episode) ends on it and the first paid episode (付费首集) pays it off")
    ad_mode: Text = Field(description="the ad-supported variant: how every episode ending hooks instead")
    preferred_mode: Literal["paywall", "ad"] = Field(
        "paywall", description="how seasons of this genre are released when the user does not say: 'paywall' "
                               "(pay to unlock after the free episodes) or 'ad' (free, ad-supported)")


class Avoid(Part):
    zh: tuple[Short, ...] = Field(min_length=5, description="stale phrasings and LLM-isms to avoid, Chinese")
    en: tuple[Short, ...] = Field(min_length=5, description="stale phrasings and LLM-isms to avoid, English")


class PackTic(Part):
    """A pack's own AI-prose tic, added to its language's families (`genres.cringe`)."""

    id: PackId = Field(description="tic id, named in the critic's notes")
    pattern: Annotated[str, StringConstraints(min_length=1, max_length=300), AfterValidator(check_pattern)] = Field(
        description="a Python regular expression, matched case-insensitively in action lines and dialogue")
    why: Short = Field(description="why it reads as machine-written, or what to write instead")


class Moves(Part):
    zh: tuple[Short, ...] = Field((), description="banned habits written as rules for the writer, Chinese")
    en: tuple[Short, ...] = Field((), description="banned habits written as rules for the writer, English")


class VisualDefaults(Part):
    grading: Short = Field(description="colour grading")
    lighting: Short = Field(description="lighting style")
    lens: Short = Field(description="lens and framing habits")
    camera: Short = Field(description="camera movement habits")
    music_cues: tuple[Short, ...] = Field(min_length=2, description="music cues by moment")
    sfx: tuple[Short, ...] = Field(min_length=2, description="signature sound effects")


class Examples(Part):
    opening_hook: Text = Field(description="the opening of episode 1 (its first 30 s or so: the hook and what "
                               "follows it), written for this project")
    paywall_cliffhanger: Text = Field(description="the ending of a 卡点集 (the last free episode), written for this "
                                      "project")
    opening_hook_s: float | None = Field(None, gt=0, le=120, description="how long the opening plays on screen, "
                                         "timed shot by shot, in seconds")
    paywall_cliffhanger_s: float | None = Field(None, gt=0, le=120, description="how long the 卡点集 ending plays "
                                                "on screen, timed shot by shot, in seconds")

    def duration_s(self, name: str) -> float | None:
        """The stated screen time of example `name` ("opening_hook" or "paywall_cliffhanger")."""
        return self.opening_hook_s if name == "opening_hook" else self.paywall_cliffhanger_s


class LadderRung(Part):
    """One rung of the antagonist ladder typical of the genre: who the lead beats, in order, and how each falls."""

    archetype: PackId = Field(description="id of one of the pack's archetypes (an antagonist, rival or family)")
    holds: Short = Field(description="the power this rung holds over the lead")
    falls_by: Short = Field(description="the typical downfall: the concrete price this rung pays")


class CardIdea(Part):
    """A card the lead typically holds in this genre (a hidden identity, a recording, a skill, a backer)."""

    name: Short = Field(description="the card")
    how_it_plays: Text = Field(description="how it is hinted to the audience and how it is played")


class ComplianceNote(Part):
    """A content-review note of the genre's market: checked by the critic as a must-fix."""

    id: PackId = Field(description="note id, named in the critic's notes")
    rule: Text = Field(description="what a script must not do (or must do), in the pack's language")
    pattern: Annotated[str, StringConstraints(max_length=300), AfterValidator(check_pattern)] | None = Field(
        None, description="optional regular expression: a hit in an action line or dialogue is a must-fix by rule")


class GenrePack(Part):
    """One genre's conventions."""

    id: PackId = Field(description="pack id, used by --genre")
    names: Names
    language: Language = Field(description="default script language for seasons of this genre")
    description: Short = Field(description="one line: what this genre is")
    sample_loglines: tuple[Text, ...] = Field(min_length=3, description="example premises")
    tone: Text
    audience: Text
    audience_group: AudienceGroup | None = Field(None, description="whose app the genre sells on: female, male "
                                                 "(Chinese female- and male-audience apps) or overseas")
    tropes: tuple[Trope, ...] = Field(min_length=4)
    archetypes: tuple[Archetype, ...] = Field(min_length=4)
    acts: tuple[Act, ...] = Field(min_length=3, description="the season's acts, covering 0..1 in order")
    episode_beats: tuple[BeatTemplate, ...] = Field(min_length=4, description="beat template of one episode")
    payoff_kinds: tuple[PayoffKind, ...] = Field(min_length=3)
    payoff_every_s: tuple[int, int] = Field(description="a payoff lands every MIN to MAX seconds")
    cliffhanger_kinds: tuple[CliffhangerKind, ...] = Field(min_length=4)
    paywall: PaywallConventions
    avoid: Avoid
    tics: tuple[PackTic, ...] = Field((), description="the genre's own tic patterns, on top of the language's")
    moves: Moves = Field(Moves(), description="the genre's banned habits as rules (on top of the common ones)")
    push_down_until: float = Field(0.5, ge=0.2, le=0.9, description="share of an episode's runtime by which the "
                                   "lead strikes back after being pushed down (压/扬)")
    inner_voice_max_lines: int = Field(2, ge=0, le=20, description="inner-voice (内心OS / V.O.) lines an episode may "
                                       "carry; rebirth and mind-reading genres run on the inner voice")
    rubric_weights: dict[str, float] = Field(description="critic weight per rubric criterion (surprise and logic "
                                             "default to DEFAULT_RUBRIC_WEIGHTS)")
    visual: VisualDefaults
    examples: Examples
    ladder: tuple[LadderRung, ...] = Field((), description="the antagonist ladder typical of the genre, lowest first")
    cards: tuple[CardIdea, ...] = Field((), description="cards the lead typically holds")
    compliance: tuple[ComplianceNote, ...] = Field((), description="content-review notes of the genre's market "
                                                   "(superstition, flaunting wealth, violence, minors ...)")

    @field_validator("rubric_weights")
    @classmethod
    def _default_weights(cls, v: dict[str, float]) -> dict[str, float]:
        return {**DEFAULT_RUBRIC_WEIGHTS, **v}

    @model_validator(mode="after")
    def _consistent(self) -> GenrePack:
        problems = []
        if self.acts[0].start != 0.0 or self.acts[-1].end != 1.0:
            problems.append("acts: must start at 0 and end at 1")
        for a, b in zip(self.acts, self.acts[1:], strict=False):
            if abs(a.end - b.start) > 1e-9:
                problems.append(f"acts: {a.name!r} ends at {a.end} but {b.name!r} starts at {b.start}; make them meet")
        roles = [b.role for b in self.episode_beats]
        if roles[0] != "hook" or self.episode_beats[0].start != 0.0:
            problems.append("episode_beats: the first beat must be the hook, starting at 0")
        if roles[-1] != "cliffhanger" or self.episode_beats[-1].end != 1.0:
            problems.append("episode_beats: the last beat must be the cliffhanger, ending at 1")
        if "payoff" not in roles:
            problems.append("episode_beats: needs a payoff beat")
        for kinds, what in ((self.payoff_kinds, "payoff_kinds"), (self.cliffhanger_kinds, "cliffhanger_kinds"),
                            (self.archetypes, "archetypes")):
            ids = [k.id for k in kinds]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                problems.append(f"{what}: duplicate ids {', '.join(dupes)}")
        if sum(k.paywall for k in self.cliffhanger_kinds) < 2:
            problems.append("cliffhanger_kinds: mark at least two kinds paywall: true")
        if all(k.paywall for k in self.cliffhanger_kinds):
            problems.append("cliffhanger_kinds: at least one kind must suit ordinary episodes (paywall: false)")
        lo, hi = self.payoff_every_s
        if not 10 <= lo <= hi <= 180:
            problems.append("payoff_every_s: use [MIN, MAX] seconds with 10 <= MIN <= MAX <= 180")
        missing = [c for c in RUBRIC_CRITERIA if c not in self.rubric_weights]
        unknown = [c for c in self.rubric_weights if c not in RUBRIC_CRITERIA]
        if missing or unknown:
            own = [c for c in RUBRIC_CRITERIA if c not in DEFAULT_RUBRIC_WEIGHTS]
            problems.append(f"rubric_weights: needs exactly {', '.join(own)} (and may weight "
                            f"{', '.join(DEFAULT_RUBRIC_WEIGHTS)}, which default to 1)"
                            + (f"; missing {', '.join(missing)}" if missing else "")
                            + (f"; unknown {', '.join(unknown)}" if unknown else ""))
        if any(w < 0 for w in self.rubric_weights.values()) or not any(self.rubric_weights.values()):
            problems.append("rubric_weights: weights must be >= 0 and not all zero")
        archetypes = {a.id: a.role for a in self.archetypes}
        for rung in self.ladder:
            if archetypes.get(rung.archetype) not in ("antagonist", "rival", "family"):
                problems.append(f"ladder: {rung.archetype!r} is not an antagonist, rival or family archetype of this "
                                f"pack (archetypes: {', '.join(archetypes)})")
        note_ids = [c.id for c in self.compliance]
        if dupes := sorted({i for i in note_ids if note_ids.count(i) > 1}):
            problems.append(f"compliance: duplicate ids {', '.join(dupes)}")
        tic_ids = [t.id for t in self.tics]
        if dupes := sorted({i for i in tic_ids if tic_ids.count(i) > 1}):
            problems.append(f"tics: duplicate ids {', '.join(dupes)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ---- typed views for the room ----------------------------------------------------------------

    def act_for(self, episode: int, episodes: int) -> Act:
        """The act an episode falls in (episode 1..episodes)."""
        position = (episode - 1) / max(episodes, 1)
        return next((a for a in self.acts if a.start <= position < a.end), self.acts[-1])

    def act_of_each_episode(self, episodes: int) -> list[int]:
        """1-based act number for every episode of a season."""
        return [self.acts.index(self.act_for(ep, episodes)) + 1 for ep in range(1, episodes + 1)]

    def beats_for(self, runtime_s: float) -> list[TimedBeat]:
        """The episode beat template in seconds for a given runtime."""
        return [TimedBeat(role=b.role, start_s=round(b.start * runtime_s, 1), end_s=round(b.end * runtime_s, 1),
                          description=b.description) for b in self.episode_beats]

    def paywall_kinds(self) -> list[CliffhangerKind]:
        """Cliffhanger kinds strong enough for a paywall episode, strongest first."""
        return sorted((k for k in self.cliffhanger_kinds if k.paywall), key=lambda k: -k.strength)

    def ordinary_kinds(self) -> list[CliffhangerKind]:
        return [k for k in self.cliffhanger_kinds if not k.paywall]

    def cliffhanger_kind(self, kind_id: str) -> CliffhangerKind:
        for k in self.cliffhanger_kinds:
            if k.id == kind_id:
                return k
        raise KeyError(f"no cliffhanger kind {kind_id!r} in {self.id}: use one of "
                       + ", ".join(k.id for k in self.cliffhanger_kinds))

    def normalised_weights(self) -> dict[str, float]:
        """Rubric weights scaled to sum to 1, in RUBRIC_CRITERIA order."""
        total = sum(self.rubric_weights[c] for c in RUBRIC_CRITERIA)
        return {c: self.rubric_weights[c] / total for c in RUBRIC_CRITERIA}

    def season_paywall(self, episodes: int, *, mode: str | None = None, free: int | None = None,
                       points: list[int] | None = None) -> tuple[Literal["paywall", "ad"], int | None, list[int] | None]:
        """(mode, free episodes, paywall points) for a new season of `episodes`: what the user gave wins,
        the genre's paywall conventions fill the rest. Paywall mode: free defaults to the genre's usual
        count (at most episodes - 1, or one before the first given point), points to free + 1 and then
        every `later_every` episodes within the season. Ad mode: (mode, free as given, None), for the
        spec's own defaults. Values are not validated here: `SeasonSpec` says what is wrong."""
        chosen: Literal["paywall", "ad"] = self.paywall.preferred_mode if mode is None else (
            "ad" if mode == "ad" else "paywall")
        if chosen == "ad":
            return chosen, free, points
        if free is None:
            free = min(points) - 1 if points else max(0, min(self.paywall.free_episodes, episodes - 1))
        if points is None:
            points = list(range(max(free, 0) + 1, episodes + 1, self.paywall.later_every)) or None
        return chosen, free, points

    def avoid_list(self, language: Language) -> tuple[str, ...]:
        return self.avoid.zh if language == "zh" else self.avoid.en

    def tic_families(self) -> tuple[TicFamily, ...]:
        """The pack's own tics as families, for `cringe.find_tics(..., extra=...)`."""
        return tuple(TicFamily(t.id, t.why, (t.pattern,)) for t in self.tics)

    def writer_rules(self, language: Language) -> str:
        """The banned moves (the common ones, then the pack's) as the writer's rules text."""
        return moves_text(language, self.moves.zh if language == "zh" else self.moves.en)
