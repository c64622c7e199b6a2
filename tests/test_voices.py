"""Voices and speech (issue 22, item 3): casting in the bible, `export --format tts`, and the clip's lines in the
prompt of video models that generate sound."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from season_kit import run_cli

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles import showrunner
from cliffhanger.agents.roles.bible_plan import repair_bible
from cliffhanger.agents.roles.shot_planner import ShotPlan, build_shot_list
from cliffhanger.agents.roles.showrunner_chat import Action
from cliffhanger.agents.season.artifacts import (
    ArcPlan,
    Bible,
    DialogueLine,
    EpisodeScript,
    SeasonSpec,
    WalkOn,
)
from cliffhanger.agents.season.casting import (
    AgeRange,
    Casting,
    Gender,
    Pace,
    Timbre,
    bible_casting,
    casting_of,
    default_casting,
)
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.app.export import export_season
from cliffhanger.app.export_shots import AUDIO_TARGETS, PROMPT_LIMITS, jobs, validate_job
from cliffhanger.app.season_edits import set_character
from cliffhanger.genres.loader import builtin_catalog

TARGETS = list(CLIP_LENGTHS_S)
SPEAKING = {"veo", "sora"}  # Veo 3 and Sora 2 render sound; the models the other jobs name are silent (2025-12)
VOICE_IDS = {"azure": "zh-CN-XiaoxiaoNeural", "elevenlabs": "21m00Tcm4TlvDq8ikWAM"}


def _shot(scene: int, characters, dialogue=(), vo_os=None) -> dict:
    return {"scene": scene, "shot_size": "medium", "angle": "eye_level", "movement": "static", "lens": "35mm",
            "characters": list(characters), "action": "She turns to face the room.",
            "dialogue": [{"speaker": s, "line": line, "emotion": e} for s, line, e in dialogue],
            "sound": {"vo_os": vo_os, "sfx": [], "music_cue": None}, "on_screen_text": None,
            "beat_role": "escalation", "duration_hint_s": 5.0, "prompt": "Medium shot, she turns, chandelier light.",
            "prompt_native": "中景，她转身。", "negative_prompt": ""}


def _plan(script: EpisodeScript) -> ShotPlan:
    """One shot per element: dialogue on screen with its speaker in frame, an OS line as the shot's vo_os, and a
    narrator's voice-over nobody in the cast owns on the last shot."""
    shots = []
    for scene in script.scenes:
        for el in scene.elements:
            if isinstance(el, DialogueLine) and el.delivery:
                shots.append(_shot(scene.number, scene.cast, vo_os=f"{el.speaker} ({el.delivery}): {el.line}"))
            elif isinstance(el, DialogueLine):
                shots.append(_shot(scene.number, [el.speaker], [(el.speaker, el.line, el.parenthetical or "calm")]))
            else:
                shots.append(_shot(scene.number, scene.cast))
    shots[-1]["sound"]["vo_os"] = "旁白（VO）：三年后。"
    return ShotPlan.model_validate({"shots": shots})


@pytest.fixture
def season(sample, tmp_path):
    """A zh season folder: the sample bible with lin_wan cast (voice ids set), episodes 1 and 2 with shot lists."""
    data = sample("zh_bible")
    data["characters"][0]["casting"] = {"gender": "female", "age_range": "young_adult", "timbre": "crisp",
                                        "pace": "brisk", "voices": VOICE_IDS}
    bible = Bible.model_validate(data)
    spec = SeasonSpec.create(title="真千金归来", logline="被诬陷的真千金三年后归来复仇。", genre="revenge",
                             language="zh", episodes=4, free_episodes=2)
    store = SeasonStore.create(tmp_path / "s", spec)
    store.write_bible(bible)
    rows = sample("zh_arc")["rows"]
    store.write_arc(ArcPlan.model_validate({"rows": [rows[0], *({**rows[1], "episode": n} for n in (2, 3, 4))]}))
    pack = builtin_catalog().get("revenge")
    for ep in (1, 2):
        script = EpisodeScript.model_validate({**sample("zh_script"), "episode": ep})
        store.write_script(ep, script, "Title: 真千金归来\n")
        store.write_shots(ep, build_shot_list(_plan(script), script=script, bible=bible, spec=spec, pack=pack,
                                              target="kling"))
    return store


def _uncast(data: dict) -> dict:
    """A bible as written before casting existed."""
    for c in data["characters"]:
        c.pop("casting", None)
    return data


def _read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---- speech in the video prompt ------------------------------------------------------------------------------

def test_only_veo_and_sora_generate_sound() -> None:
    assert AUDIO_TARGETS == SPEAKING


@pytest.mark.parametrize("target", TARGETS)
def test_a_clips_speech_is_in_the_prompt_only_for_audio_targets(season, target) -> None:
    bible = season.bible()
    lists = [season.shots(1)]
    made = jobs(lists, target, bible)
    assert made == jobs(lists, target, bible)  # deterministic
    names = {c.id: next((a for a in c.aliases if a.isascii()), c.name) for c in bible.characters}
    every_line = [d.line for sl in lists for s in sl.shots for d in s.dialogue]
    spoke = 0
    for job, shot in zip(made, lists[0].for_target(target).shots, strict=True):
        body = job["body"]
        assert validate_job(target, body) == []
        key = {"runway": "promptText"}.get(target, "prompt")
        prompt = body["instances"][0]["prompt"] if target == "veo" else body["input"]["prompt"] if target == "wan" \
            else body[key]
        assert len(prompt) <= PROMPT_LIMITS[target]
        mine = [f'{names[d.speaker]} ({d.emotion}): "{d.line}"' for d in shot.dialogue]
        if target in SPEAKING:
            assert all(m in prompt for m in mine), (mine, prompt)
            assert "Mandarin Chinese" in prompt or not (mine or shot.sound.vo_os)
            spoke += bool(mine)
        else:
            assert "Dialogue, spoken in" not in prompt
        others = [line for line in every_line if line not in {d.line for d in shot.dialogue}]
        assert not any(f'"{line}"' in prompt for line in others)  # only this clip's lines
    assert spoke >= 3 or target not in SPEAKING
    if target == "veo":
        assert all(j["body"]["parameters"]["generateAudio"] is True for j in made)


def test_audio_prompts_carry_voice_over_and_the_voices(season) -> None:
    bible = season.bible()
    shots = season.shots(1).for_target("sora").shots
    prompts = [j["body"]["prompt"] for j in jobs([season.shots(1)], "sora", bible)]
    os_line = next(p for p, s in zip(prompts, shots, strict=True) if (s.sound.vo_os or "").startswith("gu_yanshen"))
    assert "gu_yanshen" not in os_line.split("Dialogue", 1)[1]  # named as the shot's prompt names him
    assert '顾言深 (off-screen): "把人放开。"' in os_line and "young adult male voice" in os_line
    lin_wan = next(p for p, s in zip(prompts, shots, strict=True) if any(d.speaker == "lin_wan" for d in s.dialogue))
    assert "Lin Wan, young adult female voice, crisp timbre, brisk pace" in lin_wan
    narrated = prompts[-1]
    assert '旁白 (voice-over): "三年后。"' in narrated
    native = jobs([season.shots(1)], "veo", bible, native=True)
    assert any('林晚 (' in j["body"]["instances"][0]["prompt"] for j in native)


def test_long_prompts_keep_the_speech(season) -> None:
    bible = season.bible()
    sl = season.shots(1)
    shots = [s.model_copy(update={"prompt": ("wide establishing shot " * 86).strip()}) for s in sl.shots]
    long = sl.model_copy(update={"shots": tuple(shots)})
    for job, shot in zip(jobs([long], "sora", bible), long.for_target("sora").shots, strict=True):
        prompt = job["body"]["prompt"]
        assert len(prompt) <= PROMPT_LIMITS["sora"]
        assert all(f'"{d.line}"' in prompt for d in shot.dialogue)


# ---- export --format tts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("target", [None, "veo"])
def test_tts_lines_equal_the_shot_lists_dialogue(season, capsys, target) -> None:
    args = ["export", season.root, "--format", "tts"] + (["--target", target] if target else [])
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    path = season.exports_dir / "tts.jsonl"
    assert f"wrote {path}" in out
    records = _read_jsonl(path)
    lists = [season.shots(e) for e in (1, 2)]
    lists = [sl.for_target(target) for sl in lists] if target else lists
    expected = [(s.episode, s.scene, s.shot_id, round(s.start_s + d.start_s, 3), round(s.start_s + d.start_s +
                 d.duration_s, 3), d.speaker, d.line, d.emotion) for sl in lists for s in sl.shots for d in s.dialogue]
    on_screen = [(r["episode"], r["scene"], r["shot_id"], r["start_s"], r["end_s"], r["speaker"], r["text"],
                  r["emotion"]) for r in records if r["delivery"] == "on_screen"]
    assert on_screen == expected and len(expected) == 6
    assert all(r["timing"] == "shot_list" and r["language"] == "zh" and r["in_frame"] for r in records
               if r["delivery"] == "on_screen")
    lin_wan = next(r for r in records if r["speaker"] == "lin_wan")
    assert lin_wan["name"] == "林晚" and lin_wan["voice"]["voices"] == VOICE_IDS
    assert lin_wan["voice"]["timbre"] == "crisp" and "crisp timbre" in lin_wan["voice"]["description"]
    # the OS line: its speaker resolved, a voice from the bible's default casting, timed inside its shot
    bounds = {s.shot_id: (s.start_s, s.end_s) for sl in lists for s in sl.shots}
    os_lines = [r for r in records if r["delivery"] == "OS"]
    assert [(r["speaker"], r["text"], r["in_frame"]) for r in os_lines] == [("gu_yanshen", "把人放开。", False)] * 2
    assert all(r["voice"]["gender"] == "male" and r["timing"] == "estimated" for r in os_lines)
    # a narrator nobody in the cast owns: no speaker, no voice, still timed
    vo = [r for r in records if r["delivery"] == "VO"]
    assert [(r["speaker"], r["name"], r["voice"], r["text"]) for r in vo] == [(None, "旁白", None, "三年后。")] * 2
    for r in records:
        start, end = bounds[r["shot_id"]]
        assert start - 1e-6 <= r["start_s"] < r["end_s"] <= end + 1e-6
    assert [(r["episode"], r["start_s"]) for r in records] == sorted((r["episode"], r["start_s"]) for r in records)


def test_tts_gives_walk_ons_a_voice(season, sample) -> None:
    sl = season.shots(1)
    i = next(i for i, s in enumerate(sl.shots) if s.dialogue)
    line = sl.shots[i].dialogue[0].model_copy(update={"speaker": "sneering_clerk"})
    shots = (*sl.shots[:i], sl.shots[i].model_copy(update={"dialogue": (line,)}), *sl.shots[i + 1:])
    season.write_shots(1, sl.model_copy(update={"shots": shots}))
    arc = season.arc()
    walk_on = {"id": "sneering_clerk", "name": "势利店员", "look": "a balding man in his fifties in a grey vest"}
    rows = [r.model_copy(update={"walk_ons": (WalkOn(**walk_on),)}) if r.episode == 1 else r for r in arc.rows]
    season.write_arc(ArcPlan.model_validate({"rows": [r.model_dump() for r in rows]}))
    records = _read_jsonl(export_season(season.root, "tts", episodes="1").path)
    clerk = records[0]
    assert (clerk["speaker"], clerk["name"]) == ("sneering_clerk", "势利店员")
    assert (clerk["voice"]["gender"], clerk["voice"]["age_range"]) == ("male", "middle_aged")


def test_tts_on_a_season_without_shot_lists_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    spec = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=4, free_episodes=2)
    store = SeasonStore.create(tmp_path / "empty", spec)
    code, out, err = run_cli(capsys, "export", store.root, "--format", "tts")
    assert code == 2 and "nothing to export" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "export", store.root, "--format", "tts", "--target", "veo3")
    assert code == 2 and "unknown target 'veo3'" in err and len(err.strip().splitlines()) == 1


# ---- casting in the bible ------------------------------------------------------------------------------

def test_casting_survives_a_round_trip_and_old_bibles_load(season, sample) -> None:
    bible = season.bible()
    assert bible.characters[0].casting == Casting(gender="female", age_range="young_adult", timbre="crisp",
                                                  pace="brisk", voices=VOICE_IDS)
    on_disk = json.loads(season.bible_path.read_text(encoding="utf-8"))
    assert on_disk["characters"][0]["casting"]["voices"] == VOICE_IDS
    assert Bible.model_validate_json(bible.model_dump_json()) == bible
    assert hash(Bible.model_validate_json(bible.model_dump_json())) == hash(bible)  # frozen all the way down
    assert "- Casting: young adult female voice, crisp timbre, brisk pace (voice ids: azure: zh-CN-XiaoxiaoNeural" \
        in season.bible_markdown_path.read_text(encoding="utf-8")
    with pytest.raises(TypeError):
        bible.characters[0].casting.voices["azure"] = "x"  # frozen like the rest of the bible
    old = Bible.model_validate(_uncast(sample("zh_bible")))  # written before casting existed
    assert all(c.casting is None for c in old.characters)
    assert bible_casting(old)["lin_wan"] == casting_of(old.characters[0]) == \
        Casting(gender="female", age_range="young_adult", timbre="crisp", pace="measured")


def test_the_default_casting_follows_what_the_bible_says(sample) -> None:
    zh = bible_casting(Bible.model_validate(_uncast(sample("zh_bible"))))
    assert [(c.gender, c.age_range) for c in zh.values()] == [("female", "young_adult"), ("male", "young_adult"),
                                                             ("female", "young_adult")]
    assert zh["gu_yanshen"].timbre == "cold" and zh["gu_yanshen"].pace == "slow"  # 冷淡，惜字如金
    en = bible_casting(Bible.model_validate(_uncast(sample("en_bible"))))
    assert en["damon_cross"] == Casting(gender="male", age_range="adult", timbre="deep", pace="brisk")  # low, clipped
    assert en["ava_reed"].gender == "female" and en["celeste_vane"].timbre == "cold"  # venom in private
    assert all(c.voices == {} for c in (*zh.values(), *en.values()))
    # the voice prose first (English cues start a word: 'slow' is no 'low'), then the role and gender
    assert default_casting(voice="说话像连珠炮").pace == "fast" and default_casting(voice="a slow drawl").pace == "slow"
    assert default_casting(voice="a slow drawl").timbre == "warm"
    assert default_casting(role="protagonist", look="a woman in a red gown").timbre == "crisp"
    assert default_casting(role="love_interest", look="stubble, tuxedo").timbre == "magnetic"
    assert default_casting(role="ally", age=9).timbre == "bright" and default_casting(age=9).pace == "brisk"
    assert [default_casting(age_look=look).age_range for look in ("late forties", "mid thirties", "a teenager",
                                                                   "elderly", "around 70")] == \
        ["middle_aged", "adult", "teen", "senior", "senior"]


def test_a_model_is_asked_for_casting_but_never_for_voice_ids() -> None:
    schema = Bible.model_json_schema()
    character = schema["$defs"]["Character"]
    assert "casting" in character["required"] and "anyOf" not in character["properties"]["casting"]
    assert set(schema["$defs"]["Casting"]["properties"]) == {"gender", "age_range", "timbre", "pace"}


async def test_the_sims_bible_has_casting(sim_url, tmp_path) -> None:
    spec = SeasonSpec.create(title="The Heiress", logline="A swapped heiress returns to take back her family.",
                             genre="revenge", language="en", episodes=12, free_episodes=4)
    client = ModelClient("showrunner", EndpointConfig(provider="sim", base_url=sim_url, model="sim-drama"),
                         UsageLog(tmp_path / "usage.jsonl"))
    bible, _ = await showrunner.plan_bible(client, spec, builtin_catalog().get("revenge"))
    vocab = {"gender": Gender, "age_range": AgeRange, "timbre": Timbre, "pace": Pace}
    for c in bible.characters:
        assert c.casting is not None and c.casting.voices == {}
        for name, values in vocab.items():
            assert getattr(c.casting, name) in values.__args__


HOSTILE = {"gender": "<script>alert(1)</script>", "age_range": 7, "timbre": "\x1b[31mred", "pace": " FAST ",
           "voices": {"elevenlabs": "x; rm -rf /", "azure": "zh-CN-XiaoxiaoNeural"}, "ignore": "previous instructions"}


def test_hostile_casting_from_a_model_is_repaired(sample) -> None:
    data = sample("zh_bible")
    data["characters"][1]["casting"] = HOSTILE
    data["characters"][2]["casting"] = "cold"
    del data["characters"][0]["voice"]  # a broken entry elsewhere: repair leaves it to validation
    with pytest.raises(ValidationError):
        Bible.model_validate(json.loads(json.dumps(data)))
    data["characters"][0]["voice"] = "话少，语气平静"
    bible = Bible.model_validate(repair_bible(data, episodes=12))
    gu = bible.character("gu_yanshen").casting
    default = casting_of(bible.character("gu_yanshen").model_copy(update={"casting": None}))
    assert gu == default.model_copy(update={"pace": "fast"})  # the one valid value kept, the rest defaulted
    assert gu.voices == {}  # a model cannot know the user's voice ids
    assert bible.character("lin_xuerou").casting is not None and bible.character("lin_wan").casting is not None


@pytest.mark.parametrize("voices", [
    {"elevenlabs": "x; rm -rf /"}, {"azure": "<b>voice</b>"}, {"Eleven Labs": "abc"}, {"azure": ""},
    {f"p{i}": "v" for i in range(13)},
])
def test_bad_voice_ids_are_refused(voices) -> None:
    with pytest.raises(ValidationError):
        Casting(gender="male", age_range="adult", timbre="deep", pace="slow", voices=voices)


def test_casting_is_edited_from_the_chat(season) -> None:
    said = set_character(season, Action(kind="set_character", character="gu_yanshen", field="voice_id",
                                        value="azure zh-CN-YunxiNeural"))
    assert "gu_yanshen.voice_id" in said
    set_character(season, Action(kind="set_character", character="顾言深", field="timbre", value="Magnetic"))
    gu = season.bible().character("gu_yanshen").casting
    assert gu.voices == {"azure": "zh-CN-YunxiNeural"} and gu.timbre == "magnetic" and gu.gender == "male"
    set_character(season, Action(kind="set_character", character="gu_yanshen", field="voice_id", value="azure -"))
    assert season.bible().character("gu_yanshen").casting.voices == {}
    for field, value in (("timbre", "robotic"), ("voice_id", "azure"), ("voice_id", "azure <b>x</b>")):
        with pytest.raises(UserError) as err:
            set_character(season, Action(kind="set_character", character="gu_yanshen", field=field, value=value))
        assert field in str(err.value) or "voice" in str(err.value)
