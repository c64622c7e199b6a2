"""The season store owns every path of a season folder: typed writers and readers agree with the files on
disk, review.json keeps its shape (and older, partial files still read), revision names have one parser,
and a season drafted by the sim holds no file the store does not name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from season_kit import make_season, run, sim_models

from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.season.artifacts import (
    CRITERIA,
    Bible,
    ContinuityReport,
    Critique,
    EpisodeScript,
    Review,
)
from cliffhanger.agents.season.report import summarise
from cliffhanger.agents.season.screenplay import bible_markdown
from cliffhanger.agents.season.store import SeasonError

FINDING = {"rule": "trait_changed", "severity": "error", "subject": "lin_wan", "canon_fact": "eyes: brown",
           "script_quote": "她的蓝眼睛", "episode": 1, "scene": 1, "explanation": "eye colour changed",
           "suggested_fix": "brown eyes"}
CRITIQUE = {**{c: {"score": 6 + i % 3, "reason": f"{c} holds"} for i, c in enumerate(CRITERIA)},
            "must_fix": ["sharpen the last line"], "notes": ""}


def _nodes_review() -> dict:
    """review.json as accept_episode wrote it before the Review model: a dict literal, key order and all."""
    return {"accepted_revision": 1,
            "revisions": [{"revision": 0, "critique": CRITIQUE, "continuity": {"findings": [FINDING]}, "overall": 6.9,
                           "dropped": ["fact about x: unknown subject"]},
                          {"revision": 1, "critique": None, "continuity": {"findings": []}, "overall": None,
                           "dropped": []}],
            "open_findings": [FINDING]}


# ---- bible ------------------------------------------------------------------------------------------

def test_write_bible_writes_both_files_and_they_agree(tmp_path: Path, sample) -> None:
    store = make_season(tmp_path / "s", 6, free=2)
    bible = Bible.model_validate(sample("zh_bible"))
    assert not store.bible_path.exists() and not store.bible_markdown_path.exists()
    store.write_bible(bible, {"prompt": "showrunner.bible@1"})
    assert store.bible() == bible
    assert json.loads(store.bible_path.read_text(encoding="utf-8"))["_meta"] == {"prompt": "showrunner.bible@1"}
    markdown = store.bible_markdown_path.read_text(encoding="utf-8")
    assert markdown == bible_markdown(bible, store.spec().title) and bible.characters[0].name in markdown
    assert store.ensure_bible_markdown() is False  # in step: nothing to do
    # a kill between the two writes: bible.md missing, or left from the bible before
    store.bible_markdown_path.unlink()
    assert store.ensure_bible_markdown() is True and store.bible_markdown_path.read_text(encoding="utf-8") == markdown
    store.bible_markdown_path.write_text("# an older bible\n", encoding="utf-8")
    assert store.ensure_bible_markdown() is True and store.bible_markdown_path.read_text(encoding="utf-8") == markdown


def test_no_bible_no_markdown(tmp_path: Path) -> None:
    store = make_season(tmp_path / "s", 6, free=2)
    assert store.bible() is None and store.ensure_bible_markdown() is False
    assert not store.bible_markdown_path.exists()


# ---- review.json --------------------------------------------------------------------------------------

def test_review_reads_todays_shape_and_writes_it_back_unchanged(tmp_path: Path) -> None:
    store = make_season(tmp_path / "s", 6, free=2)
    path = store.episode_dir(3) / "review.json"
    path.parent.mkdir(parents=True)
    written = _nodes_review()
    path.write_text(json.dumps(written, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    review = store.review(3)
    assert review is not None and review.accepted_revision == 1 and review.accepted.overall is None
    assert review.revision(0).critique == Critique.model_validate(CRITIQUE)
    assert review.revision(0).continuity == ContinuityReport.model_validate({"findings": [FINDING]})
    assert review.open_findings[0].rule == "trait_changed" and review.revision(0).dropped == ("fact about x: unknown subject",)
    store.write_review(3, review)
    assert json.loads(path.read_text(encoding="utf-8")) == written  # same keys, same order of revisions
    assert list(json.loads(path.read_text(encoding="utf-8"))) == ["accepted_revision", "revisions", "open_findings"]
    assert store.review(3) == review


def test_review_round_trips_and_imported_reviews_keep_their_key(tmp_path: Path) -> None:
    store = make_season(tmp_path / "s", 6, free=2)
    assert store.review(1) is None
    imported = Review(accepted_revision=0, imported_from="opening.fountain")
    store.write_review(1, imported)
    assert store.review(1) == imported
    assert json.loads((store.episode_dir(1) / "review.json").read_text(encoding="utf-8")) == {
        "accepted_revision": 0, "revisions": [], "open_findings": [], "imported_from": "opening.fountain"}
    assert imported.accepted is None  # imported episodes have no reviewed revision


@pytest.mark.parametrize("data", [
    {"accepted_revision": 0, "revisions": [{"revision": 0, "overall": 7.4}], "open_findings": [FINDING]},  # the TUI's
    {"accepted_revision": 0, "revisions": None, "open_findings": []},  # revisions null: read as none
    {"accepted_revision": 0, "revisions": [{"revision": 0, "critique": CRITIQUE, "continuity": {"findings": []},
                                            "overall": 7.0}], "open_findings": []},  # before `dropped`
    {"accepted_revision": 0, "revisions": [], "open_findings": []},  # the eval baseline's
    {},
])
def test_older_and_partial_reviews_read(tmp_path: Path, data: dict) -> None:
    store = make_season(tmp_path / "s", 6, free=2)
    path = store.episode_dir(2) / "review.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    review = store.review(2)
    assert review is not None and review.accepted_revision == data.get("accepted_revision")
    assert len(review.open_findings) == len(data.get("open_findings") or [])


def test_a_damaged_review_is_named(tmp_path: Path) -> None:
    store = make_season(tmp_path / "s", 6, free=2)
    path = store.episode_dir(2) / "review.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"accepted_revision": 0, "revis', encoding="utf-8")
    with pytest.raises(SeasonError, match="review.json: damaged"):
        store.review(2)


# ---- revisions ----------------------------------------------------------------------------------------

def test_revisions_lists_drafts_only_ascending(tmp_path: Path, sample) -> None:
    store = make_season(tmp_path / "s", 6, free=2)
    assert store.revisions(1) == []
    script = EpisodeScript.model_validate(sample("zh_script"))
    for rev in (10, 0, 2):
        store.write_revision(1, rev, "draft", script, {"revision": rev})
    store.write_revision(1, 3, "critique", Critique.model_validate(CRITIQUE))
    store.write_revision(1, 4, "continuity", ContinuityReport(findings=()))
    folder = store.revision_path(1, 0).parent
    for name in (".r05.draft.json.a1b2c3d4.tmp", "r06.draft.json.bak", "r7.draft.json", "notes.txt"):
        (folder / name).write_text("{}", encoding="utf-8")
    assert store.revisions(1) == [0, 2, 10]
    assert store.has_revision(1, 2) and not store.has_revision(1, 3) and store.has_revision(1, 3, "critique")
    assert store.revision(1, 2, "draft", EpisodeScript) == script and store.revision(1, 5, "draft", EpisodeScript) is None
    assert store.revision_meta(1, 10) == {"revision": 10}
    assert store.revisions(2) == []


# ---- the whole folder ---------------------------------------------------------------------------------

def test_every_file_of_a_drafted_season_is_one_the_store_names(tmp_path: Path, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 4, free=2)
    result = run(store, sim_models(sim_url, UsageLog(store.usage_path)), until=3)
    assert result.stop == "until" and result.accepted == [1, 2, 3]
    store.reopen_episode(2, "make the slap louder")  # a redraft: the old version moves to history/01
    result = run(store, sim_models(sim_url, UsageLog(store.usage_path)))
    assert result.stop == "done" and store.accepted_episodes() == [1, 2, 3, 4]
    store.chat_path.write_text('{"role": "writer", "text": "hi"}\n', encoding="utf-8")
    store.exports_dir.mkdir()
    (store.exports_dir / "season.fountain").write_text("x", encoding="utf-8")

    files = [p for p in sorted(store.root.rglob("*")) if p.is_file()]
    episode_files = [p for p in files if p.is_relative_to(store.root / "episodes")]
    assert len(files) > 40 and len(episode_files) > 4 * 8  # a floor first: the season really is on disk
    assert any("history" in p.parts for p in episode_files)
    assert store.curve_png_path in files  # the season curve beside report.md
    assert [p.relative_to(store.root) for p in files if not store.owns(p)] == []
    # and the store says no to what it does not name
    for stray in ("notes.txt", "episodes/001/review.json.bak", "episodes/001/revisions/r0.draft.json",
                  "plan/act_11.json", "episodes/001/.script.json.a1b2c3d4.tmp", "bible.json/x"):
        assert not store.owns(store.root / stray), stray

    # what nodes wrote reads back through the typed readers, and review.json is exactly the model's dump
    summary = summarise(store)
    for ep in range(1, 5):
        review = store.review(ep)
        raw = json.loads((store.episode_dir(ep) / "review.json").read_text(encoding="utf-8"))
        assert review is not None and raw == review.model_dump(mode="json")
        assert [r.revision for r in review.revisions] == store.revisions(ep)
        assert summary.lines[ep - 1].revisions == len(store.revisions(ep)) >= 1
        assert summary.lines[ep - 1].overall == review.accepted.overall is not None
        assert store.facts(ep, review.accepted_revision) is not None
    assert store.imported_plan() is None and store.report_path.exists()
