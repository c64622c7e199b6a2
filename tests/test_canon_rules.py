"""The deterministic checker: every rule, its legal counterpart, ordering, aliases, and `canon check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cliffhanger.app.cli import main
from cliffhanger.memory.checker import check, replay, resolver
from cliffhanger.memory.facts import Fact, FactFileError, read_jsonl


def F(subject: str, kind: str, attribute: str, value: object, episode: int, scene: int = 0, change: bool = False,
      evidence: str = "") -> Fact:
    return Fact(subject=subject, kind=kind, attribute=attribute, value=value, episode=episode, scene=scene,
                change=change, evidence=evidence)


def rules(canon: list[Fact], new: list[Fact], aliases: dict[str, str] | None = None) -> list[str]:
    return [v.rule for v in check(canon, new, resolver(aliases or {}))]


DEAD = F("lin_xia", "state", "status", "dead", 14, 2, change=True, evidence="林夏倒在血泊中，没了气息。")


# ---- each rule and its legal counterpart ---------------------------------------------------------

def test_trait_changed_and_the_marked_change() -> None:
    canon = [F("lin_xia", "trait", "eye_colour", "brown", 1)]
    assert rules(canon, [F("lin_xia", "trait", "eye_colour", "green", 20)]) == ["trait_changed"]
    assert rules(canon, [F("lin_xia", "trait", "eye_colour", "green", 20, change=True)]) == []
    assert rules(canon, [F("lin_xia", "trait", "eye_colour", " Brown ", 20)]) == []  # same value, other spelling
    assert rules(canon, [F("gu_chen", "trait", "eye_colour", "green", 20)]) == []  # another subject


def test_state_changed_silently_and_shown_change() -> None:
    canon = [F("lin_xia", "state", "location", "shanghai", 3)]
    assert rules(canon, [F("lin_xia", "state", "location", "paris", 4)]) == ["state_changed_silently"]
    assert rules(canon, [F("lin_xia", "state", "location", "paris", 4, change=True)]) == []
    assert rules(canon, [F("lin_xia", "state", "marital_status", "married", 4)]) == []  # first value of another attribute


def test_dead_character_active_and_revival_in_the_same_episode() -> None:
    appears = F("lin_xia", "presence", "appears", True, 15, 3)
    assert rules([DEAD], [appears]) == ["dead_character_active"]
    revived_before = F("lin_xia", "state", "status", "alive", 15, 1, change=True, evidence="她的死是假的。")
    assert rules([DEAD], [revived_before, appears]) == []
    # the revival appears later in the file but at an earlier scene of the same episode
    assert rules([DEAD], [appears, F("lin_xia", "state", "status", "alive", 15, 2, change=True)]) == []
    # a revival after the scene, or in the next episode, does not excuse it
    assert rules([DEAD], [appears, F("lin_xia", "state", "status", "alive", 15, 5, change=True)]) == ["dead_character_active"]
    assert rules([DEAD], [appears, F("lin_xia", "state", "status", "alive", 16, 0, change=True)]) == ["dead_character_active"]
    # a presence in the same episode before the death is fine
    assert rules([DEAD], [F("lin_xia", "presence", "appears", True, 14, 1)]) == []


def test_knowledge_before_learning() -> None:
    learns = F("gu_yan", "knows", "secret", "true_parentage", 12, 4)
    uses = F("gu_yan", "uses", "secret", "true_parentage", 20)
    assert rules([], [uses]) == ["knowledge_before_learning"]
    assert rules([learns], [uses]) == []
    assert rules([], [F("gu_yan", "uses", "secret", "true_parentage", 12, 3), learns]) == ["knowledge_before_learning"]
    assert rules([], [learns, F("gu_yan", "uses", "secret", "true_parentage", 12, 4)]) == []  # same scene, after
    assert rules([F("lin_xia", "knows", "secret", "true_parentage", 2)], [uses]) == ["knowledge_before_learning"]


def test_item_in_two_hands_and_hand_over() -> None:
    canon = [F("gu_chen", "holds", "item", "jade_pendant", 3)]
    assert rules(canon, [F("lin_xia", "holds", "item", "jade_pendant", 5)]) == ["item_in_two_hands"]
    handed = F("lin_xia", "holds", "item", "jade_pendant", 5, change=True)
    assert rules(canon, [handed]) == []
    # after the hand-over the earlier holder no longer holds it
    assert rules(canon, [handed, F("lin_xia", "holds", "item", "jade_pendant", 9)]) == []
    assert rules(canon, [handed, F("gu_chen", "holds", "item", "jade_pendant", 9)]) == ["item_in_two_hands"]


# ---- combinations and ordering ----------------------------------------------------------------------

def test_combinations_across_episodes() -> None:
    canon = [
        F("lin_xia", "trait", "birthmark", "left wrist", 1),
        F("lin_xia", "state", "status", "alive", 1),
        F("gu_chen", "holds", "item", "will", 2),
        F("lin_xia", "knows", "secret", "forged_will", 6),
        DEAD,
    ]
    new = [
        F("lin_xia", "presence", "appears", True, 15, 1),                   # dead
        F("lin_xia", "uses", "secret", "forged_will", 15, 1),               # fine: she learned it in 6
        F("gu_yan", "uses", "secret", "forged_will", 15, 2),                # never learned
        F("gu_yan", "holds", "item", "will", 15, 3),                        # still in Gu Chen's hands
        F("lin_xia", "trait", "birthmark", "right wrist", 15, 4),           # trait moved
    ]
    assert rules(canon, new) == ["dead_character_active", "knowledge_before_learning", "item_in_two_hands",
                                 "trait_changed"]


def test_violating_facts_are_not_applied_so_errors_do_not_cascade() -> None:
    canon = [F("lin_xia", "state", "location", "shanghai", 1)]
    new = [F("lin_xia", "state", "location", "paris", 2), F("lin_xia", "state", "location", "shanghai", 3)]
    assert rules(canon, new) == ["state_changed_silently"]


def test_facts_are_checked_in_story_order_not_file_order() -> None:
    new = [F("gu_yan", "uses", "secret", "s1", 8), F("gu_yan", "knows", "secret", "s1", 5)]
    assert rules([], new) == []
    new = [F("gu_yan", "uses", "secret", "s1", 5, 2), F("gu_yan", "knows", "secret", "s1", 5, 1)]
    assert rules([], new) == []


def test_canon_violations_are_not_reported_only_new_ones() -> None:
    canon = [F("a", "state", "status", "alive", 1), F("a", "state", "status", "dead", 2)]
    assert rules(canon, []) == []


def test_aliases_resolve_subjects_items_and_secrets() -> None:
    aliases = {"林夏": "lin_xia", "Lin Xia": "lin_xia", "玉佩": "jade_pendant", "顾沉": "gu_chen"}
    canon = [F("林夏", "state", "status", "dead", 14, change=True), F("顾沉", "holds", "item", "玉佩", 3)]
    assert rules(canon, [F("lin_xia", "presence", "appears", True, 15)], aliases) == ["dead_character_active"]
    assert rules(canon, [F("Lin Xia", "holds", "item", "jade_pendant", 16)], aliases) == ["item_in_two_hands"]
    state = replay(canon, resolver(aliases)).state
    assert state.holder["jade_pendant"].subject == "gu_chen"


# ---- the fact contract ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"subject": "a", "kind": "mood", "attribute": "x", "value": 1, "episode": 1}, "kind"),
        ({"subject": "a", "kind": "state", "attribute": "x", "value": 1}, "episode"),
        ({"subject": "a", "kind": "presence", "attribute": "speaks", "value": True, "episode": 1}, "attribute 'appears'"),
        ({"subject": "a", "kind": "holds", "attribute": "item", "value": 3, "episode": 1}, "an id like"),
        ({"subject": "a", "kind": "state", "attribute": "x", "value": 1, "episode": -1}, "greater than or equal to 0"),
        ({"subject": "a", "kind": "state", "attribute": "x", "value": 1, "episode": 1, "colour": "red"}, "Extra inputs"),
    ],
)
def test_fact_contract_rejects_bad_facts(data: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        Fact.model_validate(data)


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_malformed_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "bad.jsonl", [
        {"subject": "a", "kind": "state", "attribute": "x", "value": 1, "episode": 1},
        "{not json",
        "",
        [1, 2],
        {"subject": "a", "kind": "state", "attribute": "x", "value": 1},
    ])
    with pytest.raises(FactFileError) as info:
        read_jsonl(path)
    problems = info.value.problems
    assert problems[0].startswith(f"{path}:2: not JSON")
    assert problems[1] == f"{path}:4: expected a JSON object, got list"
    assert problems[2] == f"{path}:5: episode: Field required"


# ---- the CLI ------------------------------------------------------------------------------------------

def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    canon = _jsonl(tmp_path / "canon.jsonl", [
        {"entity": "lin_xia", "type": "character", "name": "Lin Xia", "aliases": ["林夏"]},
        json.loads(DEAD.model_dump_json()),
        {"subject": "gu_yan", "kind": "knows", "attribute": "secret", "value": "pendant_origin", "episode": 5},
    ])
    bad = _jsonl(tmp_path / "ep15.jsonl", [
        {"subject": "林夏", "kind": "presence", "attribute": "appears", "value": True, "episode": 15, "scene": 3,
         "evidence": "林夏推门而入。"},
        {"subject": "gu_yan", "kind": "uses", "attribute": "secret", "value": "pendant_origin", "episode": 15},
    ])
    good = _jsonl(tmp_path / "ep15_ok.jsonl", [
        {"subject": "gu_yan", "kind": "uses", "attribute": "secret", "value": "pendant_origin", "episode": 15},
    ])
    return canon, bad, good


def test_cli_check_reports_violations_as_json(capsys, files) -> None:
    canon, bad, _ = files
    code, out, _ = cli(capsys, "canon", "check", "--canon", str(canon), "--episode", str(bad), "--format", "json")
    assert code == 1
    (v,) = json.loads(out)
    assert {k: v[k] for k in ("rule", "subject", "attribute", "value", "episode", "scene")} == {
        "rule": "dead_character_active", "subject": "lin_xia", "attribute": "appears", "value": True,
        "episode": 15, "scene": 3}
    assert v["conflicts_with"]["value"] == "dead" and v["conflicts_with"]["episode"] == 14
    assert v["conflicts_with"]["evidence"] == "林夏倒在血泊中，没了气息。"


def test_cli_check_text_and_exit_codes(capsys, files, tmp_path: Path) -> None:
    canon, bad, good = files
    code, out, _ = cli(capsys, "canon", "check", "--canon", str(canon), "--episode", str(bad))
    assert code == 1 and "dead_character_active" in out and "林夏倒在血泊中" in out and "1 violation(s) in 2 fact(s)" in out
    code, out, _ = cli(capsys, "canon", "check", "--canon", str(canon), "--episode", str(good))
    assert code == 0 and "no violations" in out
    broken = _jsonl(tmp_path / "broken.jsonl", ['{"subject": "a",'])
    code, out, err = cli(capsys, "canon", "check", "--canon", str(canon), "--episode", str(broken))
    assert code == 2 and out == "" and f"{broken}:1: not JSON" in err and err.count("\n") == 1
    code, _, err = cli(capsys, "canon", "check", "--canon", str(tmp_path / "missing.jsonl"), "--episode", str(good))
    assert code == 2 and "not found" in err
