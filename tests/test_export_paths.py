"""Exports as a person expects: `--out` as a folder, files that follow the umask, and shot lists re-cut for the
target asked for, the same in shots JSON, shots CSV, jobs and the budget."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from season_kit import run_cli, shot_season

from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S
from cliffhanger.app.export_shots import read_shots_csv, read_shots_json

DURATIONS = {1: [3.5, 7.0, 12.0, 2.0, 9.0, 6.0], 2: [5.0, 10.0, 4.0]}


@pytest.fixture
def season(tmp_path: Path) -> Path:
    shot_season(tmp_path / "season", DURATIONS)  # planned for `generic`
    return tmp_path / "season"


# ---- --out ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["shots-json", "jobs", "budget", "html"])
def test_out_ending_in_a_slash_is_a_folder(capsys, season: Path, tmp_path: Path, fmt: str) -> None:
    target = ["--target", "kling"] if fmt in ("jobs", "budget") else []
    code, out, err = run_cli(capsys, "export", season, "--format", fmt, *target, "--out", f"{tmp_path}/exports/")
    assert code == 0, err
    name = {"shots-json": "shots.json", "jobs": "jobs.kling.jsonl", "budget": "budget.kling.json",
            "html": "season.html"}[fmt]
    assert (tmp_path / "exports").is_dir() and (tmp_path / "exports" / name).is_file()
    assert f"wrote {tmp_path / 'exports' / name}" in out


def test_out_naming_an_existing_folder_writes_inside_it_and_a_new_name_is_a_file(capsys, season: Path,
                                                                                 tmp_path: Path) -> None:
    (tmp_path / "given").mkdir()
    assert run_cli(capsys, "export", season, "--format", "shots-csv", "--out", tmp_path / "given")[0] == 0
    assert (tmp_path / "given" / "shots.csv").is_file()
    assert run_cli(capsys, "export", season, "--format", "shots-csv", "--out", tmp_path / "mine.csv")[0] == 0
    assert (tmp_path / "mine.csv").is_file()


def test_out_under_a_file_is_one_line(capsys, season: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    code, out, err = run_cli(capsys, "export", season, "--format", "shots-json", "--out", f"{tmp_path}/afile/")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot write" in err


# ---- the umask --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_season_and_exported_files_follow_the_umask(capsys, tmp_path: Path, mask: int, mode: int) -> None:
    from cliffhanger.agents.llm.usage import UsageLog, UsageRecord
    from cliffhanger.app.chat_history import ChatHistory
    from cliffhanger.memory.lore import LoreIndex

    with _umask(mask):
        store = shot_season(tmp_path / "season", DURATIONS)
        assert run_cli(capsys, "export", store.root, "--format", "shots-json")[0] == 0
        assert run_cli(capsys, "export", store.root, "--format", "shots-json")[0] == 0  # replaces the file
        ChatHistory(store.chat_path).append("user", "你好")
        UsageLog(store.usage_path).append(UsageRecord(UsageRecord.now(), "writer", 1, "sim", "sim-drama", "text",
                                                      None, 1, 1, False, 0.1, 0.0, 1, 0, "ok"))
        (store.root / "lore").mkdir()
        LoreIndex._write_marker(SimpleNamespace(folder=store.root / "lore"), {3})  # type: ignore[arg-type]
    files = [store.root / "season.toml", store.root / "bible.json", store.root / "bible.md",
             store.root / "episodes" / "001" / "shots.json", store.root / "episodes" / "001" / "script.json",
             store.root / "exports" / "shots.json", store.chat_path, store.usage_path,
             store.root / "lore" / ".cliffhanger-pending.json"]
    assert {str(p.relative_to(store.root)): oct(_mode(p)) for p in files} == {
        str(p.relative_to(store.root)): oct(mode) for p in files}


def test_temp_files_are_still_swept_after_a_kill(tmp_path: Path) -> None:
    from cliffhanger.agents.season.store_io import open_temp, remove_orphans

    fd, tmp = open_temp(tmp_path, "bible.json")
    os.close(fd)
    assert Path(tmp).name.startswith(".bible.json.") and remove_orphans(tmp_path, []) == [Path(tmp)]


# ---- shot lists re-cut for the target -----------------------------------------------------------------------

@pytest.mark.parametrize("target", ["kling", "veo", "hailuo"])
def test_shots_json_and_csv_take_the_targets_clip_lengths_as_jobs_do(capsys, season: Path, target: str) -> None:
    outs = season / "exports"
    for fmt in ("shots-json", "shots-csv", "jobs", "budget"):
        assert run_cli(capsys, "export", season, "--format", fmt, "--target", target)[0] == 0
    lists = read_shots_json((outs / "shots.json").read_text(encoding="utf-8"))
    assert {sl.target for sl in lists} == {target}
    durations = [s.duration_s for sl in lists for s in sl.shots]
    assert set(durations) <= set(CLIP_LENGTHS_S[target]) and durations != [d for ds in DURATIONS.values() for d in ds]
    for sl in lists:  # back to back from 0 after the re-cut
        assert [s.start_s for s in sl.shots] == [sum(x.duration_s for x in sl.shots[:i]) for i in range(len(sl.shots))]
    rows = read_shots_csv((outs / "shots.csv").read_text(encoding="utf-8"))
    jobs = [json.loads(line) for line in (outs / f"jobs.{target}.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [float(r["duration_s"]) for r in rows] == durations == [j["cliffhanger"]["duration_s"] for j in jobs]
    budget = json.loads((outs / f"budget.{target}.json").read_text(encoding="utf-8"))["targets"][0]
    assert budget["seconds"] == sum(durations) and budget["clips"] == len(durations)


def test_kling_shots_on_a_generic_season(capsys, season: Path) -> None:
    assert run_cli(capsys, "export", season, "--format", "shots-json", "--target", "kling")[0] == 0
    lists = read_shots_json((season / "exports" / "shots.json").read_text(encoding="utf-8"))
    # the 12 s shot is covered by a 10 s and a 5 s clip (trimmed in the edit), the rest snapped
    assert [[s.duration_s for s in sl.shots] for sl in lists] == [[5, 5, 10, 5, 5, 10, 5], [5, 10, 5]]


def test_without_a_target_shot_lists_stay_as_planned(capsys, season: Path) -> None:
    assert run_cli(capsys, "export", season, "--format", "shots-json")[0] == 0
    lists = read_shots_json((season / "exports" / "shots.json").read_text(encoding="utf-8"))
    assert {sl.target for sl in lists} == {"generic"}
    assert [[s.duration_s for s in sl.shots] for sl in lists] == list(DURATIONS.values())
