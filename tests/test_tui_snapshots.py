"""SVG snapshots of two stable screens: the new-season form and the board of a fixed season.

pytest-textual-snapshot pins syrupy 4.8, which pins pytest < 9, so the comparison is done here with
`App.export_screenshot()` against tests/snapshots/*.svg. After an intended change of the UI (or a
Textual upgrade that redraws it), regenerate with UPDATE_TUI_SNAPSHOTS=1 and look at the SVGs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from season_kit import make_season

from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.app.room import Room
from cliffhanger.app.tui.app import CliffhangerApp
from cliffhanger.app.tui.new_season import NewSeasonScreen
from cliffhanger.app.tui.season import SeasonScreen
from cliffhanger.memory.embeddings import HashEmbedding

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
DATA = Path(__file__).resolve().parent / "data"
SIZE = (100, 22)
KINDS = ("identity_reveal", "cornered", "revenge_launch", "secret_surfacing", "threat", "question")


def assert_snapshot(app: CliffhangerApp, name: str, tmp_path: Path) -> None:
    svg = app.export_screenshot(title=name)
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("UPDATE_TUI_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path.name}: run with UPDATE_TUI_SNAPSHOTS=1 to create it, then look at it")
    if svg != path.read_text(encoding="utf-8"):
        actual = tmp_path / f"{name}.actual.svg"
        actual.write_text(svg, encoding="utf-8")
        pytest.fail(f"{name} differs from {path}; the screen as drawn now is {actual} "
                    "(UPDATE_TUI_SNAPSHOTS=1 accepts it)")


def fixed_season(root: Path) -> Path:
    """Six episodes in every board state, written by hand so the board never varies:
    1 accepted (score, one open finding), 2 in review, 3 drafting, 4-6 planned."""
    store = make_season(root, 6, free=2)
    spec = store.spec()
    sample = json.loads((DATA / "zh_arc.json").read_text(encoding="utf-8"))["rows"]
    rows = []
    for ep in range(1, 7):
        row = dict(sample[(ep - 1) % len(sample)], episode=ep, act=1 + (ep - 1) // 3, reveals=[],
                   paywall=spec.is_paywall(ep))
        row["cliffhanger"] = dict(row["cliffhanger"], kind=KINDS[ep - 1])
        rows.append(row)
    (root / "arc.json").write_text(json.dumps({"rows": rows}, ensure_ascii=False), encoding="utf-8")
    script = json.loads((DATA / "zh_script.json").read_text(encoding="utf-8"))
    for ep in (1, 2, 3):
        folder = store.episode_dir(ep) / "revisions"
        folder.mkdir(parents=True)
        (folder / "r00.draft.json").write_text(json.dumps(dict(script, episode=ep), ensure_ascii=False), encoding="utf-8")
    (store.episode_dir(2) / "revisions" / "r00.critique.json").write_text("{}", encoding="utf-8")
    (store.episode_dir(1) / "script.json").write_text(json.dumps(dict(script, episode=1), ensure_ascii=False),
                                                       encoding="utf-8")
    finding = {"rule": "trait_changed", "severity": "error", "subject": "lin_wan", "canon_fact": "eyes: brown",
               "script_quote": "她的蓝眼睛", "episode": 1, "scene": 1, "explanation": "eye colour changed",
               "suggested_fix": "brown eyes"}
    (store.episode_dir(1) / "review.json").write_text(json.dumps(
        {"accepted_revision": 0, "revisions": [{"revision": 0, "overall": 7.4}], "open_findings": [finding]},
        ensure_ascii=False), encoding="utf-8")
    return root


async def test_snapshot_new_season_form(tmp_path: Path) -> None:
    app = CliffhangerApp(None, new_folder=Path("my-season"), opener=lambda d: None)
    async with app.run_test(size=SIZE) as pilot:
        while not isinstance(app.screen, NewSeasonScreen):
            await pilot.pause(0.05)
        app.screen.set_focus(None)  # no blinking cursor in the picture
        await pilot.pause(0.1)
        await pilot.wait_for_scheduled_animations()
        assert_snapshot(app, "new_season_form", tmp_path)


async def test_snapshot_board_of_a_fixed_season(tmp_path: Path) -> None:
    root = fixed_season(tmp_path / "fixed")
    showrunner = ScriptedClient("showrunner", {"text": ["ok"]})
    app = CliffhangerApp(root, opener=lambda d: Room.open(d, models={"showrunner": showrunner},
                                                          embedding=HashEmbedding()))
    async with app.run_test(size=SIZE) as pilot:
        while not (isinstance(app.screen, SeasonScreen) and app.screen.summary is not None):
            await pilot.pause(0.05)
        season = app.screen
        assert [season.board.statuses()[e] for e in range(1, 7)] == ["accepted", "in review", "drafting", "planned",
                                                                      "planned", "planned"]
        await pilot.pause(0.1)
        await pilot.wait_for_scheduled_animations()
        assert_snapshot(app, "board_fixed_season", tmp_path)
