"""Timelines (`export --format otio|edl|fcpxml`): read back by OpenTimelineIO and its adapters with the shot
lists' clips and durations, markers for hook, payoffs and cliffhanger, the subtitle and dialogue tracks timed
as the SRT is, the season as one sequence, and one line when the `[edit]` extra is missing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import opentimelineio as otio
import pytest
import srt
from conftest import load_sample
from cut_kit import DURATIONS, HOSTILE, speaking_season
from season_kit import run_cli

from cliffhanger.agents.season.artifacts import ArcPlan
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.app.export_timeline import RATE

ROLES = {1: {1: "hook", 2: "payoff", 3: "payoff", 4: "cliffhanger"}, 2: {1: "payoff"}}  # ep 2: no hook, no cliffhanger
ARC_HOOK = "林雪柔低声说：这只是开始。\n005  AX  V  C  00:00:00:00 00:00:01:00\n* LOC: evil"


@pytest.fixture
def season(tmp_path: Path) -> SeasonStore:
    store = speaking_season(tmp_path / "season", roles=ROLES)
    rows = load_sample("zh_arc")["rows"]
    rows[0]["cliffhanger"]["hook_line"] = ARC_HOOK
    store.write_arc(ArcPlan.model_validate({"rows": rows}))
    return store


def _timeline(store: SeasonStore, name: str) -> otio.schema.Timeline:
    return otio.adapters.read_from_file(str(store.exports_dir / "timeline" / name))


def _track(tl: otio.schema.Timeline, name: str) -> otio.schema.Track:
    (track,) = [t for t in tl.tracks if t.name == name]
    return track


def test_otio_has_a_clip_per_shot_and_the_shot_lists_duration(capsys, season: SeasonStore) -> None:
    code, out, err = run_cli(capsys, "export", season.root, "--format", "otio")
    assert code == 0, err
    assert f"wrote {season.exports_dir / 'timeline'} (episodes 1-2)" in out
    for ep, seconds in DURATIONS.items():
        sl = season.shots(ep)
        tl = _timeline(season, f"{ep:03d}.otio")
        picture = _track(tl, "picture")
        assert picture.kind == otio.schema.TrackKind.Video
        clips = list(picture.find_clips())
        assert len(clips) == len(sl.shots) == len(seconds)
        assert [c.name for c in clips] == [s.shot_id for s in sl.shots]
        assert [c.duration().to_seconds() for c in clips] == [s.duration_s for s in sl.shots]
        assert tl.duration() == otio.opentime.RationalTime(sl.total_duration_s * RATE, RATE)
        assert tl.duration().to_seconds() == sl.total_duration_s == sum(seconds)
        assert all(c.media_reference.is_missing_reference and c.media_reference.name == c.name for c in clips)
        # each clip names what it starts on, as its job does: the scene's first clip its set-up's keyframe
        from cliffhanger.agents.season.keyframes import keyframe_id

        first = clips[0].metadata["cliffhanger"]
        assert first["keyframe"] == keyframe_id(sl.shots[0].setup_id) == first["starts_on"]
        assert all(c.metadata["cliffhanger"]["setup_id"] == s.setup_id for c, s in zip(clips, sl.shots, strict=True))


def test_markers_hold_the_hook_the_payoffs_and_the_cliffhanger(capsys, season: SeasonStore) -> None:
    assert run_cli(capsys, "export", season.root, "--format", "otio")[0] == 0
    arc = season.arc()
    for ep in (1, 2):
        clips = list(_track(_timeline(season, f"{ep:03d}.otio"), "picture").find_clips())
        marks = {(i, m.name): m for i, c in enumerate(clips) for m in c.markers}
        payoffs = [i for i, role in ROLES[ep].items() if role == "payoff"]
        hook, last = (1, 4) if ep == 1 else (0, len(clips) - 1)  # unmarked: the first shot hooks, the last one cuts
        assert sorted(marks) == sorted([(hook, "hook"), (last, "cliffhanger"), *((i, "payoff") for i in payoffs)])
        row = arc.rows[ep - 1]
        assert marks[(hook, "hook")].comment == row.opening_hook and marks[(hook, "hook")].color == "GREEN"
        assert all(marks[(i, "payoff")].comment == row.payoff for i in payoffs)
        cliff = marks[(last, "cliffhanger")]
        assert cliff.color == "RED" and row.cliffhanger.kind in cliff.comment and "\n" not in cliff.comment
        assert marks[(hook, "hook")].marked_range.duration == clips[hook].duration()  # over the whole shot


def test_subtitle_and_dialogue_tracks_are_timed_as_the_lines(capsys, season: SeasonStore) -> None:
    assert run_cli(capsys, "export", season.root, "--format", "otio")[0] == 0
    assert run_cli(capsys, "export", season.root, "--format", "srt")[0] == 0
    for ep in (1, 2):
        tl = _timeline(season, f"{ep:03d}.otio")
        subs = list(srt.parse((season.exports_dir / "subtitles" / f"{ep:03d}.zh.srt").read_text(encoding="utf-8")))
        track = _track(tl, "subtitles")
        clips = list(track.find_clips())
        assert [c.name for c in clips] == [s.content.replace("\n", "") for s in subs]
        assert _spans(track) == pytest.approx([t for s in subs for t in (s.start.total_seconds(), s.end.total_seconds())],
                                              abs=1 / RATE)
        dialogue = _track(tl, "dialogue")
        assert dialogue.kind == otio.schema.TrackKind.Audio
        lines = [(s.start_s + d.start_s, s.start_s + d.start_s + d.duration_s, d.line)
                 for s in season.shots(ep).shots for d in s.dialogue]
        assert [c.name for c in dialogue.find_clips()] == [x[2] for x in lines]
        assert _spans(dialogue) == pytest.approx([t for x in lines for t in x[:2]], abs=1 / RATE)
        # the same line has the same id in the timeline and in tts.jsonl (what a voice track is matched by)
        assert run_cli(capsys, "export", season.root, "--format", "tts")[0] == 0
        tts = [json.loads(ln) for ln in (season.exports_dir / "tts.jsonl").read_text(encoding="utf-8").splitlines()]
        spoken = [r["line_id"] for r in tts if r["episode"] == ep and r["delivery"] == "on_screen"]
        assert len(spoken) == len(lines) > 0
        assert [c.metadata["cliffhanger"]["line_id"] for c in dialogue.find_clips()] == spoken


def _spans(track: otio.schema.Track) -> list[float]:
    """Start and end, in seconds, of every clip on `track`, flat."""
    return [t for c in track.find_clips() for t in (track.range_of_child(c).start_time.to_seconds(),
                                                    track.range_of_child(c).end_time_exclusive().to_seconds())]


def test_the_season_plays_the_episodes_in_order(capsys, season: SeasonStore) -> None:
    assert run_cli(capsys, "export", season.root, "--format", "otio")[0] == 0
    tl = _timeline(season, "season.otio")
    (track,) = tl.tracks
    assert [type(x).__name__ for x in track] == ["Stack", "Stack"]
    assert [len(list(_track_of(x, "picture").find_clips())) for x in track] == [len(v) for v in DURATIONS.values()]
    assert tl.duration().to_seconds() == sum(sum(v) for v in DURATIONS.values())
    assert track.range_of_child_at_index(1).start_time.to_seconds() == sum(DURATIONS[1])


def _track_of(stack: otio.schema.Stack, name: str) -> otio.schema.Track:
    (track,) = [t for t in stack if t.name == name]
    return track


def test_edl_reads_back_through_the_cmx_adapter(capsys, season: SeasonStore) -> None:
    pytest.importorskip("otio_cmx3600_adapter")
    assert run_cli(capsys, "export", season.root, "--format", "edl")[0] == 0
    for ep, seconds in DURATIONS.items():
        text = (season.exports_dir / "timeline" / f"{ep:03d}.edl").read_text(encoding="utf-8")
        tl = otio.adapters.read_from_string(text, "cmx_3600", rate=RATE)
        clips = list(tl.find_clips())
        assert [c.name for c in clips] == [s.shot_id for s in season.shots(ep).shots]
        assert tl.duration().to_seconds() == sum(seconds)
        assert {m.name for c in clips for m in c.markers} == {"HOOK", "PAYOFF", "CLIFFHANGER"}
        assert "evil" not in text and text.isascii()


def test_fcpxml_reads_back_through_the_fcpx_adapter(capsys, season: SeasonStore) -> None:
    pytest.importorskip("otio_fcpx_xml_adapter")
    hostile = speaking_season(season.root.parent / "hostile", {1: {1: [("lin_wan", HOSTILE.replace("a", "I'm"), 0, 2)]}})
    for store in (season, hostile):
        assert run_cli(capsys, "export", store.root, "--format", "fcpxml")[0] == 0
        tl = otio.adapters.read_from_file(str(store.exports_dir / "timeline" / "001.fcpxml"), "fcpx_xml")
        video = [t for t in tl.tracks if t.kind == otio.schema.TrackKind.Video]
        assert [c.name for t in video for c in t.find_clips()] == [s.shot_id for s in store.shots(1).shots]
        assert tl.duration().to_seconds() == sum(DURATIONS[1])


@pytest.mark.parametrize(("fmt", "module"), [("edl", "otio_cmx3600_adapter"), ("fcpxml", "otio_fcpx_xml_adapter")])
def test_without_the_edit_extra_one_line(capsys, monkeypatch, season: SeasonStore, fmt: str, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what an install without [edit] looks like to import
    code, out, err = run_cli(capsys, "export", season.root, "--format", fmt)
    assert code == 2 and err.strip() == f'error: --format {fmt} needs the [edit] extra: pip install "cliffhanger[edit]"'
    assert not (season.exports_dir / "timeline").exists()


def test_hostile_text_stays_text_in_the_timeline(capsys, tmp_path: Path) -> None:
    store = speaking_season(tmp_path / "s", {1: {1: [("lin_wan", HOSTILE, 1.0, 4.0)]}})
    assert run_cli(capsys, "export", store.root, "--format", "otio")[0] == 0
    tl = _timeline(store, "001.otio")
    (line,) = _track(tl, "dialogue").find_clips()
    assert line.name == " ".join(HOSTILE.split()) and line.metadata["cliffhanger"]["speaker"] == "lin_wan"
    assert " ".join(c.name for c in _track(tl, "subtitles").find_clips()) == line.name


def test_overlapping_lines_take_turns_on_the_dialogue_track(capsys, tmp_path: Path) -> None:
    store = speaking_season(tmp_path / "s", {1: {1: [("lin_wan", "你站住！", 0.0, 3.0), ("gu_yanshen", "不。", 2.0, 2.0)]}})
    assert run_cli(capsys, "export", store.root, "--format", "otio")[0] == 0
    assert run_cli(capsys, "export", store.root, "--format", "srt")[0] == 0
    dialogue = _track(_timeline(store, "001.otio"), "dialogue")
    assert [c.name for c in dialogue.find_clips()] == ["你站住！", "不。"]
    assert _spans(dialogue) == [3.5, 6.5, 6.5, 7.5]  # the second waits for the first: a track plays one at a time
    subs = list(srt.parse((store.exports_dir / "subtitles" / "001.zh.srt").read_text(encoding="utf-8")))
    assert [(s.start.total_seconds(), s.end.total_seconds()) for s in subs] == [(3.5, 6.5), (5.5, 7.5)]  # SRT may overlap
