"""A character's casting for text-to-speech: gender, age range, timbre, pace, and the user's voice ids per TTS
provider, so sixty episodes of lines are read by one steady voice.

Contracts
- `Casting` is a frozen artifact in the bible (`Character.casting`); a bible written before casting existed
  reads with `casting` None, and `casting_of(character)` answers for every character either way: the bible's
  casting, else `default_casting`, derived deterministically from what the bible already says (age, the
  English look, the voice prose, the role, the aliases).
- The showrunner's model is asked for gender, age range, timbre and pace (closed vocabularies), never for voice
  ids: a model cannot know the user's TTS account, so `voices` is left out of the schema a model sees and
  `repair_casting` drops any it writes. A value outside a vocabulary is replaced by the default's, field by field.
- `voices` maps a provider name (snake_case, e.g. `elevenlabs`, `azure`) to that provider's voice id; both are
  checked (no spaces, quotes, markup or control characters), so a voice id can be pasted into any API call. It
  is read-only, and a casting without voice ids is written without the key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
)

from cliffhanger.genres.ids import ID_PATTERN

if TYPE_CHECKING:
    from cliffhanger.agents.season.artifacts import Bible, Character, WalkOn

Gender = Literal["female", "male", "neutral"]
AgeRange = Literal["child", "teen", "young_adult", "adult", "middle_aged", "senior"]
Timbre = Literal["warm", "bright", "deep", "soft", "husky", "crisp", "cold", "sweet", "magnetic", "gravelly",
                 "breathy"]
Pace = Literal["slow", "measured", "brisk", "fast"]

MAX_VOICES = 12
Provider = Annotated[str, StringConstraints(pattern=ID_PATTERN)]  # a provider name is an id
VoiceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,127}$")]


class VoiceMap(dict[str, str]):
    """Provider -> voice id, read-only and hashable like the rest of a frozen artifact."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def __reduce__(self) -> tuple[type[VoiceMap], tuple[dict[str, str]]]:  # copy and pickle without __setitem__
        return (VoiceMap, (dict(self),))

    def __copy__(self) -> VoiceMap:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> VoiceMap:
        return self

    def _read_only(self, *args: object, **kwargs: object) -> None:
        raise TypeError("a casting's voices are read-only: make a new Casting")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _read_only  # type: ignore[assignment]


def _frozen(value: Mapping[str, str]) -> VoiceMap:
    if len(value) > MAX_VOICES:
        raise ValueError(f"has {len(value)} providers, over the {MAX_VOICES} limit: keep the ones you use")
    return VoiceMap(sorted(value.items()))  # a casting cannot change under a reader


Voices = Annotated[dict[Provider, VoiceId], AfterValidator(_frozen), PlainSerializer(dict)]


def _hide_voices(schema: dict[str, Any]) -> None:
    # The user's voice ids are not the model's to write (module docstring); a bible file may carry them.
    schema.get("properties", {}).pop("voices", None)


class Casting(BaseModel):
    """How a character sounds, for text-to-speech and for video models that speak the lines."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, json_schema_extra=_hide_voices)

    gender: Gender = Field(description="Voice gender: 'female', 'male', or 'neutral' (androgynous or not known).")
    age_range: AgeRange = Field(description="How old the voice sounds: child (under 13), teen, young_adult (18-29), "
                                            "adult (30-44), middle_aged (45-59), senior (60 and over).")
    timbre: Timbre = Field(description="The colour of the voice, one word from the list.")
    pace: Pace = Field(description="How fast the character usually speaks.")
    voices: Voices = Field(default_factory=VoiceMap, description="Voice id per TTS provider, set by the user, e.g. "
                                                             "{'azure': 'zh-CN-XiaoxiaoNeural'}.")

    @model_serializer(mode="wrap")
    def _shape(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data = handler(self)
        if not data.get("voices"):  # only a casting with voice ids carries the key, as the model's schema has none
            data.pop("voices", None)
        return data

    def describe(self) -> str:
        """One line for a voice designer or a video model: 'young adult female voice, crisp timbre, brisk pace'."""
        gender = "" if self.gender == "neutral" else f" {self.gender}"
        return f"{self.age_range.replace('_', ' ')}{gender} voice, {self.timbre} timbre, {self.pace} pace"


def ask_for_casting(schema: dict[str, Any]) -> None:
    """`Character`'s `json_schema_extra`: `casting` required and not null in the schema a model sees, though a
    bible file written before casting existed reads without it."""
    prop = schema.get("properties", {}).get("casting")
    if prop is None:
        return
    options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
    prop.pop("default", None)
    if len(options) == 1:
        prop.update(options[0])
    required = list(schema.get("required", ()))
    schema["required"] = required if "casting" in required else [*required, "casting"]


# ---- the default, from what the bible says --------------------------------------------------------------

_FEMALE = ("she", "her", "hers", "woman", "women", "girl", "lady", "female", "mother", "mom", "daughter", "sister",
           "wife", "bride", "queen", "princess", "heiress", "actress", "waitress", "dress", "gown", "skirt", "blouse",
           "heels", "makeup", "lipstick", "earrings", "qipao", "cheongsam", "ponytail", "bun", "miss", "mrs", "ms")
_MALE = ("he", "his", "him", "man", "men", "boy", "gentleman", "male", "father", "dad", "son", "brother", "husband",
         "groom", "king", "prince", "beard", "bearded", "stubble", "moustache", "mustache", "goatee", "tuxedo",
         "cufflinks", "necktie", "muscular", "mr", "sir")
_FEMALE_ZH = ("她", "女", "姐", "妹", "母", "妈", "娘", "妻", "夫人", "小姐", "太太", "千金", "公主", "婆")
_MALE_ZH = ("他", "男", "哥", "弟", "父", "爸", "先生", "少爷", "公子", "爷", "王爷", "叔")

# First match wins, in this order; English and Chinese voice prose alike.
_TIMBRE_CUES: tuple[tuple[Timbre, tuple[str, ...]], ...] = (
    ("husky", ("husky", "hoarse", "raspy", "沙哑", "嘶哑")),
    ("gravelly", ("gravel", "rough", "粗")),
    ("breathy", ("breathy", "whisper", "气声", "耳语")),
    ("magnetic", ("magnetic", "velvet", "smooth", "磁性")),
    ("cold", ("cold", "icy", "frost", "venom", "冷", "刻薄")),
    ("sweet", ("sweet", "honey", "甜", "嗲")),
    ("deep", ("deep", "low", "baritone", "bass", "低沉", "浑厚")),
    ("soft", ("soft", "gentle", "timid", "meek", "温柔", "柔", "轻声")),
    ("warm", ("warm", "kind", "motherly", "fatherly", "温和", "温暖", "慈", "和蔼")),
    ("bright", ("bright", "cheerful", "lively", "bubbly", "chirpy", "活泼", "开朗", "清脆")),
    ("crisp", ("crisp", "sharp", "quick", "sarcastic", "dry", "干脆", "利落", "犀利", "要害")),
)
_PACE_CUES: tuple[tuple[Pace, tuple[str, ...]], ...] = (
    ("fast", ("fast", "rapid", "rushed", "breathless", "chatter", "babbl", "快", "急", "连珠炮", "机关枪")),
    ("slow", ("slow", "drawl", "deliberate", "sparing", "few words", "惜字如金", "慢", "缓", "拖")),
    ("brisk", ("brisk", "clipped", "quick", "curt", "short", "干脆", "利落", "简短")),
    ("measured", ("measured", "calm", "even", "steady", "平静", "从容", "稳", "不紧不慢")),
)
_ROLE_TIMBRE: dict[str, tuple[Timbre, Timbre]] = {  # (female, male)
    "protagonist": ("crisp", "deep"), "antagonist": ("cold", "cold"), "love_interest": ("sweet", "magnetic"),
    "ally": ("bright", "bright"), "mentor": ("warm", "deep"), "rival": ("cold", "crisp"),
    "family": ("warm", "warm"), "other": ("warm", "warm"),
}
_WORD = re.compile(r"[a-z]+")
_AGE_WORDS: tuple[tuple[AgeRange, tuple[str, ...]], ...] = (
    ("child", ("child", "kid", "toddler", "little girl", "little boy", "boy of", "girl of")),
    ("teen", ("teen", "adolescent", "high school")),
    ("senior", ("sixties", "seventies", "eighties", "elderly", "old man", "old woman", "grandmother", "grandfather")),
    ("middle_aged", ("forties", "fifties", "middle-aged", "middle aged")),
    ("adult", ("thirties",)),
    ("young_adult", ("twenties", "young")),
)


def age_range_of(age: int | None, age_look: str = "") -> AgeRange:
    """The age range of an age in years, else of an English apparent age ('late forties'); 'adult' when neither
    says. A look in the late forties or later counts as middle-aged."""
    if age is not None:
        for limit, band in ((13, "child"), (18, "teen"), (30, "young_adult"), (45, "adult"), (60, "middle_aged")):
            if age < limit:
                return band  # type: ignore[return-value]  # a member of AgeRange
        return "senior"
    look = age_look.lower()
    digits = re.search(r"\b(\d{1,3})\b", look)
    if digits:
        return age_range_of(int(digits.group(1)))
    if "late forties" in look:
        return "middle_aged"
    return next((band for band, words in _AGE_WORDS if any(_has(look, w) for w in words)), "adult")


def _gender(english: str, native: str) -> Gender:
    words = _WORD.findall(english.lower())
    female = sum(w in _FEMALE for w in words) + sum(native.count(c) for c in _FEMALE_ZH)
    male = sum(w in _MALE for w in words) + sum(native.count(c) for c in _MALE_ZH)
    return "female" if female > male else "male" if male > female else "neutral"


def _has(text: str, cue: str) -> bool:
    # English cues start a word ('low' is not in 'slow'); Chinese ones are found anywhere.
    return re.search(rf"\b{re.escape(cue)}", text) is not None if cue.isascii() else cue in text


def _first_cue(text: str, cues: Iterable[tuple[str, tuple[str, ...]]]) -> str | None:
    low = text.lower()
    return next((value for value, words in cues if any(_has(low, w) for w in words)), None)


def default_casting(*, role: str = "other", age: int | None = None, age_look: str = "", look: str = "",
                    voice: str = "", names: Iterable[str] = ()) -> Casting:
    """A casting from what the bible says of a character: its `role`, `age` (else the English `age_look`), its
    English `look` (the locked descriptor, or a walk-on's line), its `voice` prose and the `names` it goes by
    (aliases, forms of address). Same input, same casting."""
    names = " ".join(names)
    gender = _gender(f"{look} {names}", f"{voice} {names}")
    band = age_range_of(age, age_look)
    timbre = _first_cue(voice, _TIMBRE_CUES)
    if timbre is None:
        female, male = _ROLE_TIMBRE.get(role, _ROLE_TIMBRE["other"])
        timbre = "bright" if band in ("child", "teen") else male if gender == "male" else female
    pace = _first_cue(voice, _PACE_CUES) or ("brisk" if band in ("child", "teen") else "measured")
    return Casting(gender=gender, age_range=band, timbre=timbre, pace=pace)  # type: ignore[arg-type]


def _character_facts(c: Mapping[str, Any]) -> dict[str, Any]:
    """`default_casting`'s arguments from a character as a dict (a model's, possibly broken)."""
    visual = c.get("visual") if isinstance(c.get("visual"), Mapping) else {}
    text = lambda v: v if isinstance(v, str) else ""  # noqa: E731
    age = c.get("age")
    aliases = c.get("aliases") if isinstance(c.get("aliases"), list | tuple) else []
    return {"role": text(c.get("role")) or "other",
            "age": age if isinstance(age, int) and not isinstance(age, bool) and 0 <= age <= 150 else None,
            "age_look": text(visual.get("age_look")),
            "look": " ".join(text(visual.get(k)) for k in ("face", "hair", "build", "wardrobe", "marks")),
            "voice": text(c.get("voice")), "names": [text(c.get("name")), *map(text, aliases)]}


def casting_of(character: Character, forms: Iterable[str] = ()) -> Casting:
    """The character's casting: the bible's, else the default from what the bible says of them (`forms`: how
    others address them, e.g. '姐姐', 'Mr. Vance')."""
    if character.casting is not None:
        return character.casting
    return default_casting(**{**_character_facts(character.model_dump()),
                              "names": [character.name, *character.aliases, *forms]})


def bible_casting(bible: Bible) -> dict[str, Casting]:
    """Character id -> `casting_of` that character, the forms of address others use for them included."""
    forms: dict[str, list[str]] = {}
    for a in bible.address:
        forms.setdefault(a.listener, []).append(a.form)
    return {c.id: casting_of(c, forms.get(c.id, ())) for c in bible.characters}


def walk_on_casting(walk_on: WalkOn) -> Casting:
    """A walk-on's casting, from its name and one-line look ('a balding clerk in his fifties')."""
    return default_casting(look=walk_on.look, age_look=walk_on.look, names=[walk_on.name])


def repair_casting(character: Mapping[str, Any], forms: Iterable[str] = ()) -> dict[str, Any]:
    """The casting a model wrote for `character` (a dict) made valid: each field outside its vocabulary (or
    missing) takes the default's value (`forms`: how others address them), and voice ids are dropped (module
    docstring)."""
    facts = _character_facts(character)
    default = default_casting(**{**facts, "names": [*facts["names"], *forms]}).model_dump(exclude={"voices"})
    given = character.get("casting")
    given = given if isinstance(given, Mapping) else {}
    allowed = {"gender": Gender, "age_range": AgeRange, "timbre": Timbre, "pace": Pace}
    out = {}
    for name, vocabulary in allowed.items():
        value = given.get(name)
        value = value.strip().lower() if isinstance(value, str) else value
        out[name] = value if value in get_args(vocabulary) else default[name]
    return out
