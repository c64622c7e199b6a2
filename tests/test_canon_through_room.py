"""Canon through the room, measured: a sim season ends with canon for every episode (a floor per episode, not
a total), and a contradiction planted in a sim season is found by the deterministic checker in the room."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
from canon_kit import CANON_ROW, FLOOR, accepted_facts, assert_canon_is_the_accepted_facts, replayed_canon
from season_kit import make_season, run, sim_models

from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles.continuity import quoted_in, script_text
from cliffhanger.agents.season.artifacts import Bible, DialogueLine, EpisodeScript
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.memory.embeddings import HashEmbedding
from cliffhanger.memory.ledger import Ledger
from cliffhanger.memory.lore import LoreIndex

GHOST = "你以为我真的死了吗？"


def test_a_twelve_episode_sim_season_ends_with_canon_for_every_episode(tmp_path: Path, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 12, language="en", genre="revenge_us")
    result = run(store, sim_models(sim_url, UsageLog(store.usage_path)), concurrency=4)
    assert result.stop == "done" and result.accepted == list(range(1, 13))
    counts = assert_canon_is_the_accepted_facts(store)  # >= FLOOR facts for each episode, then canon = the replay
    assert sorted(counts) == list(range(1, 13)) and min(counts.values()) >= FLOOR
    people = {c.id for c in store.bible().characters}
    with Ledger(store.ledger_path) as ledger:
        episode_facts = [f for f in ledger.facts() if f.episode > 0]
        for f in episode_facts:  # about the bible's characters, each shown by a line of its accepted script
            assert f.subject in people, f
            assert quoted_in(f.evidence, script_text(store.script(f.episode))), f
        assert {f.kind for f in episode_facts} >= {"presence", "state"}
        index = LoreIndex(store.lore_path, HashEmbedding())
        hits = index.query("where is everyone now", until_episode=12, k=8)
        assert any(h.episode > 0 for h in hits)  # the lore index holds the episodes' canon too
    model_findings = []
    for ep in range(1, 13):
        review = json.loads((store.episode_dir(ep) / "review.json").read_text(encoding="utf-8"))
        for rev, entry in enumerate(review["revisions"]):
            draft = store.read_model(store.revision_path(ep, rev), EpisodeScript)
            for f in entry["continuity"]["findings"]:
                assert quoted_in(f["script_quote"], script_text(draft))
                model_findings += [f] if f["rule"] == "model_check" else []
    assert model_findings  # the sim's model check reports now and then, and its quotes survive verification

    # an episode whose facts were all dropped (from canon and from its facts file): the replay still agrees
    # with canon, so only the floor can tell
    rev, _ = accepted_facts(store, 5)
    store.revision_path(5, rev, "facts").write_text("", encoding="utf-8")
    with Ledger(store.ledger_path) as ledger, ledger._db:
        ledger._db.execute("DELETE FROM facts WHERE episode = 5")
    with Ledger(store.ledger_path) as ledger:
        assert collections.Counter(ledger._db.execute(CANON_ROW).fetchall()) == replayed_canon(store)
    with pytest.raises(AssertionError, match="floor"):
        assert_canon_is_the_accepted_facts(store)


def _unique_character(store: SeasonStore) -> tuple[str, str]:
    """(id, name) of a bible character no other character's name or alias can be mistaken for."""
    bible: Bible = store.bible()
    for c in bible.characters:
        others = [n for o in bible.characters if o.id != c.id for n in (o.name, *o.aliases)]
        if len(c.name) >= 2 and not any(c.name in n or n in c.name for n in others):
            return c.id, c.name
    raise AssertionError("no character with a name of its own in the sim's bible")


def plant_writer(models: dict, store: SeasonStore, died: int, returns: int) -> dict:
    """The sim writer, except: every draft of episode `died` ends on a character dying on screen, and the
    first draft of episode `returns` opens with the dead character speaking. Returns what was planted (filled
    in at the first planted call, once the bible exists)."""
    client, planted = models["writer"], {}
    inner = client.structured

    async def structured(schema, messages, **kw):  # noqa: ANN001, ANN003, ANN202
        out = await inner(schema, messages, **kw)
        ep, first = kw.get("episode"), str(kw.get("prompt", "")).startswith("writer.draft_episode")
        if ep not in (died, returns) or (ep == returns and not first):
            return out
        if "id" not in planted:
            planted["id"], planted["name"] = _unique_character(store)
            planted["death"] = f"{planted['name']}从天台坠下，再也没有醒来。"
        data = out.model_dump(mode="json")
        if ep == died:
            data["scenes"][-1]["elements"].append({"type": "action", "text": planted["death"]})
        else:
            scene = data["scenes"][0]
            scene["elements"].insert(0, {"type": "dialogue", "speaker": planted["id"], "parenthetical": "从门外走进来",
                                         "line": GHOST, "delivery": None})
            scene["cast"] = [planted["id"], *[c for c in scene["cast"] if c != planted["id"]]]
        return EpisodeScript.model_validate(data)

    client.structured = structured
    return planted


def test_a_dead_character_planted_in_a_sim_season_is_caught_by_the_checker_in_the_room(tmp_path: Path,
                                                                                          sim_url: str) -> None:
    store = make_season(tmp_path / "s", 4, free=2)
    models = sim_models(sim_url, UsageLog(store.usage_path))
    planted = plant_writer(models, store, died=2, returns=4)
    assert run(store, models, max_revisions=2).stop == "done" and store.accepted_episodes() == [1, 2, 3, 4]
    who = planted["id"]
    with Ledger(store.ledger_path) as ledger:  # the sim read the death off the script into canon
        status = ledger.state_as_of(2).status(who)
        assert (status.value, status.episode, status.evidence, status.change) == ("dead", 2, planted["death"], True)
        assert ledger.state_as_of(4).status(who).value == "dead"
        assert not [f for f in ledger.facts() if f.episode > 2 and f.subject == who and f.kind == "presence"]
    review = json.loads((store.episode_dir(4) / "review.json").read_text(encoding="utf-8"))
    found = [f for f in review["revisions"][0]["continuity"]["findings"] if f["script_quote"] == GHOST]
    assert [(f["rule"], f["severity"], f["subject"], f["canon_fact"], f["scene"]) for f in found] == \
        [("dead_character_active", "error", who, planted["death"], 1)]
    decision = json.loads(store.revision_path(4, 0, "decision").read_text(encoding="utf-8"))
    assert decision["decision"] == "revise"  # rules first: the error's note goes to the writer whatever the model says
    assert [r for r in decision["_meta"]["rule_reasons"] if r.startswith("连续性：") and GHOST in r]
    # fixed by the first revision: the writer read the note and left the dead out; the draft of episode 3
    # (no plant) had already kept away from them, reading canon
    dead_active = [[f for f in r["continuity"]["findings"] if f["rule"] == "dead_character_active"]
                   for r in review["revisions"]]
    assert len(dead_active) >= 2 and dead_active[1] == [] and review["accepted_revision"] >= 1
    assert not [f for f in review["open_findings"] if f["rule"] == "dead_character_active"]
    accepted = store.script(4)
    assert GHOST not in script_text(accepted)
    assert who not in {el.speaker for s in accepted.scenes for el in s.elements if isinstance(el, DialogueLine)}
    three = json.loads((store.episode_dir(3) / "review.json").read_text(encoding="utf-8"))
    assert not [f for r in three["revisions"] for f in r["continuity"]["findings"] if f["rule"] == "dead_character_active"]
    assert_canon_is_the_accepted_facts(store, floor=1)  # one character fewer on screen: thinner episodes
