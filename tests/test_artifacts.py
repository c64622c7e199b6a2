"""The domain model: specs that cannot work are refused with a fixable message, artifacts round-trip
through JSON, timing and runtime helpers behave, and every schema field is described for the model.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

from cliffhanger.agents.errors import format_validation_error
from cliffhanger.agents.llm.strict_schema import strict_json_schema
from cliffhanger.agents.season.artifacts import (
    MIN_ACTION_S,
    ArcPlan,
    ArtifactMismatch,
    Bible,
    ContinuityReport,
    Critique,
    EpisodeScript,
    PaywallPlan,
    SeasonSpec,
    count_units,
    default_paywall_episodes,
)
from cliffhanger.agents.season.shotlist import ShotCharacter, ShotList, quantise_duration, shot_id

# ---- realistic examples -------------------------------------------------------------------------


def _visual(face: str, hair: str, build: str, age: str, wardrobe: str, marks: str = "") -> dict[str, str]:
    return {"face": face, "hair": hair, "build": build, "age_look": age, "wardrobe": wardrobe, "marks": marks}


def _character(id: str, name: str, role: str, age: int | None, visual: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "id": id, "name": name, "aliases": extra.get("aliases", []), "role": role, "age": age,
        "want": extra.get("want", "to take back what was stolen"), "secret": extra.get("secret"),
        "arc": extra.get("arc", "from victim to the one who sets the rules"),
        "voice": extra.get("voice", "short sentences, never raises her voice"),
        "visual": visual, "reference_image": extra.get("reference_image"),
        "casting": extra.get("casting", {"gender": "female", "age_range": "young_adult", "timbre": "crisp",
                                         "pace": "measured"}),
    }


ZH_BIBLE: dict[str, Any] = {
    "premise": "被调包的真千金林晚在订婚宴上被假千金林雪柔当众羞辱，她隐忍三年，带着顾氏集团继承人顾言深的秘密契约归来复仇。",
    "world_rules": ["林家的家规：继承权只属于血亲。", "顾言深从不在公开场合露面。"],
    "characters": [
        _character(
            "lin_wan", "林晚", "protagonist", 23,
            _visual("oval face, calm dark eyes, faint smile", "long straight black hair, low ponytail",
                    "slim, 165 cm", "early twenties", "plain white shirt and grey trench coat",
                    "small mole under the left eye"),
            aliases=["晚晚", "Lin Wan"], secret="她才是林家真正的女儿", want="夺回林家千金的身份",
            voice="话少，语气平静，一句话戳中要害", reference_image="refs/lin_wan.png",
        ),
        _character(
            "gu_yanshen", "顾言深", "love_interest", 28,
            _visual("sharp jaw, narrow eyes, rarely smiles", "short black hair swept back",
                    "tall, broad shoulders, 185 cm", "late twenties", "black three-piece suit, silver cufflinks"),
            aliases=["顾总"], want="找出害死母亲的人", voice="冷淡，惜字如金",
            casting={"gender": "male", "age_range": "young_adult", "timbre": "magnetic", "pace": "slow"},
        ),
        _character(
            "lin_xuerou", "林雪柔", "antagonist", 23,
            _visual("round face, wide innocent eyes, heavy makeup", "wavy chestnut hair, shoulder length",
                    "petite, 160 cm", "early twenties", "pink designer dress, pearl necklace"),
            secret="她知道自己是被调包的假千金", want="保住林家千金的位置", voice="人前柔弱，人后刻薄",
        ),
    ],
    "locations": [
        {"id": "lin_mansion_hall", "name": "林家大厅", "description": "林家举办订婚宴的大厅，水晶吊灯，宾客云集。",
         "visual": "grand marble hall, crystal chandelier, red carpet, crowd in evening wear", "int_ext": "INT"},
        {"id": "gu_tower_rooftop", "name": "顾氏大厦天台", "description": "顾言深独处的地方。",
         "visual": "glass skyscraper rooftop at night, city lights, wind", "int_ext": "EXT"},
    ],
    "secrets": [
        {"id": "switched_at_birth", "description": "林晚和林雪柔出生时被保姆调包。", "known_by": ["lin_xuerou"],
         "planned_reveal_episode": 11},
    ],
    "antagonists": [
        {"character": "lin_xuerou", "tier": 1, "act": 1, "downfall_episode": 11,
         "downfall": "DNA报告当众宣读，她被逐出林家，名下股份全部收回。"},
    ],
    "cards": [
        {"id": "gu_legal_director", "description": "林晚是顾氏集团的法务总监。",
         "stages": [{"episode": 2, "to": "audience"}, {"episode": 5, "to": "lin_xuerou"}]},
    ],
    "plants": [
        {"id": "broken_necklace_clasp", "what": "项链的搭扣是坏的，林晚看了一眼。", "planted_episode": 1,
         "payoff_episode": 9},
    ],
    "address": [
        {"speaker": "lin_xuerou", "listener": "lin_wan", "form": "姐姐"},
        {"speaker": "lin_wan", "listener": "gu_yanshen", "form": "顾总"},
    ],
}

ZH_ARC: dict[str, Any] = {"rows": [
    {"episode": 1, "act": 1, "logline": "订婚宴上林晚被诬陷偷窃，被赶出林家。",
     "beats": ["林雪柔当众指认林晚偷了项链", "未婚夫当场退婚", "林晚被保安拖出大厅"],
     "payoff": "林晚冷笑着说出项链的真正去处，全场哗然",
     "opening_hook": "一巴掌打在林晚脸上，项链从她包里掉出",
     "payoff_kind": "public_face_slap", "intensity": "small", "antagonist": "lin_xuerou",
     "cliffhanger": {"kind": "threat", "hook_line": "林雪柔低声说：这只是开始。", "strength": 3},
     "paywall": False, "reveals": [], "plants": ["broken_necklace_clasp"], "pays": [],
     "walk_ons": [{"id": "hotel_guard", "name": "保安", "look": "burly guard in a black suit, earpiece, crew cut"}]},
    {"episode": 2, "act": 1, "logline": "三年后林晚以顾氏法务总监身份回到林家。",
     "beats": ["林晚挽着顾言深出现在林家寿宴", "林雪柔认出她，脸色煞白"],
     "payoff": "林家老爷子当众请林晚上座",
     "opening_hook": "一辆黑色劳斯莱斯停在林家门口",
     "payoff_kind": "identity_drop", "intensity": "medium", "antagonist": None,
     "cliffhanger": {"kind": "identity_reveal", "hook_line": "林晚拿出一份DNA报告。", "strength": 5},
     "paywall": False, "reveals": [{"secret": "gu_legal_director", "to": "audience"}], "plants": [], "pays": [],
     "walk_ons": []},
]}


def _zh_scene(number: int, location: str, time: str, cast: list[str], elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"number": number, "int_ext": "INT", "location": location, "time": time, "cast": cast, "elements": elements}


def _act(text: str) -> dict[str, Any]:
    return {"type": "action", "text": text}


def _say(speaker: str, line: str, parenthetical: str | None = None, delivery: str | None = None) -> dict[str, Any]:
    return {"type": "dialogue", "speaker": speaker, "parenthetical": parenthetical, "line": line, "delivery": delivery}


ZH_SCRIPT: dict[str, Any] = {
    "episode": 1, "title": "订婚宴惊变",
    "scenes": [
        _zh_scene(1, "lin_mansion_hall", "night", ["lin_wan", "lin_xuerou"], [
            _act("水晶吊灯下，宾客举杯。林雪柔突然尖叫。"),
            _say("lin_xuerou", "我的项链不见了！刚才只有姐姐靠近过我。", "捂着脖子"),
            _act("众人目光齐刷刷看向林晚。保安打开她的包，项链掉在地上。"),
            _say("lin_wan", "你确定，是我拿的？", "平静"),
        ]),
        _zh_scene(2, "lin_mansion_hall", "night", ["lin_wan", "lin_xuerou"], [
            _act("林晚被两名保安架着往外走，她回头看了林雪柔一眼。"),
            _say("lin_xuerou", "姐姐，林家不欢迎小偷。", "假装抹泪"),
            _say("gu_yanshen", "把人放开。", delivery="OS"),
            _act("大门被推开，一道修长的身影逆光而立。"),
        ]),
    ],
    "ending_hook": "门口传来一声低沉的“把人放开”。",
}

EN_BIBLE: dict[str, Any] = {
    "premise": "Ava Reed, a waitress at the Cross Hotel, is the lost heir of the rival Vane pack; the alpha "
               "billionaire Damon Cross must choose between her and the treaty that keeps his city at peace.",
    "world_rules": ["Wolves cannot lie to their fated mate.", "A pack heir's eyes turn gold at the full moon."],
    "characters": [
        _character("ava_reed", "Ava Reed", "protagonist", 24,
                   _visual("heart-shaped face, green eyes", "auburn hair in a messy bun", "slender, 168 cm",
                           "mid twenties", "black waitress uniform with a name tag"),
                   want="to find out who left her at the orphanage", voice="quick, sarcastic, kind underneath"),
        _character("damon_cross", "Damon Cross", "love_interest", 31,
                   _visual("square jaw, stubble, grey eyes", "short dark hair", "tall, muscular, 190 cm",
                           "early thirties", "charcoal suit, open collar", "scar through the left eyebrow"),
                   want="to keep the treaty", voice="low, clipped, commands",
                   casting={"gender": "male", "age_range": "adult", "timbre": "deep", "pace": "brisk"}),
        _character("celeste_vane", "Celeste Vane", "antagonist", 27,
                   _visual("high cheekbones, ice-blue eyes", "platinum blonde bob", "tall, willowy",
                           "late twenties", "white satin gown, diamond choker"),
                   secret="she knows Ava is the real Vane heir", want="to marry Damon and rule both packs",
                   voice="sweet in public, venom in private"),
    ],
    "locations": [
        {"id": "cross_hotel_ballroom", "name": "Cross Hotel Ballroom", "description": "Where the treaty gala is held.",
         "visual": "gilded ballroom, chandeliers, full moon through tall windows", "int_ext": "INT"},
    ],
    "secrets": [
        {"id": "vane_heir", "description": "Ava is the daughter of the late Vane alpha.",
         "known_by": ["celeste_vane"], "planned_reveal_episode": 12},
    ],
    "antagonists": [
        {"character": "celeste_vane", "tier": 3, "act": 2, "downfall_episode": None,
         "downfall": "The treaty council strips her of the Vane name in front of both packs."},
    ],
    "cards": [],
    "plants": [
        {"id": "gold_eyes", "what": "Ava's eyes flash gold for a second.", "planted_episode": 1, "payoff_episode": 12},
    ],
    "address": [{"speaker": "ava_reed", "listener": "damon_cross", "form": "Mr. Cross"}],
}

EN_SCRIPT: dict[str, Any] = {
    "episode": 1, "title": "The Waitress and the Alpha",
    "scenes": [
        {"number": 1, "int_ext": "INT", "location": "cross_hotel_ballroom", "time": "night",
         "cast": ["ava_reed", "celeste_vane"], "elements": [
             _act("Ava balances a tray of champagne. Celeste steps into her path."),
             _act("Champagne soaks the white gown."),
             _say("celeste_vane", "You clumsy little nobody. Do you know what this dress cost?", "shrieking"),
             _say("ava_reed", "More than my rent. Less than your manners."),
         ]},
        {"number": 2, "int_ext": "INT", "location": "cross_hotel_ballroom", "time": "night",
         "cast": ["ava_reed", "celeste_vane", "damon_cross"], "elements": [
             _act("The room goes silent. Damon crosses the floor and stops in front of Ava."),
             _say("damon_cross", "Apologise.", "quietly"),
             _say("celeste_vane", "Thank you, Damon. She should."),
             _say("damon_cross", "I was talking to you, Celeste."),
             _act("Ava's eyes flash gold. Damon sees it."),
         ]},
    ],
    "ending_hook": "Ava's eyes flash gold, and Damon sees it.",
}


def _bible_char(bible: Bible, id: str) -> dict[str, Any]:
    return ShotCharacter.from_character(bible.character(id)).model_dump()


def _shot(ep: int, scene: int, n: int, start: float, dur: float, chars: list[dict[str, Any]],
          role: str = "escalation", **extra: Any) -> dict[str, Any]:
    return {
        "episode": ep, "scene": scene, "shot_id": shot_id(ep, scene, n), "start_s": start, "duration_s": dur,
        "aspect_ratio": "9:16", "shot_size": extra.get("shot_size", "medium"), "angle": "eye_level",
        "movement": extra.get("movement", "static"), "lens": "35mm", "characters": [dict(c) for c in chars],
        "location": "lin_mansion_hall", "time_of_day": "night", "action": extra.get("action", "she turns"),
        "dialogue": extra.get("dialogue", []),
        "sound": extra.get("sound", {"vo_os": None, "sfx": [], "music_cue": None}),
        "on_screen_text": extra.get("on_screen_text"), "first_frame_ref": None, "last_frame_ref": None,
        "prompt": extra.get("prompt", "vertical 9:16, cinematic, a woman turns in a grand hall"),
        "prompt_native": extra.get("prompt_native", "竖屏，电影感，大厅中女子转身"),
        "negative_prompt": "extra fingers, distorted faces, text, watermark", "beat_role": role,
    }


def zh_shots() -> dict[str, Any]:
    bible = Bible.model_validate(ZH_BIBLE)
    wan, rou = _bible_char(bible, "lin_wan"), _bible_char(bible, "lin_xuerou")
    return {"episode": 1, "target": "kling", "runtime_s": 30, "shots": [
        _shot(1, 1, 1, 0, 5, [rou], "hook", shot_size="close_up", action="Lin Xuerou screams, hand at her bare neck",
              dialogue=[{"speaker": "lin_xuerou", "line": "我的项链不见了！", "emotion": "fake panic",
                         "start_s": 0.5, "duration_s": 2.5}],
              sound={"vo_os": None, "sfx": ["glass shatters"], "music_cue": "sharp string sting"}),
        _shot(1, 1, 2, 5, 10, [wan, rou], "escalation", shot_size="two_shot", movement="push_in",
              action="The necklace falls from Lin Wan's bag; guests turn"),
        _shot(1, 2, 1, 15, 5, [wan], "payoff", shot_size="close_up",
              dialogue=[{"speaker": "lin_wan", "line": "你确定，是我拿的？", "emotion": "icy calm",
                         "start_s": 1, "duration_s": 3}]),
        _shot(1, 2, 2, 20, 10, [], "cliffhanger", shot_size="full", movement="dolly",
              action="The doors swing open; a tall silhouette stands against the light",
              sound={"vo_os": "gu_yanshen (OS): 把人放开。", "sfx": ["doors bang open"], "music_cue": "bass hit"},
              on_screen_text="顾氏集团总裁 顾言深"),
    ]}


def en_shots() -> dict[str, Any]:
    data = zh_shots()
    bible = Bible.model_validate(EN_BIBLE)
    ava, damon = _bible_char(bible, "ava_reed"), _bible_char(bible, "damon_cross")
    data["target"] = "generic"
    for shot, chars in zip(data["shots"], [[ava], [ava, damon], [damon], [ava]], strict=True):
        shot.update(characters=chars, location="cross_hotel_ballroom", dialogue=[],
                    prompt_native=shot["prompt"])
    return data


SPEC = SeasonSpec.create(title="千金归来", logline="被调包的真千金回到豪门复仇。", genre="revenge", episodes=60)


# ---- season spec ------------------------------------------------------------------------------


def test_default_paywall_plan_puts_first_point_after_free_episodes() -> None:
    assert SPEC.paywall.free_episodes == 10
    assert list(SPEC.paywall.paywall_episodes) == [11, 30, 50]
    assert default_paywall_episodes(100, 8) == [9, 28, 48, 68, 88]
    assert SPEC.is_free(10) and not SPEC.is_free(11)
    assert SPEC.is_paywall(11) and SPEC.is_paywall(30) and not SPEC.is_paywall(12)
    assert SPEC.is_paywall_cliffhanger(10) and not SPEC.is_paywall_cliffhanger(11)
    assert SPEC.aspect_ratio == "9:16" and SPEC.runtime_s == 90


def test_ad_mode_has_no_paywall_and_everything_is_free() -> None:
    spec = SeasonSpec.create(title="t", logline="l", genre="werewolf", language="en", mode="ad")
    assert spec.paywall.paywall_episodes == ()
    assert all(spec.is_free(ep) and not spec.is_paywall(ep) for ep in range(1, 61))


def test_explicit_paywall_episodes_are_kept_sorted_and_unique() -> None:
    spec = SeasonSpec.create(title="t", logline="l", genre="revenge", free_episodes=8, paywall_episodes=[40, 9, 9, 20])
    assert spec.paywall.paywall_episodes == (9, 20, 40)


@pytest.mark.parametrize(
    ("overrides", "field", "fix"),
    [
        ({"episodes": 0}, "episodes", "between 1 and 300"),
        ({"episodes": -5}, "episodes", "between 1 and 300"),
        ({"episodes": 301}, "episodes", "between 1 and 300"),
        ({"runtime_s": 10}, "runtime_s", "between 20 and 600"),
        ({"runtime_s": 900}, "runtime_s", "between 20 and 600"),
        ({"paywall_episodes": [11, 70]}, "paywall", "drop it from paywall_episodes or add episodes"),
        ({"paywall_episodes": [0, 11]}, "paywall.paywall_episodes", "start at 1"),
        ({"free_episodes": 60}, "paywall", "lower free_episodes or add episodes"),
        ({"free_episodes": 10, "paywall_episodes": [5, 30]}, "paywall.paywall_episodes", "inside the free range"),
        ({"mode": "ad", "paywall_episodes": [11]}, "paywall.paywall_episodes", "remove paywall_episodes or set mode 'paywall'"),
        ({"paywall_episodes": []}, "paywall.paywall_episodes", "or set mode 'ad'"),
        ({"free_episodes": -1}, "paywall.free_episodes", "0 or more"),
        ({"logline": "   "}, "logline", "is empty"),
        ({"title": ""}, "title", "give the season a title"),
        ({"genre": "Revenge Drama"}, "genre", "like 'revenge_drama'"),
    ],
)
def test_impossible_specs_are_rejected_with_one_fixable_line(overrides: dict[str, Any], field: str, fix: str) -> None:
    args: dict[str, Any] = {"title": "千金归来", "logline": "真千金复仇。", "genre": "revenge"} | overrides
    with pytest.raises(ValidationError) as info:
        SeasonSpec.create(**args)
    message = format_validation_error(info.value, "season.toml")
    assert "\n" not in message
    assert message.startswith(f"season.toml: {field}: ")
    assert fix in message
    assert info.value.error_count() == 1  # one mistake, one complaint


def test_spec_from_toml_shaped_data_and_unknown_keys() -> None:
    data = {"title": "t", "logline": "l", "genre": "revenge", "language": "zh", "episodes": 60, "runtime_s": 90,
            "paywall": {"mode": "paywall", "free_episodes": 10, "paywall_episodes": [11, 30, 50]}}
    assert SeasonSpec.model_validate(data) == SPEC.model_copy(update={"title": "t", "logline": "l"})
    with pytest.raises(ValidationError) as info:
        SeasonSpec.model_validate(data | {"episode_count": 60})
    assert "episode_count" in format_validation_error(info.value, "season.toml")


def test_artifacts_are_frozen() -> None:
    bible = Bible.model_validate(ZH_BIBLE)
    with pytest.raises(ValidationError):
        SPEC.episodes = 10  # type: ignore[misc]
    with pytest.raises(ValidationError):
        bible.characters[0].visual.hair = "red"  # type: ignore[misc]
    with pytest.raises(AttributeError):  # lists are tuples: no mutation through the back door
        bible.characters.append(bible.characters[0])  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        PaywallPlan(mode="paywall", free_episodes=1, paywall_episodes=[2]).free_episodes = 3  # type: ignore[misc]
    assert hash(SPEC) == hash(SeasonSpec.model_validate(SPEC.model_dump()))


# ---- round trips ------------------------------------------------------------------------------

EXAMPLES = [
    pytest.param(Bible, ZH_BIBLE, id="zh-bible"),
    pytest.param(Bible, EN_BIBLE, id="en-bible"),
    pytest.param(ArcPlan, ZH_ARC, id="zh-arc"),
    pytest.param(EpisodeScript, ZH_SCRIPT, id="zh-script"),
    pytest.param(EpisodeScript, EN_SCRIPT, id="en-script"),
    pytest.param(ShotList, zh_shots(), id="zh-shots"),
    pytest.param(ShotList, en_shots(), id="en-shots"),
]


@pytest.mark.parametrize(("model", "data"), EXAMPLES)
def test_json_round_trip(model: type[BaseModel], data: dict[str, Any]) -> None:
    obj = model.model_validate(data)
    text = obj.model_dump_json()
    assert model.model_validate_json(text) == obj
    assert json.loads(text) == data  # nothing invented, dropped or renamed


@pytest.mark.parametrize(("model", "data"), EXAMPLES)
def test_examples_satisfy_both_published_schemas(model: type[BaseModel], data: dict[str, Any]) -> None:
    dumped = model.model_validate(data).model_dump(mode="json")
    jsonschema.validate(dumped, model.model_json_schema())
    jsonschema.validate(dumped, strict_json_schema(model))


def test_spec_round_trip() -> None:
    assert SeasonSpec.model_validate_json(SPEC.model_dump_json()) == SPEC


# ---- bible ------------------------------------------------------------------------------------


def test_visual_descriptor_renders_one_prompt_string() -> None:
    lin_wan = Bible.model_validate(ZH_BIBLE).character("lin_wan")
    prompt = lin_wan.visual.as_prompt()
    assert "\n" not in prompt
    assert prompt.startswith("early twenties, oval face")
    assert "wearing plain white shirt and grey trench coat" in prompt and prompt.endswith("left eye")
    assert ShotCharacter.from_character(lin_wan).descriptor == prompt


def test_bible_ids_are_unique_across_kinds() -> None:
    data = json.loads(json.dumps(ZH_BIBLE))
    data["locations"][0]["id"] = "lin_wan"
    with pytest.raises(ValidationError) as info:
        Bible.model_validate(data)
    message = format_validation_error(info.value, "bible.json")
    assert "'lin_wan' is used twice (characters and locations)" in message and "rename one" in message


def test_secret_knowledge_must_name_characters() -> None:
    data = json.loads(json.dumps(ZH_BIBLE))
    data["secrets"][0]["known_by"] = ["nanny_wang"]
    with pytest.raises(ValidationError) as info:
        Bible.model_validate(data)
    assert "'nanny_wang', which is not a character id; use one of: lin_wan, gu_yanshen, lin_xuerou" in str(info.value)


def test_bible_needs_a_character_and_valid_ids_and_paths() -> None:
    with pytest.raises(ValidationError, match="characters"):
        Bible.model_validate(ZH_BIBLE | {"characters": []})
    data = json.loads(json.dumps(ZH_BIBLE))
    data["characters"][0]["id"] = "林晚"
    with pytest.raises(ValidationError) as info:
        Bible.model_validate(data)
    assert "not a valid id: use snake_case ascii (pinyin works" in format_validation_error(info.value, "bible.json")
    for bad in ("/home/me/lin.png", "../lin.png"):
        data = json.loads(json.dumps(ZH_BIBLE))
        data["characters"][0]["reference_image"] = bad
        with pytest.raises(ValidationError, match="relative to the season folder"):
            Bible.model_validate(data)
    with pytest.raises(KeyError, match="known: lin_wan, gu_yanshen, lin_xuerou"):
        Bible.model_validate(ZH_BIBLE).character("zhou_min")


# ---- arc --------------------------------------------------------------------------------------


def test_arc_rows_must_be_numbered_in_order() -> None:
    rows = ZH_ARC["rows"]
    with pytest.raises(ValidationError, match="row 2 has episode 3"):
        ArcPlan.model_validate({"rows": [rows[0], rows[1] | {"episode": 3}]})
    with pytest.raises(ValidationError, match="row 1 has episode 2"):
        ArcPlan.model_validate({"rows": [rows[1], rows[0]]})
    with pytest.raises(ValidationError, match="beats"):
        ArcPlan.model_validate({"rows": [rows[0] | {"beats": ["only one"]}]})
    with pytest.raises(ValidationError, match="strength"):
        ArcPlan.model_validate({"rows": [rows[0] | {"cliffhanger": rows[0]["cliffhanger"] | {"strength": 6}}]})


def test_arc_against_spec_and_bible() -> None:
    spec = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=2, free_episodes=1)
    arc = ArcPlan.model_validate(ZH_ARC)
    problems = arc.problems_against(spec)
    assert problems == [
        "episode 2: paywall is false but the spec's paywall episodes are [2]: set it true"
    ]
    with pytest.raises(ArtifactMismatch) as info:
        arc.validate_against(SPEC)
    assert "the arc has 2 rows but the season has 60 episodes: add rows 3-60" in str(info.value)
    fixed = ArcPlan.model_validate({"rows": [ZH_ARC["rows"][0], ZH_ARC["rows"][1] | {"paywall": True}]})
    fixed.validate_against(spec, Bible.model_validate(ZH_BIBLE))
    leaky = ArcPlan.model_validate({"rows": [ZH_ARC["rows"][0] | {"reveals": ["who_killed_mother"]}]})
    assert "reveals 'who_killed_mother', which is not a bible secret; use one of: gu_legal_director, switched_at_birth" in (
        leaky.problems_against(SeasonSpec.create(title="t", logline="l", genre="g", episodes=1, mode="ad"),
                               Bible.model_validate(ZH_BIBLE))[0]
    )


# ---- scripts and runtime ------------------------------------------------------------------------


def test_scene_labels_and_zh_rendering() -> None:
    script = EpisodeScript.model_validate(ZH_SCRIPT)
    scene = script.scenes[1]
    assert scene.label(script.episode) == "1-2"
    assert (scene.time_zh, scene.int_ext_zh) == ("夜", "内")
    assert script.spoken_text().splitlines()[0] == "我的项链不见了！刚才只有姐姐靠近过我。"


def test_on_screen_speakers_must_be_in_cast_but_off_screen_need_not() -> None:
    scene = ZH_SCRIPT["scenes"][1]
    assert "gu_yanshen" not in scene["cast"]  # speaks OS in the example, which is fine
    bad = scene | {"elements": [_say("gu_yanshen", "把人放开。")]}
    with pytest.raises(ValidationError) as info:
        EpisodeScript.model_validate(ZH_SCRIPT | {"scenes": [ZH_SCRIPT["scenes"][0], bad]})
    assert "add them to cast or set the line's delivery to 'OS' or 'VO'" in format_validation_error(info.value, "script")


def test_scenes_numbered_in_order_and_elements_tagged() -> None:
    s1, s2 = ZH_SCRIPT["scenes"]
    with pytest.raises(ValidationError, match="scene 2 has number 3"):
        EpisodeScript.model_validate(ZH_SCRIPT | {"scenes": [s1, s2 | {"number": 3}]})
    with pytest.raises(ValidationError):
        EpisodeScript.model_validate(ZH_SCRIPT | {"scenes": [s1 | {"elements": [{"type": "song", "text": "la"}]}]})


def test_count_units() -> None:
    assert count_units("你确定，是我拿的？") == 7
    assert count_units("I don't know, Damon.") == 4
    assert count_units("他叫Damon Cross。") == 4


def _speech_script(lines: list[str], actions: list[str]) -> EpisodeScript:
    elements = [_act(a) for a in actions] + [_say("lin_wan", line) for line in lines]
    return EpisodeScript.model_validate({
        "episode": 1, "title": "t", "ending_hook": "h",
        "scenes": [{"number": 1, "int_ext": "INT", "location": "x", "time": "day", "cast": ["lin_wan"],
                    "elements": elements}],
    })


def test_runtime_estimate_zh() -> None:
    line = "你以为我还是三年前那个任你欺负的林晚吗"  # 18 characters: 4.3 s at 4.5 chars/s with the turn pause
    ninety = _speech_script([line] * 18, ["林晚推门而入，看见满地碎片。"] * 2)
    estimate = ninety.estimate_runtime_s("zh")
    assert 80 <= estimate <= 100
    assert ninety.fits_runtime(90, "zh") and not ninety.fits_runtime(60, "zh")
    assert _speech_script([line] * 19, []).estimate_runtime_s("zh") > _speech_script([line] * 18, []).estimate_runtime_s("zh")
    sample = EpisodeScript.model_validate(ZH_SCRIPT)
    assert 10 < sample.estimate_runtime_s("zh") < 60
    assert sample.word_count() == sum(count_units(t) for t in sample.spoken_text().splitlines()) + sum(
        count_units(a.text) for a in sample.actions())


def test_runtime_estimate_en() -> None:
    line = "You think I am still the girl you pushed around three years ago"  # 13 words: 4.8 s at 2.9 words/s
    ninety = _speech_script([line] * 17, ["Ava pushes the door open and sees broken glass everywhere."] * 2)
    estimate = ninety.estimate_runtime_s("en")
    assert 80 <= estimate <= 100
    assert ninety.fits_runtime(90, "en")
    longer = _speech_script([line + " and you will pay for it"] * 15, [])
    assert longer.estimate_runtime_s("en") > _speech_script([line] * 15, []).estimate_runtime_s("en")
    # English moves fewer units per second, so the same unit count takes longer in English.
    assert ninety.estimate_runtime_s("en") > ninety.estimate_runtime_s("zh")
    assert 10 < EpisodeScript.model_validate(EN_SCRIPT).estimate_runtime_s("en") < 60


def test_a_short_action_line_still_takes_screen_time() -> None:
    assert _speech_script([], ["Silence."]).estimate_runtime_s("en") == MIN_ACTION_S


# ---- shot lists -------------------------------------------------------------------------------


def test_shot_list_timing_helpers() -> None:
    shots = ShotList.model_validate(zh_shots())
    assert shots.total_duration_s == 30
    assert shots.fits_runtime()
    assert not shots.model_copy(update={"runtime_s": 40}).fits_runtime()
    assert shots.model_copy(update={"runtime_s": 32}).fits_runtime(tolerance=0.10)
    assert shots.off_grid() == []
    assert [s.shot_id for s in shots.shots] == ["001-01-01", "001-01-02", "001-02-01", "001-02-02"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({2: {"start_s": 16}}, "starts at 16 s but the previous shot ends at 15 s"),  # gap
        ({1: {"start_s": 4}}, "starts at 4 s but the previous shot ends at 5 s"),  # overlap
        ({0: {"start_s": 1}}, "the first at 0"),
        ({1: {"shot_id": "001-01-01"}}, "shot_id 001-01-01 is used twice"),
        ({1: {"shot_id": "001-02-09"}}, "does not match episode 1 scene 1: use '001-01-NN'"),
        ({3: {"episode": 2, "shot_id": "002-02-02"}}, "belongs to episode 2, not 1"),
        ({0: {"duration_s": 2, "dialogue": [{"speaker": "lin_xuerou", "line": "x", "emotion": "e",
                                              "start_s": 1, "duration_s": 2}]}}, "ends at 3 s, after the shot's 2 s"),
    ],
)
def test_shot_list_timing_and_ids_are_validated(change: dict[int, dict[str, Any]], expected: str) -> None:
    data = zh_shots()
    for index, update in change.items():
        data["shots"][index].update(update)
    with pytest.raises(ValidationError) as info:
        ShotList.model_validate(data)
    assert expected in format_validation_error(info.value, "shots.json")


def test_tiny_float_drift_in_start_times_is_accepted() -> None:
    data = zh_shots()
    data["shots"][2]["start_s"] = 15.004
    assert ShotList.model_validate(data).shots[2].start_s == 15.004


def test_retimed_snaps_durations_to_the_target_clip_lengths() -> None:
    data = zh_shots()
    for shot, (start, dur) in zip(data["shots"], [(0, 4.2), (4.2, 11), (15.2, 6), (21.2, 9)], strict=True):
        shot.update(start_s=start, duration_s=dur)
    data["shots"][0]["dialogue"][0].update(start_s=0.5, duration_s=3.5)
    raw = ShotList.model_validate(data)
    assert raw.off_grid() == ["001-01-01", "001-01-02", "001-02-01", "001-02-02"]
    snapped = raw.retimed()
    assert [s.duration_s for s in snapped.shots] == [5, 10, 5, 10]
    assert [s.start_s for s in snapped.shots] == [0, 5, 15, 20]
    assert snapped.off_grid() == [] and snapped.fits_runtime()
    assert quantise_duration(7, "sora") == 8 and quantise_duration(7, "veo") == 8 and quantise_duration(7.2, "generic") == 7


def test_shot_characters_must_match_the_locked_bible_descriptors() -> None:
    bible = Bible.model_validate(ZH_BIBLE)
    shots = ShotList.model_validate(zh_shots())
    assert shots.problems_against(bible) == []
    data = zh_shots()
    data["shots"][1]["characters"][0]["descriptor"] = "a young woman with red hair"
    data["shots"][2]["characters"][0]["id"] = "zhou_min"
    problems = ShotList.model_validate(data).problems_against(bible)
    assert problems == [
        "shot 001-01-02: lin_wan's descriptor differs from the bible's locked descriptor: copy it verbatim "
        "(ShotCharacter.from_character)",
        "shot 001-02-01: 'zhou_min' is not a bible character",
    ]


# ---- reviews ----------------------------------------------------------------------------------


def _critique(**scores: int) -> Critique:
    data: dict[str, Any] = {c: {"score": scores.get(c, 6), "reason": "ok"} for c in (
        "hook", "cliffhanger_pull", "payoff", "pacing", "escalation", "character_consistency", "dialogue",
        "earned_emotion", "freshness")}
    return Critique.model_validate(data | {"must_fix": ["开场三秒没有钩子"], "notes": ""})


def test_critique_overall_is_a_weighted_mean() -> None:
    c = _critique(hook=9, cliffhanger_pull=3)
    assert c.overall() == pytest.approx((9 + 3 + 6 * 7) / 9)
    assert c.overall({"hook": 3}) == pytest.approx((27 + 3 + 42) / 11)
    zeroed = dict.fromkeys(c.scores(), 0.0) | {"cliffhanger_pull": 1.0}
    assert c.overall(zeroed) == 3
    with pytest.raises(ValueError, match="unknown rubric criteria"):
        c.overall({"hooks": 2})
    with pytest.raises(ValidationError, match="score"):
        Critique.model_validate(c.model_dump() | {"hook": {"score": 11, "reason": "x"}})


def test_continuity_report_has_errors() -> None:
    finding = {"rule": "immutable_trait", "severity": "warning", "subject": "lin_wan",
               "canon_fact": "林晚左眼下有一颗小痣", "script_quote": "△林晚右眼下的痣", "episode": 3, "scene": 2,
               "explanation": "the mole moved eyes", "suggested_fix": "左眼"}
    assert not ContinuityReport(findings=[]).has_errors
    assert not ContinuityReport.model_validate({"findings": [finding]}).has_errors
    report = ContinuityReport.model_validate({"findings": [finding, finding | {"severity": "error", "scene": None}]})
    assert report.has_errors and len(report.errors()) == 1


# ---- schemas ----------------------------------------------------------------------------------

LLM_FACING: list[type[BaseModel]] = [Bible, ArcPlan, EpisodeScript, ShotList, Critique, ContinuityReport]
ALL_MODELS: list[type[BaseModel]] = [*LLM_FACING, SeasonSpec]


def _objects(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(name, sub) for name, sub in schema.get("$defs", {}).items()]
    return [("<root>", schema), *found]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_every_field_has_a_description(model: type[BaseModel]) -> None:
    undocumented = [
        f"{name}.{prop}"
        for name, obj in _objects(model.model_json_schema())
        for prop, sub in obj.get("properties", {}).items()
        if not sub.get("description")
    ]
    assert undocumented == []
    assert all(obj.get("description") for _, obj in _objects(model.model_json_schema()))  # class docstrings


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.mark.parametrize("model", LLM_FACING, ids=lambda m: m.__name__)
def test_strict_schema_is_in_openais_subset(model: type[BaseModel]) -> None:
    schema = strict_json_schema(model)
    for node in _walk(schema):
        assert not {"oneOf", "allOf", "default", "minLength", "maxLength", "discriminator"} & set(node)
        if "properties" in node:
            assert node["additionalProperties"] is False
            assert node["required"] == list(node["properties"])
    assert "(1-300 characters)" in json.dumps(schema, ensure_ascii=False)


def test_a_shot_longer_than_the_targets_longest_clip_becomes_several_clips() -> None:
    from cliffhanger.agents.season.shotlist import clip_plan

    assert clip_plan(12, "skyreels") == (4.0, 4.0, 4.0) and clip_plan(12, "kling") == (10.0, 5.0)
    assert clip_plan(7, "kling") == (5.0,) and clip_plan(8.5, "veo") == (8.0,) and clip_plan(9, "veo") == (6.0, 4.0) and clip_plan(30, "generic") == (30.0,)
    data = zh_shots()
    second = data["shots"][3]  # 001-02-02: 10 s, the OS line; a spoken line at 9 s, a first and a last frame
    second.update(dialogue=[{"speaker": "lin_wan", "line": "放开她。", "emotion": "cold", "start_s": 8.5,
                             "duration_s": 1.5}], first_frame_ref="frames/a.png", last_frame_ref="frames/b.png")
    cut = ShotList.model_validate(data).for_target("skyreels")  # 4-5 s clips
    assert [s.shot_id for s in cut.shots] == ["001-01-01", "001-01-02", "001-01-03", "001-02-01", "001-02-02",
                                              "001-02-03"]  # 10 s shots became two 5 s clips, numbered again
    assert [s.duration_s for s in cut.shots] == [5, 5, 5, 5, 5, 5] and cut.total_duration_s == 30
    a, b = cut.shots[4], cut.shots[5]
    assert a.setup_id == b.setup_id and a.first_frame_ref == "frames/a.png" and b.last_frame_ref == "frames/b.png"
    assert a.last_frame_ref is None and b.first_frame_ref is None
    assert a.sound.vo_os and b.sound.vo_os is None  # heard once
    assert a.dialogue == () and [(d.line, d.start_s, d.duration_s) for d in b.dialogue] == [("放开她。", 3.5, 1.5)]
    assert ShotList.model_validate(data).for_target("sora").shots[3].shot_id == "001-02-02"  # fits: one clip
