"""Where the head writer sees the season's architecture: the arc audit in `status` and at the arc review, the
board's marks, the paywall vocabulary in the exports, and walk-ons in the shot lists."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from season_kit import make_season, run_cli
from test_tui import season_open

from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.roles.shot_planner import ShotPlan, build_shot_list, plan_shots
from cliffhanger.agents.season.artifacts import ArcPlan, ArcRow, Bible, EpisodeScript, SeasonSpec
from cliffhanger.agents.season.report import audit_arc, audit_lines
from cliffhanger.agents.season.screenplay import zh_script
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.app.export_book import season_html, season_markdown
from cliffhanger.app.room import Room
from cliffhanger.app.tui.app import CliffhangerApp
from cliffhanger.app.tui.board import COLUMNS
from cliffhanger.genres.loader import builtin_catalog
from cliffhanger.memory.embeddings import HashEmbedding

# A 6-episode revenge season, free 2: episode 2 is the 卡点集, episode 3 the 付费首集.
# (payoff kind, intensity, cliffhanger kind, strength): every kind differs from its neighbours, the cut ends
# on a paywall kind of strength 5, the first paid episode on strength 5, one big payoff (on the first paid one).
CLEAN = [("public_face_slap", "small", "evidence_pending", 3),
         ("identity_drop", "medium", "identity_about_to_drop", 5),
         ("evidence_exposure", "big", "cornered_framed", 5),
         ("snob_flip", "medium", "villain_counterstrike", 3),
         ("villain_betrayal", "small", "ally_in_danger", 3),
         ("kneel_and_beg", "medium", "bigger_enemy_reveal", 4)]
CLERK = {"id": "sneering_clerk", "name": "势利店员",
         "look": "thin man in his forties, slicked-back hair, grey shop uniform with a brass name badge"}


def arc_rows(spec: SeasonSpec, *, repeat_payoff: bool = False, walk_on: bool = False) -> ArcPlan:
    rows = []
    for ep, (payoff_kind, intensity, kind, strength) in enumerate(CLEAN, start=1):
        if repeat_payoff and ep == 5:
            payoff_kind = CLEAN[3][0]  # episode 4's payoff again, the next episode
        rows.append({
            "episode": ep, "act": 1 if ep <= 2 else 2, "logline": f"第{ep}集：林晚步步紧逼。",
            "beats": ["林晚被当众羞辱", "林晚亮出底牌"], "payoff": "势利眼当场改口", "payoff_kind": payoff_kind,
            "intensity": intensity, "antagonist": None, "opening_hook": "一记耳光",
            "cliffhanger": {"kind": kind, "hook_line": f"第{ep}集的最后一句。", "strength": strength},
            "paywall": spec.is_paywall(ep), "reveals": [], "plants": [], "pays": [],
            "walk_ons": [CLERK] if walk_on and ep == 1 else [],
        })
    return ArcPlan.model_validate({"rows": rows})


def season_with_arc(root: Path, **faults: bool) -> SeasonStore:
    store = make_season(root, 6, free=2)
    store.write_arc(arc_rows(store.spec(), **faults))
    return store


# ---- status ------------------------------------------------------------------------------------------

def test_status_shows_the_audit_of_a_faulty_arc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = season_with_arc(tmp_path / "s", repeat_payoff=True)
    code, out, _ = run_cli(capsys, "status", store.root)
    assert code == 0
    assert "arc audit:" in out and "payoff_repeat" in out and "arc check" in out
    code, out, _ = run_cli(capsys, "status", store.root, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["arc_checked"] is True and isinstance(data["arc_skipped"], list)
    found = [f for f in data["arc_findings"] if f["rule"] == "payoff_repeat"]
    assert found and {4, 5} <= set(found[0]["episodes"])
    assert set(found[0]) >= {"rule", "episodes", "subject", "message"}
    marked = {ln["episode"] for ln in data["lines"] if ln["arc_findings"]}
    assert {4, 5} <= marked and 1 not in marked


def test_status_of_a_clean_arc_shows_no_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = season_with_arc(tmp_path / "s")
    code, out, _ = run_cli(capsys, "status", store.root, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["arc_checked"] is True and data["arc_findings"] == []
    assert not any(ln["arc_findings"] for ln in data["lines"])
    code, out, _ = run_cli(capsys, "status", store.root)
    assert code == 0 and "the arc audit found nothing" in out


def test_status_without_an_arc_or_with_an_unknown_genre_has_no_audit(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    store = make_season(tmp_path / "none", 6, free=2)
    code, out, _ = run_cli(capsys, "status", store.root, "--format", "json")
    assert code == 0 and json.loads(out)["arc_checked"] is False and json.loads(out)["arc_findings"] == []
    spec = SeasonSpec.create(title="T", logline="L.", genre="no_such_genre", language="zh", episodes=6,
                             free_episodes=2)
    store = SeasonStore.create(tmp_path / "odd", spec)
    store.write_arc(arc_rows(spec, repeat_payoff=True))
    code, out, err = run_cli(capsys, "status", store.root)
    assert code == 0 and "arc audit" not in out and "Traceback" not in err
    code, out, _ = run_cli(capsys, "status", store.root, "--format", "json")
    assert code == 0 and json.loads(out)["arc_checked"] is False


# ---- the arc review ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", [False, True], ids=["repaired", "left_a_fault"])
def test_the_arc_review_stop_prints_the_audit(tmp_path: Path, sim_url: str, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch, fault: bool) -> None:
    if fault:  # what repair cannot fix reaches the writer: here, a payoff kind repeated after the repair
        from cliffhanger.agents.season import arc_check, arc_repair

        repair = arc_repair.repair_arc

        def leaves_a_repeat(arc, bible, spec, pack):  # noqa: ANN001, ANN202
            fixed, _ = repair(arc, bible, spec, pack)
            kind = fixed.rows[0].payoff_kind or "public_face_slap"
            rows = (fixed.rows[0].model_copy(update={"payoff_kind": kind}),
                    fixed.rows[1].model_copy(update={"payoff_kind": kind}), *fixed.rows[2:])
            faulty = ArcPlan(rows=rows)
            return faulty, arc_check.check_arc(faulty, bible, spec, pack)

        monkeypatch.setattr(arc_repair, "repair_arc", leaves_a_repeat)
    store = make_season(tmp_path / "s", 4, free=2)
    code, out, err = run_cli(capsys, "draft", store.root, "--review", "arc", "--provider", "openai-compatible",
                             "--base-url", sim_url, "--model", "sim-drama")
    assert code == 0, err
    assert "ready for your review" in out and f"cliffhanger arc check {store.root}" in out
    audit = audit_arc(store)
    assert audit is not None
    flat = " ".join(out.split())
    lines = audit_lines([f.model_dump(mode="json") for f in audit.findings], list(audit.skipped))
    for line in lines:
        assert " ".join(line.split()) in flat  # every line of the audit, as the store's arc gives it
    if fault:
        assert "payoff_repeat" in flat and lines[0].startswith("arc audit:")


# ---- the board -----------------------------------------------------------------------------------------

async def test_the_board_marks_rows_with_findings(tmp_path: Path) -> None:
    store = season_with_arc(tmp_path / "s", repeat_payoff=True)
    showrunner = ScriptedClient("showrunner", {"text": ["ok"]})
    app = CliffhangerApp(store.root, opener=lambda d: Room.open(d, models={"showrunner": showrunner},
                                                                embedding=HashEmbedding()))
    arc = [key for key, _ in COLUMNS].index("arc")
    async with app.run_test(size=(110, 30)) as pilot:
        board = (await season_open(pilot)).board
        cells = board._cells
        assert cells[4][arc].endswith("!") and cells[5][arc].endswith("!")
        assert cells[1][arc] == "" and cells[2][arc] == ""
        detail = board.query_one("#board-detail")
        assert not detail.display  # the cursor is on episode 1, which has none
        board.table.move_cursor(row=3)
        await pilot.pause(0.1)
        assert detail.display and "payoff_repeat" in detail.visual.plain and "ep 4" in detail.visual.plain
        board.table.move_cursor(row=0)
        await pilot.pause(0.1)
        assert not detail.display
    bugs = [m for _, m in app.notices if m.startswith("internal error")]
    assert not bugs, bugs


# ---- exports -------------------------------------------------------------------------------------------

@pytest.fixture
def book(sample: Any) -> tuple[SeasonSpec, Bible, ArcPlan, dict[int, EpisodeScript]]:
    spec = SeasonSpec.create(title="真千金归来", logline="被诬陷的真千金归来复仇。", genre="revenge", language="zh",
                             episodes=6, free_episodes=2, paywall_episodes=[3])
    bible = Bible.model_validate(sample("zh_bible"))
    scripts = {ep: EpisodeScript.model_validate({**sample("zh_script"), "episode": ep, "title": f"标题{ep}"})
               for ep in (1, 2, 3, 4)}
    return spec, bible, arc_rows(spec), scripts


def test_the_book_and_the_zh_script_name_the_cut_and_the_first_paid_episode(book: Any) -> None:
    spec, bible, arc, scripts = book
    assert spec.episode_kind(2) == "cut" and spec.episode_kind(3) == "first_paid"
    page = season_html(spec, bible, arc, scripts, {})
    section = page.split('<section id="ep-2">', 1)[1].split("</h2>", 1)[0]
    assert "卡点集" in section
    assert "付费首集" in page.split('<section id="ep-3">', 1)[1].split("</h2>", 1)[0]
    assert "卡点集" not in page.split('<section id="ep-1">', 1)[1].split("</h2>", 1)[0]
    arc_table = page.split("<h2>Arc</h2>", 1)[1].split("</table>", 1)[0]
    row2 = arc_table.split("<tr><td>2</td>", 1)[1].split("</tr>", 1)[0]
    assert "卡点集" in row2 and "PAYWALL" not in page and "paywall cliffhanger" not in page
    md = season_markdown(spec, bible, arc, scripts, {})
    assert "**卡点集**" in md and "**付费首集**" in md and "## Episode 2: 标题2 (卡点集)" in md
    lines = zh_script([scripts[e] for e in sorted(scripts)], bible, spec).splitlines()
    assert "第2集 标题2（卡点集）" in lines and "第3集 标题3（付费首集）" in lines
    assert "第1集 标题1" in lines and "第4集 标题4" in lines


def test_english_labels_in_the_book(sample: Any) -> None:
    spec = SeasonSpec.create(title="The Heiress", logline="She takes it back.", genre="revenge_us", language="en",
                             episodes=4, free_episodes=2, paywall_episodes=[3])
    script = EpisodeScript.model_validate({**sample("en_script"), "episode": 2})
    page = season_html(spec, Bible.model_validate(sample("en_bible")), None, [script], [])
    assert "last free episode" in page.split('<section id="ep-2">', 1)[1].split("</h2>", 1)[0]


# ---- walk-ons in shot lists ----------------------------------------------------------------------------

def _walk_on_world(sample: Any) -> tuple[Bible, EpisodeScript, SeasonSpec, ArcRow, ShotPlan]:
    bible = Bible.model_validate(sample("zh_bible"))
    data = sample("zh_script")
    data["scenes"][0]["cast"] = [*data["scenes"][0]["cast"], CLERK["id"]]
    script = EpisodeScript.model_validate(data)
    spec = SeasonSpec.create(title="T", logline="L.", genre="revenge", language="zh", episodes=6, runtime_s=60,
                             free_episodes=2)
    row = arc_rows(spec, walk_on=True).row(1)
    shot = {
        "scene": 1, "shot_size": "medium", "angle": "eye_level", "movement": "static", "lens": "35mm",
        "characters": [CLERK["id"], "lin_wan"], "action": "The clerk sneers at her.", "dialogue": [],
        "sound": {"vo_os": None, "sfx": [], "music_cue": None}, "on_screen_text": None, "beat_role": "hook",
        "duration_hint_s": 5.0, "prompt": "Medium shot, the clerk sneers.", "prompt_native": "中景，店员冷笑。",
        "negative_prompt": "",
    }
    rest = [{**shot, "scene": 1 + i // 3, "characters": ["lin_wan"], "beat_role": "escalation"} for i in range(1, 6)]
    plan = ShotPlan.model_validate({"shots": [shot, *rest]})  # 6 shots: within the bounds of a 60 s episode
    return bible, script, spec, row, plan


def test_a_walk_on_in_the_cast_carries_its_look_into_the_shots(sample: Any) -> None:
    bible, script, spec, row, plan = _walk_on_world(sample)
    pack = builtin_catalog().get("revenge")
    shots = build_shot_list(plan, script=script, bible=bible, spec=spec, pack=pack, row=row)
    first = shots.shots[0]
    clerk = next(c for c in first.characters if c.id == CLERK["id"])
    assert clerk.descriptor == CLERK["look"] and clerk.reference_image is None
    assert CLERK["look"] in first.prompt and CLERK["look"] in first.prompt_native
    assert "sneering clerk: " in first.prompt and "势利店员：" in first.prompt_native
    assert [c.id for c in first.characters][1:] == ["lin_wan"]  # bible characters keep their locked look
    assert shots.problems_against(bible, row.walk_ons) == []
    assert any("not a bible character" in p for p in shots.problems_against(bible))
    without = build_shot_list(plan, script=script, bible=bible, spec=spec, pack=pack)
    assert [c.id for c in without.shots[0].characters] == ["lin_wan"]  # no row: only the bible's cast


def test_the_shot_planner_is_told_the_walk_on_look(sample: Any) -> None:
    bible, script, spec, row, plan = _walk_on_world(sample)
    model = ScriptedClient("shots", {"ShotPlan": [plan.model_dump(mode="json")]})
    shots, _ = asyncio.run(plan_shots(model, script=script, bible=bible, spec=spec,
                                      pack=builtin_catalog().get("revenge"), row=row))
    prompt = str(model.calls[0].messages[0][1])
    assert f"- {CLERK['id']} ({CLERK['name']}, walk-on in this episode only): {CLERK['look']}" in prompt
    assert CLERK["id"] in [c.id for c in shots.shots[0].characters]
