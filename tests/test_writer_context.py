"""What the writer sees around its row, read from the sim's request log (not from the code that built it).

One 60-episode Chinese revenge season is drafted against the sim to episode 55. Its rows are rewritten in
Chinese at the arc review (the sim writes them in whatever language it reads), the bible gets forms of
address, and canon gets a change of wardrobe after episode 5. Each draft prompt must then hold every part
of the writer's context, stay within budget at episode 55, and carry no English outside ids, the
script's JSON keys and the trade's abbreviations.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from season_kit import make_season, prompt_values, recorded_requests, run, sim_models

from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.prompts import render
from cliffhanger.agents.roles import writer_context as wc
from cliffhanger.agents.season.artifacts import Action, Critique, DialogueLine, EpisodeScript, Scene
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.genres.loader import builtin_catalog
from cliffhanger.memory.facts import Fact
from cliffhanger.memory.ledger import Ledger
from cliffhanger.memory.tokens import count_tokens

EPISODES, UNTIL, CUT = 60, 55, 10
WARDROBE = "白色婚纱，裙摆上一大片红酒渍"
FORM = "林总"
# Latin words a Chinese script prompt may carry besides ids and JSON keys: the trade's abbreviations.
ALLOWED = {"OS", "VO", "SFX", "AI", "JSON", "id"}
CONTEXT_PARTS = ("arc_row", "recent_loglines", "next_opening", "previous_scene", "previous_ending", "canon",
                 "bible_essentials", "locations", "wardrobe", "address", "walk_ons", "tone", "example")


def _chinese_rows(arc: dict) -> None:
    for row in arc["rows"]:
        n = row["episode"]
        row["logline"] = f"第{n}集：林晚在订婚宴上被继妹当众羞辱，她亮出一张新的底牌。"
        row["beats"] = [f"继妹把项链塞进林晚的包里，保安当众搜包（第{n}集）。", "林晚低头看了一眼手机上的短信。",
                        "周律师推门进来，打开公文包。"]
        row["payoff"] = "许嘉当众赌咒，原稿一放出来，他当场被董事会免职。"
        row["opening_hook"] = f"第{n}集开场：一整杯红酒泼在林晚的白裙上。"
        row["cliffhanger"]["hook_line"] = f"周律师：董事长本人，今天也在场——（第{n}集）"
        for w in row["walk_ons"]:
            w["name"], w["look"] = "柜员", "五十多岁的瘦男人，灰色银行制服，眼镜挂在链子上"


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[SeasonStore, Path]:
    root = tmp_path_factory.mktemp("writer_context")
    store = make_season(root / "s", EPISODES, language="zh", genre="revenge", free=CUT, runtime=90)
    log = root / "sim.jsonl"
    with run_in_thread(SimConfig(log_path=log, log_bodies=True)) as url:
        models = sim_models(url, UsageLog(store.usage_path))
        assert run(store, models, review_arc=True).stop == "arc_review"
        arc = json.loads(store.arc_path.read_text(encoding="utf-8"))
        _chinese_rows(arc)
        store.arc_path.write_text(json.dumps(arc, ensure_ascii=False), encoding="utf-8")
        bible = json.loads(store.bible_path.read_text(encoding="utf-8"))
        a, b = bible["characters"][0]["id"], bible["characters"][1]["id"]
        bible["address"] = [{"speaker": b, "listener": a, "form": FORM}]
        store.bible_path.write_text(json.dumps(bible, ensure_ascii=False), encoding="utf-8")
        assert run(store, models, until=5, accept_threshold=0.0).stop == "until"
        with Ledger(store.ledger_path) as ledger:
            ledger.add_facts([Fact(subject=a, kind="state", attribute="wardrobe", value=WARDROBE, episode=5)], "test")
        assert run(store, models, until=UNTIL, accept_threshold=0.0).stop == "until"
    return store, log


def drafts(store: SeasonStore, log: Path) -> dict[int, tuple[str, dict[str, str]]]:
    """Episode -> (prompt, values) of each first draft."""
    out = {}
    for req in recorded_requests(log, "EpisodeScript"):
        got = prompt_values(req.prompt, f"writer.draft_episode.{store.spec().language}")
        if got is not None:
            out.setdefault(int(got["episode"]), (req.prompt, got))
    return out


def test_the_writer_gets_the_season_around_its_row(season: tuple[SeasonStore, Path]) -> None:
    store, log = season
    spec, bible, arc = store.spec(), store.bible(), store.arc()
    pack = builtin_catalog().get(spec.genre)
    prompts = drafts(store, log)
    assert sorted(prompts) == list(range(1, UNTIL + 1))
    assert spec.episode_kind(CUT) == "cut"
    _, got = prompts[CUT]
    # the previous episode's last scene: its heading and its last elements, not only the hook line
    last = store.script(CUT - 1).scenes[-1]
    assert got["previous_scene"].splitlines()[0].startswith(f"{CUT - 1}-{last.number} ")
    for el in last.elements[-3:]:
        assert wc.cut(el.line if isinstance(el, DialogueLine) else el.text) in got["previous_scene"]
    assert got["previous_ending"] == store.script(CUT - 1).ending_hook
    for e in (CUT - 3, CUT - 2, CUT - 1):  # the last three loglines, and no older one
        assert f"第{e}集：{wc.cut(arc.row(e).logline)}" in got["recent_loglines"]
    assert f"第{CUT - 4}集" not in got["recent_loglines"]
    assert arc.row(CUT + 1).opening_hook in got["next_opening"]
    assert arc.row(CUT).cliffhanger.hook_line in got["arc_row"] and arc.row(CUT).logline in got["arc_row"]
    assert not got["arc_row"].lstrip().startswith("{")  # prose, not the JSON record
    # the pack: its tone, and the worked example of this place in the season
    assert got["tone"] == pack.tone.strip()
    assert got["example"] == pack.examples.paywall_cliffhanger.strip()
    assert prompts[1][1]["example"] == pack.examples.opening_hook.strip()
    assert prompts[6][1]["example"] == "（无）" and prompts[6][1]["tone"] == pack.tone.strip()
    # the places with their looks, wardrobe as of the episode, forms of address
    for loc in bible.locations:
        assert f"{loc.id} {loc.name}：{wc.cut(loc.visual)}" in got["locations"]
    hero = bible.characters[0]
    assert WARDROBE in got["wardrobe"] and hero.id in got["wardrobe"]
    assert WARDROBE not in prompts[5][1]["wardrobe"]  # canon changed it in episode 5: episode 5 still wore the old
    assert wc.cut(hero.visual.wardrobe) in prompts[5][1]["wardrobe"]
    assert f"“{FORM}”" in got["address"] and hero.name in got["address"]


def test_the_writer_context_stays_within_budget_late_in_the_season(season: tuple[SeasonStore, Path]) -> None:
    store, log = season
    prompts = drafts(store, log)

    def tokens(ep: int) -> int:
        return sum(count_tokens(prompts[ep][1][part]) for part in CONTEXT_PARTS)

    early, late = tokens(6), tokens(UNTIL)
    assert late <= 1.25 * early, (early, late)
    assert late > 500  # the parts are there at all


def _ids(store: SeasonStore) -> set[str]:
    bible, arc = store.bible(), store.arc()
    ids = {x.id for group in (bible.characters, bible.locations, bible.secrets, bible.cards, bible.plants) for x in group}
    ids |= {w.id for r in arc.rows for w in r.walk_ons} | {r.secret for r in arc.rows for r in r.reveals}
    ids |= {p for r in arc.rows for p in (*r.plants, *r.pays)}
    with Ledger(store.ledger_path) as ledger:
        ids |= {e.id for e in ledger.entities()} | {f.attribute for f in ledger.facts()}
    # the script's JSON keys and their fixed values
    for model in (EpisodeScript, Scene, Action, DialogueLine):
        ids |= set(model.model_fields)
    return ids | {"INT", "EXT", "day", "night", "dawn", "dusk", "action", "dialogue"}


def english_left(prompt: str, ids: set[str]) -> list[str]:
    """Latin words of `prompt` once ids (whole tokens) are taken out, less the allowed abbreviations."""
    words = re.findall(r"[A-Za-z][A-Za-z0-9_]*", prompt)
    return [w for w in words if w not in ids and w not in ALLOWED]


def test_a_chinese_seasons_writer_prompt_holds_no_english(season: tuple[SeasonStore, Path]) -> None:
    store, log = season
    ids = _ids(store)
    prompts = drafts(store, log)
    for ep in (1, 6, CUT, CUT + 1, UNTIL):
        prompt, _ = prompts[ep]
        assert len(prompt) > 1000
        left = english_left(prompt, ids)
        assert not left, (ep, sorted(set(left))[:30])


def _rendered(language: str, kind: str) -> str:
    pack = builtin_catalog().get("revenge")
    names = ("title genre_name episode episodes position arc_row writer_notes beats_timed scene_guide runtime_s "
             "bible_essentials cast walk_ons canon previous_ending previous_scene recent_loglines next_opening tone "
             "example locations wardrobe address avoid moves notes draft").split()
    values = {n: f"<{n}>" for n in names}
    values |= {"lift_by": wc.push_down_text(pack, 90, language), "inner_voice_max": wc.inner_voice_max(pack)}
    return render(f"writer.{kind}_episode.{language}", **values).text


@pytest.mark.parametrize("kind", ["draft", "revise"])
def test_the_payoff_is_built_in_three_steps_with_a_push_down_limit(kind: str) -> None:
    zh, en = _rendered("zh", kind), _rendered("en", kind)
    at = round(90 * builtin_catalog().get("revenge").push_down_until)  # the pack's push-down limit, in seconds
    for needle in ("当众把话说死", "当场辞职", "证据或第三方", "从不自报身份", "具体代价", "围观者用一句台词转向",
                   f"第{at}秒", "手里有牌"):
        assert needle in zh, needle
    for needle in ("commits publicly", "I resign on the spot", "Proof or a third party", "never announces her own identity",
                   "concrete price", "the crowd turns with one line", f"{at} s in", "holds a card"):
        assert needle.lower() in en.lower(), needle


@pytest.mark.parametrize("kind", ["draft", "revise"])
def test_os_and_vo_follow_each_languages_trade(kind: str) -> None:
    zh, en = _rendered("zh", kind), _rendered("en", kind)
    cap = wc.inner_voice_max(builtin_catalog().get("revenge"))
    assert "内心OS" in zh and "都用 delivery 标 OS" in zh and f"内心OS一集最多{cap}句" in zh
    assert "内心独白标 VO" not in zh and "VO 一集最多一句" not in zh  # the reverse of trade usage, gone
    assert "O.S." in en and "V.O." in en and "inner voice" in en and f"At most {cap} V.O.".lower() in en.lower()
    assert "at most one VO line" not in en


def test_the_inner_voice_cap_and_the_push_down_limit_come_from_the_pack() -> None:
    catalog = builtin_catalog()
    rebirth, revenge = catalog.get("rebirth"), catalog.get("revenge")
    assert wc.inner_voice_max(rebirth) > wc.inner_voice_max(revenge) >= 1  # rebirth runs on the inner voice
    late = revenge.model_copy(update={"push_down_until": 0.7})
    assert wc.push_down_text(late, 90, "zh") != wc.push_down_text(revenge, 90, "zh")


def test_a_chinese_seasons_critic_prompt_holds_no_english(season: tuple[SeasonStore, Path]) -> None:
    """The critic reads the script, its floors and the rule notes in Chinese too (ids and score keys aside)."""
    store, log = season
    ids = _ids(store) | set(Critique.model_fields) | {"cliffhanger_pull"}
    ids |= {c for c in builtin_catalog().get("revenge").rubric_weights}
    ids |= {c.id for c in builtin_catalog().get("revenge").compliance}  # the review notes' ids
    prompts = {}
    for req in recorded_requests(log, "Critique"):
        got = prompt_values(req.prompt, "critic.review.zh")
        if got is not None:
            prompts.setdefault(int(got["episode"]), (req.prompt, got))
    assert {1, CUT, UNTIL} <= set(prompts)
    for ep in (1, CUT, UNTIL):
        prompt, got = prompts[ep]
        assert got["script"].startswith("第1场（") and "结尾钩子：" in got["script"]
        left = english_left(prompt, ids)
        assert not left, (ep, sorted(set(left))[:30])
    assert "cliffhanger_pull 不低于 8（卡点集" in prompts[CUT][1]["floors"]
