"""The ledger (source of truth), the lore index (as of episode N, rebuildable), and `canon query`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cliffhanger.app.cli import main
from cliffhanger.memory.embeddings import HashEmbedding, UsemEmbedding
from cliffhanger.memory.facts import Entity, Fact
from cliffhanger.memory.ledger import Doc, Ledger, LedgerError
from cliffhanger.memory.lore import LoreIndex
from cliffhanger.memory.query import answer


def F(subject: str, kind: str, attribute: str, value: object, episode: int, scene: int = 0, change: bool = False,
      evidence: str = "") -> Fact:
    return Fact(subject=subject, kind=kind, attribute=attribute, value=value, episode=episode, scene=scene,
                change=change, evidence=evidence)


ENTITIES = [
    Entity(id="lin_xia", type="character", name="Lin Xia", aliases=("林夏", "Xia")),
    Entity(id="gu_yan", type="character", name="Gu Yan", aliases=("顾言",)),
    Entity(id="jade_pendant", type="item", name="jade pendant", aliases=("玉佩", "the pendant")),
    Entity(id="true_parentage", type="secret", name="Lin Xia is the Gu heir", aliases=("身世之谜",)),
]


def seeded(folder: Path) -> Ledger:
    ledger = Ledger(folder / "canon.sqlite")
    for e in ENTITIES:
        ledger.add_entity(e)
    ledger.add_facts([
        F("lin_xia", "state", "status", "alive", 1),
        F("lin_xia", "holds", "item", "jade_pendant", 1, evidence="Lin Xia clutches her mother's jade pendant."),
        F("顾言", "knows", "secret", "true_parentage", 12, 3, evidence="顾言看着鉴定报告，手在发抖。"),
        F("lin_xia", "state", "status", "dead", 30, 1, change=True, evidence="林夏坠入江中。"),
        F("gu_yan", "holds", "item", "玉佩", 31, change=True, evidence="顾言从江边捡起玉佩。"),
    ])
    ledger.put_doc(Doc("rule_midnight", "world_rule", "No one may leave the Gu estate after midnight."))
    ledger.put_doc(Doc("ending_29", "ending", "Episode 29 ends as Lin Xia steps onto the bridge.", 29, "lin_xia"))
    return ledger


def test_aliases_in_any_language_resolve_and_cannot_be_claimed_twice(tmp_path: Path) -> None:
    with seeded(tmp_path) as ledger:
        assert ledger.resolve("林夏") == "lin_xia" and ledger.resolve("  XIA ") == "lin_xia"
        assert ledger.resolve("nobody") == "nobody"
        with pytest.raises(LedgerError, match="alias '林夏' already names 'lin_xia'"):
            ledger.add_entity(Entity(id="impostor", type="character", aliases=("林夏",)))
        stored = [f for f in ledger.facts() if f.kind == "knows"]
        assert stored[0].subject == "gu_yan"  # stored under the id, not the alias


def test_state_as_of_an_episode(tmp_path: Path) -> None:
    with seeded(tmp_path) as ledger:
        early, late = ledger.state_as_of(11), ledger.state_as_of(31)
        assert early.status("lin_xia").value == "alive" and late.status("lin_xia").value == "dead"
        assert early.who_knows("true_parentage") == [] and [f.subject for f in late.who_knows("true_parentage")] == ["gu_yan"]
        assert early.holder["jade_pendant"].subject == "lin_xia" and late.holder["jade_pendant"].subject == "gu_yan"


def test_recording_an_episode_is_idempotent_and_rejects_violations(tmp_path: Path) -> None:
    with seeded(tmp_path) as ledger:
        before = ledger.count()
        facts = [F("gu_yan", "state", "location", "harbour", 32), F("lin_xia", "presence", "appears", True, 32)]
        violations = ledger.record_episode(32, facts)
        assert [v.rule for v in violations] == ["dead_character_active"]
        assert ledger.count() == before + 1  # the violating fact is not stored
        assert ledger.record_episode(32, facts) and ledger.count() == before + 1  # a resumed run changes nothing
        ledger.record_episode(32, [F("gu_yan", "state", "location", "station", 32)])
        assert [f.value for f in ledger.facts(subject="gu_yan") if f.episode == 32] == ["station"]
        with pytest.raises(LedgerError, match="include facts of episode 5"):
            ledger.record_episode(33, [F("gu_yan", "state", "location", "x", 5)])


def test_ledger_survives_reopening(tmp_path: Path) -> None:
    seeded(tmp_path).close()
    with Ledger(tmp_path / "canon.sqlite") as again:
        assert again.count() == 5 and again.resolve("玉佩") == "jade_pendant" and len(again.docs()) == 2


def test_retrieval_as_of_an_episode_never_returns_later_items(tmp_path: Path) -> None:
    with seeded(tmp_path) as ledger:
        index = LoreIndex(tmp_path / "lore", HashEmbedding())
        index.rebuild(ledger)
        for until in (0, 1, 12, 29, 30):
            hits = index.query("Lin Xia pendant river death secret", until_episode=until, k=50)
            assert hits and all(h.episode <= until for h in hits), until
        all_hits = index.query("Lin Xia", k=50)
        assert max(h.episode for h in all_hits) == 31
        rules = index.query("leave the estate", kinds=["world_rule"], k=5)
        assert [h.id for h in rules] == ["doc:rule_midnight"]
        assert {h.subject for h in index.query("pendant", subject="gu_yan", k=10)} == {"gu_yan"}


def test_reindex_gives_the_same_answers_and_sync_never_duplicates(tmp_path: Path) -> None:
    with seeded(tmp_path) as ledger:
        index = LoreIndex(tmp_path / "lore", HashEmbedding())
        n = index.rebuild(ledger)
        before = [(h.id, round(h.distance, 5)) for h in index.query("who holds the pendant", until_episode=31, k=6)]
        index.sync_episode(ledger, 31)
        index.sync_episode(ledger, 31)
        assert index.count() == n
        again = LoreIndex(tmp_path / "lore", HashEmbedding())  # reopened from disk
        assert again.rebuild(ledger) == n
        after = [(h.id, round(h.distance, 5)) for h in again.query("who holds the pendant", until_episode=31, k=6)]
        assert after == before


def test_real_multilingual_embedding_crosses_languages(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "canon.sqlite")
    docs = [
        Doc("en_pendant", "note", "Gu Yan keeps the jade pendant hidden in his breast pocket.", 5),
        Doc("en_storm", "note", "A typhoon closes the harbour for three days.", 5),
        Doc("en_company", "note", "The board votes to remove the chairman.", 5),
        Doc("zh_poison", "note", "二夫人在汤里下了毒。", 5),
        Doc("zh_wedding", "note", "婚礼定在下个月初八。", 5),
        Doc("zh_car", "note", "那辆黑色轿车一直跟在后面。", 5),
    ]
    for d in docs:
        ledger.put_doc(d)
    index = LoreIndex(tmp_path / "lore", UsemEmbedding())
    index.rebuild(ledger)
    assert index.query("谁藏着那块玉佩？", k=1)[0].id == "doc:en_pendant"
    assert index.query("Who poisoned the soup?", k=1)[0].id == "doc:zh_poison"
    assert index.query("When is the wedding?", k=1)[0].id == "doc:zh_wedding"
    ledger.close()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_canon_query_answers_with_episode_references(capsys, tmp_path: Path) -> None:
    seeded(tmp_path).close()
    code, out, _ = cli(capsys, "canon", "query", str(tmp_path), "what does 顾言 know about the pendant?",
                       "--until-episode", "20", "--format", "json")
    result = json.loads(out)
    assert code == 0 and result["until_episode"] == 20
    by_id = {e["id"]: e for e in result["entities"]}
    assert set(by_id) == {"gu_yan", "jade_pendant"}
    assert any(ln["text"] == "knows Lin Xia is the Gu heir" and ln["episode"] == 12 for ln in by_id["gu_yan"]["lines"])
    assert [ln["text"] for ln in by_id["jade_pendant"]["lines"]] == ["held by Lin Xia"]  # not yet Gu Yan's (ep 31)
    assert all(h["episode"] <= 20 for h in result["lore"])

    code, out, _ = cli(capsys, "canon", "query", str(tmp_path), "where is the pendant")
    assert code == 0 and "held by Gu Yan  [ep 31]" in out and "顾言从江边捡起玉佩。" in out


def test_canon_reindex_and_missing_ledger(capsys, tmp_path: Path) -> None:
    seeded(tmp_path).close()
    code, out, _ = cli(capsys, "canon", "reindex", str(tmp_path))
    assert code == 0 and out.startswith("reindexed 7 items")
    code, _, err = cli(capsys, "canon", "query", str(tmp_path / "nowhere"), "x")
    assert code == 2 and "no canon ledger in" in err


def test_answer_function_rebuilds_an_empty_index(tmp_path: Path) -> None:
    seeded(tmp_path).close()
    result = answer(tmp_path, "Lin Xia", until_episode=30, embedding=HashEmbedding())
    assert [e.id for e in result.entities] == ["lin_xia"] and result.lore
    statuses = [ln for ln in result.entities[0].lines if ln.text.startswith("status")]
    assert statuses[-1].text == "status: dead" and statuses[-1].episode == 30


def test_index_built_with_another_embedding_is_rebuilt_not_broken(tmp_path: Path) -> None:
    with seeded(tmp_path) as ledger:
        LoreIndex(tmp_path / "lore", HashEmbedding()).rebuild(ledger)
        other = LoreIndex(tmp_path / "lore", HashEmbedding(dim=128))
        other.ensure_built(ledger)
        assert other.count() == 7 and other.query("pendant", k=1)
