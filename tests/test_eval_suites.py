"""Eval suites and configs: the built-in suites are complete, bad files are named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from cliffhanger.agents.season.artifacts import SeasonSpec
from cliffhanger.evals.suites import SuiteError, judged_episodes, load_suite
from cliffhanger.genres.loader import builtin_catalog


def test_builtin_suites_cover_the_packs_and_both_languages() -> None:
    long = load_suite("long")
    assert len(long.premises) == 3 and all(p.episodes == 60 for p in long.premises)
    assert sorted(p.language for p in long.premises) == ["en", "zh", "zh"]
    assert {p.genre for p in long.premises} == {"revenge", "ceo_romance", "revenge_us"}
    assert long.notes  # the judge's series notes for every premise
    smoke = load_suite("smoke")
    assert len(smoke.premises) == 2 and all(p.episodes == 4 for p in smoke.premises)
    std = load_suite("standard")
    assert len(std.premises) >= 24
    assert {p.language for p in std.premises} == {"zh", "en"}
    assert {p.genre for p in std.premises} == set(builtin_catalog().packs)
    for p in std.premises:
        assert 8 <= p.episodes <= 12
        assert any(ep <= p.episodes for ep in p.spec().paywall.paywall_episodes), p.id  # a paywall inside


def test_judged_episodes_are_opening_cuts_first_paid_three_quarters_and_last() -> None:
    spec = SeasonSpec.create(title="t", logline="a logline", genre="revenge", language="zh", episodes=10,
                             runtime_s=90, free_episodes=4, paywall_episodes=[5, 8])
    # 4 and 7 sell the paywalls at 5 and 8; ceil(0.75 x 10) = 8 is also the second first-paid episode.
    assert judged_episodes(spec) == [(1, ("opening",)), (4, ("cut",)), (5, ("first_paid",)), (7, ("cut",)),
                                     (8, ("first_paid", "three_quarters")), (10, ("finale",))]


@pytest.mark.parametrize(("text", "says"), [
    ("name: s\npremises:\n  - id: a\n    title: T\n    logline: long enough logline\n    genre: revenge\n"
     "    language: zh\n    episodes: 4\n    free: 4\n", "free (4) must be less than episodes (4)"),
    ("name: s\npremises:\n  - id: a\n    title: T\n    logline: long enough logline\n    genre: revenge\n"
     "    language: zh\n    episodes: 4\n    free: 1\n  - id: a\n    title: T\n    logline: long enough logline\n"
     "    genre: revenge\n    language: zh\n    episodes: 4\n    free: 1\n", "premise id 'a' appears twice"),
    ("name: s\npremises:\n  - id: a\n    title: T\n    logline: long enough logline\n    genre: revenge\n"
     "    language: fr\n    episodes: 4\n    free: 1\n", "language"),
    ("name: s\npremises: [\n", "suite.yaml:3: not valid YAML"),
    ("name: s\nprmises: []\n", "prmises"),
])
def test_bad_suites_say_where(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SuiteError, match=None) as exc:
        load_suite(str(path))
    assert says in str(exc.value) and "\n" not in str(exc.value)
