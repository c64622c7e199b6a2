"""The video budget: sums equal the shot lists as each target's jobs cut them, prices (list and cliffhanger.toml),
`--target all`, bad targets and prices, and the budget sections of report.md and the season book."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from season_kit import run_cli, shot_season

from cliffhanger.agents.season.report import write_report
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.season.video_budget import TARGETS, VideoPrice, price_of, season_budget
from cliffhanger.agents.state import RunEnd, RunSettings
from cliffhanger.app.export_shots import jobs

# Shots planned for `generic`; each target cuts them into its own clip lengths (`clip_plan`: one clip snapped,
# ties to the longer, or several when they cover a shot longer than the longest clip better).
DURATIONS = {1: [3.5, 7.0, 12.0, 2.0, 9.0, 6.0], 2: [5.0, 10.0, 4.0]}
# kling 5/10 s at $1.40/$2.80 a clip: ep 1 -> 5,5,10+5,5,10,5 (45 s, $12.60: 12 s is covered by 10+5, not cut to
# 10); ep 2 -> 5,10,5 (20 s, $5.60)
# sora 4/8/12 s at $0.10/s: ep 1 -> 4,8,12,4,8,8 (44 s, $4.40); ep 2 -> 4,12,4 (20 s, $2.00)
# hailuo 6/10 s at $0.28/$0.56 a clip: ep 1 -> 6,6,6+6,6,10,6 (46 s, $2.24: the 12 s shot is two 6 s clips);
# ep 2 -> 6,10,6 (22 s, $1.12). skyreels 4/5 s: ep 1 -> 4, 4+4, 4+4+4, 4, 5+4, 4+4 (11 clips); ep 2 -> 5, 5+5, 4


@pytest.fixture
def season(tmp_path: Path) -> Path:
    shot_season(tmp_path / "season", DURATIONS)  # episodes 3 and 4 not drafted
    return tmp_path / "season"


def _lists(folder: Path):  # noqa: ANN202
    store = SeasonStore.open(folder)
    return [sl for e in (1, 2) if (sl := store.shots(e)) is not None], store.bible()


def test_budget_numbers_by_hand(season: Path) -> None:
    lists, bible = _lists(season)
    budget = {b.target: b for b in season_budget(lists, bible).targets}
    kling, sora, hailuo, generic = budget["kling"], budget["sora"], budget["hailuo"], budget["generic"]
    assert [(e.episode, e.clips, e.seconds, e.cost_usd) for e in kling.episodes] == [(1, 7, 45, 12.6), (2, 3, 20, 5.6)]
    assert (kling.clips, kling.jobs, kling.seconds, kling.cost_usd) == (10, 10, 65, 18.2)
    assert [(e.seconds, e.cost_usd) for e in sora.episodes] == [(44, 4.4), (20, 2.0)] and sora.cost_usd == 6.4
    assert [(e.clips, e.seconds, e.cost_usd) for e in hailuo.episodes] == [(7, 46, 2.24), (3, 22, 1.12)]
    assert [(e.clips, e.seconds) for e in budget["skyreels"].episodes] == [(11, 45), (4, 19)]
    assert generic.seconds == 58.5 and generic.cost_usd is None  # as planned; generic is no model: no price
    assert budget["skyreels"].cost_usd is None  # no list price: unknown, never zero
    refs = season_budget(lists, bible).references
    assert refs.characters == ("lin_wan", "gu_yanshen", "lin_xuerou") and refs.with_image == ("lin_wan",)
    assert refs.locations == ("lin_mansion_hall",) and refs.count == 4


@pytest.mark.parametrize("target", TARGETS)
def test_budget_equals_the_jobs_file_of_each_target(season: Path, target: str) -> None:
    lists, bible = _lists(season)
    b = season_budget(lists, bible, (target,)).targets[0]
    made = jobs(lists, target, bible)
    assert b.clips == b.jobs == len(made)
    assert b.seconds == pytest.approx(sum(j["cliffhanger"]["duration_s"] for j in made))
    for e in b.episodes:
        mine = [j["cliffhanger"]["duration_s"] for j in made if j["cliffhanger"]["episode"] == e.episode]
        assert (e.clips, e.seconds) == (len(mine), pytest.approx(sum(mine)))
        price = price_of(target)
        if price is not None:
            assert e.cost_usd == pytest.approx(sum(price.clip_cost(s) for s in mine))


def test_export_budget_for_one_target_prints_episodes_and_writes_json(capsys, season: Path) -> None:
    code, out, err = run_cli(capsys, "export", season, "--format", "budget", "--target", "kling")
    assert code == 0, err
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines() if ln.strip()[:1].isdigit() or "total" in ln}
    assert rows["1"][:3] == ["7", "45", "12.60"] and rows["2"][:3] == ["3", "20", "5.60"]
    assert rows["total"][:3] == ["10", "65", "18.20"]
    assert "$1.40/5s, $2.80/10s" in out and "jobs: 10" in out and "reference images: 4" in out
    path = season / "exports" / "budget.kling.json"
    assert f"wrote {path}" in out and "missing (not drafted yet): episodes 3, 4" in err
    data = json.loads(path.read_text(encoding="utf-8"))
    (kling,) = data["targets"]
    assert (kling["clips"], kling["seconds"], kling["cost_usd"], kling["jobs"]) == (10, 65, 18.2, 10)
    assert [e["seconds"] for e in kling["episodes"]] == [45, 20] and data["missing"] == [3, 4]


@pytest.mark.parametrize("given", [["--target", "all"], []])
def test_target_all_is_one_table_with_a_row_per_target(capsys, season: Path, given: list[str]) -> None:
    code, out, err = run_cli(capsys, "export", season, "--format", "budget", *given)
    assert code == 0, err
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines() if ln.split() and ln.split()[0] in TARGETS}
    assert sorted(rows) == sorted(TARGETS)
    assert rows["kling"][:2] == ["10", "65"] and rows["kling"][-2:] == ["18.20", "10"]
    assert rows["sora"][:2] == ["9", "64"] and rows["sora"][-2:] == ["6.40", "9"]
    assert rows["generic"][:2] == ["9", "58.5"] and rows["generic"][-2:] == ["unknown", "9"]
    data = json.loads((season / "exports" / "budget.all.json").read_text(encoding="utf-8"))
    assert [t["target"] for t in data["targets"]] == list(TARGETS)


def test_budget_to_a_text_file(capsys, season: Path, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "export", season, "--format", "budget", "--target", "sora", "--out",
                           tmp_path / "budget.txt")
    assert code == 0, err
    text = (tmp_path / "budget.txt").read_text(encoding="utf-8")
    assert text.startswith("Video budget: sora") and "6.40" in text and "\x1b" not in text


@pytest.mark.parametrize(("fmt", "target", "says"), [
    ("budget", "klingg", "unknown target 'klingg'"), ("jobs", "nope", "unknown target 'nope'"),
    ("jobs", "all", "--target all is for --format budget"), ("shots-json", "all", "--target all is for"),
])
def test_a_bad_target_lists_the_known_ones(capsys, season: Path, fmt: str, target: str, says: str) -> None:
    code, out, err = run_cli(capsys, "export", season, "--format", fmt, "--target", target)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err and "Traceback" not in err
    assert all(t in err for t in TARGETS)


def _config(text: str) -> Path:
    from cliffhanger.app.settings import default_config_path

    path = default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_prices_from_cliffhanger_toml_are_used(capsys, season: Path, tmp_path: Path) -> None:
    _config('[video_prices.kling]\nper_second_usd = 1.0\n\n[video_prices.skyreels]\nper_clip_usd = 0.5\n\n'
            '[video_prices.hailuo]\nper_clip_usd = { 6 = 1.0, 10 = 2.0 }\n')
    code, out, err = run_cli(capsys, "export", season, "--format", "budget")
    assert code == 0, err
    data = {t["target"]: t for t in json.loads((season / "exports" / "budget.all.json").read_text())["targets"]}
    assert data["kling"]["cost_usd"] == 65.0 and data["kling"]["price"]["per_second_usd"] == 1.0
    assert "cliffhanger.toml" in data["kling"]["price"]["source"]
    assert data["skyreels"]["cost_usd"] == 7.5  # 15 clips at $0.50: known now
    assert data["hailuo"]["cost_usd"] == 12.0  # 4 x $1 + 2 x $2, then $1 + $2 + $1
    assert data["sora"]["cost_usd"] == 6.4  # not overridden: the list price
    assert "$1.00/s" in out
    other = tmp_path / "other.toml"  # --config instead of the user's file
    other.write_text("[video_prices.kling]\nper_clip_usd = 2.0\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "export", season, "--format", "budget", "--target", "kling", "--config", other)
    assert code == 0 and json.loads((season / "exports" / "budget.kling.json").read_text())["targets"][0][
        "cost_usd"] == 20.0


@pytest.mark.parametrize(("toml", "says"), [
    ("[video_prices.klingg]\nper_second_usd = 1\n", "unknown video target 'klingg'"),
    ("[video_prices.hailuo]\nper_clip_usd = { 6 = 0.3 }\n", "every clip length hailuo renders (6, 10)"),
    ("[video_prices.kling]\nper_second_usd = 1\nper_clip_usd = 2\n", "one of them"),
    ("[video_prices.kling]\nper_second_usd = -1\n", "video_prices"),
])
def test_a_bad_price_is_one_line(capsys, season: Path, toml: str, says: str) -> None:
    _config(toml)
    code, out, err = run_cli(capsys, "export", season, "--format", "budget")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err, err


def test_report_and_book_carry_the_budget_at_the_users_prices(capsys, season: Path) -> None:
    store = SeasonStore.open(season)
    ctx = SimpleNamespace(store=store, pack=None, end=RunEnd("until"),
                          settings=RunSettings(video_prices={"kling": VideoPrice(per_second_usd=2.0, source="mine")}))
    write_report(ctx, "until")  # type: ignore[arg-type]
    report = store.report_path.read_text(encoding="utf-8")
    budget = report[report.index("## Video budget"):]
    assert "| kling | 10 | 65 | $2.00/s | 130.00 | 10 |" in budget and "| sora | 9 | 64 | $0.10/s | 6.40 | 9 |" in budget
    assert "Reference images: 4" in budget and "unknown for skyreels, generic" in budget
    _config("[video_prices.kling]\nper_second_usd = 2.0\n")
    assert run_cli(capsys, "export", season, "--format", "html")[0] == 0
    html = (season / "exports" / "season.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="video-budget">'):]
    section = section[:section.index("</section>")]
    assert "<td>kling</td><td>10</td><td>65</td><td>$2.00/s</td><td>130.00</td><td>10</td>" in section
    assert "<details><summary>per episode</summary>" in section and "45 / 90.00" in section
    assert run_cli(capsys, "export", season, "--format", "bible-md")[0] == 0
    md = (season / "exports" / "season.md").read_text(encoding="utf-8")
    assert "## Video budget" in md and "| kling | 10 | 65 | $2.00/s | 130.00 | 10 |" in md


def test_long_shots_are_cut_into_several_clips_and_a_recut_that_drifts_says_so(capsys, tmp_path: Path) -> None:
    from cliffhanger.agents.season.video_budget import season_budget

    store = shot_season(tmp_path / "generic", {1: [12.0, 12.0, 12.0, 12.0, 12.0]})  # 60 s of 12 s shots
    lists = [sl for e in (1, 2) if (sl := store.shots(e)) is not None]
    budget = {b.target: b for b in season_budget(lists, store.bible()).targets}
    assert budget["generic"].planned_seconds == 60.0 and budget["generic"].drift_line() is None
    # 5 s clips at most: each 12 s shot is three 4 s clips, the whole runtime covered, nothing to say
    assert (budget["skyreels"].clips, budget["skyreels"].seconds) == (15, 60.0)
    assert budget["skyreels"].drift_line() is None and budget["sora"].drift_line() is None
    # kling covers each 12 s shot with 10 + 5 s (trimmed in the edit): 75 s generated for 60 planned, said
    drift = budget["kling"].drift_line()
    assert budget["kling"].clips == 10 and drift is not None and "75 s against the 60 s planned" in drift
    cut = lists[0].for_target("skyreels")
    assert [s.shot_id for s in cut.shots[:4]] == ["001-01-01", "001-01-02", "001-01-03", "001-01-04"]
    assert len({s.setup_id for s in cut.shots[:3]}) == 1  # the clips of one shot share its set-up
    # 1 s shots on a 5-10 s model come out five times longer: said, with the fix
    short = shot_season(tmp_path / "short", {1: [1.0] * 10})
    kling = season_budget([store_shots(short)], short.bible(), ("kling",)).targets[0]
    line = kling.drift_line()
    assert kling.seconds == 50.0 and line is not None and "50 s against the 10 s planned" in line
    assert "--target kling" in line
    code, out, _ = run_cli(capsys, "export", short.root, "--format", "budget")
    assert code == 0 and "drift kling: re-cut from shots planned for generic" in out


def store_shots(store: SeasonStore):  # noqa: ANN201
    shots = store.shots(1)
    assert shots is not None
    return shots
