"""The season planned act by act (tracker issue 16): acts in order, each seeing a bounded digest of every
earlier row; act 1 ending on the first cut; a killed plan resuming at the first act not on disk; the
arc audited and repaired after assembly; one paywall vocabulary in the planner's, writer's and critic's
prompts; the genre pack's paywall conventions as the defaults of `cliffhanger new`; a bible sized to the
season. Prompts are read from the sim's request log (or a scripted model's calls), not from the code.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from season_kit import make_season, prompt_values, recorded_requests, run, run_cli, sim_models

from cliffhanger.agents.graph import route_acts
from cliffhanger.agents.llm.role_names import ROOM_ROLES
from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.llm.usage import UsageLog, read_usage
from cliffhanger.agents.roles import showrunner
from cliffhanger.agents.roles.bible_plan import bible_size, repair_bible
from cliffhanger.agents.run import run_season
from cliffhanger.agents.season.arc_check import check_arc
from cliffhanger.agents.season.artifacts import ArcRow, Bible, SeasonSpec
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.agents.state import RunSettings
from cliffhanger.genres.loader import builtin_catalog
from cliffhanger.memory.embeddings import HashEmbedding

LOGLINE = {"zh": "被调包的真千金回到豪门复仇。", "en": "A swapped heiress comes home for revenge."}


def pack_season(root: Path, genre: str, language: str, episodes: int = 60) -> SeasonStore:
    """A season whose paywall plan is the genre pack's (as `cliffhanger new` makes it without flags)."""
    mode, free, points = builtin_catalog().get(genre).season_paywall(episodes)
    spec = SeasonSpec.create(title="千金归来" if language == "zh" else "The Heiress", logline=LOGLINE[language],
                             genre=genre, language=language, episodes=episodes, runtime_s=90, mode=mode,
                             free_episodes=free, paywall_episodes=points)
    return SeasonStore.create(root, spec)


def planned(tmp_path: Path, genre: str, language: str, seed: int = 0) -> tuple[SeasonStore, Path]:
    """A 60-episode season planned against a sim that logs bodies (the run pauses at the arc review)."""
    store = pack_season(tmp_path / "s", genre, language)
    log = tmp_path / "sim.jsonl"
    with run_in_thread(SimConfig(seed=seed, log_path=log, log_bodies=True)) as url:
        assert run(store, sim_models(url, UsageLog(store.usage_path)), review_arc=True).stop == "arc_review"
    return store, log


def flat(text: str) -> str:
    return " ".join(text.split())


def act_requests(log: Path, language: str) -> list[dict[str, str]]:
    reqs = recorded_requests(log, "ActRows")
    values = [prompt_values(r.prompt, f"showrunner.plan_act_rows.{language}") for r in reqs]
    assert all(v is not None for v in values), "an act's prompt was not rendered from its template"
    return values  # type: ignore[return-value]


# ---- act ranges and the act loop --------------------------------------------------------------------------

def test_act_1_ends_on_the_first_cut() -> None:
    pack = builtin_catalog().get("revenge")
    spec = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=60, free_episodes=10,
                             paywall_episodes=pack.season_paywall(60)[2])
    ranges = showrunner.act_ranges(pack, spec)
    assert ranges[0] == (1, 10) and spec.episode_kind(10) == "cut" and ranges[1][0] == 11
    assert pack.act_of_each_episode(60).count(1) == 9  # the pack's own split ends act 1 one episode early
    for episodes, free in ((60, 10), (60, 40), (12, 4), (5, 3), (4, 2), (3, 1), (2, 1), (30, 25)):
        spec = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=episodes, free_episodes=free)
        ranges = showrunner.act_ranges(pack, spec)
        assert ranges[0][0] == 1 and ranges[-1][1] == episodes, (episodes, free, ranges)
        assert all(a <= b for a, b in ranges) and all(x[1] + 1 == y[0] for x, y in zip(ranges, ranges[1:], strict=False)), ranges
    ad = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=60, mode="ad")
    split = pack.act_of_each_episode(60)
    assert showrunner.act_ranges(pack, ad)[0] == (1, split.count(1))  # ad mode: the pack's split as it is


def test_the_act_loop_is_bounded_by_the_act_count() -> None:
    assert route_acts({"act_count": 4, "acts_planned": 0}) == "plan_act_rows"
    assert route_acts({"act_count": 4, "acts_planned": 3}) == "plan_act_rows"
    assert route_acts({"act_count": 4, "acts_planned": 4}) == "assemble_arc"
    assert route_acts({}) == "assemble_arc"


def test_acts_are_planned_in_order_each_seeing_every_earlier_row(tmp_path: Path) -> None:
    store, log = planned(tmp_path, "revenge", "zh")
    acts = act_requests(log, "zh")
    assert [int(v["act_number"]) for v in acts] == [1, 2, 3, 4]  # one request per act, in order
    rows = {n: store.act_rows(n, showrunner.ActRows).rows for n in range(1, 5)}
    assert acts[0]["digest"].startswith("（无")  # the digest speaks the season's language (zh here)
    for n in (1, 2, 3):  # act n+1 was asked after act n's answer: its prompt holds that answer's last hook
        assert flat(rows[n][-1].cliffhanger.hook_line) in flat(acts[n]["digest"])
    for row in rows[1]:  # act 2 holds every hook line of act 1
        assert flat(row.cliffhanger.hook_line)[:60] in flat(acts[1]["digest"]), row.episode
    digest3 = acts[2]["digest"]
    assert "- 第1幕（第1-10集）" in digest3  # act 1 in brief ...
    size = {"small": "小", "medium": "中", "big": "大"}
    for row in rows[2]:  # ... and act 2 row by row, each with its payoff kind, antagonist and ending
        assert re.search(rf"^- 第{row.episode}集 \| 爽点 {row.payoff_kind}（{size[row.intensity]}） \| 施压反派 ",
                         digest3, re.M)
        assert flat(row.cliffhanger.hook_line)[:60] in flat(digest3)
    assert "第3幕" in acts[1]["acts_to_come"] and "第4幕" in acts[1]["acts_to_come"]
    assert "第3幕" not in acts[2]["acts_to_come"] and acts[3]["acts_to_come"].startswith("（无")


@pytest.mark.parametrize(("genre", "language"), [("revenge", "zh"), ("revenge_us", "en")])
def test_a_60_episode_sim_arc_passes_the_audit_and_the_digest_stays_bounded(tmp_path: Path, genre: str,
                                                                            language: str) -> None:
    store, _ = planned(tmp_path, genre, language)
    arc, bible, spec = store.arc(), store.bible(), store.spec()
    assert len(arc.rows) == 60 and all(r.payoff_kind and r.intensity for r in arc.rows)
    pack = builtin_catalog().get(genre)
    assert {r.payoff_kind for r in arc.rows} <= {k.id for k in pack.payoff_kinds}
    audit = check_arc(arc, bible, spec, pack)
    assert audit.findings == () and audit.skipped == ()
    assert store.meta(store.arc_path)["audit"] == []  # what was left for the showrunner: nothing
    tokens = [r.tokens_in for r in read_usage(store.usage_path)
              if r.role == "showrunner" and (r.prompt or "").startswith(f"showrunner.plan_act_rows.{language}@")]
    assert len(tokens) == 4 and tokens[3] <= 1.5 * tokens[1], tokens


# ---- resume mid-plan ----------------------------------------------------------------------------------------

def _outline(n: int) -> dict[str, Any]:
    return {"acts": [{"act": i, "goal": "复仇开局", "turning_points": ["坠楼", "录音"], "reveals": [], "ending": "真相浮出"}
                     for i in range(1, n + 1)]}


def _act_of(messages: list[Any]) -> int:
    return int(re.search(r"第(\d+)幕", messages[0][1]).group(1))


def _rows(messages: list[Any], fail_at: int | None = None) -> dict[str, Any]:
    act = _act_of(messages)
    if act == fail_at:
        raise ConnectionError("the endpoint went away")
    row = {"episode": 1, "act": act, "logline": f"第{act}幕：林晚当众拿出录音。", "beats": ["宴会", "录音"],
           "payoff": "林晚当众拿出录音", "payoff_kind": "evidence_exposure", "intensity": "medium", "antagonist": None,
           "opening_hook": "一声尖叫", "reveals": [], "plants": [], "pays": [], "walk_ons": [],
           "cliffhanger": {"kind": "evidence_pending", "hook_line": f"第{act}幕的门被推开。", "strength": 3},
           "paywall": False}
    return {"rows": [row]}


def _planner(sample, fail_at: int | None = None) -> dict[str, ScriptedClient]:  # noqa: ANN001
    models = {r: ScriptedClient(r, {}) for r in ROOM_ROLES}
    models["showrunner"] = ScriptedClient("showrunner", {
        "Bible": [sample("zh_bible")], "SeasonOutline": [_outline(4)],
        "ActRows": [lambda m: _rows(m, fail_at)],
    })
    return models


@pytest.mark.parametrize("checkpoint", ["kept", "lost"])
def test_a_plan_killed_at_act_3_resumes_there(tmp_path: Path, sample, checkpoint: str) -> None:  # noqa: ANN001
    store = make_season(tmp_path / "s", 12, free=4)
    with pytest.raises(ConnectionError):
        run(store, _planner(sample, fail_at=3), review_arc=True)
    assert [store.has_act_rows(n) for n in (1, 2, 3, 4)] == [True, True, False, False]
    if checkpoint == "lost":  # no checkpoint at all: the graph starts over and skips what is on disk
        for path in store.root.glob(store.checkpoint_path.name + "*"):
            path.unlink()
    models = _planner(sample)
    assert run(store, models, review_arc=True).stop == "arc_review"
    calls = models["showrunner"].calls
    assert [c.schema for c in calls] == ["ActRows", "ActRows"]  # no bible, no act plan, no act 1-2 again
    assert [_act_of(c.messages) for c in calls] == [3, 4]
    assert "第2幕的门被推开。" in calls[0].messages[0][1]  # act 3 still sees act 2's rows, from disk
    assert [r.episode for r in store.arc().rows] == list(range(1, 13))


# ---- the paywall vocabulary, and walk-ons -------------------------------------------------------------------

LABELS = {"zh": ("卡点集", "付费首集"), "en": ("last free episode", "first paid episode")}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_cut_and_the_first_paid_episode_are_named_alike_for_planner_writer_and_critic(
        tmp_path: Path, language: str) -> None:
    store = make_season(tmp_path / "s", 3, language=language, genre="revenge" if language == "zh" else "revenge_us",
                        free=1)
    spec = store.spec()
    assert (spec.episode_kind(1), spec.episode_kind(2)) == ("cut", "first_paid")
    cut, first_paid = LABELS[language]
    log = tmp_path / "sim.jsonl"
    walk_on = {"id": "sneering_clerk", "name": "王柜员" if language == "zh" else "Clerk Wang",
               "look": "thin man in his fifties, grey bank uniform, reading glasses on a chain"}
    with run_in_thread(SimConfig(log_path=log, log_bodies=True)) as url:
        models = sim_models(url, UsageLog(store.usage_path))
        assert run(store, models, review_arc=True).stop == "arc_review"
        arc = json.loads(store.arc_path.read_text(encoding="utf-8"))
        arc["rows"][0]["walk_ons"] = [walk_on]
        store.arc_path.write_text(json.dumps(arc, ensure_ascii=False), encoding="utf-8")
        assert run(store, models, until=2, max_revisions=0).stop == "until"
    planner = "\n".join(v["episode_list"] for v in act_requests(log, language))
    assert re.search(rf"^- 1: {re.escape(cut)}", planner, re.M) and re.search(rf"^- 2: {re.escape(first_paid)}",
                                                                              planner, re.M)
    for schema, template in (("EpisodeScript", f"writer.draft_episode.{language}"), ("Critique", f"critic.review.{language}")):
        seen = set()
        for req in recorded_requests(log, schema):
            got = prompt_values(req.prompt, template)
            assert got is not None, f"a {schema} prompt was not rendered from {template}"
            ep = int(got["episode"])
            seen.add(ep)
            assert (cut if ep == 1 else first_paid) in got["position"], (schema, ep, got["position"])
            if schema == "EpisodeScript" and ep == 1:  # the row's walk-on reaches the writer with its look
                assert f"- sneering_clerk {walk_on['name']}: {walk_on['look']}" in got["walk_ons"]
        assert seen == {1, 2}
    everything = "\n".join(r.prompt for r in recorded_requests(log))
    assert "付费卡点" not in everything and "PAYWALL = first episode" not in everything


# ---- cliffhanger new: the pack's paywall conventions ----------------------------------------------------

@pytest.mark.parametrize(("genre", "flags", "mode", "free", "points"), [
    ("revenge", [], "paywall", 10, (11, 29, 47)),  # free 10, later every 18
    ("revenge_us", [], "paywall", 8, (9, 24, 39, 54)),  # free 8, later every 15
    ("family_drama", [], "ad", 10, ()),  # the genre the free ad-supported platforms carry
    ("revenge", ["--free", "5"], "paywall", 5, (6, 24, 42, 60)),  # the user's free count, the pack's spacing
    ("revenge", ["--paywall", "20,40"], "paywall", 19, (20, 40)),
    ("revenge", ["--mode", "ad"], "ad", 10, ()),
    ("family_drama", ["--mode", "paywall"], "paywall", 12, (13, 33, 53)),
    ("revenge_us", ["--free", "4", "--paywall", "5,30"], "paywall", 4, (5, 30)),
])
def test_new_takes_the_genres_paywall_conventions_unless_flags_say_otherwise(
        tmp_path: Path, capsys, genre: str, flags: list[str], mode: str, free: int, points: tuple[int, ...]) -> None:  # noqa: ANN001
    root = tmp_path / "s"
    code, out, err = run_cli(capsys, "new", root, "--logline", "A swapped heiress comes home.", "--genre", genre,
                             "--episodes", "60", *flags)
    assert code == 0, err
    p = SeasonStore.open(root).spec().paywall
    assert (p.mode, p.free_episodes, p.paywall_episodes) == (mode, free, points)


def test_new_help_says_the_defaults_are_the_genres(capsys) -> None:  # noqa: ANN001
    code, out, _ = run_cli(capsys, "new", "--help")
    assert code == 0
    text = flat(out)
    for option in ("--free", "--mode", "--paywall"):
        assert re.search(rf"{option} <\w+> .{{0,120}}?the genre's usual", text), option
    spec = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=60)  # no pack: the spec's defaults
    assert (spec.paywall.free_episodes, spec.paywall.paywall_episodes) == (10, (11, 30, 50))


# ---- the bible ---------------------------------------------------------------------------------------------

def test_the_bible_is_sized_to_the_season(sample) -> None:  # noqa: ANN001
    short, long = bible_size(12), bible_size(60)
    assert (short.antagonists, short.cards, short.plants) == (2, 1, 2)
    assert (long.antagonists, long.cards, long.plants) == (4, 4, 10)
    assert long.secrets[0] > short.secrets[0] and long.characters[0] > short.characters[0]
    assert bible_size(40, 4).antagonists == 3 and bible_size(100, 4).antagonists == 4  # one rung per act at most
    spec = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=60)
    pack = builtin_catalog().get("revenge")
    model = ScriptedClient("showrunner", {"Bible": [sample("zh_bible")]})
    asyncio.run(showrunner.plan_bible(model, spec, pack))
    prompt = model.calls[0].messages[0][1]
    assert "反派阶梯（antagonists，共4级" in prompt and "马甲与底牌（cards，4张）" in prompt and "伏笔（plants，10个）" in prompt
    assert "人物（6-10人）" in prompt and "秘密（4-7个）" in prompt


def test_repair_keeps_a_sound_bible_whose_new_lists_hold_dangling_ids(sample) -> None:  # noqa: ANN001
    data = sample("zh_bible")
    data["antagonists"] = [
        {"character": "lin_xuerou", "tier": 3, "act": 3, "downfall_episode": 20, "downfall": "当众认罪"},
        {"character": "gu_yanshen", "tier": 1, "act": 1, "downfall_episode": 50, "downfall": "丢了公司"},
        {"character": "nobody", "tier": 2, "act": 2, "downfall_episode": 30, "downfall": "被带走"},
    ]
    data["cards"] = [{"id": "anonymous_buyer", "description": "酒店的匿名买家", "stages": [
        {"episode": 30, "to": "audience"}, {"episode": 12, "to": "gu_yanshen"}, {"episode": 14, "to": "ghost"},
        {"episode": 99, "to": "lin_xuerou"}]}]
    data["plants"] = [{"id": "smashed_phone", "what": "摔碎的手机", "planted_episode": 40, "payoff_episode": 5},
                      {"id": "lin_wan", "what": "重复的id", "planted_episode": 1, "payoff_episode": 2}]
    data["address"] = [{"speaker": "lin_wan", "listener": "gu_yanshen", "form": "顾总"},
                       {"speaker": "lin_wan", "listener": "stranger", "form": "你"}]
    with pytest.raises(ValueError):
        Bible.model_validate(json.loads(json.dumps(data)))
    bible = Bible.model_validate(repair_bible(data, episodes=60))
    assert [(a.character, a.tier, a.downfall_episode) for a in bible.antagonists] == \
        [("lin_xuerou", 3, 50), ("gu_yanshen", 1, 20)]  # the ladder falls in tier order: the minor one first
    assert [(s.episode, s.to) for s in bible.cards[0].stages] == [(12, "gu_yanshen"), (30, "audience")]
    assert [(p.id, p.planted_episode, p.payoff_episode) for p in bible.plants] == [("smashed_phone", 5, 40)]
    assert [(a.speaker, a.listener) for a in bible.address] == [("lin_wan", "gu_yanshen")]


def test_an_acts_rows_keep_the_bibles_schedule_given_the_earlier_acts(sample) -> None:  # noqa: ANN001
    """The planner's bookkeeping of one act (plan/act_N.json): the ladder's succession, a secret reaching the
    viewer only in its planned episode and each party once, a card's stages, each plant planted once and paid
    once after it, a walk-on that is no character dropped, the cut's ending strong."""
    from cliffhanger.agents.roles.arc_rows import repair_rows

    data = sample("zh_bible")
    data["secrets"][0]["planned_reveal_episode"] = 6
    data["antagonists"] = [{"character": "lin_xuerou", "tier": 1, "act": 1, "downfall_episode": 4, "downfall": "认罪"},
                           {"character": "gu_yanshen", "tier": 3, "act": 2, "downfall_episode": 12, "downfall": "破产"}]
    data["cards"] = [{"id": "anonymous_buyer", "description": "酒店的匿名买家",
                      "stages": [{"episode": 5, "to": "gu_yanshen"}, {"episode": 7, "to": "audience"}]}]
    data["plants"] = [{"id": "smashed_phone", "what": "摔碎的手机", "planted_episode": 2, "payoff_episode": 8}]
    bible = Bible.model_validate(repair_bible(data, 12))
    spec = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=12, free_episodes=6)
    pack = builtin_catalog().get("revenge")
    earlier = [ArcRow.model_validate(r) for r in repair_rows({"rows": [_rows([("user", "第1幕")])["rows"][0]]},
                                                                       spec, pack, bible, 1, 1, 4)["rows"]]
    assert [r.plants for r in earlier] == [(), ("smashed_phone",), (), ()]  # planted where the bible says
    secret = bible.secrets[0].id
    row = {**_rows([("user", "第2幕")])["rows"][0], "antagonist": "lin_xuerou",
           "reveals": [{"secret": secret, "to": "audience"}, {"secret": "anonymous_buyer", "to": "gu_yanshen"}],
           "plants": ["smashed_phone"], "pays": ["smashed_phone"],
           "walk_ons": [{"id": "lin_wan", "name": "林晚", "look": "a second lin_wan"},
                        {"id": "bank_clerk", "name": "柜员", "look": "thin man, grey bank uniform"}]}
    rows = repair_rows({"rows": [row]}, spec, pack, bible, 2, 5, 8, earlier)["rows"]
    assert [r["antagonist"] for r in rows] == ["gu_yanshen"] * 4  # lin_xuerou fell in episode 4
    assert [r["reveals"] for r in rows] == [
        [{"secret": "anonymous_buyer", "to": "gu_yanshen"}],  # the card's first stage; the secret is not due yet
        [{"secret": secret, "to": "audience"}],  # the secret's planned episode
        [{"secret": "anonymous_buyer", "to": "audience"}],  # the card's second stage
        [],
    ]
    assert [(r["plants"], r["pays"]) for r in rows] == [([], ["smashed_phone"]), ([], []), ([], []), ([], [])]
    assert [w["id"] for w in rows[0]["walk_ons"]] == ["bank_clerk"]
    assert spec.episode_kind(6) == "cut" and rows[1]["cliffhanger"]["strength"] == 5
    assert rows[1]["cliffhanger"]["kind"] in {k.id for k in pack.paywall_kinds()}


# ---- the audit after assembly and after a person's edit --------------------------------------------------------

def test_a_hand_edited_arc_is_audited_and_the_run_goes_on(tmp_path: Path, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 12, free=4)
    models = sim_models(sim_url, UsageLog(store.usage_path))
    assert run(store, models, review_arc=True).stop == "arc_review"
    assert store.meta(store.arc_path)["audit"] == []
    arc = json.loads(store.arc_path.read_text(encoding="utf-8"))
    for row in arc["rows"][4:7]:  # the same payoff three episodes running
        row["payoff_kind"] = "snob_flip"
    store.arc_path.write_text(json.dumps(arc, ensure_ascii=False), encoding="utf-8")
    events: list[tuple[str, str]] = []
    result = asyncio.run(run_season(store, models, RunSettings(embedding=HashEmbedding(), until=1, max_revisions=0),
                                    emit=lambda kind, ep, detail: events.append((kind, detail))))
    assert result.stop == "until" and store.accepted_episodes() == [1]  # the edit is the writer's call
    notices = [d for k, d in events if k == "notice"]
    assert len(notices) == 1 and "payoff_repeat" in notices[0] and "5, 6" in notices[0]
