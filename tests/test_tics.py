"""Cringe as rules: the tic families catch variants and pass clean prose, packs' own tics are validated at
load, the showrunner's rule check names the tics, the eval metrics count them, the packs' examples are clean."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cliffhanger.agents.roles.showrunner import decision_rules
from cliffhanger.agents.roles.tics import script_tics, tic_note
from cliffhanger.agents.season.artifacts import (
    Action,
    ContinuityReport,
    DialogueLine,
    EpisodeScript,
    Scene,
    SeasonSpec,
    count_units,
)
from cliffhanger.evals.metrics import LOWER_IS_BETTER, episode_metrics
from cliffhanger.genres import cringe
from cliffhanger.genres.errors import GenreError
from cliffhanger.genres.loader import builtin_catalog, load_catalog

PACKS_DIR = Path(__file__).resolve().parents[1] / "genres" / "packs"

CLEAN_ZH = ("林晚把红本拍在男人胸口。男人低头看她，没接。保安冲进门，被他抬手拦下。"
            "林晚：先生，结个婚，十分钟，我付你五百。陆砚：一千。我排队也很辛苦。"
            "她掏出手机转账，屏幕亮起：到账一千元。他接过户口本，翻到第一页，愣住了。")
CLEAN_EN = ("Claire slams the divorce papers on the table and signs without reading. Mark reaches for the pen; "
            "she keeps it. CLAIRE: Keep the house. I'm taking the company. Mark laughs. Two lawyers walk in "
            "behind her and open their briefcases. His phone buzzes: the board has called an emergency vote.")


def texts(tics: list[cringe.Tic]) -> list[str]:
    return [t.text for t in tics]


# ---- the families ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "family", "span"), [
    ("她嘴角勾起一抹冷笑，转身就走。", "smirk", "嘴角勾起一抹冷笑"),
    ("他嘴角勾起一抹弧度。", "smirk", "嘴角勾起一抹弧度"),
    ("她嘴角微微上扬。", "smirk", "嘴角微微上扬"),
    ("林晚眼底闪过一丝寒意。", "flash_in_eyes", "眼底闪过一丝寒意"),
    ("他眼中闪过一丝不易察觉的温柔。", "flash_in_eyes", "眼中闪过一丝不易察觉的温柔"),
    ("她不禁后退半步。", "cannot_help", "不禁"),
    ("沈知微缓缓抬眼。", "slow_soft", "缓缓"),
    ("空气仿佛凝固了。", "frozen_air", "空气仿佛凝固了"),
    ("他意味深长地看了她一眼。", "meaningful", "意味深长"),
    ("一股莫名的情绪。", "nameless", "莫名"),
    ("他薄唇轻启。", "romance_face", "薄唇"),
])
def test_zh_families_catch_variants(text: str, family: str, span: str) -> None:
    found = cringe.find_tics(text, "zh")
    assert [(t.family, t.text) for t in found][:1] == [(family, span)]
    assert text[found[0].start:found[0].end] == span


@pytest.mark.parametrize(("text", "family", "span"), [
    ("A flicker of doubt crosses her face.", "flicker_of", "A flicker of doubt"),
    ("It was a testament to her patience.", "testament", "a testament to"),
    ("Something shifted between them.", "something_shifted", "Something shifted between them"),
    ("She let out a breath she didn't know she was holding.", "held_breath",
     "let out a breath she didn't know she was holding"),
    ("He let out a breath he didn't know he was holding.", "held_breath",
     "let out a breath he didn't know he was holding"),
    ("Her voice barely above a whisper, she says no.", "barely_a_whisper", "Her voice barely above a whisper"),
    ("He had eyes that held a storm.", "eyes_that_held", "eyes that held"),
    ("She feels the weight of the ring.", "weight_of", "the weight of"),
])
def test_en_families_catch_variants(text: str, family: str, span: str) -> None:
    found = cringe.find_tics(text, "en")
    assert [(t.family, t.text) for t in found] == [(family, span)]


def test_overlapping_families_count_once() -> None:
    # 一抹 is also a trace_of, 微微 a slow_soft: the longer smirk match wins, once.
    assert texts(cringe.find_tics("她嘴角勾起一抹冷笑，又嘴角微微上扬。", "zh")) == ["嘴角勾起一抹冷笑", "嘴角微微上扬"]


@pytest.mark.parametrize(("text", "language"), [(CLEAN_ZH, "zh"), (CLEAN_EN, "en")])
def test_clean_prose_has_no_tics(text: str, language: str) -> None:
    assert cringe.units(text) > 40  # the floor: a real paragraph, not an empty string
    assert cringe.find_tics(text, language) == []
    assert cringe.slop_rate([text], language) == 0.0


def test_units_and_rate_follow_the_script_unit() -> None:
    for text in (CLEAN_ZH, CLEAN_EN, "她嘴角勾起一抹冷笑。A flicker of 3 doubts, isn't it?"):
        assert cringe.units(text) == count_units(text)
    text = "她嘴角勾起一抹冷笑，不禁后退。"  # 13 characters, 2 tics
    assert cringe.slop_rate([text, ""], "zh") == round(2 / 13 * 1000, 2)
    assert cringe.slop_rate([], "zh") == 0.0


# ---- packs: tics and moves ------------------------------------------------------------------------


def pack_with(tmp_path: Path, **fields: object) -> Path:
    data = yaml.safe_load((PACKS_DIR / "revenge.yaml").read_text(encoding="utf-8"))
    data.update(id="revenge_plus", shadow=False, **fields)
    folder = tmp_path / "genres"
    folder.mkdir()
    (folder / "revenge_plus.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                              encoding="utf-8")
    return folder


def test_a_pack_adds_its_own_tics(tmp_path: Path) -> None:
    folder = pack_with(tmp_path, tics=[{"id": "slap_sound", "pattern": "啪的一声", "why": "耳光用音效写"}])
    pack = load_catalog([folder], include_user_dir=False, strict=True).get("revenge_plus")
    found = cringe.find_tics("啪的一声，她愣住了。", "zh", pack.tic_families())
    assert [(t.family, t.text) for t in found] == [("slap_sound", "啪的一声")]


@pytest.mark.parametrize("pattern", ["嘴角(勾起", "a*", "[unclosed"])
def test_a_pack_with_a_bad_regex_is_refused_in_one_line(tmp_path: Path, pattern: str) -> None:
    folder = pack_with(tmp_path, tics=[{"id": "bad", "pattern": pattern, "why": "x"}])
    with pytest.raises(GenreError) as info:
        load_catalog([folder], include_user_dir=False, strict=True)
    assert len(info.value.problems) == 1
    problem = info.value.problems[0]
    assert "\n" not in problem and "revenge_plus.yaml:" in problem and "tics.0.pattern" in problem
    assert repr(pattern) in problem


def test_moves_are_rules_for_the_writer() -> None:
    packs = builtin_catalog().packs
    zh = packs["urban_suspense"].writer_rules("zh")
    assert "我就是" in zh and "凶手不在最后" in zh and all(line.startswith("- ") for line in zh.splitlines())
    en = packs["urban_suspense"].writer_rules("en")
    assert "announces" in en and "The killer never explains" in en
    assert not any("\u4e00" <= c <= "\u9fff" for c in en)
    # rules moved out of the phrase lists, where a substring could never match them
    assert "靠主角降智或警察无能推进剧情" not in packs["urban_suspense"].avoid.zh
    common, own = cringe.moves_text("zh"), packs["revenge"].moves.zh  # the common moves, then the pack's own
    assert own and packs["revenge"].writer_rules("zh") == cringe.moves_text("zh", own)
    assert packs["revenge"].writer_rules("zh").startswith(common) and all(m in packs["revenge"].writer_rules("zh") for m in own)


@pytest.mark.parametrize("pid", sorted(builtin_catalog().packs))
def test_every_pack_example_is_clean(pid: str) -> None:
    pack = builtin_catalog().packs[pid]
    examples = [pack.examples.opening_hook, pack.examples.paywall_cliffhanger]
    assert sum(cringe.units(e) for e in examples) > 50
    found = [t.text for e in examples for t in cringe.find_tics(e, pack.language, pack.tic_families())]
    assert found == [] and cringe.slop_rate(examples, pack.language, pack.tic_families()) == 0.0


# ---- the rule check and the metrics ---------------------------------------------------------------


def script(*elements: Action | DialogueLine) -> EpisodeScript:
    scene = Scene(number=1, int_ext="INT", location="hall", time="night", cast=("lin_wan",), elements=elements)
    return EpisodeScript(episode=3, title="第三集", scenes=(scene,), ending_hook="门开了。")


TICCY = script(Action(text="林晚推门进来，全场安静。"), Action(text="许嘉看着她。"),
               Action(text="她嘴角勾起一抹冷笑。"),
               DialogueLine(speaker="lin_wan", line="账单先别结。", parenthetical="眼底闪过一丝寒意"),
               Action(text="许嘉不禁后退，缓缓放下酒杯。"))
CLEAN = script(Action(text="林晚推门进来，全场安静。"), DialogueLine(speaker="lin_wan", line="账单先别结。"))


def test_the_rule_note_names_the_tics_and_where() -> None:
    pack = builtin_catalog().packs["revenge"]
    assert [w for w, _ in script_tics(TICCY, pack, "zh")] == ["3-1 第3行", "3-1 第4行", "3-1 第5行", "3-1 第5行"]
    note = tic_note(TICCY, pack, "zh")
    assert note is not None and note.startswith("删掉AI腔：嘴角勾起一抹冷笑（3-1 第3行），眼底闪过一丝寒意（3-1 第4行）")
    assert "不禁（3-1 第5行），缓缓（3-1 第5行）" in note
    reasons = decision_rules(None, ContinuityReport(findings=()), 60, 60, pack, 7.0, script=TICCY, language="zh")
    assert reasons == [note]
    assert decision_rules(None, ContinuityReport(findings=()), 60, 60, pack, 7.0, script=CLEAN, language="zh") == []
    assert tic_note(CLEAN, pack, "zh") is None


def test_the_note_names_at_most_five() -> None:
    pack = builtin_catalog().packs["revenge"]
    many = script(*(Action(text=f"第{i}个人缓缓点头。") for i in range(8)))
    note = tic_note(many, pack, "zh")
    assert note is not None and note.count("缓缓（") == 5 and "等 8 处" in note


def test_eval_metrics_report_the_slop_rate() -> None:
    pack = builtin_catalog().packs["revenge"]
    spec = SeasonSpec.create(title="千金归来", logline="被调包的真千金回到豪门复仇。", genre="revenge", language="zh",
                             episodes=12, runtime_s=60, free_episodes=4)
    m = episode_metrics(TICCY, spec, pack)
    assert m.tic_hits == 4 and m.slop_rate == round(4 / m.units * 1000, 2)
    assert set(m.tics_found) == {"嘴角勾起一抹冷笑", "眼底闪过一丝寒意", "不禁", "缓缓"}
    assert episode_metrics(CLEAN, spec, pack).slop_rate == 0.0
    assert {"slop_rate", "tic_hits"} <= LOWER_IS_BETTER
