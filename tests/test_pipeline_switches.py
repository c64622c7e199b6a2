"""Pipeline switches an eval compares: no critic, no canon memory, no revisions."""

from __future__ import annotations

from pathlib import Path

from canon_kit import FLOOR, assert_canon_is_the_accepted_facts
from season_kit import make_season, run, sim_models

from cliffhanger.agents.llm.usage import UsageLog, read_usage
from cliffhanger.agents.season.artifacts import ContinuityReport
from cliffhanger.memory.ledger import Ledger


def test_without_a_critic_no_critic_call_is_made_and_episodes_are_accepted(tmp_path: Path, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 3, free=1)
    result = run(store, sim_models(sim_url, UsageLog(store.usage_path)), critic=False, max_revisions=1)
    assert result.stop == "done" and result.accepted == [1, 2, 3]
    roles = {r.role for r in read_usage(store.usage_path)}
    assert "critic" not in roles and {"writer", "continuity", "showrunner"} <= roles
    assert not list(store.root.rglob("*.critique.json"))
    assert store.shots(3) is not None


def test_without_canon_memory_the_writer_gets_no_canon_but_facts_are_kept(tmp_path: Path, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 3, free=1)
    usage = UsageLog(store.usage_path)
    result = run(store, sim_models(sim_url, usage), canon_memory=False, max_revisions=0)
    assert result.stop == "done"
    for ep in (1, 2, 3):
        report = store.read_model(store.revision_path(ep, 0, "continuity"), ContinuityReport)
        assert report.findings == ()
        assert store.revision_path(ep, 0, "facts").exists()
    # Only fact extraction ran for continuity: one call per episode, no review call.
    assert sum(1 for r in read_usage(store.usage_path) if r.role == "continuity") == 3
    extracted = {ep: len(store.revision_path(ep, 0, "facts").read_text(encoding="utf-8").splitlines())
                 for ep in (1, 2, 3)}
    assert all(n >= FLOOR for n in extracted.values()), extracted  # facts, not an empty file, per episode
    assert assert_canon_is_the_accepted_facts(store) == extracted  # and each of them reached canon
    with Ledger(store.ledger_path) as ledger:
        assert {f.episode for f in ledger.facts()} == {0, 1, 2, 3}
