"""Screenplay exports checked by real parsers: screenplain and fountain-py for Fountain, ElementTree for FDX."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fountain import ElementType, FountainParser
from screenplain.parsers import fountain as sp_fountain
from screenplain.types import Action as SpAction
from screenplain.types import Dialog, Section, Slug, Transition

from cliffhanger.agents.season.artifacts import Action, Bible, DialogueLine, EpisodeScript, SeasonSpec
from cliffhanger.agents.season.screenplay import (
    CUT,
    FDX_DECLARATION,
    SMASH_CUT,
    fdx_document,
    fountain,
    fountain_episode,
    fountain_season,
    zh_script,
)

ZWSP = "\u200b"


def _spec(language: str, **kw) -> SeasonSpec:
    return SeasonSpec.create(title=f"Title {language} 标题", logline="A wronged heiress takes it all back.",
                             genre="revenge", language=language, **kw)


def _load(sample, language: str) -> tuple[Bible, EpisodeScript]:
    return (Bible.model_validate(sample(f"{language}_bible")),
            EpisodeScript.model_validate(sample(f"{language}_script")))


def _season(script: EpisodeScript, n: int = 2) -> list[EpisodeScript]:
    return [script.model_copy(update={"episode": script.episode + i}) for i in range(n)]


def _counts(scripts: list[EpisodeScript]) -> dict[str, int]:
    lines = [d for s in scripts for d in s.dialogue()]
    return {"scenes": sum(len(s.scenes) for s in scripts), "dialogue": len(lines),
            "parenthetical": sum(1 for d in lines if d.parenthetical),
            "action": sum(len(s.actions()) for s in scripts) + len(scripts)}  # + the centered hook


def _screenplain(text: str):
    return sp_fountain.parse_lines(text.splitlines())


def _check_fountain(text: str, scripts: list[EpisodeScript]) -> None:
    want = _counts(scripts)
    play = _screenplain(text)
    kinds = [type(p) for p in play.paragraphs]
    assert kinds.count(Slug) == want["scenes"]
    assert kinds.count(Dialog) == want["dialogue"]
    assert kinds.count(SpAction) == want["action"]
    assert kinds.count(Transition) == len(scripts)
    assert kinds.count(Section) == len(scripts)
    dialogs = [p for p in play.paragraphs if isinstance(p, Dialog)]
    assert sum(1 for d in dialogs for paren, _ in d.blocks if paren) == want["parenthetical"]
    assert sum(1 for d in dialogs for paren, _ in d.blocks if not paren) == want["dialogue"]

    doc = FountainParser().parse(text)
    types = [e.type for e in doc.elements]
    assert types.count(ElementType.SCENE_HEADING) == want["scenes"]
    assert types.count(ElementType.CHARACTER) == want["dialogue"]
    assert types.count(ElementType.DIALOGUE) == want["dialogue"]
    assert types.count(ElementType.PARENTHETICAL) == want["parenthetical"]
    assert types.count(ElementType.TRANSITION) == len(scripts)
    assert types.count(ElementType.SECTION) == len(scripts)
    numbers = [e.metadata.get("scene_number") for e in doc.elements if e.type == ElementType.SCENE_HEADING]
    assert numbers == [sc.label(s.episode) for s in scripts for sc in s.scenes]


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("episodes", [1, 2])
def test_fountain_parses_with_both_parsers(sample, language, episodes):
    bible, script = _load(sample, language)
    spec = _spec(language)
    scripts = _season(script, episodes)
    text = fountain_episode(script, bible, spec) if episodes == 1 else fountain_season(scripts, bible, spec)
    _check_fountain(text, scripts)

    play = _screenplain(text)
    assert play.title_page["Title"] == [spec.title]
    assert play.title_page["Notes"] == [spec.logline]
    assert "Credit" in play.title_page
    meta = FountainParser().parse(text).metadata
    assert meta["title"] == spec.title and meta["notes"] == spec.logline and "credit" in meta

    names = {c.id: c.name for c in bible.characters}
    cues = [e.text for e in FountainParser().parse(text).elements if e.type == ElementType.CHARACTER]
    want = [names[d.speaker] for s in scripts for d in s.dialogue()]
    assert cues == ([n.upper() for n in want] if language == "en" else want)
    place = bible.locations[0].name
    assert f".INT. {place} - NIGHT #{script.episode}-1#" in text
    assert f"# Episode {script.episode}: {script.title}" in text
    assert f"> {script.ending_hook} <" in text
    assert text.rstrip().endswith(f">{SMASH_CUT}")
    if episodes == 2:
        assert f">{CUT}" in text


def test_delivery_becomes_extension(sample):
    bible, script = _load(sample, "zh")
    text = fountain_episode(script, bible, _spec("zh"))
    assert "@顾言深 (O.S.)" in text
    cue = next(e for e in FountainParser().parse(text).elements if e.text == "顾言深")
    assert cue.metadata["extension"] == "O.S."
    vo = _with_elements(script, [DialogueLine(speaker="lin_wan", line="我回来了。", delivery="VO")])
    assert "@林晚 (V.O.)" in fountain_episode(vo, bible, _spec("zh"))


def test_paywall_cliffhanger_smash_cuts(sample):
    bible, script = _load(sample, "en")
    spec = _spec("en", free_episodes=1, paywall_episodes=[2, 20])  # episode 1 is the last free one
    text = fountain_season(_season(script, 3), bible, spec)
    transitions = [e.text for e in FountainParser().parse(text).elements if e.type == ElementType.TRANSITION]
    assert transitions == [SMASH_CUT, CUT, SMASH_CUT]


def test_legacy_fountain_wrapper(sample):
    bible, script = _load(sample, "zh")
    text = fountain(script, bible, "替嫁千金")
    _check_fountain(text, [script])
    assert _screenplain(text).title_page["Title"] == ["替嫁千金"]
    assert "@林雪柔" in text and "lin_xuerou" not in text
    no_bible = fountain(script, None, "x")
    _check_fountain(no_bible, [script])
    assert ".INT. lin_mansion_hall - NIGHT #1-1#" in no_bible and "\nLIN_WAN\n" in no_bible


# ---- hostile text -------------------------------------------------------------------------------

HOSTILE_ACTIONS = [
    "<b>&\"'</b>", "]]>", "INT. FAKE - DAY", "int. fake - night", "# not a section", "> not a transition",
    "CUT TO:", "BANG", "[[not a note]] still text", "/* not a boneyard", "*not italic*", "= not a synopsis",
    "~not a lyric", "@not a cue", "!bang", ".not a heading", "===", "> not centered <",
    "She reads the sign.\nEXT. FAKE - DAY\nIt is a prop.",
]
HOSTILE_LINES = ["(not a parenthetical)", "<b>&\"'", "# hash", "> arrow", "]]>", "!bang", ".dot", "@at", "===",
                 "[[not a note]]"]


def _with_elements(script: EpisodeScript, extra: list) -> EpisodeScript:
    first = script.scenes[0]
    scenes = (first.model_copy(update={"elements": first.elements + tuple(extra)}), *script.scenes[1:])
    return script.model_copy(update={"scenes": scenes})


def _hostile(sample) -> tuple[Bible, EpisodeScript]:
    bible, script = _load(sample, "en")
    extra = [{"type": "action", "text": t} for t in HOSTILE_ACTIONS]
    extra += [{"type": "dialogue", "speaker": "ava_reed", "parenthetical": "<i>&amp;", "line": t}
              for t in HOSTILE_LINES]
    data = script.model_dump()
    data["scenes"][0]["elements"] = [*data["scenes"][0]["elements"], *extra]
    data["scenes"][1]["location"] = "Room #5 <x> & co"
    data["ending_hook"] = "<b>She knows</b> & he knows ]]>"
    return bible, EpisodeScript.model_validate(data)


def test_hostile_text_stays_text_in_fountain(sample):
    bible, script = _hostile(sample)
    text = fountain_episode(script, bible, _spec("en"))
    _check_fountain(text, [script])
    doc = FountainParser().parse(text)
    spoken = [e.text.replace(ZWSP, "") for e in doc.elements if e.type == ElementType.DIALOGUE]
    assert spoken == [d.line for d in script.dialogue()]
    shown = "\n".join(e.text.replace(ZWSP, "") for e in doc.elements if e.type == ElementType.ACTION)
    for action in HOSTILE_ACTIONS:
        for line in action.splitlines():
            assert line in shown
    assert "<b>She knows</b> & he knows ]]>" in shown
    play_text = "\n".join(str(line).replace(ZWSP, "") for p in _screenplain(text).paragraphs
                          if isinstance(p, SpAction) for line in p.lines)
    for action in HOSTILE_ACTIONS:
        for line in action.splitlines():
            assert line in play_text


def _paragraphs(xml: str) -> list[tuple[str, str]]:
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == "FinalDraft" and root.attrib == {"DocumentType": "Script", "Template": "No", "Version": "5"}
    return [(p.get("Type"), p.findtext("Text")) for p in root.find("Content").iter("Paragraph")]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_fdx_paragraph_counts(sample, language):
    bible, script = _load(sample, language)
    scripts = _season(script)
    xml = fdx_document(scripts, bible, _spec(language))
    assert xml.startswith(FDX_DECLARATION)
    paras = _paragraphs(xml)
    kinds = [k for k, _ in paras]
    want = _counts(scripts)
    assert kinds.count("Scene Heading") == want["scenes"]
    assert kinds.count("Character") == want["dialogue"]
    assert kinds.count("Dialogue") == want["dialogue"]
    assert kinds.count("Parenthetical") == want["parenthetical"]
    assert kinds.count("Action") == want["action"]
    assert [t for k, t in paras if k == "Transition"] == [CUT, SMASH_CUT]
    root = ET.fromstring(xml.encode("utf-8"))
    numbers = [p.get("Number") for p in root.iter("Paragraph") if p.get("Type") == "Scene Heading"]
    assert numbers == ["1-1", "1-2", "2-1", "2-2"]
    assert root.find("TitlePage") is not None


def test_fdx_round_trips_hostile_text(sample):
    bible, script = _hostile(sample)
    xml = fdx_document([script], bible, _spec("en"))
    paras = _paragraphs(xml)
    assert [t for k, t in paras if k == "Action"] == [a.text for a in script.actions()] + [script.ending_hook]
    assert [t for k, t in paras if k == "Dialogue"] == [d.line for d in script.dialogue()]
    assert [t for k, t in paras if k == "Parenthetical"] == [f"({d.parenthetical})" for d in script.dialogue()
                                                             if d.parenthetical]
    assert [t for k, t in paras if k == "Scene Heading"][1] == "INT. Room 5 <x> & co - NIGHT"
    assert "<b>" not in xml and "&lt;b&gt;" in xml


def test_fdx_drops_characters_xml_forbids(sample):
    bible, script = _load(sample, "en")
    bad = _with_elements(script, [Action(text="bell\x07 rings\x00")])
    paras = _paragraphs(fdx_document([bad], bible, _spec("en")))
    assert ("Action", "bell rings") in paras


# ---- Chinese format -----------------------------------------------------------------------------


def test_zh_script_layout(sample):
    bible, script = _load(sample, "zh")
    scripts = _season(script)
    text = zh_script(scripts, bible, _spec("zh"))
    lines = text.splitlines()
    assert "第1集 订婚宴惊变" in lines and "第2集 订婚宴惊变" in lines
    assert [ln for ln in lines if ln[:2] in ("1-", "2-")] == [
        "1-1 内 林家大厅 夜", "1-2 内 林家大厅 夜", "2-1 内 林家大厅 夜", "2-2 内 林家大厅 夜"]
    assert lines.count("人物：林晚、林雪柔") == 4
    want = _counts(scripts)
    assert sum(ln.startswith("△") for ln in lines) == want["action"] - len(scripts)
    speeches = [ln for ln in lines if "：" in ln and not ln.startswith(("人物：", "△", "【"))]
    assert len(speeches) == want["dialogue"]
    assert "林雪柔（捂着脖子）：我的项链不见了！刚才只有姐姐靠近过我。" in lines
    assert "顾言深（OS）：把人放开。" in lines
    assert lines.count(f"【卡点】{script.ending_hook}") == 2
    assert "lin_wan" not in text and "lin_mansion_hall" not in text


def test_zh_script_voice_over_and_brackets(sample):
    bible, script = _load(sample, "zh")
    extra = [DialogueLine(speaker="lin_wan", line="那一年，我死了。", delivery="VO"),
             DialogueLine(speaker="gu_yanshen", parenthetical="（冷笑）", line="是吗？", delivery="OS"),
             DialogueLine(speaker="stranger", line="谁？", delivery="OS")]
    lines = zh_script([_with_elements(script, extra)], bible, _spec("zh")).splitlines()
    assert "林晚（旁白）：那一年，我死了。" in lines
    assert "顾言深（OS，冷笑）：是吗？" in lines
    assert "stranger（OS）：谁？" in lines
