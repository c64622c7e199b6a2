"""The shot planner: plan -> ShotList post-processing, speech splitting, and the call through the sim."""

from __future__ import annotations

import re

import pytest

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles.shot_planner import (
    DEFAULT_NEGATIVE,
    PROMPT_LIMIT,
    ShotPlan,
    build_shot_list,
    plan_shots,
    shot_plan_bounds,
    shot_plan_schema,
    split_speech,
)
from cliffhanger.agents.season.artifacts import (
    DIALOGUE_UNITS_PER_S,
    Bible,
    DialogueLine,
    EpisodeScript,
    SeasonSpec,
)
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S, ShotList
from cliffhanger.genres.loader import builtin_catalog

TARGETS = list(CLIP_LENGTHS_S)


@pytest.fixture(scope="module")
def pack():
    return builtin_catalog().get("revenge")


@pytest.fixture
def world(sample):
    def make(language: str = "en", runtime_s: int = 90):
        bible = Bible.model_validate(sample(f"{language}_bible"))
        script = EpisodeScript.model_validate(sample(f"{language}_script"))
        spec = SeasonSpec.create(title="Test", logline="Someone wants something.", genre="revenge",
                                 language=language, runtime_s=runtime_s)
        return bible, script, spec
    return make


def shot(scene: int = 1, characters=(), dialogue=(), hint: float = 5.0, role: str = "escalation", **kw) -> dict:
    return {
        "scene": scene, "shot_size": "medium", "angle": "eye_level", "movement": "static", "lens": "35mm",
        "characters": list(characters), "action": kw.get("action", "She turns to face the room."),
        "dialogue": [{"speaker": s, "line": line, "emotion": "cold"} for s, line in dialogue],
        "sound": {"vo_os": None, "sfx": ["glass shatters"], "music_cue": kw.get("music_cue")},
        "on_screen_text": None, "beat_role": role, "duration_hint_s": hint,
        "prompt": kw.get("prompt", "Medium shot, she turns, crystal chandelier light, 35mm."),
        "prompt_native": kw.get("prompt_native", "中景，她转身。"), "negative_prompt": kw.get("negative_prompt", ""),
    }


def script_plan(script: EpisodeScript, hint: float = 5.0, repeat: int = 1) -> ShotPlan:
    """One shot per script element, as a diligent model would plan it."""
    shots = []
    for _ in range(repeat):
        for scene in script.scenes:
            for el in scene.elements:
                if isinstance(el, DialogueLine):
                    shots.append(shot(scene.number, [el.speaker], [(el.speaker, el.line)], hint))
                else:
                    shots.append(shot(scene.number, scene.cast, hint=hint, action=el.text))
    return ShotPlan.model_validate({"shots": shots})


def build(plan: ShotPlan, bible, script, spec, pack, target: str = "generic") -> ShotList:
    return build_shot_list(plan, script=script, bible=bible, spec=spec, pack=pack, target=target)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(("hint", "repeat"), [(5.0, 1), (8.0, 4), (2.0, 1)], ids=["sparse", "dense", "short"])
def test_scripted_plan_fits_the_runtime_on_the_target_grid(world, pack, language, target, hint, repeat) -> None:
    bible, script, spec = world(language)
    shots = build(script_plan(script, hint, repeat), bible, script, spec, pack, target)
    assert shots.fits_runtime(0.10), (shots.total_duration_s, [s.duration_s for s in shots.shots])
    assert shots.off_grid() == []
    assert shots.problems_against(bible) == []
    assert shots.target == target and all(s.aspect_ratio == spec.aspect_ratio for s in shots.shots)
    ShotList.model_validate(shots.model_dump())


@pytest.mark.parametrize("runtime_s", [20, 60, 120, 180])
def test_other_runtimes_fit(world, pack, runtime_s) -> None:
    bible, script, spec = world("zh", runtime_s)
    for target in TARGETS:
        shots = build(script_plan(script), bible, script, spec, pack, target)
        assert shots.fits_runtime(0.10) and shots.off_grid() == [], (target, shots.total_duration_s)


def test_descriptors_are_the_bibles_and_in_every_prompt(world, pack) -> None:
    bible, script, spec = world("zh")
    shots = build(script_plan(script), bible, script, spec, pack, "kling")
    seen = set()
    for s in shots.shots:
        for c in s.characters:
            canon = bible.character(c.id)
            assert c.descriptor == canon.visual.as_prompt()
            assert c.reference_image == canon.reference_image
            assert c.descriptor in s.prompt and c.descriptor in s.prompt_native
            seen.add(c.id)
    assert {"lin_wan", "lin_xuerou"} <= seen <= set(bible.character_ids)
    lin_wan = next(s for s in shots.shots if [c.id for c in s.characters] == ["lin_wan"])
    assert lin_wan.prompt.startswith("Lin Wan: ")  # English prompt names by the latin alias
    assert lin_wan.prompt_native.startswith("林晚：")


def test_prompt_stays_within_the_limit_and_keeps_descriptors(world, pack) -> None:
    bible, script, spec = world("en")
    long = " ".join(["word"] * 400)
    plan = ShotPlan.model_validate({"shots": [shot(1, ["ava_reed", "celeste_vane"], prompt=long[:1500])] * 10})
    for s in build(plan, bible, script, spec, pack).shots:
        assert len(s.prompt) <= PROMPT_LIMIT
        assert bible.character("ava_reed").visual.as_prompt() in s.prompt
        assert s.prompt.endswith("word")  # cut at a space


def test_unknown_characters_dropped_names_resolved(world, pack) -> None:
    bible, script, spec = world("en")
    plan = ShotPlan.model_validate({"shots": [
        shot(1, ["ghost", "Ava Reed", "celeste_vane", "CELESTE_VANE"], [("Ava Reed", "More than my rent.")]),
        shot(1, ["Waiter 3"], [("nobody here", "Hello?"), ("head_waiter", "Tray, now.")]),
    ] * 5})
    shots = build(plan, bible, script, spec, pack)
    assert [c.id for c in shots.shots[0].characters] == ["ava_reed", "celeste_vane"]
    assert shots.shots[0].dialogue[0].speaker == "ava_reed"
    assert shots.shots[1].characters == ()
    # a speaker that is not an id loses the line; an extra with a valid id keeps it
    assert [d.speaker for d in shots.shots[1].dialogue] == ["head_waiter"]


def test_unknown_scenes_move_to_the_nearest_scene_in_order(world, pack) -> None:
    bible, script, spec = world("en")
    plan = ShotPlan.model_validate({"shots": [shot(7, hint=10), shot(1, hint=10), shot(2, hint=10), shot(9, hint=10),
                                              shot(1, hint=10)]})
    shots = build(plan, bible, script, spec, pack, "runway")
    scenes = [s.scene for s in shots.shots]
    assert set(scenes) == {1, 2} and scenes == sorted(scenes)
    for s in shots.shots:
        assert s.shot_id.startswith(f"001-{s.scene:02d}-")
        assert (s.location, s.time_of_day) == (script.scenes[s.scene - 1].location, script.scenes[s.scene - 1].time)
    for n in (1, 2):
        ids = [s.shot_id for s in shots.shots if s.scene == n]
        assert ids == [f"001-{n:02d}-{i:02d}" for i in range(1, len(ids) + 1)]


def test_first_shot_is_the_hook_last_the_cliffhanger(world, pack) -> None:
    bible, script, spec = world("en")
    roles = ["payoff", "hook", "cliffhanger", "transition", "payoff", "payoff", "escalation", "payoff"]
    plan = ShotPlan.model_validate({"shots": [shot(1 + i // 4, role=r, hint=10) for i, r in enumerate(roles)]})
    shots = build(plan, bible, script, spec, pack, "kling")
    got = [s.beat_role for s in shots.shots]
    assert got[0] == "hook" and got[-1] == "cliffhanger"
    assert "hook" not in got[1:-1] and "cliffhanger" not in got[1:-1]
    assert shots.shots[0].duration_s == 5  # the hook lands in the first 5 s
    assert "transition" in got


def test_continuity_refs_and_timing(world, pack) -> None:
    bible, script, spec = world("zh")
    shots = build(script_plan(script), bible, script, spec, pack, "veo")
    start = 0.0
    for prev, cur in zip((None, *shots.shots), shots.shots, strict=False):
        assert cur.last_frame_ref == f"{cur.shot_id}:last"
        if prev is not None and prev.scene == cur.scene:
            assert cur.first_frame_ref == prev.last_frame_ref
        else:
            assert cur.first_frame_ref is None
        assert cur.start_s == pytest.approx(start)
        start += cur.duration_s


def test_defaults_for_music_and_negative_prompt(world, pack) -> None:
    bible, script, spec = world("en")
    plan = ShotPlan.model_validate({"shots": [shot(1, hint=10)] * 4 + [shot(2, hint=10, music_cue="sudden silence",
                                                                             negative_prompt="rain")] * 5})
    shots = build(plan, bible, script, spec, pack, "kling").shots
    cues = pack.visual.music_cues
    assert shots[0].sound.music_cue == cues[0]
    assert all(s.sound.music_cue in cues for s in shots if s.scene == 1)
    assert shots[-1].sound.music_cue == "sudden silence" and shots[-1].negative_prompt == "rain"
    assert shots[0].negative_prompt == DEFAULT_NEGATIVE


SPEECH = ("You thought I would stay quiet forever, didn't you? I kept every receipt, every message, every lie "
          "you told the board. Tonight your family loses the company your grandfather built with stolen money "
          "and borrowed names")


def test_long_speech_splits_across_shots_at_word_boundaries(world, pack) -> None:
    bible, script, spec = world("en")
    plan = ShotPlan.model_validate({"shots": [shot(1, ["ava_reed"], hint=4), shot(2, ["ava_reed"], [("ava_reed", SPEECH)]),
                                              *[shot(2, hint=4)] * 6]})
    shots = build(plan, bible, script, spec, pack, "skyreels")
    speaking = [s for s in shots.shots if s.dialogue]
    assert len(speaking) >= 3
    pieces = [d.line for s in speaking for d in s.dialogue]
    assert " ".join(pieces).split() == SPEECH.split()  # no word cut, none lost
    assert not any(re.search(r"[.?!]\s", p) for p in pieces)  # cut at sentence ends before anything else
    assert pieces[0] == "You thought I would stay quiet forever, didn't you?"
    ids = [s.shot_id for s in shots.shots]
    first = ids.index(speaking[0].shot_id)
    assert ids[first:first + len(speaking)] == [s.shot_id for s in speaking]  # consecutive
    for s in speaking:
        assert s.duration_s in CLIP_LENGTHS_S["skyreels"]
        assert all(d.start_s + d.duration_s <= s.duration_s + 0.01 for d in s.dialogue)
    assert shots.fits_runtime(0.10) and shots.off_grid() == []


def test_dialogue_lengthens_its_shot(world, pack) -> None:
    bible, script, spec = world("en")
    line = "Every cent you stole from my mother, you pay back today, in front of all of them."  # 17 words ~ 5.9 s
    plan = ShotPlan.model_validate({"shots": [shot(1, hint=5)] * 3 + [shot(1, ["ava_reed"], [("ava_reed", line)], hint=5)]
                                    + [shot(2, hint=10)] * 6})
    shots = build(plan, bible, script, spec, pack, "kling")
    spoken = next(s for s in shots.shots if s.dialogue)
    assert spoken.duration_s == 10
    assert spoken.dialogue[0].duration_s == pytest.approx(17 / DIALOGUE_UNITS_PER_S["en"], abs=0.01)


def test_split_speech() -> None:
    assert split_speech("One two three four five six", 4) == ["One two three four", "five six"]
    assert split_speech("Go. Now!", 1) == ["Go.", "Now!"]
    assert split_speech("我等了你三年，你却娶了她。今天我回来了！", 8) == ["我等了你三年，", "你却娶了她。", "今天我回来了！"]
    assert split_speech("我等了你整整三年", 4) == ["我等了你", "整整三年"]
    assert split_speech("short", 10) == ["short"]


def test_plan_bounds_and_schema() -> None:
    assert shot_plan_bounds(90) == (8, 30)
    assert shot_plan_bounds(90, "kling") == (9, 18)
    assert shot_plan_bounds(600)[1] <= 80
    for target in TARGETS:
        low, high = shot_plan_bounds(90, target)
        assert 1 <= low <= high
    schema = shot_plan_schema(90, "veo")
    assert schema.__name__ == "ShotPlan" and issubclass(schema, ShotPlan)
    shots = schema.model_json_schema()["properties"]["shots"]
    assert (shots["minItems"], shots["maxItems"]) == shot_plan_bounds(90, "veo")
    assert shot_plan_schema(90, "veo") is schema


async def test_plan_shots_with_a_scripted_model(world, pack) -> None:
    bible, script, spec = world("zh")
    plan = script_plan(script, repeat=2).model_dump()
    plan["shots"] = plan["shots"][:10]  # hailuo: 9-15 shots for 90 s
    model = ScriptedClient("shots", {"ShotPlan": [plan]})
    shots, ref = await plan_shots(model, script=script, bible=bible, spec=spec, pack=pack, target="hailuo")
    assert ref.startswith("shots.plan@") and shots.fits_runtime(0.10) and shots.off_grid() == []
    call = model.calls[0]
    assert (call.schema, call.episode, call.prompt) == ("ShotPlan", 1, ref)
    text = call.messages[0][1]
    assert "6 s or 10 s" in text and bible.character("lin_wan").visual.as_prompt() in text
    assert "林晚（冷笑）" not in text and "lin_wan" in text and pack.visual.grading in text
    assert "$" not in text


@pytest.mark.parametrize(("language", "target"), [("en", "kling"), ("zh", "generic")])
async def test_plan_shots_through_the_real_client_against_the_sim(world, pack, sim_url, language, target) -> None:
    bible, script, spec = world(language)
    usage = UsageLog()
    client = ModelClient("shots", EndpointConfig(provider="sim", base_url=sim_url, model="sim-drama"), usage)
    shots, ref = await plan_shots(client, script=script, bible=bible, spec=spec, pack=pack, target=target)
    ShotList.model_validate(shots.model_dump())
    assert shots.fits_runtime(0.10) and shots.off_grid() == []
    assert shots.problems_against(bible) == []
    assert shots.shots[0].beat_role == "hook" and shots.shots[-1].beat_role == "cliffhanger"
    assert len(shots.shots) >= shot_plan_bounds(spec.runtime_s, target)[0]
    assert usage.records[-1].prompt == ref and usage.records[-1].outcome in ("ok", "repaired")
