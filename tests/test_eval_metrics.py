"""Model-free eval metrics: known answers on hand-made scripts and seasons, sane ranges on human scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import load_sample

from cliffhanger.agents.season.artifacts import Action, Bible, DialogueLine, EpisodeScript, Scene, SeasonSpec
from cliffhanger.agents.season.shotlist import Shot, ShotList, Sound, shot_id
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.evals.metrics import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    EpisodeMetrics,
    episode_metrics,
    season_metrics,
)
from cliffhanger.evals.text_stats import ENDING_KINDS
from cliffhanger.genres.loader import load_catalog
from cliffhanger.genres.pack import GenrePack
from cliffhanger.memory.facts import Fact

DRAMABENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "dramabench" / "dramabench_continuation_100.jsonl"


@pytest.fixture(scope="module")
def pack() -> GenrePack:
    return load_catalog(include_user_dir=False).get("revenge")


def act(text: str) -> Action:
    return Action(text=text)


def say(who: str, line: str, **kw: object) -> DialogueLine:
    return DialogueLine(speaker=who, line=line, **kw)


def scene(number: int, *elements: Action | DialogueLine, cast: tuple[str, ...] = ("lin_wan", "gu_yanshen")) -> Scene:
    return Scene(number=number, int_ext="INT", location="hall", time="night", cast=cast, elements=elements)


def episode(*scenes: Scene, ending: str | None = None, number: int = 1) -> EpisodeScript:
    last = scenes[-1].elements[-1]
    hook = ending or (last.line if isinstance(last, DialogueLine) else last.text)
    return EpisodeScript(episode=number, title="第一集", scenes=scenes, ending_hook=hook)


def spec(language: str = "zh", runtime: int = 60, episodes: int = 12, free: int = 4) -> SeasonSpec:
    return SeasonSpec.create(title="千金归来", logline="被调包的真千金回到豪门复仇。", genre="revenge",
                             language=language, episodes=episodes, runtime_s=runtime, free_episodes=free)


def metrics(script: EpisodeScript, pack: GenrePack, language: str = "zh", **kw: object) -> EpisodeMetrics:
    return episode_metrics(script, spec(language), pack, **kw)


# ---- per episode ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("language, text", [("zh", "林" * 96), ("en", " ".join(["word"] * 48))])
def test_runtime_twenty_percent_long(pack: GenrePack, language: str, text: str) -> None:
    # 96 characters at 8 chars/s, or 48 words at 4 words/s: 12 s of action, six times: 72 s against 60.
    m = metrics(episode(scene(1, *[act(text)] * 6)), pack, language)
    assert m.runtime_s == 72.0
    assert m.runtime_error_pct == 20.0 and m.runtime_abs_error_pct == 20.0


@pytest.mark.parametrize("language, first", [
    ("en", say("gu_yanshen", "Get on your knees!")),
    ("en", say("gu_yanshen", "Sign the papers.")),  # an imperative without an exclamation mark
    ("en", act("Red wine splashes across her white dress.")),
    ("zh", act("林雪柔一巴掌扇在林晚脸上。")),
    ("zh", say("gu_yanshen", "把离婚协议签了")),
])
def test_hook_in_the_first_seconds(pack: GenrePack, language: str, first: Action | DialogueLine) -> None:
    m = metrics(episode(scene(1, first, act("quiet"))), pack, language)
    assert m.seconds_to_hook == 0.0 and m.opening_hook


@pytest.mark.parametrize("language, flat, hook, at", [
    # Timed by agents.season.runtime (the room's estimator): action at 4 words/s, never under 2 s a shot.
    # 8 words = 2.0 s, 10 words = 2.5 s, 8 words = 2.0 s: the slap starts at 6.5 s, past OPENING_S (5 s).
    # (Two establishing shots alone now take 4.5 s, inside the 3-5 s window: a third keeps the hook late.)
    ("en", ["Morning light crosses a quiet suburban kitchen table.", "A kettle hums on the stove while birds sing outside.",
            "Steam curls from two untouched cups of tea."],
     "Chloe slaps Ethan.", 6.5),
    # zh action at 8 chars/s, floored at 2 s: 11 chars (1.4 s), 15 chars (1.9 s) and 12 chars (1.5 s) are
    # each a 2 s shot, so the slap starts at 6.0 s.
    ("zh", ["清晨，阳光洒进安静的厨房。", "窗外的鸟儿轻轻歌唱，水壶冒着热气。", "餐桌上摆着两杯没动过的茶。"],
     "林雪柔一巴掌扇在林晚脸上。", 6.0),
])
def test_flat_establishing_opening_has_no_hook(pack: GenrePack, language: str, flat: list[str], hook: str,
                                               at: float) -> None:
    m = metrics(episode(scene(1, *map(act, flat), act(hook))), pack, language)
    assert m.seconds_to_hook == at and not m.opening_hook
    assert metrics(episode(scene(1, *map(act, flat))), pack, language).seconds_to_hook is None


@pytest.mark.parametrize("language, last, kind", [
    ("en", say("gu_yanshen", "Who sent you here?"), "question"),
    ("en", say("gu_yanshen", "Touch her again and you'll regret it."), "threat"),
    ("en", say("gu_yanshen", "She is my daughter."), "reveal"),
    ("en", say("gu_yanshen", "Wait, I need to tell you about—"), "interruption"),
    ("en", act("The door opens and Ethan walks in."), "arrival"),
    ("en", act("They finish dinner and smile at each other."), "none"),
    ("zh", say("gu_yanshen", "你到底想要什么？"), "question"),
    ("zh", say("gu_yanshen", "你真的不记得我了吗"), "question"),  # 吗 without a question mark
    ("zh", say("gu_yanshen", "再敢碰她，我让你后悔一辈子。"), "threat"),
    ("zh", act("原来她的真实身份是林家大小姐。"), "reveal"),
    ("zh", say("lin_wan", "我要告诉你一件事，其实我——"), "interruption"),
    ("zh", act("门开了，一个男人出现在门口。"), "arrival"),
    ("zh", act("两人相视一笑，一起吃完了晚饭。"), "none"),
])
def test_ending_kind(pack: GenrePack, language: str, last: Action | DialogueLine, kind: str) -> None:
    m = metrics(episode(scene(1, act("quiet"), last)), pack, language)
    assert m.ending_kind == kind
    assert m.cliffhanger_present is (kind != "none")


def test_ending_hook_counts_when_the_last_element_is_flat(pack: GenrePack) -> None:
    m = metrics(episode(scene(1, act("林晚低头。")), ending="门开了，顾言深出现在门口。"), pack)
    assert m.ending_kind == "arrival"
    assert "the last element does not match ending_hook" in m.format_problems


def test_paywall_flags(pack: GenrePack) -> None:
    s = spec(episodes=12, free=4)  # the paywall falls at episode 5
    assert episode_metrics(episode(scene(1, act("林晚低头。")), number=4), s, pack).paywall_cliffhanger
    assert episode_metrics(episode(scene(1, act("林晚低头。")), number=5), s, pack).paywall


@pytest.mark.parametrize("language, ending, picked_up, dropped", [
    ("en", "The door opens. Ethan stands there holding the divorce papers.",
     [act("Ethan drops the divorce papers on the table."), say("gu_yanshen", "Sign them.")],
     [act("Rain falls on a quiet harbour at dawn.")]),
    ("zh", "门开了，顾言深拿着离婚协议站在门口。",
     [act("顾言深把离婚协议扔在桌上。"), say("gu_yanshen", "签了它。")],
     [act("雨夜，港口一片寂静。")]),
])
def test_payoff_of_the_previous_cliffhanger(pack: GenrePack, language: str, ending: str,
                                            picked_up: list[Action | DialogueLine], dropped: list[Action]) -> None:
    before = episode(scene(1, act(ending)))
    paid = metrics(episode(scene(1, *picked_up), number=2), pack, language, previous=before)
    skipped = metrics(episode(scene(1, *dropped), number=2), pack, language, previous=before)
    assert paid.payoff_present and paid.payoff_score >= 0.3
    assert skipped.payoff_present is False and skipped.payoff_score == 0.0
    first = metrics(before, pack, language)
    assert first.payoff_score is None and first.payoff_present is None


def test_dialogue_to_action_ratio(pack: GenrePack) -> None:
    m = metrics(episode(scene(1, act("Ethan slams the door shut."),
                              say("gu_yanshen", "You will never see my daughter again, do you hear me?"))), pack, "en")
    assert (m.dialogue_units, m.action_units, m.dialogue_action_ratio) == (11, 5, 2.2)
    talk = metrics(episode(scene(1, say("gu_yanshen", "Talk."))), pack, "en")
    assert talk.action_units == 0 and talk.dialogue_action_ratio is None


def test_distinct_n_repetitive_against_varied(pack: GenrePack) -> None:
    repetitive = metrics(episode(scene(1, say("lin_wan", "no no no no"), say("lin_wan", "no no no no"))), pack, "en")
    varied = metrics(episode(scene(1, say("lin_wan", "Sign the divorce papers now."),
                                   say("gu_yanshen", "Never, I will fight you."))), pack, "en")
    assert (repetitive.distinct_1, repetitive.distinct_2) == (0.125, round(1 / 6, 3))
    assert (varied.distinct_1, varied.distinct_2) == (1.0, 1.0)
    zh = metrics(episode(scene(1, say("lin_wan", "好好好好"))), pack)
    assert zh.distinct_1 == 0.25  # Chinese counts characters


def test_slop_hits_counted(pack: GenrePack) -> None:
    en = metrics(episode(scene(1, act("A wave of anger crashes over her."), act("She couldn't help but smile."),
                               act("The room fell silent."))), pack, "en")
    # Two stock phrases of our list, one from the revenge pack's avoid list.
    assert en.slop_hits == 3 and en.slop_per_1000 == round(3 / en.units * 1000, 2)
    assert set(en.slop_found) == {"a wave of", "couldn't help but", "the room fell silent"}
    zh = metrics(episode(scene(1, act("她眼中闪过一丝狠厉，不由得后退。"),
                               say("lin_wan", "你好。", parenthetical="嘴角勾起一抹冷笑"))), pack)
    assert zh.slop_hits == 3  # the longest phrase wins: 眼中闪过一丝狠厉 is one hit, not two
    assert "眼中闪过一丝狠厉" in zh.slop_found
    clean = metrics(episode(scene(1, act("林晚推门而入。"))), pack)
    assert clean.slop_hits == 0 and clean.slop_per_1000 == 0.0


def _well_formed(number: int = 1) -> EpisodeScript:
    # 60 s asks for 2-3 scenes of 7-11 elements (agents.writer.scene_guide).
    body = [act("林晚走进大厅。"), say("lin_wan", "我回来了。")] * 3
    return episode(scene(1, *body, act("顾言深看着她。")), scene(2, *body, act("门开了。")), number=number)


def test_format_compliance(pack: GenrePack) -> None:
    bible = Bible.model_validate(load_sample("zh_bible"))
    good = metrics(_well_formed(), pack, bible=bible)
    assert good.format_problems == () and good.format_pass_rate == 1.0 and good.format_checks == 7

    # Models that validation would reject can still come from a model's raw output: build them unchecked.
    stray = Scene.model_construct(number=1, int_ext="INT", location="hall", time="night", cast=("lin_wan",),
                                  elements=(say("lin_xuerou", "你好。"), act("门开了。")))
    late = Scene.model_construct(number=3, int_ext="INT", location="hall", time="night", cast=("stranger",),
                                 elements=(act("门开了。"),))
    bad = EpisodeScript.model_construct(episode=1, title="坏", scenes=(stray, late), ending_hook="她笑了。")
    m = metrics(bad, pack, bible=bible)
    assert "scene 1: lin_xuerou speaks but is not in the cast" in m.format_problems
    assert "scene 2 is numbered 3" in m.format_problems
    assert "the last element does not match ending_hook" in m.format_problems
    assert "scene 2: stranger is not a bible character" in m.format_problems
    assert m.format_pass_rate < 0.5

    near = episode(scene(1, act("林晚低头。"), say("lin_wan", "“你是谁？”")), ending="你是谁")
    assert "the last element does not match ending_hook" not in metrics(near, pack).format_problems


def _shots(durations: list[float], target: str = "kling") -> ShotList:
    shots, start = [], 0.0
    for i, d in enumerate(durations, 1):
        shots.append(Shot(
            episode=1, scene=1, shot_id=shot_id(1, 1, i), start_s=start, duration_s=d, shot_size="medium",
            angle="eye_level", movement="static", lens="35mm", characters=(), location="hall", time_of_day="night",
            action="林晚走进大厅。", dialogue=(), sound=Sound(vo_os=None, music_cue=None), on_screen_text=None,
            first_frame_ref=None, last_frame_ref=None, prompt="a woman enters a hall", prompt_native="林晚走进大厅",
            negative_prompt="", beat_role="other"))
        start += d
    return ShotList(episode=1, target=target, runtime_s=60, shots=shots)


def test_shot_list_fit(pack: GenrePack) -> None:
    shots = _shots([10] * 6 + [7.5, 7.5])  # 75 s against 60: +25 %, two shots off Kling's 5/10 s grid
    m = metrics(_well_formed(), pack, shots=shots)
    assert (m.shot_total_s, m.shot_runtime_error_pct, m.shot_off_grid) == (75.0, 25.0, 2)
    assert metrics(_well_formed(), pack, shots=shots, target="sora").shot_off_grid == 8  # 10 s is not a Sora length
    assert metrics(_well_formed(), pack, shots=_shots([7.5] * 8, "generic")).shot_off_grid is None
    assert metrics(_well_formed(), pack).shot_total_s is None
    with pytest.raises(ValueError, match="unknown video target"):
        metrics(_well_formed(), pack, target="imax")


def test_as_dict_is_json(pack: GenrePack) -> None:
    m = metrics(_well_formed(), pack, shots=_shots([10] * 6))
    data = json.loads(json.dumps(m.as_dict(), ensure_ascii=False))
    assert data["episode"] == 1 and isinstance(data["format_problems"], list)
    assert {"distinct_1", "opening_hook", "payoff_score"} <= HIGHER_IS_BETTER
    assert {"slop_per_1000", "runtime_abs_error_pct"} <= LOWER_IS_BETTER


# ---- per season ----------------------------------------------------------------------------------------

def _bible() -> Bible:
    data = load_sample("zh_bible")
    for c in data["characters"]:
        c["role"] = {"lin_wan": "protagonist", "lin_xuerou": "antagonist"}.get(c["id"], "love_interest")
    return Bible.model_validate(data)


def _season(root: Path, scripts: list[EpisodeScript], language: str = "zh", *, revision: int = 0) -> SeasonStore:
    store = SeasonStore.create(root, spec(language, episodes=12, free=4))
    store.write_model(root / "bible.json", _bible())
    for s in scripts:
        store.write_model(store.episode_dir(s.episode) / "script.json", s, {"revision": revision})
    return store


def _write_facts(store: SeasonStore, ep: int, facts: list[Fact], revision: int = 0) -> None:
    path = store.revision_path(ep, revision, "facts")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f.model_dump_json() + "\n" for f in facts), encoding="utf-8")


def _present(who: str, ep: int) -> Fact:
    return Fact(subject=who, kind="presence", attribute="appears", value=True, episode=ep, scene=1, evidence="x")


@pytest.mark.parametrize("planted, rule", [
    # Named by her alias: the replay resolves names through the bible, as the room's ledger does.
    (_present("林雪柔", 3), "dead_character_active"),
    (Fact(subject="lin_wan", kind="trait", attribute="age_at_start", value=30, episode=3, scene=1), "trait_changed"),
])
def test_continuity_violation_density(tmp_path: Path, pack: GenrePack, planted: Fact, rule: str) -> None:
    store = _season(tmp_path / "s", [_well_formed(n) for n in range(1, 7)], revision=1)
    died = Fact(subject="lin_xuerou", kind="state", attribute="status", value="dead", episode=2, scene=2, change=True)
    facts = {1: [_present("lin_wan", 1), _present("lin_xuerou", 1)], 2: [_present("lin_wan", 2), died],
             3: [_present("lin_wan", 3), planted], 4: [_present("lin_wan", 4)], 5: [], 6: [_present("lin_wan", 6)]}
    for ep, found in facts.items():
        _write_facts(store, ep, found, revision=1)
        _write_facts(store, ep, [], revision=0)  # an earlier draft's facts must not be the ones replayed
    m = season_metrics(store, pack)
    assert m.continuity_violations == 1 and m.continuity_measured == 6 and m.continuity_not_measured == ()
    assert [(f.episode, f.rule) for f in m.continuity_findings] == [(3, rule)]
    assert m.continuity_units == sum(e.units for e in m.episodes)
    assert m.continuity_per_10k_units == round(10_000 / m.continuity_units, 2) > 0
    assert [e.continuity_violations for e in m.episodes] == [0, 0, 1, 0, 0, 0]

    # by_position: the paywall falls at episode 5, so episode 4's ending is the one that sells it.
    assert list(m.by_position) == ["first", "before_paywall_5", "paywall_5", "last"]
    assert m.by_position["paywall_5"].episode == 5 and m.by_position["last"].episode == 6
    data = json.loads(json.dumps(m.as_dict(), ensure_ascii=False))
    assert data["continuity_findings"][0]["episode"] == 3 and data["by_position"]["first"]["episode"] == 1


def test_episodes_without_facts_are_not_measured(tmp_path: Path, pack: GenrePack) -> None:
    store = _season(tmp_path / "s", [_well_formed(n) for n in range(1, 5)])
    m = season_metrics(store, pack)
    assert m.continuity_measured == 0 and m.continuity_not_measured == (1, 2, 3, 4)
    assert m.continuity_per_10k_units is None and m.continuity_violations == 0
    assert all(e.continuity_violations is None for e in m.episodes)

    _write_facts(store, 1, [_present("lin_wan", 1)])
    store.revision_path(2, 0, "facts").parent.mkdir(parents=True)
    store.revision_path(2, 0, "facts").write_text("not json\n", encoding="utf-8")  # damaged: not measured
    partly = season_metrics(store, pack)
    assert partly.continuity_measured == 1 and partly.continuity_not_measured == (2, 3, 4)
    assert partly.continuity_per_10k_units == 0.0


def test_repeated_ngrams_across_episodes(tmp_path: Path, pack: GenrePack) -> None:
    copied = "You will never take this company from me."
    scripts = [
        episode(scene(1, act("Ethan storms into the boardroom."), say("lin_wan", copied)), number=1),
        episode(scene(1, act("Rain hammers the hospital windows."), say("lin_wan", copied)), number=2),
        episode(scene(1, act("A stranger waits beside the harbour."), say("gu_yanshen", "Tomorrow everything changes.")),
                number=3),
    ]
    m = season_metrics(_season(tmp_path / "s", scripts, "en"), pack)
    shares = [e.repeated_ngram_share for e in m.episodes]
    assert shares[0] is None and shares[1] > 0.5 and shares[2] == 0.0
    assert m.repeated_ngram_rate == pytest.approx((shares[1] + shares[2]) / 2, abs=1e-3)
    assert ("never take this company", 2) in m.top_repeated_ngrams


def test_absent_protagonist_is_flagged(tmp_path: Path, pack: GenrePack) -> None:
    with_lead = scene(1, act("林晚推门而入。"), cast=("lin_wan", "lin_xuerou", "gu_yanshen"))
    without = scene(1, act("林雪柔冷笑。"), say("gu_yanshen", "她在哪？", delivery="VO"), cast=("lin_xuerou",))
    scripts = [episode(with_lead if n in (1, 7) else without, number=n) for n in range(1, 8)]
    m = season_metrics(_season(tmp_path / "s", scripts), pack)
    who = {c.id: c for c in m.characters}
    assert who["lin_wan"].episodes == (1, 7) and who["lin_wan"].longest_absence == 5
    assert who["lin_wan"].share == round(2 / 7, 3) and who["lin_wan"].flagged
    assert who["gu_yanshen"].share == 1.0  # a voice-over line counts as presence
    assert who["lin_xuerou"].longest_absence == 0 and not who["lin_xuerou"].flagged
    assert m.absent_leads == ("lin_wan",)


@pytest.mark.parametrize("script_id", ["script_0080", "script_1323", "script_4545"])
def test_human_scripts_measure_in_sane_ranges(tmp_path: Path, pack: GenrePack, script_id: str) -> None:
    from cliffhanger.app.importer import import_script

    if not DRAMABENCH.is_file():
        pytest.skip(f"DramaBench sample not found at {DRAMABENCH}")
    row = next((r for r in map(json.loads, DRAMABENCH.read_text(encoding="utf-8").splitlines())
                if r["id"] == script_id), None)
    if row is None:
        pytest.skip(f"{script_id} not in the DramaBench sample")
    src = tmp_path / f"{script_id}.fountain"
    src.write_text(row["context"] + "\n\n" + row["continuation"], encoding="utf-8")
    store = import_script(src, tmp_path / "season", genre="palace", language=None, title=None, episodes=60,
                          free=1, runtime=90)
    m = season_metrics(store, pack)
    assert len(m.episodes) == len(store.accepted_episodes()) >= 2
    for e in m.episodes:
        assert 0 < e.distinct_2 <= 1 and 0 < e.distinct_1 <= e.distinct_2
        assert 0 <= e.format_pass_rate <= 1 and e.units > 0 and e.runtime_s > 0
        assert e.ending_kind in ENDING_KINDS and e.slop_per_1000 >= 0
        assert e.payoff_score is None if e.episode == 1 else 0 <= e.payoff_score <= 1
    assert 0 <= m.repeated_ngram_rate <= 1
    assert m.continuity_measured == 0 and len(m.continuity_not_measured) == len(m.episodes)  # imports have no facts
    assert m.characters and all(0 <= c.share <= 1 for c in m.characters)
    assert {"first", "last"} <= set(m.by_position)
    json.dumps(m.as_dict())
