"""The critic sees what it judges, floors per criterion by position, and the showrunner relays only the
notes it keeps.

A season drafted against the sim (request bodies logged) shows what the critic and the showrunner were
given; a scripted room shows which notes reach the writer; the floors are checked on the rules alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from season_kit import make_season, prompt_values, recorded_requests, run, sim_models

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.llm.strict_schema import strict_json_schema
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles.continuity import script_text
from cliffhanger.agents.roles.review_context import score_floors, script_for_decision
from cliffhanger.agents.roles.showrunner import Decision, decision_rules
from cliffhanger.agents.season.artifacts import (
    ArcRow,
    ContinuityReport,
    CriterionScore,
    Critique,
    EpisodeScript,
    SeasonSpec,
)
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.genres.loader import builtin_catalog
from cliffhanger.genres.pack import RUBRIC_CRITERIA

OLD_CRITERIA = ("hook", "cliffhanger_pull", "payoff", "pacing", "escalation", "character_consistency", "dialogue",
                "earned_emotion", "freshness")


def critique(must_fix: list[str] | None = None, **scores: int) -> dict:
    return {**{c: {"reason": "清楚有力。", "score": scores.get(c, 8)} for c in RUBRIC_CRITERIA},
            "must_fix": must_fix or [], "notes": ""}


# ---- what the critic and the showrunner were given (the sim, request bodies logged) ----------------------

@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    root = tmp_path_factory.mktemp("sees")
    store = make_season(root / "s", 3, free=1)
    log = root / "sim.jsonl"
    with run_in_thread(SimConfig(log_path=log, log_bodies=True)) as url:
        result = run(store, sim_models(url, UsageLog(store.usage_path)), accept_threshold=10.0)
    assert result.stop == "done"
    return store, log


def test_the_critic_gets_the_bible_essentials_the_previous_last_scene_and_the_row(season) -> None:  # noqa: ANN001
    store, log = season
    bible, arc = store.bible(), store.arc()
    seen = set()
    for req in recorded_requests(log, "Critique"):
        got = prompt_values(req.prompt, f"critic.review.{store.spec().language}")
        assert got is not None
        ep = int(got["episode"])
        seen.add(ep)
        row = arc.row(ep)
        assert bible.premise in got["bible"] and got["bible"].startswith("前提：")
        in_episode = [c for c in bible.characters if f"（{c.id}，" in got["bible"]]
        assert in_episode and all(c.want in got["bible"] and c.voice in got["bible"] for c in in_episode)
        rung = next((a for a in bible.antagonists if a.character == row.antagonist), None)
        if rung is not None:
            assert f"第{rung.tier}级" in got["bible"] and rung.downfall in got["bible"]
        assert row.logline in got["arc_row"] and row.cliffhanger.hook_line in got["arc_row"]
        assert not got["arc_row"].lstrip().startswith("{")  # text, not a JSON record
        if ep > 1:
            last = store.script(ep - 1).scenes[-1]
            assert got["previous_scene"].startswith(f"{ep - 1}-{last.number} ")
            tail = last.elements[-1]
            assert (getattr(tail, "line", None) or tail.text)[:40] in got["previous_scene"]
        else:
            assert "第一集" in got["previous_scene"] or "开始" in got["previous_scene"]
        assert "logic" in got["floors"]
    assert seen == {1, 2, 3}


def test_decide_gets_the_script(season) -> None:  # noqa: ANN001
    store, log = season
    requests = recorded_requests(log, "Decision")
    assert requests
    for req in requests:
        got = prompt_values(req.prompt, "showrunner.decide")
        assert got is not None
        ep, rev = int(got["episode"]), int(got["revision"])
        draft = store.revision(ep, rev, "draft", EpisodeScript)
        assert got["script"] == script_text(draft)


def test_over_budget_decide_reads_the_cited_scenes_and_the_ending(season) -> None:  # noqa: ANN001
    store, _ = season
    script = store.script(1).model_copy()
    script = script.model_copy(update={"scenes": tuple(s.model_copy(update={"number": n}) for n, s in
                                                       enumerate((*script.scenes, *script.scenes, *script.scenes), 1))})
    cut = script_for_decision(script, ["Scene 2: the slap comes too late"], budget_tokens=10)
    numbers = {s.number for s in script.scenes}
    assert "Scene 2 " in cut and f"Scene {max(numbers)} " in cut and "Scene 1 " not in cut and "left out" in cut


# ---- the schema ---------------------------------------------------------------------------------------

def test_the_critique_schema_asks_for_the_reason_first_and_the_new_criteria() -> None:
    assert list(CriterionScore.model_json_schema()["properties"]) == ["reason", "score"]
    schema = Critique.model_json_schema()
    assert {"surprise", "logic"} <= set(schema["required"])
    assert list(schema["properties"])[:len(RUBRIC_CRITERIA)] == list(RUBRIC_CRITERIA)
    strict = strict_json_schema(Critique)
    for name in ("surprise", "logic", "hook"):
        assert list(strict["properties"][name]["properties"]) == ["reason", "score"]
        assert "anyOf" not in strict["properties"][name]  # asked for, never null
    assert "dropped" in Decision.model_json_schema()["required"]


def test_old_critiques_and_decisions_still_read() -> None:
    old = {**{c: {"score": 6, "reason": "ok"} for c in OLD_CRITERIA}, "must_fix": ["开场太慢"], "notes": ""}
    c = Critique.model_validate_json(json.dumps(old))
    assert c.surprise is None and c.logic is None and set(c.scores()) == set(OLD_CRITERIA)
    assert c.overall({"surprise": 3.0}) == 6
    pack = builtin_catalog().get("revenge")
    assert c.overall(pack.rubric_weights) == pytest.approx(6)
    d = Decision.model_validate_json('{"decision": "revise", "notes": ["更狠一点"]}')
    assert d.dropped is None


def test_packs_that_do_not_weight_the_new_criteria_stay_valid() -> None:
    for pack in builtin_catalog().packs.values():
        assert set(pack.rubric_weights) == set(RUBRIC_CRITERIA)
        assert pack.rubric_weights["surprise"] > 0 and pack.rubric_weights["logic"] > 0


# ---- floors -------------------------------------------------------------------------------------------

def _row(ep: int, intensity: str | None = "medium") -> ArcRow:
    return ArcRow.model_validate({
        "episode": ep, "act": 1, "logline": "林晚当众被诬陷。", "beats": ["诬陷", "反击"], "payoff": "录音曝光",
        "payoff_kind": None, "intensity": intensity, "antagonist": None, "opening_hook": "一记耳光",
        "cliffhanger": {"kind": "x", "hook_line": "门开了。", "strength": 5}, "paywall": False, "reveals": [],
        "plants": [], "pays": [], "walk_ons": []})


def test_a_weak_cliffhanger_on_the_cut_is_sent_back_whatever_the_mean() -> None:
    spec = SeasonSpec.create(title="千金归来", logline="真千金复仇。", genre="revenge", language="zh", episodes=60,
                             runtime_s=90, free_episodes=10)
    pack = builtin_catalog().get("revenge")
    assert spec.episode_kind(10) == "cut" and spec.episode_kind(20) == "paid"
    review = Critique.model_validate(critique(cliffhanger_pull=4))
    assert review.overall(pack.rubric_weights) > 7
    clean = ContinuityReport(findings=())

    def reasons(ep: int) -> list[str]:
        return decision_rules(review, clean, 90, 90, pack, 7.0, floors=score_floors(spec, _row(ep)))

    (reason,) = reasons(10)
    assert "cliffhanger_pull 4 is below its floor of 8" in reason and "卡点集" in reason
    (zh,) = decision_rules(review, clean, 90, 90, pack, 7.0, floors=score_floors(spec, _row(10)), language="zh")
    assert "cliffhanger_pull 4 分，低于卡点集" in zh and "底线 8" in zh
    assert reasons(20) == []
    weak_hook = Critique.model_validate(critique(hook=6))
    assert decision_rules(weak_hook, clean, 90, 90, pack, 7.0, floors=score_floors(spec, _row(2)))
    assert not decision_rules(weak_hook, clean, 90, 90, pack, 7.0, floors=score_floors(spec, _row(4)))
    weak_payoff = Critique.model_validate(critique(payoff=5))
    assert decision_rules(weak_payoff, clean, 90, 90, pack, 7.0, floors=score_floors(spec, _row(20, "big")))
    assert not decision_rules(weak_payoff, clean, 90, 90, pack, 7.0, floors=score_floors(spec, _row(20)))


# ---- which notes reach the writer (a scripted room) ---------------------------------------------------

KEEP = "场景1：结尾停在林晚举起录音笔那一帧，后面两句删掉。"
DROP = "把宴会改成雨夜。"
FALL = "林雪柔从天台坠下，再也没有醒来。"
GHOST = "姐姐，你以为我真的死了吗？"
SHORT = ["林晚推开大厅的门，宾客纷纷回头。", "林雪柔端着酒杯走来，笑意很深。", "水晶灯忽然闪了一下。", "她把酒杯放在桌上。"]


def _script(ep: int, cast: list[str], lines: list[tuple[str, str]], hook: str) -> dict:
    els = [{"type": "action", "text": t} if who == "-" else {"type": "dialogue", "speaker": who, "line": t}
           for who, t in lines]
    return {"episode": ep, "title": f"第{ep}集", "ending_hook": hook, "scenes": [
        {"number": 1, "int_ext": "INT", "location": "lin_mansion_hall", "time": "night", "cast": cast, "elements": els}]}


def _fact(subject: str, kind: str, attribute: str, value: str, evidence: str, change: bool = False) -> dict:
    return {"subject": subject, "kind": kind, "attribute": attribute, "value": value, "scene": 1, "change": change,
            "evidence": evidence}


def _extract(messages: list) -> dict:  # noqa: ANN001
    text = messages[0][1]
    if FALL in text:
        return {"facts": [_fact("lin_xuerou", "state", "status", "dead", FALL, True)]}
    if GHOST in text:
        return {"facts": [_fact("林雪柔", "presence", "appears", "true", GHOST)]}
    return {"facts": [_fact("lin_wan", "presence", "appears", "true", "你到底是谁？")]}


def test_a_dropped_note_never_reaches_the_writer_and_a_continuity_error_always_does(tmp_path: Path, sample,
                                                                                    sim_url: str) -> None:
    store = make_season(tmp_path / "s", 2, free=1, runtime=20)
    row = {"episode": 1, "act": 1, "logline": "林雪柔坠楼，林晚被怀疑。", "beats": ["宴会", "坠楼"], "payoff": "林晚拿出录音",
           "opening_hook": "一声尖叫", "cliffhanger": {"kind": "x", "hook_line": "门外有人敲门。", "strength": 3},
           "paywall": False, "reveals": []}
    one = [("-", t) for t in SHORT] + [("-", FALL), ("lin_wan", "不是我。")]
    two = [("-", t) for t in SHORT] + [("lin_xuerou", GHOST), ("lin_wan", "你到底是谁？")]
    fixed = [("-", t.replace("林雪柔", "管家")) for t in SHORT] + [("lin_wan", "你到底是谁？")]
    models = {
        "showrunner": ScriptedClient("showrunner", {
            "Bible": [sample("zh_bible")],
            "SeasonOutline": [{"acts": [{"act": 1, "goal": "复仇开局", "turning_points": ["坠楼", "录音"], "reveals": [],
                                         "ending": "真相浮出"}] * 4}],
            "ActRows": [lambda msgs: {"rows": [row, row]}],
            "Decision": [{"decision": "revise", "notes": [KEEP], "dropped": [f"{DROP} (taste)"]}],
        }),
        "writer": ScriptedClient("writer", {"EpisodeScript": [
            _script(1, ["lin_wan", "lin_xuerou"], one, "门外有人敲门。"), _script(1, ["lin_wan", "lin_xuerou"], one, "门外有人敲门。"),
            _script(2, ["lin_wan", "lin_xuerou"], two, "灯灭了。"), _script(2, ["lin_wan"], fixed, "灯灭了。")]}),
        "continuity": ScriptedClient("continuity", {"ExtractedFacts": [_extract], "ModelFindings": [{"findings": []}]}),
        "critic": ScriptedClient("critic", {"Critique": [critique(must_fix=[KEEP, DROP])]}),
        "shots": ModelClient("shots", EndpointConfig(provider="sim", base_url=sim_url, model="sim-drama"), UsageLog()),
    }
    assert run(store, models, max_revisions=1, accept_threshold=5.0).stop == "done"
    revise_prompts = [c.messages[0][1] for c in models["writer"].calls if c.prompt and ".revise_episode" in c.prompt]
    assert len(revise_prompts) == 2
    for text in revise_prompts:
        assert KEEP in text and DROP not in text
    assert "连续性：" in revise_prompts[1]  # the ghost in episode 2: a rule reason, always relayed
    decision = json.loads(store.revision_path(2, 0, "decision").read_text(encoding="utf-8"))
    assert decision["dropped"] == [f"{DROP} (taste)"]

