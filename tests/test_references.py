"""Reference sheets per look version and location, assets.toml, and jobs that carry the images it names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from season_kit import run_cli
from test_keyframes import MOURNING, SCAR, scarred_season

from cliffhanger.agents.season.artifacts import Bible
from cliffhanger.agents.season.looks import LookBook
from cliffhanger.agents.season.references import reference_sheets
from cliffhanger.agents.season.store import SeasonStore


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _export(capsys, season: Path, out: Path, fmt: str, *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, "export", season, "--format", fmt, *args, "--out", out)


# ---- sheets ----------------------------------------------------------------------------------------------------

def test_a_sheet_per_look_version_and_per_location(capsys, tmp_path: Path) -> None:
    season = scarred_season(tmp_path / "s")
    code, _, err = _export(capsys, season, tmp_path / "refs.jsonl", "references")
    assert code == 0, err
    sheets = {s["id"]: s for s in _lines(tmp_path / "refs.jsonl")}
    bible = SeasonStore.open(season).bible()
    assert set(sheets) == {"sheet-lin_wan-v1", "sheet-lin_wan-v2", "sheet-gu_yanshen-v1", "sheet-lin_xuerou-v1",
                           "sheet-lin_mansion_hall", "sheet-gu_tower_rooftop"}
    v1, v2 = sheets["sheet-lin_wan-v1"], sheets["sheet-lin_wan-v2"]
    assert (v1["episodes"], v1["first_episode"], v2["episodes"], v2["first_episode"]) == ("1-19", 1, "20-24", 20)
    assert v1["look"] == bible.characters[0].visual.as_prompt() and v1["look"] in v1["prompt"]
    assert SCAR not in v1["prompt"] and f"wearing {MOURNING}" not in v1["prompt"]
    assert SCAR in v2["prompt"] and f"wearing {MOURNING}" in v2["prompt"] and v2["look"] in v2["prompt"]
    for s in (v1, v2):
        assert s["views"] == ["front", "three-quarter", "profile", "full body"]
        assert all(view in s["prompt"] for view in s["views"]) and "Neutral even studio light" in s["prompt"]
        assert s["prompt"].startswith("Character reference sheet of Lin Wan")
    assert v1["image"] == "refs/lin_wan.png" and v2["image"] is None  # the bible's image shows the first look only
    hall = sheets["sheet-lin_mansion_hall"]
    assert hall["kind"] == "location" and hall["version"] is None and bible.locations[0].visual in hall["prompt"]
    assert "empty of people" in hall["prompt"]
    # only the looks of the episodes asked for; the version numbers stay those of the whole season
    code, _, err = _export(capsys, season, tmp_path / "late.jsonl", "references", "--episodes", "21-24")
    assert code == 0, err
    assert [s["id"] for s in _lines(tmp_path / "late.jsonl") if s["subject"] == "lin_wan"] == ["sheet-lin_wan-v2"]


def test_a_look_that_comes_back_is_its_old_version(sample) -> None:
    bible = Bible.model_validate(sample("zh_bible"))
    lin = bible.characters[0]
    dressed = bible.model_copy(update={"characters": (
        lin.model_copy(update={"visual": lin.visual.model_copy(update={"wardrobe": MOURNING})}), *bible.characters[1:])})
    looks = LookBook(bible, 10, lambda e: dressed if 4 <= e < 7 else bible, changes=[4, 7])
    assert [(v.version, v.episodes) for v in looks.versions("lin_wan")] == [(1, (1, 2, 3, 7, 8, 9, 10)), (2, (4, 5, 6))]
    assert looks.version("lin_wan", 5).sheet_id == "sheet-lin_wan-v2" and looks.version("lin_wan", 9).version == 1
    assert looks.version("sneering_clerk", 5) is None
    sheets = reference_sheets(bible, looks)
    assert [s.episodes for s in sheets if s.subject == "lin_wan"] == ["1-3, 7-10", "4-6"]


# ---- assets.toml and the jobs ------------------------------------------------------------------------------------

def _keyframe_ids(capsys, season: Path, tmp_path: Path) -> list[dict]:
    code, _, err = _export(capsys, season, tmp_path / "kf.jsonl", "keyframes")
    assert code == 0, err
    return _lines(tmp_path / "kf.jsonl")


def test_runway_jobs_carry_the_images_assets_toml_names_and_name_what_is_missing(capsys, tmp_path: Path) -> None:
    season = scarred_season(tmp_path / "s")
    frames = _keyframe_ids(capsys, season, tmp_path)
    kept, left_out = frames[:-1], frames[-1]
    (season / "refs").mkdir(exist_ok=True)
    (season / "refs" / "lin_wan_scar.png").write_bytes(b"\x89PNG")
    lines = [f'{f["id"]} = "https://cdn.example.com/heiress/{f["id"]}.png"' for f in kept]
    lines += ['sheet-lin_wan-v2 = "refs/lin_wan_scar.png"', 'sheet-lin_mansion_hall = "gs://bucket/hall.png"']
    (season / "assets.toml").write_text("# keyframes and sheets\n" + "\n".join(lines) + "\n", encoding="utf-8")

    code, out, err = _export(capsys, season, tmp_path / "runway.jsonl", "jobs", "--target", "runway")
    assert code == 0, err
    jobs = _lines(tmp_path / "runway.jsonl")
    assert len(jobs) == 8
    urls = {f["id"]: f"https://cdn.example.com/heiress/{f['id']}.png" for f in kept}
    for job in jobs:
        meta, image = job["cliffhanger"], job["body"]["promptImage"]
        assert meta["keyframe"] and meta["first_frame"] == meta["keyframe"]
        if meta["keyframe"] == left_out["id"]:
            assert image == left_out["id"] and left_out["id"] in meta["missing_assets"]  # the id, named
        else:
            assert image == urls[meta["keyframe"]] and meta["keyframe"] not in meta["missing_assets"]
        assert meta["location"] == {"id": "lin_mansion_hall", "sheet": "sheet-lin_mansion_hall",
                                    "image": "gs://bucket/hall.png"}
        for ref in meta["reference_images"]:
            if ref["character"] == "lin_wan":
                assert ref == ({"character": "lin_wan", "sheet": "sheet-lin_wan-v2", "image": "refs/lin_wan_scar.png"}
                               if meta["episode"] >= 20 else
                               {"character": "lin_wan", "sheet": "sheet-lin_wan-v1", "image": "refs/lin_wan.png"})
    # one warning line names every id the jobs use that assets.toml lacks
    (warning,) = [ln for ln in err.splitlines() if "assets.toml" in ln]
    assert left_out["id"] in warning and "sheet-gu_yanshen-v1" in warning and "sheet-lin_xuerou-v1" in warning
    assert "sheet-lin_wan" not in warning and "kf-019" not in warning.replace(left_out["id"], "")
    assert "wrote" in out


@pytest.mark.parametrize(("text", "fragment"), [
    ("kf-019-01-abcdef = \n", "not valid TOML"),
    ('hero = "https://x/y.png"\n', "'hero' is not a keyframe or reference sheet id"),
    ("sheet-lin_wan-v1 = 3\n", "give a URL or a file name in quotes"),
    ('sheet-lin_wan-v1 = "refs/nowhere.png"\n', "names 'refs/nowhere.png', which is not a file"),
    ('[keyframes]\nkf-019-01-abcdef = "https://x/y.png"\n', "[keyframes] is a section"),
])
@pytest.mark.parametrize("fmt", ["jobs", "keyframes", "references"])
def test_a_bad_assets_toml_is_one_line_and_exit_2(capsys, tmp_path: Path, text: str, fragment: str, fmt: str) -> None:
    season = scarred_season(tmp_path / "s")
    (season / "assets.toml").write_text(text, encoding="utf-8")
    target = ["--target", "runway"] if fmt == "jobs" else []
    code, out, err = _export(capsys, season, tmp_path / "out" / "x.jsonl", fmt, *target)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "assets.toml" in err and fragment in err
    assert not (tmp_path / "out").exists()


def test_a_job_that_fails_its_schema_stops_the_export_and_writes_nothing(capsys, tmp_path: Path) -> None:
    season = scarred_season(tmp_path / "s")
    frames = _keyframe_ids(capsys, season, tmp_path)
    bad = next(f for f in frames if f["episode"] == 20)
    (season / "assets.toml").write_text(f'{bad["id"]} = "https://cdn.example.com/{"x" * 3000}.png"\n', encoding="utf-8")
    out_file = tmp_path / "runway.jsonl"
    out_file.write_text("the jobs of yesterday\n", encoding="utf-8")
    code, out, err = _export(capsys, season, out_file, "jobs", "--target", "runway")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert f"shot {bad['starts'][0]}" in err and "promptImage" in err and "over the 2048 limit" in err
    assert out_file.read_text(encoding="utf-8") == "the jobs of yesterday\n"  # nothing partial, nothing replaced
    assert not (season / "exports").exists() and list(tmp_path.glob(".*tmp*")) == []
