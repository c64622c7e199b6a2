"""Canon checks shared by room tests: the floor of facts per accepted episode, and canon as the replay of
the accepted revisions' facts. The floor comes first: two empty sets compare equal and prove nothing."""

from __future__ import annotations

import collections
import json
import tempfile
from pathlib import Path

from cliffhanger.agents.roles.continuity import seed_canon
from cliffhanger.agents.season.artifacts import Bible
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.memory.facts import Fact
from cliffhanger.memory.ledger import Ledger

FLOOR = 5  # facts per accepted episode that a sim season reaches (the sim extracts 8 or more a draft)
CANON_ROW = "SELECT subject, kind, attribute, value, episode, scene, change, evidence, source FROM facts"


def accepted_facts(store: SeasonStore, episode: int) -> tuple[int, list[Fact]]:
    """(accepted revision, the facts extracted from it) for an accepted episode."""
    rev = json.loads((store.episode_dir(episode) / "review.json").read_text(encoding="utf-8"))["accepted_revision"]
    text = store.revision_path(episode, rev, "facts").read_text(encoding="utf-8")
    return rev, [Fact.model_validate_json(line) for line in text.splitlines() if line.strip()]


def facts_per_episode(store: SeasonStore) -> dict[int, int]:
    """Facts in canon.sqlite per accepted episode (0 for an accepted episode with none)."""
    with Ledger(store.ledger_path) as ledger:
        counts = collections.Counter(f.episode for f in ledger.facts())
    return {ep: counts[ep] for ep in store.accepted_episodes()}


def replayed_canon(store: SeasonStore) -> collections.Counter:
    """The canon rows a fresh ledger gets from the bible and each accepted revision's facts, in order."""
    with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "canon.sqlite") as fresh:
        bible = json.loads((store.root / "bible.json").read_text(encoding="utf-8"))
        seed_canon(fresh, Bible.model_validate({k: v for k, v in bible.items() if k != "_meta"}))
        for ep in store.accepted_episodes():
            rev, facts = accepted_facts(store, ep)
            fresh.record_episode(ep, facts, f"episode {ep} r{rev}")
        return collections.Counter(fresh._db.execute(CANON_ROW).fetchall())


def assert_canon_is_the_accepted_facts(store: SeasonStore, floor: int = FLOOR) -> dict[int, int]:
    """The floor per accepted episode first, then canon.sqlite == the replay; returns the facts per episode."""
    counts = facts_per_episode(store)
    assert counts and all(n >= floor for n in counts.values()), f"facts per accepted episode {counts}, floor {floor}"
    with Ledger(store.ledger_path) as ledger:
        recorded = collections.Counter(ledger._db.execute(CANON_ROW).fetchall())
    assert recorded == replayed_canon(store)
    return counts
