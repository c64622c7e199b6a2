"""The season's artifacts: spec, bible, arc, episode scripts, critiques and continuity reports, and the
record models of the season folder (an episode's review.json, plan/imported.json).

Shot lists live in `cliffhanger.agents.season.shotlist`, built on the types here.

Contracts
- Every artifact is a frozen pydantic model that forbids unknown keys and strips surrounding
  whitespace from strings. List fields are tuples, so an artifact cannot change under a reader;
  the JSON is unchanged (arrays in, arrays out) and callers may pass lists.
- Ids are snake_case ascii: `Id` from `cliffhanger.genres.ids`, the one id rule of every layer (the key
  shared by packs, canon, arc, scripts, shots and evals).
- Text and list bounds guard against runaway model output; they are limits, not style targets.
- No I/O: reading and writing the season folder belongs to `cliffhanger.app`.

Structured output
`model_json_schema()` of the LLM-facing models (Bible, ArcPlan, EpisodeScript, Critique,
ContinuityReport, ShotList and their parts) is what json_mode prompts, tool calls and grammar-based
local servers (llama.cpp, vLLM) see. It keeps maxLength/minLength so those grammars bound the output.
Almost every field is required; the exceptions are `X | None = None` fields and a few fields with a
non-null default (the `type` tags of script elements, `Shot.aspect_ratio`, `Sound.sfx`).
No class is OpenAI-strict-compatible as is, because OpenAI's strict subset documents none of:
maxLength/minLength (every text field), oneOf + discriminator (EpisodeScript's element union), and
non-null `default`; it also needs every property listed as required. `strict_json_schema(Model)`
rewrites a model's schema into that subset (bounds move into the descriptions, oneOf becomes anyOf,
every property becomes required, nullable where optional) and is the schema to send with
`strict: true`. SeasonSpec and PaywallPlan come from season.toml, not from a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from cliffhanger.agents.season.casting import Casting, ask_for_casting
from cliffhanger.agents.season.runtime import (  # re-exported: callers import the rates from here
    ACTION_OVERLAP_S as ACTION_OVERLAP_S,
)
from cliffhanger.agents.season.runtime import ACTION_UNITS_PER_S as ACTION_UNITS_PER_S
from cliffhanger.agents.season.runtime import DIALOGUE_UNITS_PER_S as DIALOGUE_UNITS_PER_S
from cliffhanger.agents.season.runtime import MIN_ACTION_S as MIN_ACTION_S
from cliffhanger.agents.season.runtime import RUNTIME_TOLERANCE, count_units, estimate_s
from cliffhanger.agents.season.runtime import TURN_PAUSE_S as TURN_PAUSE_S
from cliffhanger.genres.ids import Id
from cliffhanger.genres.pack import RUBRIC_CRITERIA

# ---- shared types ------------------------------------------------------------------------------

Language = Literal["zh", "en"]
PaywallMode = Literal["paywall", "ad"]
AspectRatio = Literal["9:16", "3:4", "1:1", "16:9"]
IntExt = Literal["INT", "EXT", "INT/EXT"]
TimeOfDay = Literal["day", "night", "dawn", "dusk"]

MAX_EPISODES = 300
MIN_RUNTIME_S, MAX_RUNTIME_S = 20, 600

TIME_ZH: dict[str, str] = {"day": "日", "night": "夜", "dawn": "晨", "dusk": "黄昏"}
INT_EXT_ZH: dict[str, str] = {"INT": "内", "EXT": "外", "INT/EXT": "内/外"}

Name = Annotated[str, StringConstraints(min_length=1, max_length=80)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Episode = Annotated[int, Field(ge=1, le=MAX_EPISODES)]


def _check_relative_path(value: str) -> str:
    parts = re.split(r"[\\/]", value)
    if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value) or ".." in parts:
        raise ValueError(
            f"{value!r} must be a path relative to the season folder without '..' (e.g. 'refs/lin_wan.png')"
        )
    return value


RelPath = Annotated[str, StringConstraints(min_length=1, max_length=300), AfterValidator(_check_relative_path)]


class Artifact(BaseModel):
    """Base of every artifact: frozen, unknown keys rejected, strings stripped."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


# ---- season spec ------------------------------------------------------------------------------

EpisodeKind = Literal["ad", "free", "cut", "first_paid", "paid"]

# One vocabulary for the money plan, used by the planner, writer, critic and exports. The 卡点集 ("cut") is the
# episode BEFORE a paywall point and ends on the cut; the 付费首集 ("first_paid") is the paywall episode itself.
PAYWALL_LABELS: dict[str, dict[str, str]] = {
    "zh": {"cut": "卡点集", "first_paid": "付费首集", "paid": "付费集", "free": "免费集", "ad": "免费（广告）集"},
    "en": {"cut": "last free episode (the cut)", "first_paid": "first paid episode", "paid": "paid episode",
           "free": "free episode", "ad": "free (ad-supported) episode"},
}
# The same kinds at a later paywall point, where the cut episode is itself paid.
LATER_PAYWALL_LABELS: dict[str, dict[str, str]] = {
    "zh": {"cut": "解锁卡点集", "first_paid": "解锁首集"},
    "en": {"cut": "last episode before the next unlock", "first_paid": "first episode behind the next unlock"},
}

PAYWALL_INTERVAL = 20  # later paywall points: roughly every 20 episodes after the first
DEFAULT_FREE_EPISODES = 10


def default_paywall_episodes(episodes: int, free_episodes: int) -> list[int]:
    """Paywall points for a paywall-mode season: free_episodes+1, then every PAYWALL_INTERVAL episodes.

    60 episodes with 10 free gives [11, 30, 50].
    """
    free_episodes = max(free_episodes, 0)  # a negative count is reported by validation, not here
    return [free_episodes + 1, *range(free_episodes + PAYWALL_INTERVAL, episodes + 1, PAYWALL_INTERVAL)]


class PaywallPlan(Artifact):
    """Where the money is made. Paywall episodes are the first episodes behind each paywall point:
    the episode before each one must end on the season's strongest cliffhangers. In ad mode every
    episode is free and every episode end needs a hook; there are no paywall episodes.
    """

    mode: PaywallMode = Field(description="'paywall': pay to unlock; 'ad': ad-supported and free to watch.")
    free_episodes: int = Field(
        description="Episodes 1..free_episodes are free to watch (in ad mode: episodes before ads start).",
        json_schema_extra={"minimum": 0},
    )
    paywall_episodes: tuple[int, ...] = Field(
        description="Sorted unique episode numbers where a paywall falls; normally the first is free_episodes+1.",
        max_length=MAX_EPISODES,
    )

    @field_validator("free_episodes")
    @classmethod
    def _free_not_negative(cls, v: int) -> int:
        if v < 0:
            raise ValueError(f"must be 0 or more (got {v}): set how many episodes are free to watch")
        return v

    # A field validator (fields are validated in order, mode and free_episodes first) so errors are
    # located at paywall_episodes rather than at the plan as a whole.
    @field_validator("paywall_episodes")
    @classmethod
    def _valid_points(cls, v: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        bad = [ep for ep in v if ep < 1]
        if bad:
            raise ValueError(f"episode numbers start at 1 (got {bad[0]}): list episodes like [11, 30, 50]")
        eps = sorted(set(v))
        mode, free = info.data.get("mode"), info.data.get("free_episodes")
        if mode == "ad" and eps:
            raise ValueError(
                f"mode 'ad' has no paywall episodes but {eps} are listed: remove paywall_episodes or set mode 'paywall'"
            )
        if mode == "paywall" and not eps:
            first = f" = {free + 1}" if free is not None else ""
            raise ValueError(
                f"mode 'paywall' needs at least one paywall episode: list them (normally starting at "
                f"free_episodes+1{first}) or set mode 'ad'"
            )
        inside = [ep for ep in eps if free is not None and ep <= free]
        if inside:
            raise ValueError(
                f"episode {inside[0]} is inside the free range (episodes 1-{free}): start paywall episodes after "
                f"free_episodes (normally at {free + 1}) or lower free_episodes"
            )
        return tuple(eps)


_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _required_text(value: str, field: str, fix: str, limit: int) -> str:
    # NUL and escape codes would reach every terminal and file the text is shown in: dropped, like a model's.
    value = _CONTROL_CHAR.sub("", value)
    if not value:
        raise ValueError(f"is empty: {fix}")
    if len(value) > limit:
        raise ValueError(f"is {len(value)} characters, over the {limit} limit: shorten the {field}")
    return value


class SeasonSpec(Artifact):
    """season.toml: what the season is. Construction rejects impossible specs with a message that
    names the field and the fix; use `SeasonSpec.create` to get the default paywall plan.
    """

    title: str = Field(description="Title of the season (the drama's name).", json_schema_extra={"maxLength": 200})
    logline: str = Field(
        description="One or two sentences: who wants what, and what stands in the way.",
        json_schema_extra={"maxLength": 1000},
    )
    genre: Id = Field(description="Genre pack id, e.g. 'revenge' or 'ceo_romance'.")
    language: Language = Field(description="Script language: 'zh' (Chinese) or 'en' (English).")
    episodes: int = Field(
        description="Number of episodes in the season.", json_schema_extra={"minimum": 1, "maximum": MAX_EPISODES}
    )
    runtime_s: int = Field(
        description="Target runtime of one episode in seconds.",
        json_schema_extra={"minimum": MIN_RUNTIME_S, "maximum": MAX_RUNTIME_S},
    )
    paywall: PaywallPlan = Field(description="Free episodes, paywall points and monetisation mode.")
    aspect_ratio: AspectRatio = Field("9:16", description="Frame of every shot; micro-dramas are vertical 9:16.")

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        return _required_text(v, "title", "give the season a title", 200)

    @field_validator("logline")
    @classmethod
    def _logline(cls, v: str) -> str:
        return _required_text(v, "logline", "write one or two sentences: who wants what, and what stands in the way", 1000)

    @field_validator("episodes")
    @classmethod
    def _episodes(cls, v: int) -> int:
        if not 1 <= v <= MAX_EPISODES:
            raise ValueError(f"must be between 1 and {MAX_EPISODES} (got {v}): set how many episodes the season has")
        return v

    @field_validator("runtime_s")
    @classmethod
    def _runtime(cls, v: int) -> int:
        if not MIN_RUNTIME_S <= v <= MAX_RUNTIME_S:
            raise ValueError(
                f"must be between {MIN_RUNTIME_S} and {MAX_RUNTIME_S} seconds (got {v}): "
                "micro-drama episodes usually run 60-120 s"
            )
        return v

    @field_validator("paywall")
    @classmethod
    def _paywall_fits(cls, v: PaywallPlan, info: ValidationInfo) -> PaywallPlan:
        episodes = info.data.get("episodes")
        if episodes is None:  # episodes itself was invalid and is already reported
            return v
        if v.free_episodes >= episodes:
            raise ValueError(
                f"free_episodes ({v.free_episodes}) must be less than episodes ({episodes}): "
                "lower free_episodes or add episodes"
            )
        late = [ep for ep in v.paywall_episodes if ep > episodes]
        if late:
            raise ValueError(
                f"paywall episode {late[0]} is after the last episode ({episodes}): "
                "drop it from paywall_episodes or add episodes"
            )
        return v

    @classmethod
    def create(
        cls,
        *,
        title: str,
        logline: str,
        genre: str,
        language: Language = "zh",
        episodes: int = 60,
        runtime_s: int = 90,
        mode: PaywallMode = "paywall",
        free_episodes: int | None = None,
        paywall_episodes: Iterable[int] | None = None,
        aspect_ratio: AspectRatio = "9:16",
    ) -> SeasonSpec:
        """A validated spec; missing paywall settings get defaults.

        free_episodes defaults to 10 (fewer for seasons of 10 episodes or less). Paywall mode without
        paywall_episodes gets `default_paywall_episodes`; ad mode gets none. Raises ValidationError.
        """
        free = free_episodes if free_episodes is not None else max(0, min(DEFAULT_FREE_EPISODES, episodes - 1))
        if paywall_episodes is not None:
            points = list(paywall_episodes)
        else:
            points = default_paywall_episodes(episodes, free) if mode == "paywall" else []
        return cls(
            title=title, logline=logline, genre=genre, language=language, episodes=episodes,
            runtime_s=runtime_s, aspect_ratio=aspect_ratio,
            # A dict, not a PaywallPlan, so its errors are reported under `paywall.`.
            paywall={"mode": mode, "free_episodes": free, "paywall_episodes": points},
        )

    def is_paywall(self, episode: int) -> bool:
        """True when `episode` is the first episode behind a paywall point."""
        return episode in self.paywall.paywall_episodes

    def is_free(self, episode: int) -> bool:
        """True when `episode` is free to watch: every episode in ad mode, else 1..free_episodes."""
        return self.paywall.mode == "ad" or 1 <= episode <= self.paywall.free_episodes

    def is_paywall_cliffhanger(self, episode: int) -> bool:
        """True when the next episode is a paywall episode: this ending must make the viewer pay."""
        return self.is_paywall(episode + 1)

    def episode_kind(self, episode: int) -> EpisodeKind:
        """Where `episode` sits in the season's money plan (one vocabulary, see PAYWALL_LABELS):

        - "ad": every episode of an ad-supported season;
        - "cut": the 卡点集, the episode before a paywall point, which ends on the cut (the last free episode
          before the first paywall; before a later one it is itself paid);
        - "first_paid": the 付费首集, the first episode behind a paywall point (it pays the cut off in its opening);
        - "free": free to watch (before the first paywall point);
        - "paid": any other paid episode, each a separate unlock that must earn the next.
        A "cut" wins over "first_paid" when a paywall episode is also the one before the next point.
        """
        if self.paywall.mode == "ad":
            return "ad"
        if self.is_paywall_cliffhanger(episode):
            return "cut"
        if self.is_paywall(episode):
            return "first_paid"
        points = self.paywall.paywall_episodes
        return "free" if not points or episode < points[0] else "paid"

    def episode_label(self, episode: int, language: Language) -> str:
        """The trade's name for `episode`'s place in the money plan, in `language` (see PAYWALL_LABELS):
        a paid 卡点集 (before a later paywall point) is "解锁卡点集", and the first episode behind a later
        paywall point is "解锁首集"."""
        kind = self.episode_kind(episode)
        points = self.paywall.paywall_episodes
        if kind == "cut" and points and episode >= points[0]:
            return LATER_PAYWALL_LABELS[language]["cut"]
        if kind == "first_paid" and points and episode > points[0]:
            return LATER_PAYWALL_LABELS[language]["first_paid"]
        return PAYWALL_LABELS[language][kind]


# ---- bible ------------------------------------------------------------------------------------

CharacterRole = Literal["protagonist", "antagonist", "love_interest", "ally", "mentor", "rival", "family", "other"]


# A locked look travels as one prompt string: `ShotCharacter.descriptor` (a `Text`) carries it verbatim into
# every shot, so the look must fit that as a whole, not only field by field (five 300-character fields
# do not). Checked where a look enters (the bible), repaired by `fit_look` where a model wrote it.
DESCRIPTOR_LIMIT = 1000
_LOOK_CUTTABLE = ("face", "hair", "build", "wardrobe", "marks")
_MIN_LOOK_FIELD = 24


def _look_prompt(age_look: str, face: str, hair: str, build: str, wardrobe: str, marks: str) -> str:
    parts = [age_look, face, hair, build, f"wearing {wardrobe}"]
    if marks:
        parts.append(marks)
    return ", ".join(p.rstrip(".") for p in parts)


def fit_look(look: dict[str, object], limit: int = DESCRIPTOR_LIMIT) -> dict[str, object]:
    """A copy of `look` (VisualDescriptor fields, as a model wrote them) whose longest texts are cut at a
    word boundary until the whole look fits `limit` characters as one prompt; unchanged when it fits or
    is not a look at all (validation then says what is wrong)."""
    keys = ("age_look", *_LOOK_CUTTABLE)
    if not isinstance(look, dict) or not all(isinstance(look.get(k, ""), str) for k in keys):
        return look
    out = dict(look)
    for _ in range(len(_LOOK_CUTTABLE) * 4):
        excess = len(_look_prompt(*(str(out.get(k, "")).strip() for k in keys))) - limit
        if excess <= 0:
            break
        key = max(_LOOK_CUTTABLE, key=lambda k: len(str(out.get(k, "")).strip()))
        text = str(out.get(key, "")).strip()
        keep = max(len(text) - excess, min(len(text), _MIN_LOOK_FIELD))
        if keep >= len(text):
            break  # nothing left to cut: validation reports the look
        cut = text[:keep]
        if " " in cut[keep // 2:]:
            cut = cut.rsplit(" ", 1)[0]
        out[key] = cut.rstrip(" ,;:")
    return out


class VisualDescriptor(Artifact):
    """A character's locked look, written in English and pasted verbatim into every video prompt; as one
    prompt (`as_prompt`) it fits DESCRIPTOR_LIMIT characters."""

    face: Line = Field(description="Face: shape, eyes, skin, expression at rest (English).")
    hair: Line = Field(description="Hair: colour, length, style (English).")
    build: Line = Field(description="Height and build (English).")
    age_look: Name = Field(description="Apparent age as seen on screen, e.g. 'early twenties' (English).")
    wardrobe: Line = Field(description="Signature wardrobe worn unless the script says otherwise (English).")
    marks: Annotated[str, StringConstraints(max_length=300)] = Field(
        description="Distinguishing marks (scar, mole, jewellery); empty string when none (English)."
    )

    @model_validator(mode="after")
    def _fits_one_prompt(self) -> VisualDescriptor:
        n = len(self.as_prompt())
        if n > DESCRIPTOR_LIMIT:
            raise ValueError(
                f"the look is {n} characters as one prompt, over the {DESCRIPTOR_LIMIT} every shot carries: "
                "shorten face, hair, build, wardrobe or marks"
            )
        return self

    def as_prompt(self) -> str:
        """The descriptor as one prompt string; identical output for identical descriptors."""
        return _look_prompt(self.age_look, self.face, self.hair, self.build, self.wardrobe, self.marks)


class Character(Artifact):
    """A person in the story with what drives them and how they look and sound."""

    # casting is None only in a bible written before it existed; a model is always asked for it (casting.py).
    model_config = ConfigDict(json_schema_extra=ask_for_casting)

    id: Id = Field(description="Stable snake_case ascii id, e.g. 'lin_wan'.")
    name: Name = Field(description="Display name in the script language.")
    aliases: tuple[Name, ...] = Field(
        description="Other names in any language: nicknames, titles, romanisations.", max_length=10
    )
    role: CharacterRole = Field(description="Dramatic function in the season.")
    age: int | None = Field(description="Age in years at season start; null when deliberately unknown.", ge=0, le=150)
    want: Line = Field(description="What the character wants this season.")
    secret: Line | None = Field(None, description="What the character hides; null when nothing.")
    arc: Text = Field(description="How the character changes over the season.")
    voice: Line = Field(description="How the character speaks: register, verbal tics, rhythm.")
    visual: VisualDescriptor = Field(description="Locked visual descriptor used in every shot.")
    reference_image: RelPath | None = Field(
        None, description="Reference image path relative to the season folder; null until one exists."
    )
    casting: Casting | None = Field(None, description="How the character's voice is cast for text-to-speech.")


class Location(Artifact):
    """A recurring place."""

    id: Id = Field(description="Stable snake_case ascii id, e.g. 'gu_mansion_hall'.")
    name: Name = Field(description="Display name in the script language.")
    description: Text = Field(description="What the place is and why it matters to the story.")
    visual: Line = Field(description="Locked visual descriptor in English for video prompts.")
    int_ext: IntExt = Field(description="Interior, exterior, or both.")


class Secret(Artifact):
    """Hidden knowledge that drives reveals; knowledge is tracked per character by the canon ledger."""

    id: Id = Field(description="Stable snake_case ascii id, e.g. 'true_parentage'.")
    description: Text = Field(description="What the secret is.")
    known_by: tuple[Id, ...] = Field(description="Ids of the characters who know it at season start.", max_length=40)
    planned_reveal_episode: Episode | None = Field(
        description="Episode where it is planned to surface; null when not this season."
    )


AUDIENCE = "audience"  # the party of a reveal or reveal stage that is the viewer, not a character


def _fill_missing(data: object, fields: dict[str, object]) -> object:
    """`data` with each of `fields` that is absent or null set to its empty value: the fields added in
    season format 2 read as unknown/empty from a format-1 file (and from callers that leave them out)."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for name, empty in fields.items():
        if out.get(name) is None:
            out[name] = empty
    return out


class Antagonist(Artifact):
    """A rung of the antagonist ladder: minor (tier 1) -> middle (2) -> top villain (3), each with a fall."""

    character: Id = Field(description="Character id of the antagonist (a bible character).")
    tier: int = Field(description="1 = the minor one, 2 = the middle one, 3 = the top villain.", ge=1, le=3)
    act: int = Field(description="The act of the season this antagonist leads the pressure in, from 1.", ge=1, le=10)
    downfall_episode: Episode | None = Field(
        description="Episode where this antagonist falls; null when they do not fall this season."
    )
    downfall: Line = Field(description="How they fall: the concrete price they pay (lose the company, jailed, ...).")


class RevealStage(Artifact):
    """One stage of a card's reveal: who learns it in which episode."""

    episode: Episode = Field(description="Episode of this stage.")
    to: Id = Field(description=f"Who learns it: a character id, or {AUDIENCE!r} for the viewer.")


class Card(Artifact):
    """One of the lead's hidden identities or trump cards (马甲/底牌), dropped in stages: first one person
    learns it, then a room, then everyone."""

    id: Id = Field(description="Stable snake_case ascii id, e.g. 'anonymous_buyer'; unique across the bible.")
    description: Text = Field(description="What the identity or trump card is.")
    stages: tuple[RevealStage, ...] = Field(
        description="Reveal stages in episode order: who learns it in which episode.", max_length=10
    )


class Plant(Artifact):
    """A plant (伏笔): planted in one episode, paid off in a later one."""

    id: Id = Field(description="Stable snake_case ascii id, e.g. 'smashed_phone'; unique across the bible.")
    what: Line = Field(description="What is planted (a line, an object, a glance), as the viewer sees it.")
    planted_episode: Episode = Field(description="Episode where it is planted.")
    payoff_episode: Episode = Field(description="Episode where it pays off (after the planted episode).")


class Address(Artifact):
    """How one character addresses another, in the script language (叫法)."""

    speaker: Id = Field(description="Character id of the one speaking.")
    listener: Id = Field(description="Character id of the one addressed.")
    form: Name = Field(description="The form of address, in the script language, e.g. '林总', '姐', 'Mr. Gu'.")


_BIBLE_V2_FIELDS: dict[str, object] = {"antagonists": (), "cards": (), "plants": (), "address": ()}


class Bible(Artifact):
    """The story's canon at season start. Ids are unique across characters, locations, secrets, cards and
    plants; every secret's known_by, antagonist, address and reveal stage names characters of this bible
    (a stage may name "audience"). Story bookkeeping (a plant paid before it is planted, antagonists
    falling out of tier order) is a finding of `arc_check`, not a validation error.

    antagonists, cards, plants and address are required in the schema a model sees; a bible from before
    season format 2 lacks them and reads with them empty.
    """

    premise: LongText = Field(description="The premise: situation, central conflict and hook of the season.")
    world_rules: tuple[Line, ...] = Field(description="Rules of the world the story never breaks.", max_length=30)
    characters: tuple[Character, ...] = Field(
        description="The cast, protagonist first.", min_length=1, max_length=40
    )
    locations: tuple[Location, ...] = Field(description="Recurring locations.", max_length=60)
    secrets: tuple[Secret, ...] = Field(description="Secrets that drive the season's reveals.", max_length=40)
    antagonists: tuple[Antagonist, ...] = Field(
        description="The antagonist ladder, minor first: who leads the pressure in which act and how they fall.",
        max_length=12,
    )
    cards: tuple[Card, ...] = Field(
        description="The lead's hidden identities and trump cards, each revealed in stages.", max_length=20
    )
    plants: tuple[Plant, ...] = Field(description="Plants (伏笔) with the episodes they are planted and paid.",
                                      max_length=40)
    address: tuple[Address, ...] = Field(
        description="How each pair of characters addresses each other, in the script language.", max_length=80
    )

    @model_validator(mode="before")
    @classmethod
    def _format_1(cls, data: object) -> object:
        return _fill_missing(data, _BIBLE_V2_FIELDS)

    @model_validator(mode="after")
    def _references(self) -> Bible:
        seen: dict[str, str] = {}
        for kind, items in (("characters", self.characters), ("locations", self.locations), ("secrets", self.secrets),
                            ("cards", self.cards), ("plants", self.plants)):
            for item in items:
                if item.id in seen:
                    raise ValueError(
                        f"id {item.id!r} is used twice ({seen[item.id]} and {kind}): ids must be unique across "
                        "characters, locations, secrets, cards and plants; rename one"
                    )
                seen[item.id] = kind
        cast = self.character_ids
        if AUDIENCE in cast:
            raise ValueError(f"a character has the id {AUDIENCE!r}, which names the viewer in reveals: rename it")

        def need(who: str, where: str, audience: bool = False) -> None:
            if who not in cast and not (audience and who == AUDIENCE):
                extra = f" (or {AUDIENCE!r})" if audience else ""
                raise ValueError(f"{where} names {who!r}, which is not a character id; use one of: "
                                 f"{', '.join(cast)}{extra}")

        for i, secret in enumerate(self.secrets):
            for who in secret.known_by:
                need(who, f"secrets[{i}] {secret.id!r}: known_by")
        for i, a in enumerate(self.antagonists):
            need(a.character, f"antagonists[{i}]: character")
        for i, card in enumerate(self.cards):
            for j, stage in enumerate(card.stages):
                need(stage.to, f"cards[{i}] {card.id!r}: stages[{j}].to", audience=True)
        for i, ad in enumerate(self.address):
            need(ad.speaker, f"address[{i}]: speaker")
            need(ad.listener, f"address[{i}]: listener")
        return self

    @property
    def character_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.characters)

    @property
    def revealable_ids(self) -> tuple[str, ...]:
        """What an arc row may reveal: the ids of the bible's secrets, then its cards."""
        return tuple(s.id for s in self.secrets) + tuple(c.id for c in self.cards)

    def character(self, id: str) -> Character:
        """The character with this id; KeyError naming the known ids otherwise."""
        return _by_id(self.characters, id, "character")

    def location(self, id: str) -> Location:
        return _by_id(self.locations, id, "location")

    def secret(self, id: str) -> Secret:
        return _by_id(self.secrets, id, "secret")

    def card(self, id: str) -> Card:
        return _by_id(self.cards, id, "card")

    def plant(self, id: str) -> Plant:
        return _by_id(self.plants, id, "plant")

    def antagonist(self, character: str) -> Antagonist | None:
        """The (first) ladder entry of `character`; None when they are not on the ladder."""
        return next((a for a in self.antagonists if a.character == character), None)


_Item = TypeVar("_Item", Character, Location, Secret, Card, Plant)


def _by_id(items: tuple[_Item, ...], id: str, kind: str) -> _Item:
    for item in items:
        if item.id == id:
            return item
    raise KeyError(f"no {kind} {id!r} in the bible; known: {', '.join(i.id for i in items) or 'none'}")


# ---- arc --------------------------------------------------------------------------------------


class Cliffhanger(Artifact):
    """How an episode ends."""

    kind: Id = Field(
        description="Cliffhanger kind id from the genre pack, e.g. identity_reveal, cornered, revenge_launch, "
        "romance_breakthrough, secret_surfacing, threat, question."
    )
    hook_line: Line = Field(description="The final line or image that leaves the viewer hanging.")
    strength: int = Field(description="Pull from 1 (mild) to 5 (must-watch; paywall episodes).", ge=1, le=5)


class Reveal(Artifact):
    """A secret or card surfacing in an episode, and who learns it."""

    secret: Id = Field(description="Id of the bible secret or card revealed.")
    to: Id | None = Field(
        description=f"Who learns it: a character id, or {AUDIENCE!r} when the viewer learns it. "
        "(null only in rows from an older arc.json, where it is unknown)"
    )


class WalkOn(Artifact):
    """A one-episode part outside the bible's cast (a sneering clerk, a bailiff)."""

    id: Id = Field(description="snake_case ascii id for this episode, e.g. 'sneering_clerk'; not a bible character id.")
    name: Name = Field(description="Display name in the script language.")
    look: Line = Field(description="One line, in English, of how they look on screen.")


Intensity = Literal["small", "medium", "big"]

# Fields added in season format 2: a format-1 row reads with them unknown (None) or empty.
_ROW_V2_FIELDS: dict[str, object] = {
    "payoff_kind": None, "intensity": None, "antagonist": None, "reveals": (), "plants": (), "pays": (),
    "walk_ons": (),
}


def _row_v2(data: object) -> object:
    data = _fill_missing(data, _ROW_V2_FIELDS)
    if isinstance(data, dict) and isinstance(data.get("reveals"), list | tuple):
        # format 1 wrote a reveal as the plain secret id: who learned it is unknown
        data["reveals"] = [{"secret": r, "to": None} if isinstance(r, str) else r for r in data["reveals"]]
    return data


class ArcRow(Artifact):
    """One episode of the beat sheet.

    payoff_kind, intensity, antagonist, reveals, plants, pays and walk_ons are required in the schema a
    model sees; a row from before season format 2 reads with them unknown (None) or empty, and a reveal
    written as a plain secret id reads as `Reveal(secret=id, to=None)`.
    """

    episode: Episode = Field(description="Episode number, from 1.")
    act: int = Field(description="Act of the season this episode belongs to, from 1.", ge=1, le=10)
    logline: Line = Field(description="What happens in this episode, in one sentence.")
    beats: tuple[Line, ...] = Field(description="Story beats in order.", min_length=2, max_length=8)
    payoff: Line = Field(description="The payoff (爽点): reveal, face-slap or reversal this episode delivers.")
    payoff_kind: Id | None = Field(
        description="Id of the genre pack's payoff kind this payoff is; vary it from episode to episode."
    )
    intensity: Intensity | None = Field(
        description="How big the payoff is: 'small', 'medium' or 'big' (big ones are rare and spaced out)."
    )
    antagonist: Id | None = Field(
        description="Character id of the antagonist leading the pressure this episode; null when none does."
    )
    opening_hook: Line = Field(description="What grabs the viewer in the first 3-5 seconds.")
    cliffhanger: Cliffhanger = Field(description="How the episode ends.")
    paywall: bool = Field(
        description="True when this episode is a paywall episode of the season spec (the first one behind a "
        "paywall point): the previous episode must end on a paywall-strength cliffhanger."
    )
    reveals: tuple[Reveal, ...] = Field(
        description="Bible secrets and cards that surface in this episode, each with who learns it.", max_length=10
    )
    plants: tuple[Id, ...] = Field(description="Ids of the bible plants (伏笔) planted in this episode.", max_length=10)
    pays: tuple[Id, ...] = Field(description="Ids of the bible plants paid off in this episode.", max_length=10)
    walk_ons: tuple[WalkOn, ...] = Field(
        description="One-episode parts outside the cast (at most 3); empty when none.", max_length=3
    )

    @model_validator(mode="before")
    @classmethod
    def _format_1(cls, data: object) -> object:
        return _row_v2(data)

    @property
    def revealed(self) -> tuple[str, ...]:
        """The ids of the secrets and cards this episode reveals, each once, in order (whoever learns them)."""
        return tuple(dict.fromkeys(r.secret for r in self.reveals))


class ArtifactMismatch(ValueError):
    """An artifact that is valid on its own disagrees with the spec or bible; `problems` lists each."""

    def __init__(self, what: str, problems: list[str]) -> None:
        super().__init__(f"{what}: " + "; ".join(problems))
        self.problems = problems


class ArcPlan(Artifact):
    """The season's beat sheet: one row per episode, numbered 1..N in order."""

    rows: tuple[ArcRow, ...] = Field(description="One row per episode, episode 1 first.", min_length=1, max_length=MAX_EPISODES)

    @model_validator(mode="after")
    def _contiguous(self) -> ArcPlan:
        for i, row in enumerate(self.rows, start=1):
            if row.episode != i:
                raise ValueError(
                    f"rows must be numbered 1..N in order: row {i} has episode {row.episode}; "
                    f"renumber it {i} or add the missing episode"
                )
        return self

    def row(self, episode: int) -> ArcRow:
        """The row for `episode` (1-based); IndexError outside the plan."""
        if not 1 <= episode <= len(self.rows):
            raise IndexError(f"the arc has episodes 1-{len(self.rows)}, not {episode}")
        return self.rows[episode - 1]

    def problems_against(self, spec: SeasonSpec, bible: Bible | None = None) -> list[str]:
        """Every disagreement with the spec (row count, paywall flags) and bible: reveals of ids that are not
        bible secrets or cards, or to a party that is not a character or "audience"; an antagonist that is
        not a character; plants and pays that are not bible plants. The planner's repair drops unknown ids
        before the arc is validated; a hand-edited arc.json is told what to fix."""
        out: list[str] = []
        if len(self.rows) != spec.episodes:
            n = len(self.rows)
            fix = f"add rows {n + 1}-{spec.episodes}" if n < spec.episodes else f"drop rows {spec.episodes + 1}-{n}"
            out.append(f"the arc has {n} rows but the season has {spec.episodes} episodes: {fix}")
        for row in self.rows:
            want = spec.is_paywall(row.episode)
            if row.paywall != want:
                out.append(
                    f"episode {row.episode}: paywall is {str(row.paywall).lower()} but the spec's paywall episodes "
                    f"are {list(spec.paywall.paywall_episodes)}: set it {str(want).lower()}"
                )
        if bible is not None:
            out += self._problems_against_bible(bible)
        return out

    def _problems_against_bible(self, bible: Bible) -> list[str]:
        revealable, cast, plants = bible.revealable_ids, bible.character_ids, tuple(p.id for p in bible.plants)

        def one_of(ids: Iterable[str], extra: str = "") -> str:
            return (", ".join(sorted(ids)) or "none") + extra

        out: list[str] = []
        for row in self.rows:
            ep = f"episode {row.episode}"
            for r in row.reveals:
                if r.secret not in revealable:
                    out.append(f"{ep}: reveals {r.secret!r}, which is not a bible secret; use one of: "
                               f"{one_of(revealable)}")
                if r.to is not None and r.to != AUDIENCE and r.to not in cast:
                    out.append(f"{ep}: reveals {r.secret!r} to {r.to!r}, which is not a character id; use one of: "
                               f"{one_of(cast, f' or {AUDIENCE!r}')}")
            if row.antagonist is not None and row.antagonist not in cast:
                out.append(f"{ep}: antagonist {row.antagonist!r} is not a character id; use one of: {one_of(cast)} "
                           "or null")
            for field in ("plants", "pays"):
                out += [f"{ep}: {field} {pid!r}, which is not a bible plant; use one of: {one_of(plants)}"
                        for pid in getattr(row, field) if pid not in plants]
        return out

    def validate_against(self, spec: SeasonSpec, bible: Bible | None = None) -> None:
        """Raise ArtifactMismatch listing `problems_against(spec, bible)` when there are any."""
        problems = self.problems_against(spec, bible)
        if problems:
            raise ArtifactMismatch("arc.json does not match the season", problems)


# ---- episode script ---------------------------------------------------------------------------

# Runtime rates, the estimator and `count_units` live in runtime.py (with their calibration); they are
# re-exported here for the modules that import them from the artifacts.


class Action(Artifact):
    """An action line (△ in Chinese scripts): what we see and hear, present tense."""

    type: Literal["action"] = Field("action", description="Element tag: always 'action'.")
    text: Text = Field(description="What happens on screen, present tense, filmable.")


class DialogueLine(Artifact):
    """A speech: `角色（动作）：台词`, or a Fountain character cue, parenthetical and dialogue."""

    type: Literal["dialogue"] = Field("dialogue", description="Element tag: always 'dialogue'.")
    speaker: Id = Field(description="Character id of the speaker.")
    parenthetical: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        None, description="Short acting direction, e.g. 'coldly'; null when none."
    )
    line: Line = Field(description="What the character says, in the script language.")
    delivery: Literal["OS", "VO"] | None = Field(
        None, description="'OS' off-screen, 'VO' voice-over; null when spoken on screen."
    )


Element = Annotated[Action | DialogueLine, Field(discriminator="type")]


class Scene(Artifact):
    """One scene of an episode. Speakers seen on screen must be in the cast."""

    number: int = Field(description="Scene number within the episode, from 1.", ge=1, le=99)
    int_ext: IntExt = Field(description="Interior or exterior (内/外).")
    location: Name = Field(description="Bible location id, or a short name for a one-off place.")
    time: TimeOfDay = Field(description="Time of day (日/夜/晨/黄昏).")
    cast: tuple[Id, ...] = Field(description="Ids of the characters present in the scene.", max_length=20)
    elements: tuple[Element, ...] = Field(
        description="Action and dialogue in screen order.", min_length=1, max_length=200
    )

    @model_validator(mode="after")
    def _speakers_in_cast(self) -> Scene:
        for el in self.elements:
            if isinstance(el, DialogueLine) and el.delivery is None and el.speaker not in self.cast:
                raise ValueError(
                    f"scene {self.number}: {el.speaker!r} speaks on screen but is not in cast "
                    f"{list(self.cast)}: add them to cast or set the line's delivery to 'OS' or 'VO'"
                )
        return self

    def label(self, episode: int) -> str:
        """The Chinese `集-场` scene number, e.g. '17-2'."""
        return f"{episode}-{self.number}"

    @property
    def time_zh(self) -> str:
        return TIME_ZH[self.time]

    @property
    def int_ext_zh(self) -> str:
        return INT_EXT_ZH[self.int_ext]


class EpisodeScript(Artifact):
    """An episode's script: scenes numbered 1..N in order, ending on the cliffhanger."""

    episode: Episode = Field(description="Episode number, from 1.")
    title: Name = Field(description="Episode title in the script language.")
    scenes: tuple[Scene, ...] = Field(description="Scenes in order.", min_length=1, max_length=30)
    ending_hook: Line = Field(description="The cliffhanger line or image the episode ends on.")

    @model_validator(mode="after")
    def _numbered(self) -> EpisodeScript:
        for i, scene in enumerate(self.scenes, start=1):
            if scene.number != i:
                raise ValueError(f"scenes must be numbered 1..N in order: scene {i} has number {scene.number}")
        return self

    def dialogue(self) -> list[DialogueLine]:
        return [el for s in self.scenes for el in s.elements if isinstance(el, DialogueLine)]

    def actions(self) -> list[Action]:
        return [el for s in self.scenes for el in s.elements if isinstance(el, Action)]

    def spoken_text(self) -> str:
        """Every dialogue line (on screen, OS and VO), one per line, in order."""
        return "\n".join(d.line for d in self.dialogue())

    def word_count(self) -> int:
        """Units (CJK characters + latin words) over dialogue and action."""
        return sum(count_units(d.line) for d in self.dialogue()) + sum(count_units(a.text) for a in self.actions())

    def estimate_runtime_s(self, language: Language) -> float:
        """Screen time in seconds by `runtime.estimate_s`; parentheticals and ending_hook are not timed."""
        return estimate_s(([(el.type, el.line if isinstance(el, DialogueLine) else el.text) for el in s.elements] for s in self.scenes), language)

    def fits_runtime(self, target_s: float, language: Language, tolerance: float = RUNTIME_TOLERANCE) -> bool:
        """True when the estimate is within `tolerance` (a fraction) of `target_s`."""
        return abs(self.estimate_runtime_s(language) - target_s) <= tolerance * target_s


# ---- review -----------------------------------------------------------------------------------

# The rubric is defined once, with the genre packs that weight it.
CRITERIA: tuple[str, ...] = RUBRIC_CRITERIA


class CriterionScore(Artifact):
    """One rubric score with the reason for it. The reason comes first: a model writes keys in schema
    order, so it argues before it scores."""

    reason: Line = Field(description="Why this score, citing the script by scene and a short quote.")
    score: int = Field(description="Score from 1 (fails) to 10 (exceptional), following from the reason.", ge=1, le=10)


# Criteria added after critiques were first written: a stored critique may lack them (read as None), a
# model is always asked for them.
LATER_CRITERIA: tuple[str, ...] = ("surprise", "logic")


def asked_for(*names: str) -> Callable[[dict[str, Any]], None]:
    """A `json_schema_extra` that lists `names` as required and not null in the schema a model sees, for
    fields that default to None only so that files written before them still read."""

    def extra(schema: dict[str, Any]) -> None:
        props = schema.get("properties", {})
        for name in names:
            prop = props[name]
            options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
            prop.pop("default", None)
            if len(options) == 1:
                prop.update(options[0])
        required = set(schema.get("required", ())) | set(names)
        schema["required"] = [p for p in props if p in required]

    return extra


class Critique(Artifact):
    """The critic's review of one draft against the rubric."""

    # surprise and logic are None only in a critique written before they were criteria (LATER_CRITERIA).

    model_config = ConfigDict(json_schema_extra=asked_for(*LATER_CRITERIA))

    hook: CriterionScore = Field(description="Do the first 3-5 seconds grab the viewer?")
    cliffhanger_pull: CriterionScore = Field(description="How hard does the ending pull into the next episode?")
    payoff: CriterionScore = Field(description="Does the episode deliver its payoff (爽点), built in three steps, and "
                                               "pay off the last cliffhanger?")
    pacing: CriterionScore = Field(description="Is there a payoff or turn every 30-60 seconds, with no dead air?")
    escalation: CriterionScore = Field(description="Do the stakes rise within the episode and against the last one?")
    character_consistency: CriterionScore = Field(description="Do characters act and sound like their bible entries?")
    dialogue: CriterionScore = Field(description="Is the dialogue sharp, speakable and in each character's voice?")
    earned_emotion: CriterionScore = Field(description="Are the emotional beats set up rather than asserted?")
    freshness: CriterionScore = Field(description="Does it avoid stock beats or give them a new turn?")
    surprise: CriterionScore | None = Field(None, description="Does a turn surprise and still fit: set up earlier, "
                                                              "not random?")
    logic: CriterionScore | None = Field(None, description="Does everyone act with sense, nobody made stupid to move "
                                                           "the plot (降智)?")
    must_fix: tuple[Line, ...] = Field(description="Changes required before acceptance; empty when none.", max_length=10)
    notes: Annotated[str, StringConstraints(max_length=2000)] = Field(description="Other notes for the writer; may be empty.")

    def scores(self) -> dict[str, int]:
        """Criterion name -> score, in rubric order; a criterion an old critique lacks is left out."""
        return {c: v.score for c in CRITERIA if (v := getattr(self, c)) is not None}

    def overall(self, weights: dict[str, float] | None = None) -> float:
        """Weighted mean score (1-10) over the criteria scored. Criteria missing from `weights` weigh 1.0;
        unknown names, negative weights or all-zero weights raise ValueError.
        """
        weights = weights or {}
        unknown = sorted(set(weights) - set(CRITERIA))
        if unknown:
            raise ValueError(f"unknown rubric criteria {unknown}: use {', '.join(CRITERIA)}")
        w = {c: float(weights.get(c, 1.0)) for c in CRITERIA}
        if any(v < 0 for v in w.values()) or sum(w.values()) == 0:
            raise ValueError("rubric weights must be 0 or more and not all 0")
        scores = self.scores()
        total = sum(w[c] for c in scores)
        if total == 0:
            raise ValueError("rubric weights must not all be 0 on the criteria scored")
        return sum(scores[c] * w[c] for c in scores) / total


class ContinuityFinding(Artifact):
    """A contradiction between the script and canon, quoting both sides."""

    rule: Id = Field(description="Rule or kind broken, e.g. immutable_trait, exclusive_state, knowledge, relationship.")
    severity: Literal["error", "warning"] = Field(description="'error' must be fixed; 'warning' is worth a look.")
    subject: Id = Field(description="Id of the entity concerned (character, location, item or secret).")
    canon_fact: Line = Field(description="The canon fact, quoted.")
    script_quote: Line = Field(description="The contradicting script line, quoted exactly.")
    episode: Episode = Field(description="Episode of the contradicting line.")
    scene: int | None = Field(description="Scene number of the contradicting line; null when episode-wide.", ge=1, le=99)
    explanation: Line = Field(description="Why the two cannot both be true.")
    suggested_fix: Line = Field(description="The smallest script change that removes the contradiction.")


class ContinuityReport(Artifact):
    """The continuity checker's findings for one draft; empty when the draft is consistent."""

    findings: tuple[ContinuityFinding, ...] = Field(description="Contradictions found; empty when none.", max_length=50)

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def errors(self) -> list[ContinuityFinding]:
        return [f for f in self.findings if f.severity == "error"]


# ---- the record: review.json and the imported plan ---------------------------------------------------
# Written by the room and the importer, never by a model; read back by status, the report and the room.
# Older and partial files read: every field but a revision's number has a default.


def _none_as_empty(value: object) -> object:
    return () if value is None else value


class RevisionReview(Artifact):
    """One revision of an episode as review.json keeps it: its reviews, score and what was dropped."""

    revision: int = Field(description="Revision number, from 0.", ge=0)
    critique: Critique | None = Field(None, description="The critic's review; None when the run had no critic.")
    continuity: ContinuityReport | None = Field(None, description="The continuity report of this revision.")
    overall: float | None = Field(None, description="Weighted critic score, rounded to 2 places; None: no critic.")
    dropped: tuple[str, ...] = Field((), description="What the models said that could not be kept (facts, findings).")

    _empty = field_validator("dropped", mode="before")(_none_as_empty)


class Review(Artifact):
    """episodes/NNN/review.json: the accepted revision, every revision's reviews, the open findings."""

    accepted_revision: int | None = Field(None, description="The revision kept as script.json.", ge=0)
    revisions: tuple[RevisionReview, ...] = Field((), description="Every revision, 0 first; empty when imported.")
    open_findings: tuple[ContinuityFinding, ...] = Field((), description="Continuity findings of the accepted revision.")
    imported_from: str | None = Field(None, description="The script file an imported episode came from.")

    _empty = field_validator("revisions", "open_findings", mode="before")(_none_as_empty)

    @model_serializer(mode="wrap")
    def _shape(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data = handler(self)
        if data.get("imported_from") is None:  # only imported episodes carry the key
            data.pop("imported_from", None)
        return data

    def revision(self, number: int) -> RevisionReview | None:
        return next((r for r in self.revisions if r.revision == number), None)

    @property
    def accepted(self) -> RevisionReview | None:
        """The accepted revision's entry; None for imported episodes, which have no reviewed revisions."""
        return self.revision(self.accepted_revision) if self.accepted_revision is not None else None


class ImportedEpisode(Artifact):
    """Where an imported episode came from in the source script."""

    episode: Episode
    source_lines: tuple[int, int] = Field(description="First and last line of the episode in the source script.")
    estimated_runtime_s: float = Field(ge=0)
    scenes: int = Field(ge=0)
    dialogue: int = Field(ge=0)


IMPORTED_NOTE = "episodes already written (imported); the arc must keep them as rows 1..k and continue them"


class ImportedPlan(Artifact):
    """plan/imported.json: arc rows of the imported episodes, which the arc keeps as rows 1..k."""

    note: str = IMPORTED_NOTE
    rows: tuple[ArcRow, ...] = ()
    episodes: tuple[ImportedEpisode, ...] = ()


class WriterBrief(BaseModel):
    """The head writer's note for the next draft of one episode (episodes/017/brief.json)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str = Field(description="What the writer asked for, verbatim.", max_length=4000)
    base: str | None = Field(None, description="Season-relative path of the script to revise; None: a fresh draft.")
