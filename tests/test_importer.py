"""`cliffhanger new --from`: importing a script's opening (DramaBench Fountain, Chinese plain text) as a season."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from screenplain import types as sp
from screenplain.parsers import fountain as fountain_parser

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.season.artifacts import Bible, EpisodeScript
from cliffhanger.app.importer import import_script, normalise_cue, parse_script, split_cue

DRAMABENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "dramabench" / "dramabench_continuation_100.jsonl"
# A plain opening, one with V.O./O.S./CONT'D cues, one with a joint cue ("A & B").
PICKS = ("script_0080", "script_1323", "script_4545")


def _dramabench(script_id: str) -> dict:
    if not DRAMABENCH.is_file():
        pytest.skip(f"DramaBench sample not found at {DRAMABENCH}")
    for line in DRAMABENCH.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] == script_id:
            return row
    pytest.skip(f"{script_id} not in the DramaBench sample")


def _cues(text: str) -> list[tuple[str, bool]]:
    """(cue, has speech) for every dialogue block screenplain finds, in order."""
    out = []
    for p in fountain_parser.parse(io.StringIO(text)):
        for d in (p.left, p.right) if isinstance(p, sp.DualDialog) else (p,) if isinstance(p, sp.Dialog) else ():
            out.append((str(d.character), any(not par and str(t).strip() for par, t in d.blocks)))
    return out


def _new(src: Path, directory: Path, **kw: object):
    args = {"genre": "palace", "language": None, "title": None, "episodes": 60, "free": 10, "runtime": 90} | kw
    return import_script(src, directory, **args)


def _presence(directory: Path) -> set[str]:
    with sqlite3.connect(directory / "canon.sqlite") as db:
        return {s for (s,) in db.execute("SELECT subject FROM facts WHERE kind = 'presence' AND episode >= 1")}


@pytest.mark.parametrize("script_id", PICKS)
def test_dramabench_opening_imports_as_season(tmp_path: Path, script_id: str) -> None:
    row = _dramabench(script_id)
    src = tmp_path / f"{script_id}.fountain"
    src.write_text(row["context"], encoding="utf-8")
    season = tmp_path / "season"
    # A long runtime keeps the whole opening in episode 1, so it can be compared with screenplain's own parse.
    store = _new(src, season, runtime=600, episodes=10, free=3)

    bible = Bible.model_validate_json(_strip_meta(season / "bible.json"))
    names = {n.upper(): c.id for c in bible.characters for n in (c.name, *c.aliases)}
    cues = [(c, spoken) for c, spoken in _cues(row["context"]) if normalise_cue(c)]
    spoken_cues = [c for c, spoken in cues if spoken]
    for cue, _ in cues:
        for who in normalise_cue(cue).split(" & "):
            assert who.upper() in names, f"{cue!r} has no bible character: {sorted(names)}"
    present = _presence(season)
    for cue in spoken_cues:
        name = normalise_cue(cue).split(" & ")[0]
        on_screen = [c for c in spoken_cues if normalise_cue(c).split(" & ")[0] == name and split_cue(c)[1] is None]
        if on_screen:
            assert names[name.upper()] in present, f"no presence fact for {name}"

    assert store.accepted_episodes() == [1]
    script = EpisodeScript.model_validate_json(_strip_meta(season / "episodes" / "001" / "script.json"))
    assert len(script.dialogue()) == len(spoken_cues) == len(parse_script(src).dialogue())
    assert (season / "episodes" / "001" / "script.fountain").is_file()
    review = json.loads((season / "episodes" / "001" / "review.json").read_text(encoding="utf-8"))
    assert review["accepted_revision"] == 0 and review["imported_from"] == src.name
    spec = store.spec()
    assert spec.title == row["title"] and spec.episodes == 10 and spec.language == "en"
    assert bible.characters[0].role == "protagonist" and "to be described" in bible.characters[0].visual.face
    plan = json.loads((season / "plan" / "imported.json").read_text(encoding="utf-8"))
    assert [r["episode"] for r in plan["rows"]] == [1] and plan["rows"][0]["cliffhanger"]["hook_line"] == script.ending_hook
    with sqlite3.connect(season / "canon.sqlite") as db:
        endings = db.execute("SELECT episode, text FROM docs WHERE kind = 'ending'").fetchall()
    assert endings == [(1, script.ending_hook)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".season")]  # no temp folder left


def test_opening_splits_into_episodes_of_about_the_runtime(tmp_path: Path) -> None:
    row = _dramabench("script_0080")
    src = tmp_path / "opening.fountain"
    src.write_text(row["context"], encoding="utf-8")
    store = _new(src, tmp_path / "season", runtime=45, episodes=12, free=2)
    episodes = store.accepted_episodes()
    assert len(episodes) >= 2
    plan = json.loads((tmp_path / "season" / "plan" / "imported.json").read_text(encoding="utf-8"))
    parsed = parse_script(src).dialogue()
    for ep, info in zip(episodes, plan["episodes"], strict=True):
        script = store.script(ep)
        first, last = info["source_lines"]
        assert len(script.dialogue()) == len([d for d in parsed if first <= d.line <= last])
        assert info["estimated_runtime_s"] <= 45 * 1.5
    assert sum(len(store.script(ep).dialogue()) for ep in episodes) == len(parsed)
    assert [r["paywall"] for r in plan["rows"]] == [store.spec().is_paywall(ep) for ep in episodes]


def test_fountain_episode_sections_split_episodes(tmp_path: Path) -> None:
    src = tmp_path / "two.fountain"
    src.write_text("Title: Two Nights\n\n# Episode 1\n\nINT. HALL - NIGHT\n\nLIN WAN enters.\n\nLIN WAN\nWho is there?\n\n"
                   "# Episode 2\n\nEXT. GATE - DAWN\n\nGU CHEN (V.O.)\nIt was me.\n\nLIN WAN (CONT'D)\n(whispering)\nYou.\n",
                   encoding="utf-8")
    store = _new(src, tmp_path / "season", episodes=5, free=2)
    assert store.accepted_episodes() == [1, 2]
    two = store.script(2)
    assert two.scenes[0].time == "dawn" and two.scenes[0].int_ext == "EXT"
    assert [(d.speaker, d.delivery) for d in two.dialogue()] == [("gu_chen", "VO"), ("lin_wan", None)]
    assert two.scenes[0].cast == ("lin_wan",)  # a voice-over is not on screen


ZH_SCRIPT = """标题：重生嫡女
简介：被害死的嫡女重生回到十五岁，誓要让仇人血债血偿。

第1集
1-1 苏府正厅 夜 内
人物：苏晚、苏柔、继母
△ 苏晚跪在地上，浑身是伤。
继母（冷笑）：你也配做苏家的嫡女？
苏柔：姐姐，这杯酒，你就喝了吧。
苏晚（咬牙）：我做鬼也不会放过你们！
△ 苏晚倒下，眼中映出火光。
1-2 苏府闺房 日 内
△ 苏晚猛然惊醒，看着铜镜里十五岁的自己。
苏晚（OS）：我……回来了？
第2集
2-1 苏府花园 日 外
△ 苏柔端着点心走来，笑得温柔。
苏柔：姐姐，尝尝我亲手做的桂花糕。
苏晚：妹妹的手艺，我可不敢尝。
"""


def test_chinese_plain_text_imports(tmp_path: Path) -> None:
    src = tmp_path / "重生嫡女.txt"
    src.write_text(ZH_SCRIPT, encoding="utf-8")
    store = _new(src, tmp_path / "season", episodes=30, free=5, runtime=60)
    spec = store.spec()
    assert spec.language == "zh" and spec.title == "重生嫡女" and spec.logline.startswith("被害死的嫡女")
    bible = store.bible()
    assert {c.name for c in bible.characters} == {"苏晚", "苏柔", "继母"}
    assert bible.characters[0].name == "苏晚" and bible.characters[0].role == "protagonist"
    assert all(c.id.startswith("char_") for c in bible.characters)
    assert {loc.name for loc in bible.locations} == {"苏府正厅", "苏府闺房", "苏府花园"}
    assert store.accepted_episodes() == [1, 2]
    one = store.script(1)
    assert [s.time for s in one.scenes] == ["night", "day"] and one.scenes[1].int_ext == "INT"
    assert len(one.dialogue()) == 4 and len(store.script(2).dialogue()) == 2
    first = one.dialogue()[0]
    assert first.parenthetical == "冷笑" and first.line == "你也配做苏家的嫡女？"
    assert one.dialogue()[-1].delivery == "OS"
    assert _presence(tmp_path / "season") == {c.id for c in bible.characters}
    assert "苏晚" in (tmp_path / "season" / "episodes" / "001" / "script.fountain").read_text(encoding="utf-8")


@pytest.mark.parametrize("content, line", [
    (b"INT. HALL - NIGHT\n\nLIN WAN\nHello.\n\x00\x01\x02\xff\xfe binary", 5),
    (b"Title: Quiet\n\nINT. HALL - NIGHT\n\nThe room is empty.\n\nRain falls.\n", 1),
    ("△ 苏晚推门而入。\n△ 屋里没有人。\n".encode(), 1),
    (b"\xff\xfe\xfa\xfb\xfc" * 20, 1),
])
def test_unreadable_scripts_are_refused_and_leave_nothing(tmp_path: Path, content: bytes, line: int) -> None:
    src = tmp_path / "broken.fountain"
    src.write_bytes(content)
    season = tmp_path / "season"
    with pytest.raises(UserError) as err:
        _new(src, season)
    message = str(err.value)
    assert message.startswith(f"broken.fountain:{line}:") and "\n" not in message
    assert not season.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["broken.fountain"]


def test_impossible_spec_and_busy_folder_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "s.fountain"
    src.write_text("INT. HALL - NIGHT\n\nLIN WAN\nHello.\n", encoding="utf-8")
    with pytest.raises(UserError, match="free_episodes"):
        _new(src, tmp_path / "a", episodes=5, free=5)
    with pytest.raises(UserError, match="--episodes 2"):
        _new(src, tmp_path / "b", episodes=1, free=0)
    busy = tmp_path / "c"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not an empty folder"):
        _new(src, busy)
    with pytest.raises(UserError, match="not found"):
        _new(tmp_path / "missing.fountain", tmp_path / "d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "s.fountain"]


def _strip_meta(path: Path) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("_meta", None)
    return json.dumps(data)
