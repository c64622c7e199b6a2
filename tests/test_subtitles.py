"""Subtitles (`export --format srt|vtt`): read back by `srt` and `webvtt-py` with the shot lists' timed lines,
broken for a vertical frame, hostile text kept as text, one file per episode in a folder."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

import pytest
import srt
import webvtt
from cut_kit import HOSTILE, LONG_ZH, speaking_season, spoken
from season_kit import run_cli

from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.app.export_subtitles import CJK_LINE, LATIN_LINE, MAX_LINES, break_lines, episode_cues, plain


def _ms(seconds: float) -> timedelta:
    return timedelta(milliseconds=round(seconds * 1000))


@pytest.fixture
def season(tmp_path: Path) -> Path:
    return speaking_season(tmp_path / "season").root


def _srt(season: Path, episode: int) -> list[srt.Subtitle]:
    return list(srt.parse((season / "exports" / "subtitles" / f"{episode:03d}.zh.srt").read_text(encoding="utf-8")))


def test_srt_reads_back_with_every_line_at_its_time(capsys, season: Path) -> None:
    code, out, err = run_cli(capsys, "export", season, "--format", "srt")
    assert code == 0, err
    assert f"wrote {season / 'exports' / 'subtitles'} (episodes 1-2)" in out
    assert sorted(p.name for p in (season / "exports" / "subtitles").iterdir()) == ["001.zh.srt", "002.zh.srt"]
    store = SeasonStore.open(season)
    for ep in (1, 2):
        lines = spoken(store, ep)
        subs = _srt(season, ep)
        short = [x for x in lines if x[2] != LONG_ZH]
        by_start = {s.start: s for s in subs}
        for start, end, line in short:  # a line that fits: one cue, its own times, its own text
            cue = by_start[_ms(start)]
            assert cue.end == _ms(end) and cue.content.replace("\n", "") == line
        long = [x for x in lines if x[2] == LONG_ZH]
        assert len(subs) == len(short) + (2 if long else 0)  # the long line: 3 lines of 16, so two cues
        for start, end, _ in long:
            pieces = [s for s in subs if _ms(start) <= s.start < _ms(end)]
            assert len(pieces) == 2 and pieces[0].start == _ms(start) and pieces[-1].end == _ms(end)
            assert pieces[0].end == pieces[1].start  # back to back across the line's span
            assert "".join(p.content.replace("\n", "") for p in pieces) == LONG_ZH
            # proportional to length: the first cue holds 2 lines of 3, so about 2/3 of the time
            share = (pieces[0].end - pieces[0].start) / (_ms(end) - _ms(start))
            first = len(pieces[0].content.replace("\n", ""))
            assert share == pytest.approx(first / len(LONG_ZH), abs=0.01)


def test_vtt_reads_back_with_the_same_cues(capsys, season: Path) -> None:
    assert run_cli(capsys, "export", season, "--format", "srt")[0] == 0
    assert run_cli(capsys, "export", season, "--format", "vtt")[0] == 0
    for ep in (1, 2):
        subs = _srt(season, ep)
        captions = webvtt.read(str(season / "exports" / "subtitles" / f"{ep:03d}.zh.vtt")).captions
        assert [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), c.text) for c in captions] == [
            (s.start // timedelta(milliseconds=1), s.end // timedelta(milliseconds=1), s.content) for s in subs]


@pytest.mark.parametrize(("text", "limit"), [
    (LONG_ZH, CJK_LINE),
    ("从来没有想过你会用这种方式对待我！你走吧。", CJK_LINE),  # 16 characters, then "！": cut before, not after
    ("她把订婚戒指摘下来，放在桌上；转身走向门口，没有回头。门外的雨下了一整夜，没有人来找她。", CJK_LINE),
    ("You thought I was still the girl you could push around three years ago? Today I take back "
     "everything that is mine, every share, every seat at that table, and every name you stole.", LATIN_LINE),
    ("Supercalifragilisticexpialidocious-antidisestablishmentarianism-floccinaucinihilipilification", LATIN_LINE),
])
def test_lines_fit_a_vertical_frame(text: str, limit: int) -> None:
    lines = break_lines(text)
    assert lines and all(len(line) <= limit for line in lines)
    assert max(len(line) for line in lines) > limit * 0.6  # filled, not one word a line
    joiner = "" if limit == CJK_LINE else " "
    if " " in text or limit == CJK_LINE:  # words and characters kept whole and in order
        assert joiner.join(lines) == text
    assert not any(line[0] in "，。！？；：、…" for line in lines)  # no line opens on closing punctuation


def test_chinese_breaks_after_punctuation_and_latin_at_spaces() -> None:
    assert break_lines("她把订婚戒指摘下来，放在桌上；转身走向门口，没有回头。") == [
        "她把订婚戒指摘下来，放在桌上；", "转身走向门口，没有回头。"]
    latin = break_lines("Today I take back everything that is mine, every share and every seat.")
    assert latin == ["Today I take back everything that is mine,", "every share and every seat."]
    assert len(latin[0]) == LATIN_LINE


@pytest.mark.parametrize(("line", "lines"), [
    ("你以为我还是当年那个任你摆布的人？", ("你以为我还是当年那", "个任你摆布的人？")),  # 17: not 16 + 1
    ("我回来了，不是为了原谅谁，是为了拿回属于我的一切。", ("我回来了，不是为了原谅谁，", "是为了拿回属于我的一切。")),
    ("You thought I was still the girl you could push around?", ("You thought I was still the", "girl you could push around?")),
])
def test_the_two_lines_of_a_cue_are_balanced(tmp_path: Path, line: str, lines: tuple[str, ...]) -> None:
    store = speaking_season(tmp_path / "s", {1: {2: [("lin_wan", line, 0.0, 4.0)]}})
    (cue,) = episode_cues(store.shots(1))  # type: ignore[arg-type]
    assert cue.lines == lines and cue.text == line


def test_a_cue_has_at_most_two_lines(tmp_path: Path) -> None:
    long_en = " ".join(["Every share, every seat, every name you stole from me."] * 5)
    store = speaking_season(tmp_path / "s", {1: {2: [("lin_wan", long_en, 0.0, 12.0)]}})
    cues = episode_cues(store.shots(1))  # type: ignore[arg-type]
    assert len(cues) >= 3 and all(1 <= len(c.lines) <= MAX_LINES for c in cues)
    assert all(len(line) <= LATIN_LINE for c in cues for line in c.lines)
    assert " ".join(c.text for c in cues) == long_en
    assert cues[0].start_ms == 10500 and cues[-1].end_ms == 22500  # the third shot starts at 10.5 s
    assert all(a.end_ms == b.start_ms for a, b in zip(cues, cues[1:], strict=False))


def test_hostile_text_stays_text(capsys, tmp_path: Path) -> None:
    store = speaking_season(tmp_path / "s", {1: {1: [("lin_wan", HOSTILE, 1.0, 4.0), ("gu_yanshen", "好。", 5.5, 1.0)]}})
    assert run_cli(capsys, "export", store.root, "--format", "srt")[0] == 0
    assert run_cli(capsys, "export", store.root, "--format", "vtt")[0] == 0
    subs = _srt(store.root, 1)
    assert [(s.start, s.end) for s in subs] == [(_ms(4.5), _ms(8.5)), (_ms(9.0), _ms(10.0))]  # no cue forged
    text = subs[0].content
    assert "<" not in text and ">" not in text and "{" not in text and "-->" not in text
    assert text.replace("\n", " ") == plain(HOSTILE).translate(str.maketrans("<>{}", "＜＞｛｝"))
    (caption, _) = webvtt.read(str(store.root / "exports" / "subtitles" / "001.zh.vtt")).captions
    assert (caption.start_time.in_milliseconds(), caption.end_time.in_milliseconds()) == (4500, 8500)
    assert html.unescape(caption.raw_text).replace("\n", " ") == plain(HOSTILE)  # escaped, so no tag is read
    assert caption.text == caption.raw_text


def test_out_is_a_folder_and_target_recuts_the_timing(capsys, season: Path, tmp_path: Path) -> None:
    assert run_cli(capsys, "export", season, "--format", "srt", "--out", f"{tmp_path}/given/")[0] == 0
    assert (tmp_path / "given" / "subtitles" / "001.zh.srt").is_file()
    assert run_cli(capsys, "export", season, "--format", "vtt", "--out", tmp_path / "mine", "--episodes", "2")[0] == 0
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["002.zh.vtt"]
    (tmp_path / "afile").write_text("x")
    code, _, err = run_cli(capsys, "export", season, "--format", "srt", "--out", tmp_path / "afile")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot write" in err
    # --target kling re-cuts the shots (3.5 s -> 5 s), and the lines move with them
    assert run_cli(capsys, "export", season, "--format", "srt", "--target", "kling")[0] == 0
    assert _srt(season, 1)[1].start == _ms(5.0)  # shot 2 now starts at 5 s; its first line at its start
