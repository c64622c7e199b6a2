"""The season-architecture data model: arc rows that can be checked (payoff kind, intensity, antagonist,
reveals to someone, plants and pays, walk-ons), a bible that lasts (antagonist ladder, cards, plants, forms of
address), the paywall vocabulary in both languages, and season format 2 reading format-1 folders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError
from season_kit import make_season

from cliffhanger.agents.llm.strict_schema import grammar_json_schema, strict_json_schema
from cliffhanger.agents.roles.showrunner import ActRows
from cliffhanger.agents.season.artifacts import (
    AUDIENCE,
    PAYWALL_LABELS,
    ArcPlan,
    ArcRow,
    Bible,
    Reveal,
    SeasonSpec,
    WalkOn,
)
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.season.store_io import FORMAT

V2_ROW = ("payoff_kind", "intensity", "antagonist", "reveals", "plants", "pays", "walk_ons")
V2_BIBLE = ("antagonists", "cards", "plants", "address")


def _character(cid: str) -> dict[str, Any]:
    return {"id": cid, "name": cid.title(), "aliases": [], "role": "other", "age": 30, "want": "to win",
            "secret": None, "arc": "changes", "voice": "short",
            "visual": {"face": "oval face", "hair": "black hair", "build": "slim", "age_look": "thirties",
                       "wardrobe": "grey suit", "marks": ""}, "reference_image": None,
            "casting": {"gender": "female", "age_range": "adult", "timbre": "warm", "pace": "measured"}}


def bible(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "premise": "p", "world_rules": [], "characters": [_character(c) for c in ("lin_wan", "su_mei", "gu_chen")],
        "locations": [{"id": "lin_hall", "name": "林家大厅", "description": "d", "visual": "hall", "int_ext": "INT"}],
        "secrets": [{"id": "switched", "description": "d", "known_by": ["su_mei"], "planned_reveal_episode": 11}],
        "antagonists": [{"character": "su_mei", "tier": 1, "act": 1, "downfall_episode": 11, "downfall": "逐出林家。"}],
        "cards": [{"id": "buyer", "description": "d", "stages": [{"episode": 3, "to": "audience"},
                                                                  {"episode": 9, "to": "gu_chen"}]}],
        "plants": [{"id": "clasp", "what": "w", "planted_episode": 2, "payoff_episode": 9}],
        "address": [{"speaker": "su_mei", "listener": "lin_wan", "form": "姐姐"}],
    }
    data.update(changes)
    return data


def row(ep: int = 1, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "episode": ep, "act": 1, "logline": "l", "beats": ["a", "b"], "payoff": "p", "payoff_kind": "identity_drop",
        "intensity": "medium", "antagonist": "su_mei", "opening_hook": "h",
        "cliffhanger": {"kind": "evidence_pending", "hook_line": "x", "strength": 3}, "paywall": False,
        "reveals": [{"secret": "switched", "to": AUDIENCE}], "plants": ["clasp"], "pays": [],
        "walk_ons": [{"id": "sneering_clerk", "name": "柜姐", "look": "young clerk in a black uniform, smirking"}],
    }
    data.update(changes)
    return data


def format_1_row(ep: int = 1, reveals: list[str] | None = None) -> dict[str, Any]:
    data = row(ep)
    for key in V2_ROW:
        data.pop(key)
    data["reveals"] = reveals or []
    return data


# ---- rows ------------------------------------------------------------------------------------------------


def test_a_row_carries_the_checkable_fields() -> None:
    r = ArcRow.model_validate(row())
    assert (r.payoff_kind, r.intensity, r.antagonist) == ("identity_drop", "medium", "su_mei")
    assert r.reveals == (Reveal(secret="switched", to="audience"),) and r.revealed == ("switched",)
    assert r.plants == ("clasp",) and r.pays == () and r.walk_ons[0] == WalkOn(
        id="sneering_clerk", name="柜姐", look="young clerk in a black uniform, smirking")
    assert ArcRow.model_validate_json(r.model_dump_json()) == r
    with pytest.raises(ValidationError, match="walk_ons"):
        ArcRow.model_validate(row(walk_ons=[row()["walk_ons"][0]] * 4))
    with pytest.raises(ValidationError, match="intensity"):
        ArcRow.model_validate(row(intensity="huge"))
    with pytest.raises(ValidationError, match="reveals"):
        ArcRow.model_validate(row(reveals=[{"secret": "switched"}]))  # a new row says who learns it


def test_the_model_must_write_the_new_fields() -> None:
    schema = ArcRow.model_json_schema()
    assert set(V2_ROW) <= set(schema["required"])
    assert schema["$defs"]["Reveal"]["required"] == ["secret", "to"]
    assert set(V2_BIBLE) <= set(Bible.model_json_schema()["required"])
    for model in (ArcRow, ArcPlan, ActRows, Bible):
        strict = strict_json_schema(model)
        grammar_json_schema(model)
        grammar_json_schema(model, max_items=None)
        assert json.dumps(strict)  # serialisable, no pydantic objects left
    strict = strict_json_schema(ArcRow)
    assert strict["required"] == list(strict["properties"]) and strict["additionalProperties"] is False
    dumped = ArcRow.model_validate(row()).model_dump(mode="json")
    jsonschema.validate(dumped, ArcRow.model_json_schema())
    jsonschema.validate(dumped, strict)
    jsonschema.validate(Bible.model_validate(bible()).model_dump(mode="json"), strict_json_schema(Bible))


def test_a_format_1_row_reads_with_unknown_fields() -> None:
    r = ArcRow.model_validate(format_1_row(reveals=["switched"]))
    assert (r.payoff_kind, r.intensity, r.antagonist, r.plants, r.pays, r.walk_ons) == (None, None, None, (), (), ())
    assert r.reveals == (Reveal(secret="switched", to=None),) and r.revealed == ("switched",)
    again = ArcRow.model_validate_json(r.model_dump_json())  # written back in the new shape, read the same
    assert again == r and json.loads(r.model_dump_json())["reveals"] == [{"secret": "switched", "to": None}]


def test_problems_against_the_bible() -> None:
    spec = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=1, mode="ad")
    b = Bible.model_validate(bible())
    assert ArcPlan.model_validate({"rows": [row()]}).problems_against(spec, b) == []
    card = row(reveals=[{"secret": "buyer", "to": "gu_chen"}])
    assert ArcPlan.model_validate({"rows": [card]}).problems_against(spec, b) == []
    bad = row(reveals=[{"secret": "nope", "to": "audience"}, {"secret": "switched", "to": "stranger"}],
              antagonist="ghost", plants=["seed"], pays=["clasp", "other"])
    problems = ArcPlan.model_validate({"rows": [bad]}).problems_against(spec, b)
    assert problems == [
        "episode 1: reveals 'nope', which is not a bible secret; use one of: buyer, switched",
        "episode 1: reveals 'switched' to 'stranger', which is not a character id; use one of: gu_chen, lin_wan, "
        "su_mei or 'audience'",
        "episode 1: antagonist 'ghost' is not a character id; use one of: gu_chen, lin_wan, su_mei or null",
        "episode 1: plants 'seed', which is not a bible plant; use one of: clasp",
        "episode 1: pays 'other', which is not a bible plant; use one of: clasp",
    ]
    old = ArcPlan.model_validate({"rows": [format_1_row(reveals=["switched"])]})
    assert old.problems_against(spec, b) == []  # an unknown party is not a problem


# ---- the bible -----------------------------------------------------------------------------------------------


def test_a_bible_that_lasts() -> None:
    b = Bible.model_validate(bible())
    assert b.antagonist("su_mei").tier == 1 and b.antagonist("lin_wan") is None  # type: ignore[union-attr]
    assert b.card("buyer").stages[0].to == AUDIENCE and b.plant("clasp").payoff_episode == 9
    assert b.revealable_ids == ("switched", "buyer") and b.address[0].form == "姐姐"
    assert Bible.model_validate_json(b.model_dump_json()) == b


def test_a_bible_from_before_format_2_reads() -> None:
    data = bible()
    for key in V2_BIBLE:
        data.pop(key)
    b = Bible.model_validate(data)
    assert (b.antagonists, b.cards, b.plants, b.address) == ((), (), (), ())
    assert Bible.model_validate(data | {"cards": None}).cards == ()


@pytest.mark.parametrize(("changes", "match"), [
    ({"cards": [{"id": "switched", "description": "d", "stages": []}]}, "'switched' is used twice .secrets and cards"),
    ({"plants": [{"id": "lin_hall", "what": "w", "planted_episode": 1, "payoff_episode": 2}]},
     "'lin_hall' is used twice .locations and plants"),
    ({"antagonists": [{"character": "ghost", "tier": 2, "act": 1, "downfall_episode": None, "downfall": "d"}]},
     r"antagonists\[0\]: character names 'ghost', which is not a character id"),
    ({"antagonists": [{"character": "su_mei", "tier": 4, "act": 1, "downfall_episode": None, "downfall": "d"}]},
     "tier"),
    ({"cards": [{"id": "buyer", "description": "d", "stages": [{"episode": 3, "to": "crowd"}]}]},
     r"cards\[0\] 'buyer': stages\[0\].to names 'crowd', which is not a character id; use one of: .* \(or 'audience'\)"),
    ({"address": [{"speaker": "lin_wan", "listener": "nobody", "form": "你"}]},
     r"address\[0\]: listener names 'nobody'"),
    ({"characters": [_character("lin_wan"), _character("audience")], "secrets": [], "antagonists": [], "cards": [],
      "address": []}, "'audience', which names the viewer"),
])
def test_the_bible_refuses_broken_structure(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        Bible.model_validate(bible(**changes))


def test_story_bookkeeping_is_not_a_validation_error() -> None:
    b = Bible.model_validate(bible(
        plants=[{"id": "clasp", "what": "w", "planted_episode": 20, "payoff_episode": 2}],
        antagonists=[{"character": "su_mei", "tier": 1, "act": 3, "downfall_episode": 50, "downfall": "d"},
                     {"character": "gu_chen", "tier": 3, "act": 1, "downfall_episode": 5, "downfall": "d"}]))
    assert b.plants[0].payoff_episode < b.plants[0].planted_episode  # arc_check's plant_order says so


# ---- the paywall vocabulary --------------------------------------------------------------------------------


def test_paywall_labels_in_both_languages() -> None:
    spec = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=60)
    assert spec.paywall.paywall_episodes == (11, 30, 50)
    kinds = {ep: spec.episode_kind(ep) for ep in range(1, 61)}
    assert [e for e, k in kinds.items() if k == "cut"] == [10, 29, 49]
    assert [e for e, k in kinds.items() if k == "first_paid"] == [11, 30, 50]
    assert {kinds[e] for e in range(1, 10)} == {"free"} and {kinds[e] for e in (12, 28, 31, 51, 60)} == {"paid"}
    zh = {ep: spec.episode_label(ep, "zh") for ep in (1, 10, 11, 12, 29, 30)}
    assert zh == {1: "免费集", 10: "卡点集", 11: "付费首集", 12: "付费集", 29: "解锁卡点集", 30: "解锁首集"}
    en = {ep: spec.episode_label(ep, "en") for ep in (1, 10, 11, 12, 29, 30)}
    assert en == {1: "free episode", 10: "last free episode (the cut)", 11: "first paid episode", 12: "paid episode",
                  29: "last episode before the next unlock", 30: "first episode behind the next unlock"}
    assert set(PAYWALL_LABELS) == {"zh", "en"}
    assert all(set(v) == {"ad", "free", "cut", "first_paid", "paid"} for v in PAYWALL_LABELS.values())
    ad = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=60, mode="ad")
    assert {ad.episode_kind(e) for e in range(1, 61)} == {"ad"}
    assert (ad.episode_label(10, "zh"), ad.episode_label(10, "en")) == ("免费（广告）集", "free (ad-supported) episode")


def test_a_paywall_point_after_the_free_range_keeps_the_gap_free() -> None:
    spec = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=30, free_episodes=8,
                             paywall_episodes=[12, 13])
    assert [spec.episode_kind(e) for e in (8, 10, 11, 12, 13, 14)] == ["free", "free", "cut", "cut", "first_paid",
                                                                      "paid"]


# ---- the season folder: format 2, format 1 still opens ----------------------------------------------------


def test_new_seasons_are_format_2_and_format_1_folders_open(tmp_path: Path) -> None:
    assert FORMAT == 2
    store = make_season(tmp_path / "s", 12)
    toml = store.root / "season.toml"
    assert "format = 2\n" in toml.read_text(encoding="utf-8")
    toml.write_text(toml.read_text(encoding="utf-8").replace("format = 2\n", "format = 1\n"), encoding="utf-8")
    old_bible = bible()
    for key in V2_BIBLE:
        old_bible.pop(key)
    (store.root / "bible.json").write_text(json.dumps(old_bible, ensure_ascii=False), encoding="utf-8")
    rows = [format_1_row(ep, ["switched"] if ep == 11 else []) for ep in range(1, 13)]
    for r in rows:
        r["paywall"] = store.spec().is_paywall(r["episode"])
    (store.root / "arc.json").write_text(json.dumps({"rows": rows}, ensure_ascii=False), encoding="utf-8")
    opened = SeasonStore.open(store.root)
    arc, b = opened.arc(), opened.bible()
    assert arc is not None and b is not None and b.plants == ()
    assert arc.row(11).reveals == (Reveal(secret="switched", to=None),) and arc.row(1).payoff_kind is None
    arc.validate_against(opened.spec(), b)
