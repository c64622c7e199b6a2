"""The season curve: its series are the arc and the reviews they come from; it is drawn as SVG (the HTML book),
as a PNG beside report.md, as sparklines on the board, and given as data by `status --format json`; an
imported season and one mid-draft draw without error; hostile text stays text."""

from __future__ import annotations

import io
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from curve_kit import (
    DRAFTED,
    EPISODES,
    HOSTILE,
    INTENSITY,
    PAYOFF_KINDS,
    SCORES,
    STRENGTH,
    accept,
    curve_season,
)
from season_kit import make_season, run_cli

from cliffhanger.agents.season.curve import PlantLink, RevealMark, SeasonCurve, Tenure, read_curve
from cliffhanger.agents.season.curve_draw import PULL, draw_curve
from cliffhanger.agents.season.curve_png import curve_png
from cliffhanger.agents.season.curve_svg import curve_svg
from cliffhanger.agents.season.report import audit_arc, summarise, write_report
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.state import RunSettings
from cliffhanger.app.export_book import season_html

SVG = "{http://www.w3.org/2000/svg}"


def episodes_of(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "ep"]


def test_the_series_are_the_arc_and_the_reviews(tmp_path: Path) -> None:
    store = curve_season(tmp_path / "s")
    curve = summarise(store).curve
    assert curve is not None and curve == read_curve(store, audit_arc(store))
    assert [p.episode for p in curve.points] == list(range(1, EPISODES + 1))
    assert [p.strength for p in curve.points] == STRENGTH
    assert [p.intensity for p in curve.points] == INTENSITY
    assert [p.payoff_kind for p in curve.points] == PAYOFF_KINDS
    assert [p.cliffhanger_kind for p in curve.points] == [r.cliffhanger.kind for r in store.arc().rows]
    for p in curve.points:  # the accepted revision's scores (revision 0 scored 1s), None where not drafted
        assert (p.hook, p.payoff, p.cliffhanger_pull) == SCORES.get(p.episode, (None, None, None))
        assert p.drafted == (p.episode in DRAFTED) and (p.overall == 7.25) == (p.episode in DRAFTED)
    assert curve.cuts == (4,) and curve.first_paid == (5,)
    assert [(p.access, p.access_label) for p in curve.points[3:5]] == [("cut", "卡点集"), ("first_paid", "付费首集")]
    assert curve.tenures == (Tenure("su_mei", "苏梅", 1, 6, 1, 6, "被逐出林家。"),
                             Tenure("zhao_lei", "赵磊", 7, 12, 2, 12, "公司破产。"))
    assert curve.reveals == (RevealMark(4, "anonymous_buyer", "card", "audience"),
                             RevealMark(5, "switched_at_birth", "secret", "audience"),
                             RevealMark(9, "anonymous_buyer", "card", "gu_chen"))
    assert curve.plants == (PlantLink("broken_clasp", "项链搭扣是坏的。", 2, 9),)
    audit = audit_arc(store)
    assert audit is not None and any(f.rule == "payoff_repeat" for f in audit.findings)
    assert [(f.rule, f.episodes) for f in curve.findings] == [(f.rule, f.episodes) for f in audit.findings]
    for p in curve.points:
        assert list(p.findings) == [f.rule for f in audit.findings if p.episode in f.episodes]
    assert "payoff_repeat" in curve.points[6].findings and not curve.points[0].findings


def test_the_svg_draws_each_episode_and_the_critic_scores(tmp_path: Path) -> None:
    curve = read_curve(curve_season(tmp_path / "s"))
    svg = curve_svg(curve)
    root = ET.fromstring(svg)
    assert root.get("data-episodes") == str(EPISODES) and root.get("viewBox", "").startswith("0 0 ")
    groups = episodes_of(svg)
    assert [g.get("data-ep") for g in groups] == [str(e) for e in range(1, EPISODES + 1)]
    titles = [g.find(f"{SVG}title").text for g in groups]
    assert "hook 9, payoff 5, cliffhanger pull 4" in titles[1] and "critic" not in titles[5]
    assert "卡点集" in titles[3] and "付费首集" in titles[4]
    # the pull line: one dot per drafted episode, at its score on the 0-10 scale
    dots = sorted((float(c.get("cx")), float(c.get("cy"))) for c in root.iter(f"{SVG}circle") if c.get("fill") == PULL)
    assert len(dots) == len(DRAFTED)
    heights = [dots[-1][1] - y for _, y in dots]  # above the highest score's dot (episode 3: 10)
    pulls = [SCORES[e][2] for e in DRAFTED]
    assert [round(h / (heights[0] / (pulls[-1] - pulls[0])), 3) for h in heights] == \
        [round(pulls[-1] - v, 3) for v in pulls]
    tips = " ".join(t.text or "" for t in root.iter(f"{SVG}title"))
    assert "downfall ep 6" in tips and "plant broken_clasp: planted ep 2, paid off ep 9" in tips
    assert "secret switched_at_birth revealed to audience" in tips
    assert "<script" not in svg and "href" not in svg


def test_hostile_titles_and_ids_stay_text(tmp_path: Path) -> None:
    store = curve_season(tmp_path / "s", hostile=True)
    curve = read_curve(store, audit_arc(store))
    # ids cannot be hostile in the artifacts; a curve made by hand can hold anything
    curve = SeasonCurve(**{**curve.__dict__, "tenures": (*curve.tenures, Tenure(HOSTILE, HOSTILE, 2, 3)),
                           "reveals": (RevealMark(2, "</svg><script>", "card", "[red]x"),),
                           "plants": (PlantLink("a&b", HOSTILE, None, 3),)})
    svg = curve_svg(curve)
    root = ET.fromstring(svg)  # well-formed despite all of it
    assert {el.tag for el in root.iter()} <= {f"{SVG}{t}" for t in
                                              ("svg", "g", "title", "rect", "polyline", "polygon", "circle", "text")}
    text = "".join(root.itertext())
    clean = HOSTILE.replace("\x01", "")
    assert clean in text and "</svg><script>" in text and "[red]x" in text and "a&b" in text
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert curve.title.startswith("<script>") and curve.title in text
    page = season_html(store.spec(), store.bible(), store.arc(), {}, {}, curve)
    assert "<script" not in page.lower().replace("&lt;script", "")
    assert curve_png(curve)[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("cjk_font", [True, False], ids=["cjk_font", "no_cjk_font"])
def test_the_png_paints_chinese_text_with_or_without_a_cjk_font(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 cjk_font: bool) -> None:
    from cliffhanger.agents.season import curve_png as png

    if not cjk_font:  # the ascii stand-ins (Text.plain) are drawn instead
        monkeypatch.setattr(png, "CJK_FONTS", ())
    png._font.cache_clear()
    try:
        data = png.curve_png(read_curve(curve_season(tmp_path / "s", hostile=True)))
    finally:
        png._font.cache_clear()
    assert data[:4] == b"\x89PNG"


def test_an_imported_season_and_one_mid_draft_draw(tmp_path: Path) -> None:
    from cliffhanger.app.importer import import_script

    src = tmp_path / "two.fountain"
    src.write_text("Title: Two Nights\n\n# Episode 1\n\nINT. HALL - NIGHT\n\nLIN WAN enters.\n\nLIN WAN\nWho is there?\n\n"
                   "# Episode 2\n\nEXT. GATE - DAWN\n\nGU CHEN\nIt was me.\n", encoding="utf-8")
    imported = import_script(src, tmp_path / "imported", genre="revenge", language=None, title=None, episodes=6,
                             free=2, runtime=60)
    mid = curve_season(tmp_path / "mid", drafted=(1, 2))
    (mid.revision_path(3, 0)).parent.mkdir(parents=True)  # episode 3 is being drafted: a draft, no review yet
    mid.revision_path(3, 0).write_text("{}", encoding="utf-8")
    accept(mid, 4, None)  # accepted without a critic (a run with the critic off)
    fresh = make_season(tmp_path / "fresh", 8, free=3)  # no bible, no arc yet
    for store, drafted in ((imported, 2), (mid, 3), (fresh, 0)):
        curve = summarise(store).curve
        assert curve is not None and len(curve.points) == store.spec().episodes and curve.drafted == drafted
        svg = curve_svg(curve)
        assert len(episodes_of(svg)) == store.spec().episodes
        assert curve_png(curve)[:4] == b"\x89PNG"
    curve = summarise(imported).curve
    assert curve.planned and all(p.intensity is None and p.payoff_kind is None for p in curve.points[:2])
    assert [p.strength for p in curve.points] == [3, 5, None, None, None, None]  # episode 2 is the 卡点集
    assert all(p.hook is None for p in curve.points)
    mid_curve = summarise(mid).curve
    assert [p.drafted for p in mid_curve.points[:5]] == [True, True, False, True, False]
    assert mid_curve.points[3].hook is None and mid_curve.points[1].hook == SCORES[2][0]
    assert not summarise(fresh).curve.planned


def test_status_json_has_the_series(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = curve_season(tmp_path / "s")
    code, out, _ = run_cli(capsys, "status", store.root, "--format", "json")
    assert code == 0
    curve = json.loads(out)["curve"]
    assert [p["strength"] for p in curve["points"]] == STRENGTH
    assert [p["intensity"] for p in curve["points"]] == INTENSITY
    assert [p["cliffhanger_pull"] for p in curve["points"]] == [SCORES[e][2] if e in SCORES else None
                                                                for e in range(1, EPISODES + 1)]
    assert curve["cuts"] == [4] and curve["first_paid"] == [5]
    assert [(t["character"], t["first"], t["last"], t["downfall_episode"]) for t in curve["tenures"]] == \
        [("su_mei", 1, 6, 6), ("zhao_lei", 7, 12, 12)]
    assert [r["episode"] for r in curve["reveals"]] == [4, 5, 9]
    assert curve["plants"] == [{"id": "broken_clasp", "what": "项链搭扣是坏的。", "planted": 2, "paid": 9}]
    assert any(f["rule"] == "payoff_repeat" for f in curve["findings"])


def _report(store: SeasonStore) -> str:
    write_report(SimpleNamespace(store=store, pack=None, end=None, settings=RunSettings()), "done", 1.0)
    return store.report_path.read_text(encoding="utf-8")


def test_the_png_is_written_beside_report_md(tmp_path: Path) -> None:
    from PIL import Image

    store = curve_season(tmp_path / "s")
    report = _report(store)
    png = store.curve_png_path
    assert png.parent == store.report_path.parent and png.is_file()
    assert f"![season curve]({png.name})" in report and "## Season curve" in report
    with Image.open(io.BytesIO(png.read_bytes())) as image:
        image.load()
        assert image.format == "PNG" and image.width == round(draw_curve(read_curve(store)).width)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # a picture, not a blank page
    assert "|▅▇▅█" in report and "|   ^$       |" in report  # strength 3, 4, 3, 5 as text; the cut, first paid
    assert store.owns(png)


def test_without_pillow_the_report_is_written_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = curve_season(tmp_path / "s")
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL raises ImportError
    report = _report(store)
    assert not store.curve_png_path.exists()
    assert "needs Pillow" in report and "![season curve]" not in report
    assert "cliffhanger strength |▅▇▅█" in report  # the curve as text


def test_a_failing_picture_does_not_fail_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cliffhanger.agents.season import curve_png

    def broken(curve: object) -> bytes:
        raise ValueError("boom")

    monkeypatch.setattr(curve_png, "curve_png", broken)
    store = curve_season(tmp_path / "s")
    report = _report(store)
    assert "could not be painted" in report and not store.curve_png_path.exists()


async def test_the_board_sparklines_follow_the_season(tmp_path: Path) -> None:
    from test_tui import season_open, until

    from cliffhanger.agents.llm.scripted import ScriptedClient
    from cliffhanger.app.room import Room
    from cliffhanger.app.tui.app import CliffhangerApp
    from cliffhanger.memory.embeddings import HashEmbedding

    store = curve_season(tmp_path / "s", drafted=(1,))
    showrunner = ScriptedClient("showrunner", {"text": ["ok"]})
    app = CliffhangerApp(store.root, opener=lambda d: Room.open(d, models={"showrunner": showrunner},
                                                                embedding=HashEmbedding()))
    async with app.run_test(size=(120, 30)) as pilot:
        board = (await season_open(pilot)).board
        data = board.curve_data()
        assert data["strength"] == [float(s) for s in STRENGTH]
        assert data["cliffhanger_pull"] == [8.0] + [0.0] * (EPISODES - 1)
        accept(store, 2, SCORES[2])  # the run accepts episode 2: the next refresh shows its pull
        app.screen.refresh_board()
        await until(pilot, lambda: board.curve_data()["cliffhanger_pull"][1] == SCORES[2][2], "episode 2's pull shown")
        assert board.curve_data()["cliffhanger_pull"][:3] == [8.0, 4.0, 0.0]
    bugs = [m for _, m in app.notices if m.startswith("internal error")]
    assert not bugs, bugs
