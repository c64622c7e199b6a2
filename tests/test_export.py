"""`cliffhanger export`: every format from a drafted season, missing episodes, bad input, path safety."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.role_names import ROOM_ROLES as ROLES
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.run import run_season
from cliffhanger.agents.season.artifacts import SeasonSpec
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.state import RunSettings
from cliffhanger.app.cli import main
from cliffhanger.app.export import FORMATS, parse_episodes
from cliffhanger.app.export_shots import read_shots_csv, validate_job
from cliffhanger.memory.embeddings import HashEmbedding


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-episode season whose title is a path attack, drafted up to episode 3 against the sim."""
    from cliffhanger.agents.sim.config import SimConfig
    from cliffhanger.agents.sim.faults import FaultPlan
    from cliffhanger.agents.sim.runner import run_in_thread

    root = tmp_path_factory.mktemp("exp") / "season"
    spec = SeasonSpec.create(title="../../etc/evil/\x00name", logline="被调包的真千金回到豪门复仇。", genre="revenge",
                             language="zh", episodes=4, runtime_s=60, free_episodes=2)
    store = SeasonStore.create(root, spec)
    with run_in_thread(SimConfig(faults=FaultPlan())) as url:
        ep = EndpointConfig(provider="sim", base_url=url, model="sim-drama")
        usage = UsageLog(store.usage_path)
        models = {r: ModelClient(r, ep, usage, CallPolicy()) for r in ROLES}
        result = asyncio.run(run_season(store, models, RunSettings(until=3, embedding=HashEmbedding())))
    assert result.stop == "until"
    return root


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_exports_what_exists_and_names_what_is_missing(capsys, season: Path, tmp_path: Path, fmt: str) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = ["export", str(season), "--format", fmt, "--out", str(out_dir)]
    if fmt == "jobs":
        args += ["--target", "kling"]
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    (written,) = list(out_dir.iterdir())  # one file, named by the format only
    assert written.name == FORMATS[fmt].format(target="all" if fmt == "budget" else "kling")  # budget: every target
    assert "missing (not drafted yet): episodes 4" in err
    text = written.read_text(encoding="utf-8")
    if fmt == "fdx":
        assert ET.fromstring(text.split("?>", 1)[1]).tag == "FinalDraft"
    elif fmt == "shots-json":
        assert [e["episode"] for e in json.loads(text)["episodes"]] == [1, 2, 3]
    elif fmt == "shots-csv":
        assert {r["episode"] for r in read_shots_csv(text)} == {"1", "2", "3"}
    elif fmt == "jobs":
        lines = [json.loads(ln) for ln in text.splitlines()]
        assert lines and all(validate_job("kling", ln["body"]) == [] for ln in lines)
        assert all(ln["body"].get("image") for ln in lines)  # every clip starts on a keyframe or the clip before
        assert "ids the jobs use" in err and lines[0]["cliffhanger"]["keyframe"] in err  # no assets.toml yet
    elif fmt == "keyframes":
        frames = [json.loads(ln) for ln in text.splitlines()]
        assert {f["episode"] for f in frames} == {1, 2, 3} and all(f["aspect_ratio"] == "9:16" for f in frames)
        for ep in (1, 2, 3):  # every shot belongs to one keyframe's set-up
            shots = SeasonStore.open(season).shots(ep).shots
            assert sorted(s for f in frames if f["episode"] == ep for s in f["shots"]) == [s.shot_id for s in shots]
    elif fmt == "references":
        sheets = [json.loads(ln) for ln in text.splitlines()]
        bible = SeasonStore.open(season).bible()
        assert {s["subject"] for s in sheets} == {x.id for x in (*bible.characters, *bible.locations)}
    elif fmt == "html":
        assert "<script" not in text.lower() and "not drafted yet" in text
    elif fmt == "budget":
        assert [e["episode"] for e in json.loads(text)["targets"][0]["episodes"]] == [1, 2, 3]


def test_titles_with_path_characters_never_steer_files(capsys, season: Path, tmp_path: Path) -> None:
    before = {p for p in tmp_path.parent.rglob("*")}
    code, out, _ = cli(capsys, "export", str(season), "--format", "fountain")
    assert code == 0
    written = Path(out.split()[1])
    assert written == season / "exports" / "season.fountain"
    new = {p for p in tmp_path.parent.rglob("*")} - before
    assert all(season in p.parents or p == season for p in new)


def test_episode_selection(capsys, season: Path, tmp_path: Path) -> None:
    code, _, err = cli(capsys, "export", str(season), "--format", "shots-json", "--episodes", "2", "--out",
                       str(tmp_path / "two.json"))
    assert code == 0 and err == ""
    assert [e["episode"] for e in json.loads((tmp_path / "two.json").read_text())["episodes"]] == [2]
    assert parse_episodes("1-3,7", 10) == [1, 2, 3, 7] and parse_episodes(None, 3) == [1, 2, 3]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--format", "pdf"], "unknown format 'pdf': use one of fountain"),
        (["--format", "jobs", "--target", "pika"], "unknown target 'pika': use one of"),
        (["--format", "jobs"], "--format jobs needs --target"),
        (["--format", "fountain", "--episodes", "3-9"], "outside the season (episodes 1-4)"),
        (["--format", "fountain", "--episodes", "x"], "is not a range"),
        (["--format", "fountain", "--out", "/proc/no/such/dir/f.fountain"], "cannot write"),
    ],
)
def test_bad_export_input(capsys, season: Path, args: list[str], fragment: str) -> None:
    code, out, err = cli(capsys, "export", str(season), *args)
    assert code == 2 and fragment in err and err.count("\n") == 1 and out == ""
