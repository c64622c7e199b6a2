"""Evals judge where seasons win and sag (issue 17, item 7): the judged episodes, what the judge reads, the
long suite, the payoff-build proxy and the report's slop rate and payoff build."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.season.artifacts import Action, Bible, DialogueLine, EpisodeScript, Scene, SeasonSpec
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.evals.judge import CRITERIA, judge_pair, judge_point, previous_ending
from cliffhanger.evals.metrics import season_metrics
from cliffhanger.evals.report import write_report
from cliffhanger.evals.run import _candidates, series_notes
from cliffhanger.evals.suites import (
    ROLE_LABELS,
    Premise,
    Suite,
    judged_episodes,
    load_suite,
    roles_of,
    three_quarter_episode,
)
from cliffhanger.evals.text_stats import payoff_build, seconds_to_hook
from cliffhanger.genres.loader import load_catalog

# ---- the judged episodes ---------------------------------------------------------------------------------


def _spec(episodes: int = 60, points: list[int] | None = None, mode: str = "paywall") -> SeasonSpec:
    return SeasonSpec.create(title="拍卖槌落下之前", logline="被做局的鉴定师回到拍卖行复仇。", genre="revenge",
                             episodes=episodes, mode=mode, free_episodes=10, paywall_episodes=points)


def test_judged_set_of_a_60_episode_season_follows_the_rule() -> None:
    spec = _spec(60, [11, 29, 47])
    judged = judged_episodes(spec)
    eps = [j.episode for j in judged]
    assert eps == sorted(set(eps))  # once each, in order
    cuts = {ep for ep in range(1, 61) if spec.episode_kind(ep) == "cut"}
    first_paid = {ep for ep in range(1, 61) if spec.episode_kind(ep) == "first_paid"}
    assert cuts == {10, 28, 46} and first_paid == {11, 29, 47}
    assert three_quarter_episode(60) == 45
    assert set(eps) == {1, *cuts, *first_paid, 45, 60}  # the rule, and nothing else
    assert set(eps) == {1, 10, 11, 28, 29, 45, 46, 47, 60}
    roles = dict(judged)
    assert roles[1] == ("opening",) and roles[45] == ("three_quarters",) and roles[60] == ("finale",)
    assert all(roles[ep] == ("cut",) for ep in cuts) and all(roles[ep] == ("first_paid",) for ep in first_paid)


def test_judged_set_of_an_ad_season_and_labels_that_read_back() -> None:
    assert [j.episode for j in judged_episodes(_spec(60, mode="ad"))] == [1, 45, 60]
    small = judged_episodes(SeasonSpec.create(title="t", logline="a logline", genre="revenge", episodes=4,
                                              free_episodes=2))
    # ceil(0.75 x 4) = 3 is also the first paid episode: one entry with both roles.
    assert [(j.episode, j.roles) for j in small] == [(1, ("opening",)), (2, ("cut",)),
                                                      (3, ("first_paid", "three_quarters")), (4, ("finale",))]
    assert all(roles_of(j.label) == j.roles for j in small)
    assert small[2].label == f"{ROLE_LABELS['first_paid']}; {ROLE_LABELS['three_quarters']}"
    assert roles_of("paywall 5") == ()  # a label of an older version names no role


# ---- hook timing is the room's ---------------------------------------------------------------------------

def test_the_hook_clock_is_the_room_estimator() -> None:
    quiet = (DialogueLine(speaker="lin", line="今天的拍卖会一切照旧进行"), Action(text="她低头整理手里的拍品清单和资料"),
             Action(text="窗外开始下雨"))
    before = EpisodeScript(episode=1, title="t", scenes=(Scene(number=1, int_ext="INT", location="hall", time="day",
                                                               cast=("lin",), elements=quiet),), ending_hook="窗外开始下雨")
    with_hook = before.model_copy(update={"scenes": (before.scenes[0].model_copy(
        update={"elements": (*quiet, Action(text="门被一脚踹开！"))}),)})
    # The action after the speech overlaps its last words (runtime.ACTION_OVERLAP_S): the hook starts where
    # the room's estimate of everything before it ends, not at the sum of the elements timed alone.
    assert seconds_to_hook(with_hook, "zh") == before.estimate_runtime_s("zh")


# ---- what the judge reads --------------------------------------------------------------------------------

def _line(who: str, text: str) -> DialogueLine:
    return DialogueLine(speaker=who, line=text)


def _episode(n: int, tag: str) -> EpisodeScript:
    last = f"{tag}：第{n}集的最后一句，门外站着的人是——"
    scene = Scene(number=1, int_ext="INT", location="hall", time="night", cast=("lin_wan", "lin_xuerou"),
                  elements=(Action(text=f"第{n}集开场，{tag}的拍卖厅。"), _line("lin_xuerou", f"{tag}：你也配来这里？"),
                            _line("lin_wan", f"{tag}：第{n}集倒数第二句。"), _line("lin_xuerou", last)))
    return EpisodeScript(episode=n, title=f"第{n}集", scenes=(scene,), ending_hook=last)


def _bible(premise: str) -> Bible:
    from conftest import load_sample

    data = load_sample("zh_bible")
    data["premise"] = premise
    return Bible.model_validate(data)


def _point_verdict(_messages: list) -> dict:
    return {c: {"analysis": f"on {c}", "score": 5} for c in CRITERIA}


def _pair_verdict(_messages: list) -> dict:
    return {**{c: {"analysis": f"on {c}", "choice": "tie"} for c in CRITERIA}, "overall_analysis": "level",
            "overall": "tie"}


def test_the_judge_prompts_hold_the_premise_the_previous_ending_and_the_series_notes(tmp_path: Path) -> None:
    premise = Premise(id="auction", title="拍卖槌落下之前", logline="被做局的鉴定师林晚以匿名买家身份回到秋拍现场复仇。",
                      genre="revenge", language="zh", episodes=4, free=2, runtime_s=60)
    suite = Suite(name="tiny", notes="每一集都要对照季中位置来评判。", premises=(premise,))
    stores = {}
    for cfg in ("room", "baseline"):
        store = SeasonStore.create(tmp_path / cfg, premise.spec())
        store.write_model(tmp_path / cfg / "bible.json", _bible(f"{cfg}的圣经：鉴定师三年后归来。"))
        for n in range(1, 5):
            store.write_model(store.episode_dir(n) / "script.json", _episode(n, cfg), {"revision": 0})
        stores[(cfg, premise.id)] = store
    req = SimpleNamespace(suite=suite, configs=[SimpleNamespace(name="room"), SimpleNamespace(name="baseline")])
    cands = _candidates(req, stores)  # type: ignore[arg-type]
    assert {ep for (_c, _p, ep) in cands} == {j.episode for j in judged_episodes(premise.spec())} == {1, 2, 3, 4}

    judge = ScriptedClient("judge", {"PairVerdict": [_pair_verdict], "PointVerdict": [_point_verdict]})
    room, baseline = cands[("room", "auction", 3)], cands[("baseline", "auction", 3)]
    asyncio.run(judge_pair(judge, room, baseline))
    asyncio.run(judge_point(judge, room))
    prompts = [call.messages[0][1] for call in judge.calls]
    assert [call.prompt.split("@")[0] for call in judge.calls] == ["judge.pairwise"] * 2 + ["judge.pointwise"]
    for text in prompts:
        assert premise.logline in text and "room的圣经：鉴定师三年后归来。" in text
        assert "每一集都要对照季中位置来评判。" in text and "(none)" not in text
        # Episode 2's ending in the same season: its last scene's last lines and its ending hook.
        assert "room：第2集倒数第二句。" in text and "Ending hook: room：第2集的最后一句，门外站着的人是——" in text
        assert ROLE_LABELS["first_paid"] in text and ROLE_LABELS["three_quarters"] in text
    ending = previous_ending(stores[("room", "auction")].script(2))
    assert ending.startswith("Scene 1") and "第2集开场" not in ending  # the last lines only, with the heading
    for text in prompts[:2]:  # each draft of a pair follows its own season's previous episode
        assert "baseline：第2集倒数第二句。" in text and "baseline的圣经" in text
    assert "baseline" not in prompts[2]

    first = cands[("room", "auction", 1)]
    asyncio.run(judge_point(judge, first))
    assert "This is the first episode" in judge.calls[-1].messages[0][1]


def test_series_notes_come_from_the_suite_or_else_the_pack() -> None:
    long = load_suite("long")
    assert series_notes(long, long.premises[0]).startswith(long.notes)
    smoke = load_suite("smoke")
    pack = load_catalog().get(smoke.premises[0].genre)
    notes = series_notes(smoke, smoke.premises[0])
    assert pack.names.en in notes and pack.tone.strip() in notes


def test_the_long_suite_has_three_60_episode_premises() -> None:
    long = load_suite("long")
    assert len(long.premises) == 3 and {p.episodes for p in long.premises} == {60}
    assert sorted(p.language for p in long.premises) == ["en", "zh", "zh"]
    assert {p.genre for p in long.premises} == {"revenge", "ceo_romance", "revenge_us"}
    for p in long.premises:
        assert len(judged_episodes(p.spec())) >= 9  # opening, 3 cuts, 3 first paid, 75%, finale


# ---- payoff build (a keyword proxy) ----------------------------------------------------------------------

def _script(*elements: Action | DialogueLine) -> EpisodeScript:
    last = elements[-1]
    scene = Scene(number=1, int_ext="INT", location="hall", time="day", cast=("lin_wan", "lin_xuerou", "zhou"),
                  elements=elements)
    return EpisodeScript(episode=5, title="t", scenes=(scene,),
                         ending_hook=last.line if isinstance(last, DialogueLine) else last.text)


BUILT = {
    "zh": _script(_line("lin_xuerou", "如果她能拿出原稿，我当场辞职！"), Action(text="周律师打开公文包，取出一份录音笔和合同原件。"),
                  _line("zhou", "这是三年前的交易录音。"), Action(text="董事长当众宣布：林雪柔即刻辞退。林雪柔双腿一软，跪在地上。")),
    "en": _script(_line("lin_xuerou", "If she can show the original, I'll resign on the spot."),
                  Action(text="The lawyer plays the security footage on the big screen."),
                  _line("zhou", "Ms. Lin, you're fired. Security will walk you out.")),
}
FLAT = {
    "zh": _script(_line("lin_xuerou", "你也配来这里？"), Action(text="林晚转身离开会场。"), _line("lin_wan", "我们走着瞧。")),
    "en": _script(_line("lin_xuerou", "You don't belong here."), Action(text="She walks out of the gala."),
                  _line("lin_wan", "We'll see.")),
}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_payoff_build_finds_the_three_steps_in_a_built_payoff_and_not_in_a_flat_one(language: str) -> None:
    assert payoff_build(BUILT[language], language) == ("commitment", "turn", "price")
    assert payoff_build(FLAT[language], language) == ()
    # Order matters: the price before the commitment is no built payoff.
    built = BUILT[language].scenes[0].elements
    shuffled = _script(built[-1], *built[:-1])
    assert payoff_build(shuffled, language) != ("commitment", "turn", "price")


def test_payoff_build_with_a_bible_needs_the_commitment_from_someone_but_the_lead() -> None:
    from conftest import load_sample

    data = load_sample("zh_bible")
    for c in data["characters"]:
        c["role"] = {"lin_wan": "protagonist", "lin_xuerou": "antagonist"}.get(c["id"], "ally")
    bible = Bible.model_validate(data)
    assert payoff_build(BUILT["zh"], "zh", bible) == ("commitment", "turn", "price")
    lead_vows = _script(_line("lin_wan", "如果我拿不出原稿，我当场辞职！"), *BUILT["zh"].scenes[0].elements[1:])
    assert payoff_build(lead_vows, "zh", bible) == ()


def test_season_payoff_build_rate_is_over_the_judged_episodes(tmp_path: Path) -> None:
    spec = SeasonSpec.create(title="千金归来", logline="被调包的真千金回到豪门复仇。", genre="revenge", language="zh",
                             episodes=12, runtime_s=60, free_episodes=4)
    store = SeasonStore.create(tmp_path / "s", spec)
    built, flat = BUILT["zh"], FLAT["zh"]
    for n in range(1, 7):  # judged and accepted: 1, 4 (cut), 5 (first paid); 2, 3, 6 are not judged
        script = (built if n in (2, 3, 4) else flat).model_copy(update={"episode": n})
        store.write_model(store.episode_dir(n) / "script.json", script, {"revision": 0})
    m = season_metrics(store, load_catalog().get("revenge"))
    assert [e.payoff_built for e in m.episodes] == [False, True, True, True, False, False]
    assert m.payoff_build_rate == round(1 / 3, 4)  # 4 of {1, 4, 5}; 2 and 3 are built but not judged
    assert "slop_rate" in m.means and "payoff_built" in m.means


# ---- the report -------------------------------------------------------------------------------------------

def test_the_report_shows_slop_rate_payoff_build_and_where_seasons_sag(tmp_path: Path) -> None:
    label_45 = ROLE_LABELS["three_quarters"]
    points = [{"type": "point", "config": c, "premise": "p", "episode": ep, "position": label,
               "relative_position": (ep - 1) / 59, "scores": dict.fromkeys(CRITERIA, score),
               "analyses": dict.fromkeys(CRITERIA, "x"), "prompt": "judge.pointwise@0", "prompt_sha256": "0" * 64}
              for c, score in (("room", 8), ("baseline", 4))
              for ep, label in ((1, ROLE_LABELS["opening"]), (45, label_45))]
    metrics = {"room": {"mean_slop_rate": 1.25, "payoff_build_rate": 0.5},
               "baseline": {"mean_slop_rate": 7.5, "payoff_build_rate": 0.125}}
    write_report(tmp_path, records=points, configs=["room", "baseline"], runs={}, metrics=metrics,
                 meta={"suite": "long", "bootstrap": 50})
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Slop rate and payoff build" in md and "keyword proxy" in md
    assert "| room | 1.25 | 50% |" in md and "| baseline | 7.50 | 12% |" in md
    assert "## Where seasons win and sag" in md and "75% through the season" in md
    assert "| room | 75% through the season | 1 | 8.00 |" in md
    assert "证据" in md and "resign" in md  # the proxy's patterns, per language
    assert "卡点集" in md  # the judged-episode rule in the method
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Slop rate and payoff build" in html


@pytest.mark.parametrize(("language", "vow"), [
    ("zh", "如果她是真千金，我就把董事长的位子让出来。"), ("zh", "要是录音是真的，我就认。"), ("zh", "我当场给她道歉。"),
    ("zh", "她拿得出来，我跪下给她磕头！"), ("en", "If she can prove it, the chair is hers."),
    ("en", "I'll resign tonight."), ("en", "I swear on my mother I never touched that file."),
])
def test_each_commitment_form_counts_on_its_own(language: str, vow: str) -> None:
    assert payoff_build(_script(_line("lin_xuerou", vow)), language) == ("commitment",)
