"""The runtime estimator against the packs' timed examples, and the scene guide against the estimator."""

from __future__ import annotations

import pytest

from cliffhanger.agents.roles import showrunner
from cliffhanger.agents.roles.writer import episode_schema
from cliffhanger.agents.season.artifacts import ContinuityReport, EpisodeScript
from cliffhanger.agents.season.runtime import (
    Language,
    estimate_s,
    example_scenes,
    guide_elements,
    guide_text,
    scene_guide,
    timed_examples,
    timeline,
)
from cliffhanger.genres.loader import load_catalog
from cliffhanger.genres.pack import GenrePack

PACKS = load_catalog(include_user_dir=False).packs
EXAMPLES = [(p.id, name) for p in PACKS.values() for name in ("opening_hook", "paywall_cliffhanger")]
TIMED = timed_examples(PACKS.values())


def test_every_pack_example_is_timed() -> None:
    assert len(EXAMPLES) >= 48 and sorted(EXAMPLES) == sorted(TIMED)


@pytest.mark.parametrize("pack_id,name", sorted(EXAMPLES))
def test_pack_example_estimates_within_20_percent(pack_id: str, name: str) -> None:
    pack = PACKS[pack_id]
    stated = TIMED[pack_id, name]
    estimate = estimate_s(example_scenes(getattr(pack.examples, name), pack.language), pack.language)
    assert abs(estimate - stated) <= 0.20 * stated, (estimate, stated)


def test_the_revenge_paywall_example_plays_in_about_15_seconds() -> None:
    # Issue 17: the old rates put this 4-line 卡点 at 37 s.
    scenes = example_scenes(PACKS["revenge"].examples.paywall_cliffhanger, "zh")
    assert [k for k, _ in scenes[0]] == ["action", "action", "dialogue", "action"]
    assert 12 <= estimate_s(scenes, "zh") <= 18


def test_action_after_a_speech_overlaps_it_and_quoted_speech_is_spoken() -> None:
    alone = timeline([("action", "会场大门被推开，所有股东同时起身。")], "zh")[0]
    after = timeline([("dialogue", "各位，委托书在这里。"), ("action", "会场大门被推开，所有股东同时起身。")], "zh")[1]
    assert after == pytest.approx(alone - 0.5)
    before = timeline([("action", "会场大门被推开，所有股东同时起身。"), ("dialogue", "各位。")], "zh")[0]
    assert before == alone
    # A scene cut breaks the overlap.
    assert estimate_s([[("dialogue", "各位。")], [("action", "会场大门被推开。")]], "zh") > estimate_s(
        [[("dialogue", "各位。"), ("action", "会场大门被推开。")]], "zh")
    quoted = timeline([("action", "继母冲全场喊：“就是她挪用了公款！”")], "zh")[0]
    plain = timeline([("action", "继母冲全场喊：就是她挪用了公款！")], "zh")[0]
    assert quoted > plain


def test_scene_guide_is_one_set_of_numbers() -> None:
    g = scene_guide(90, "zh")
    assert (g.scenes_lo, g.scenes_hi) == (3, 5) and g.per_lo * g.scenes_hi <= guide_elements(90) <= g.per_hi * g.scenes_lo
    schema = episode_schema(90, "zh").model_json_schema()
    scenes = schema["properties"]["scenes"]
    assert (scenes["minItems"], scenes["maxItems"]) == (g.scenes_lo, g.scenes_hi)
    elements = schema["$defs"]["Scene"]["properties"]["elements"]
    assert (elements["minItems"], elements["maxItems"]) == (g.per_lo, g.per_hi)
    assert f"{g.scenes_lo}-{g.scenes_hi} 场" in guide_text(90, "zh") and f"{g.per_lo}-{g.per_hi}" in guide_text(90, "zh")
    for short in (30, 60, 120, 180):
        s = scene_guide(short)
        assert 1 <= s.scenes_lo < s.scenes_hi and 3 <= s.per_lo < s.per_hi


# A typical element at the packs' density: zh action 28 chars / line 12 chars, en action 13 words / line 9.
_ACTION = {"zh": "林晚抹掉眼角的酒，低头看了一眼手机，屏幕上是酒店产权变更的短信。", "en":
           "Claire sets the cake down and looks at her husband across the long table."}
_LINE = {"zh": "你以为我还是三年前的林晚吗？", "en": "Don't just stand there. Get her a chair, Claire."}


def _script(language: Language, scenes: int, per_scene: int) -> EpisodeScript:
    def element(i: int) -> dict[str, object]:
        if i % 2:
            return {"type": "dialogue", "speaker": "lin_wan", "line": _LINE[language]}
        return {"type": "action", "text": _ACTION[language]}

    return EpisodeScript.model_validate({
        "episode": 1, "title": "t", "ending_hook": "h",
        "scenes": [{"number": n, "int_ext": "INT", "location": "hall", "time": "night", "cast": ["lin_wan"],
                    "elements": [element(i) for i in range(per_scene)]} for n in range(1, scenes + 1)],
    })


def _runtime_notes(script: EpisodeScript, language: Language, pack: GenrePack) -> list[str]:
    reasons = showrunner.decision_rules(None, ContinuityReport(findings=()), script.estimate_runtime_s(language), 90,
                                        pack, threshold=7.0)
    return [r for r in reasons if r.startswith("runtime:")]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_90_s_script_built_to_the_guide_gets_no_runtime_note(language: Language) -> None:
    pack = PACKS["revenge" if language == "zh" else "revenge_us"]
    g = scene_guide(90, language)
    # The guide's fewest scenes and its fewest elements per scene: never a "cut" note.
    assert not [r for r in _runtime_notes(_script(language, g.scenes_lo, g.per_lo), language, pack) if "cut" in r]
    # The guide's total, over the fewest scenes: on time, no note either way.
    per_scene = round(guide_elements(90, language) / g.scenes_lo)
    typical = _script(language, g.scenes_lo, per_scene)
    assert _runtime_notes(typical, language, pack) == [], typical.estimate_runtime_s(language)
    assert typical.fits_runtime(90, language)
