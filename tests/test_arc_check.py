"""The arc audit (`agents.season.arc_check`) and `cliffhanger arc check`: for each rule a row planted with
the fault is found and its legal look-alike is not; repair fixes what it claims to fix, deterministically,
idempotently, on random arcs too; an arc from season format 1 names the rules it could not apply.

The season is 60 episodes with 10 free (paywall points 11, 30, 50): cut episodes (卡点集) 10, 29, 49, first
paid episodes 11, 30, 50.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from season_kit import make_season, run_cli

from cliffhanger.agents.season.arc_check import (
    RULES,
    ArcAudit,
    ArcFinding,
    check_arc,
    episode_span,
)
from cliffhanger.agents.season.arc_repair import repair_arc
from cliffhanger.agents.season.artifacts import ArcPlan, Bible, SeasonSpec
from cliffhanger.genres.loader import load_catalog

PACK = load_catalog().get("revenge")
SPEC = SeasonSpec.create(title="千金归来", logline="被调包的真千金回到豪门复仇。", genre="revenge", episodes=60,
                         free_episodes=10)
PAYOFFS = [k.id for k in PACK.payoff_kinds]
# the clean arc's cliffhangers cycle through six kinds (a kind comes back every six episodes)
CYCLE = ["evidence_pending", "villain_counterstrike", "ally_in_danger", "bigger_enemy_reveal", "revenge_launch",
         "big_backer_arrives"]
CUTS, FIRST_PAID = (10, 29, 49), (11, 30, 50)
# What repair claims to fix when the bible's own plan is consistent.
REPAIRABLE = set(RULES)


def _character(cid: str, role: str = "other") -> dict[str, Any]:
    return {"id": cid, "name": cid.replace("_", " ").title(), "aliases": [], "role": role, "age": 30,
            "want": "to win", "secret": None, "arc": "learns the price", "voice": "short sentences",
            "visual": {"face": "oval face", "hair": "black hair", "build": "slim", "age_look": "thirties",
                       "wardrobe": "grey suit", "marks": ""}, "reference_image": None}


CAST = ["lin_wan", "gu_chen", "su_mei", "zhao_lei", "wang_fu"]


def bible_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "premise": "被调包的真千金林晚回到豪门复仇。", "world_rules": [],
        "characters": [_character(c, "protagonist" if c == "lin_wan" else "other") for c in CAST],
        "locations": [],
        "secrets": [
            {"id": "switched_at_birth", "description": "出生时被调包。", "known_by": ["su_mei"], "planned_reveal_episode": 11},
            {"id": "mother_murder", "description": "母亲之死另有隐情。", "known_by": ["wang_fu"], "planned_reveal_episode": None},
        ],
        "antagonists": [
            {"character": "su_mei", "tier": 1, "act": 1, "downfall_episode": 11, "downfall": "被逐出林家。"},
            {"character": "zhao_lei", "tier": 2, "act": 2, "downfall_episode": 30, "downfall": "公司破产。"},
            {"character": "wang_fu", "tier": 3, "act": 4, "downfall_episode": 58, "downfall": "入狱。"},
        ],
        "cards": [{"id": "anonymous_buyer", "description": "林晚是酒店的匿名买家。",
                   "stages": [{"episode": 10, "to": "audience"}, {"episode": 25, "to": "gu_chen"}]}],
        "plants": [{"id": "broken_clasp", "what": "项链搭扣是坏的。", "planted_episode": 2, "payoff_episode": 20}],
        "address": [{"speaker": "su_mei", "listener": "lin_wan", "form": "姐姐"}],
    }
    data.update(changes)
    return data


def _antagonist(ep: int) -> str | None:
    return "su_mei" if ep <= 11 else "zhao_lei" if ep <= 30 else "wang_fu" if ep <= 58 else None


def arc_data() -> dict[str, Any]:
    """A clean 60-episode arc for `bible_data()`."""
    rows = []
    for ep in range(1, 61):
        cliff = {"kind": CYCLE[ep % 6], "hook_line": "门被推开。", "strength": 3}
        if ep in CUTS:
            cliff = {"kind": "identity_about_to_drop", "hook_line": "“她就是……”", "strength": 5}
        elif ep in FIRST_PAID:
            cliff = {"kind": "cornered_framed", "hook_line": "手铐扣上。", "strength": 4}
        rows.append({
            "episode": ep, "act": 1 + (ep > 9) + (ep > 27) + (ep > 45), "logline": f"第{ep}集。", "beats": ["压", "打"],
            "payoff": "当众打脸。", "payoff_kind": PAYOFFS[(ep - 1) % len(PAYOFFS)], "intensity": "medium",
            "antagonist": _antagonist(ep), "opening_hook": "一杯酒泼来。", "cliffhanger": cliff,
            "paywall": SPEC.is_paywall(ep), "reveals": [], "plants": [], "pays": [], "walk_ons": [],
        })
    rows[10 - 1]["reveals"] = [{"secret": "anonymous_buyer", "to": "audience"}]
    rows[11 - 1]["reveals"] = [{"secret": "switched_at_birth", "to": "audience"}]
    rows[20 - 1]["reveals"] = [{"secret": "switched_at_birth", "to": "lin_wan"}]
    rows[25 - 1]["reveals"] = [{"secret": "anonymous_buyer", "to": "gu_chen"}]
    rows[2 - 1]["plants"] = ["broken_clasp"]
    rows[20 - 1]["pays"] = ["broken_clasp"]
    return {"rows": rows}


def edited(changes: dict[int, dict[str, Any]], cliff: dict[int, dict[str, Any]] | None = None) -> ArcPlan:
    data = arc_data()
    for ep, upd in changes.items():
        data["rows"][ep - 1].update(upd)
    for ep, upd in (cliff or {}).items():
        data["rows"][ep - 1]["cliffhanger"].update(upd)
    return ArcPlan.model_validate(data)


BIBLE = Bible.model_validate(bible_data())


def audit(arc: ArcPlan, bible: Bible | None = BIBLE) -> ArcAudit:
    return check_arc(arc, bible, SPEC, PACK)


def found(arc: ArcPlan, bible: Bible | None = BIBLE) -> list[tuple[str, tuple[int, ...], str]]:
    return [(f.rule, f.episodes, f.subject) for f in audit(arc, bible).findings]


def test_the_clean_arc_is_clean_and_its_spec_is_the_one_named() -> None:
    assert SPEC.paywall.paywall_episodes == (11, 30, 50)
    assert [e for e in range(1, 61) if SPEC.episode_kind(e) == "cut"] == list(CUTS)
    assert [e for e in range(1, 61) if SPEC.episode_kind(e) == "first_paid"] == list(FIRST_PAID)
    result = audit(edited({}))
    assert result.findings == () and result.skipped == () and result.clean
    assert not ArcPlan.model_validate(arc_data()).problems_against(SPEC, BIBLE)


# ---- each rule: the fault is found, its legal look-alike is not ------------------------------------------


def test_payoff_repeat() -> None:
    kind = PAYOFFS[(10 - 1) % 6]
    assert found(edited({12: {"payoff_kind": kind}})) == [("payoff_repeat", (10, 12), kind)]
    assert found(edited({11: {"payoff_kind": kind}})) == [("payoff_repeat", (10, 11), kind)]
    assert found(edited({13: {"payoff_kind": kind}})) == []  # three episodes apart is fine
    msg = audit(edited({12: {"payoff_kind": kind}})).findings[0].message
    assert "give episode 12 another payoff kind" in msg and "\n" not in msg


def test_big_payoff_density() -> None:
    assert found(edited({20: {"intensity": "big"}, 23: {"intensity": "big"}})) == [
        ("big_payoff_density", (20, 23), "big")]
    assert found(edited({20: {"intensity": "big"}, 24: {"intensity": "big"}})) == []  # four apart
    # the cut and the first paid episode are excepted, and do not count against their neighbours
    assert found(edited({e: {"intensity": "big"} for e in (9, 10, 11, 12)})) == [("big_payoff_density", (9, 12), "big")]
    assert found(edited({e: {"intensity": "big"} for e in (8, 10, 11, 12)})) == []
    assert found(edited({e: {"intensity": "big"} for e in (7, 10, 11)})) == []
    assert found(edited({e: {"intensity": "big"} for e in (28, 29, 30, 33)})) == []


def test_cliffhanger_repeat() -> None:
    same = CYCLE[12 % 6]
    assert found(edited({}, {13: {"kind": same}})) == [("cliffhanger_repeat", (12, 13), same)]
    a, b = "identity_about_to_drop", "cornered_framed"
    abab = {20: {"kind": a}, 21: {"kind": b}, 22: {"kind": a}, 23: {"kind": b}}
    assert found(edited({}, abab | {24: {"kind": a}})) == [("cliffhanger_repeat", (20, 22, 24), a)]
    assert found(edited({}, abab | {24: {"kind": "bigger_enemy_reveal"}})) == []  # twice within five is fine
    msg = audit(edited({}, abab | {24: {"kind": a}})).findings[0].message
    assert "3 times within 5 episodes" in msg and "episode 24" in msg


def test_paywall_weak() -> None:
    assert found(edited({}, {10: {"kind": "evidence_pending"}})) == [("paywall_weak", (10,), "evidence_pending")]
    assert found(edited({}, {10: {"strength": 4}})) == [("paywall_weak", (10,), "identity_about_to_drop")]
    assert found(edited({}, {29: {"kind": "bigger_enemy_reveal", "strength": 5}})) == [
        ("paywall_weak", (29,), "bigger_enemy_reveal")]  # a paid cut too: a paywall KIND, not just strength
    assert found(edited({}, {11: {"strength": 3}})) == [("paywall_weak", (11,), "cornered_framed")]
    # look-alikes: a later paid episode may end softly; a first paid episode needs strength, not a paywall kind
    assert found(edited({}, {12: {"strength": 1}, 11: {"kind": "bigger_enemy_reveal", "strength": 4}})) == []
    msg = audit(edited({}, {10: {"strength": 4}})).findings[0].message
    assert "卡点集" in msg and "identity_about_to_drop" in msg and "strength 5" in msg


def test_paywall_weak_does_not_apply_in_ad_mode() -> None:
    ad = SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=60, mode="ad")
    data = arc_data()
    for row in data["rows"]:
        row["paywall"] = False
        row["cliffhanger"]["strength"] = 1
    assert [f.rule for f in check_arc(ArcPlan.model_validate(data), BIBLE, ad, PACK).findings] == []


def _reveals(ep: int, *pairs: tuple[str, str]) -> dict[int, dict[str, Any]]:
    return {ep: {"reveals": [{"secret": s, "to": t} for s, t in pairs]}}


def test_secret_off_schedule() -> None:
    early = edited(_reveals(11) | _reveals(9, ("switched_at_birth", "audience")))
    assert found(early) == [("secret_off_schedule", (9, 11), "switched_at_birth")]
    assert found(edited(_reveals(11))) == [("secret_off_schedule", (11,), "switched_at_birth")]
    card_late = edited(_reveals(10) | _reveals(12, ("anonymous_buyer", "audience")))
    assert found(card_late) == [("secret_off_schedule", (10, 12), "anonymous_buyer")]
    unplanned = edited(_reveals(40, ("mother_murder", "audience")))
    assert found(unplanned) == [("secret_off_schedule", (40,), "mother_murder")]
    # look-alikes: a character learning it before the audience; a secret the bible does not plan, told to a character
    assert found(edited(_reveals(9, ("switched_at_birth", "su_mei")) | _reveals(40, ("mother_murder", "lin_wan")))) == []


def test_reveal_repeated() -> None:
    again = edited(_reveals(40, ("switched_at_birth", "audience")))
    assert found(again) == [("reveal_repeated", (11, 40), "switched_at_birth")]
    assert "to the audience in episodes 11 and 40" in audit(again).findings[0].message
    twice = edited(_reveals(25, ("anonymous_buyer", "gu_chen"), ("anonymous_buyer", "gu_chen")))
    assert found(twice) == [("reveal_repeated", (25,), "anonymous_buyer")]
    assert found(edited(_reveals(40, ("switched_at_birth", "gu_chen")))) == []  # a new party learns it


def test_plant_unpaid() -> None:
    assert found(edited({20: {"pays": []}})) == [("plant_unpaid", (2, 20), "broken_clasp")]
    assert found(edited({20: {"pays": []}, 60: {"pays": ["broken_clasp"]}})) == []  # late, but paid


def test_plant_order() -> None:
    assert found(edited({1: {"pays": ["broken_clasp"]}})) == [("plant_order", (1, 2), "broken_clasp")]
    assert found(edited({2: {"pays": ["broken_clasp"]}})) == []  # paid in the episode it is planted
    # the bible's own plan paid before planted: the bible is valid (bookkeeping), the audit says so
    inverted = Bible.model_validate(bible_data(plants=[{"id": "broken_clasp", "what": "搭扣。", "planted_episode": 20,
                                                        "payoff_episode": 2}]))
    arc = edited({2: {"plants": []}, 20: {"plants": ["broken_clasp"], "pays": ["broken_clasp"]}})
    assert found(arc, inverted) == [("plant_order", (2, 20), "broken_clasp")]
    assert "in the bible" in audit(arc, inverted).findings[0].message


def test_antagonist_order() -> None:
    assert found(edited({12: {"antagonist": "su_mei"}})) == [("antagonist_order", (12,), "su_mei")]
    assert found(edited({e: {"antagonist": "su_mei"} for e in (12, 13, 14)})) == [
        ("antagonist_order", (12, 13, 14), "su_mei")]
    assert "zhao_lei" in audit(edited({12: {"antagonist": "su_mei"}})).findings[0].message  # the next on the ladder
    assert found(edited({11: {"antagonist": "su_mei"}, 59: {"antagonist": "gu_chen"}})) == []  # falls in 11; not on the ladder
    ants = bible_data()["antagonists"]
    inverted = Bible.model_validate(bible_data(antagonists=[ants[0] | {"downfall_episode": 40}, ants[1], ants[2]]))
    arc = edited({e: {"antagonist": "su_mei" if e <= 40 else "wang_fu"} for e in range(12, 41)})
    assert found(arc, inverted) == [("antagonist_order", (30, 40), "su_mei")]
    top_stands = Bible.model_validate(bible_data(antagonists=[ants[0], ants[1], ants[2] | {"downfall_episode": None}]))
    assert found(edited({59: {"antagonist": "wang_fu"}, 60: {"antagonist": "wang_fu"}}), top_stands) == []


def test_findings_read_as_one_line_each() -> None:
    f = ArcFinding(rule="payoff_repeat", episodes=(10, 11), subject="identity_drop", message="fix it")
    assert f.line() == "ep 10-11 payoff_repeat identity_drop: fix it"
    assert [episode_span(e) for e in ((), (3,), (3, 4, 5), (3, 5))] == ["-", "3", "3-5", "3,5"]
    faults = edited({12: {"payoff_kind": PAYOFFS[9 % 6], "antagonist": "su_mei"}, 20: {"pays": []}},
                    {10: {"strength": 2}, 13: {"kind": CYCLE[12 % 6]}})
    result = audit(faults)
    assert {f.rule for f in result.findings} == {"payoff_repeat", "antagonist_order", "plant_unpaid", "paywall_weak",
                                                 "cliffhanger_repeat"}
    assert all("\n" not in f.message and ": " in f.message for f in result.findings)
    assert [f.episodes[0] for f in result.findings] == sorted(f.episodes[0] for f in result.findings)
    assert set(result.episodes()) >= {10, 12, 13} and result.for_episode(13)


# ---- repair ------------------------------------------------------------------------------------------------

FAULTS = {
    "payoff_repeat": edited({12: {"payoff_kind": PAYOFFS[9 % 6]}, 11: {"payoff_kind": PAYOFFS[9 % 6]}}),
    "big_payoff_density": edited({e: {"intensity": "big"} for e in (19, 20, 21, 22, 23)}),
    "cliffhanger_repeat": edited({}, {e: {"kind": "evidence_pending"} for e in range(12, 20)}),
    "paywall_weak": edited({}, {10: {"kind": "evidence_pending", "strength": 2}, 11: {"strength": 1},
                                29: {"kind": "ally_in_danger"}}),
    "secret_off_schedule": edited(_reveals(11) | _reveals(5, ("switched_at_birth", "audience")) | _reveals(10)
                                  | _reveals(40, ("mother_murder", "audience"))),
    "reveal_repeated": edited(_reveals(40, ("switched_at_birth", "audience"), ("switched_at_birth", "audience"))),
    "plant_unpaid": edited({20: {"pays": []}}),
    "plant_order": edited({20: {"pays": []}, 1: {"pays": ["broken_clasp"]}}),
    "antagonist_order": edited({e: {"antagonist": "su_mei"} for e in range(12, 60)}),
}


@pytest.mark.parametrize("rule", sorted(FAULTS))
def test_repair_fixes_each_rule(rule: str) -> None:
    arc = FAULTS[rule]
    assert rule in {f.rule for f in audit(arc).findings}
    repaired, after = repair_arc(arc, BIBLE, SPEC, PACK)
    assert after == audit(repaired)
    assert after.findings == (), [f.line() for f in after.findings]
    assert repair_arc(repaired, BIBLE, SPEC, PACK)[0] == repaired  # idempotent
    assert not repaired.problems_against(SPEC, BIBLE)
    assert len(repaired.rows) == 60 and [r.episode for r in repaired.rows] == list(range(1, 61))


def test_repair_details() -> None:
    fixed, _ = repair_arc(FAULTS["paywall_weak"], BIBLE, SPEC, PACK)
    strong = {k.id for k in PACK.paywall_kinds()}
    assert fixed.row(10).cliffhanger.kind in strong and fixed.row(10).cliffhanger.strength == 5
    assert fixed.row(11).cliffhanger.strength == 4 and fixed.row(29).cliffhanger.kind in strong
    assert fixed.row(10).cliffhanger.hook_line == FAULTS["paywall_weak"].row(10).cliffhanger.hook_line
    fixed, _ = repair_arc(FAULTS["secret_off_schedule"], BIBLE, SPEC, PACK)
    audience = {r.episode: [v.secret for v in r.reveals if v.to == "audience"] for r in fixed.rows}
    assert audience[11] == ["switched_at_birth"] and audience[10] == ["anonymous_buyer"]
    assert audience[5] == [] and audience[40] == []
    fixed, _ = repair_arc(FAULTS["plant_order"], BIBLE, SPEC, PACK)
    assert fixed.row(1).pays == () and fixed.row(20).pays == ("broken_clasp",)
    fixed, _ = repair_arc(FAULTS["antagonist_order"], BIBLE, SPEC, PACK)
    assert {fixed.row(e).antagonist for e in range(12, 31)} == {"zhao_lei"}
    assert {fixed.row(e).antagonist for e in range(31, 59)} == {"wang_fu"} and fixed.row(59).antagonist is None
    fixed, _ = repair_arc(FAULTS["big_payoff_density"], BIBLE, SPEC, PACK)
    assert [fixed.row(e).intensity for e in range(19, 24)] == ["big", "medium", "medium", "medium", "big"]


def test_what_repair_cannot_fix_remains_for_the_showrunner() -> None:
    ants = bible_data()["antagonists"]
    bible = Bible.model_validate(bible_data(
        antagonists=[ants[0] | {"downfall_episode": 40}, ants[1], ants[2]],
        secrets=[bible_data()["secrets"][0] | {"planned_reveal_episode": 70}]))
    arc = edited({e: {"antagonist": None} for e in range(12, 41)} | _reveals(11))
    repaired, remaining = repair_arc(arc, bible, SPEC, PACK)
    assert repaired == arc
    assert {(f.rule, f.subject) for f in remaining.findings} == {("antagonist_order", "su_mei"),
                                                                ("secret_off_schedule", "switched_at_birth")}
    late = Bible.model_validate(bible_data(plants=[{"id": "broken_clasp", "what": "搭扣。", "planted_episode": 70,
                                                    "payoff_episode": 75}]))
    arc = edited({2: {"plants": []}, 20: {"pays": []}})
    repaired, remaining = repair_arc(arc, late, SPEC, PACK)
    assert repaired == arc and [(f.rule, f.episodes) for f in remaining.findings] == [("plant_order", (60,))]
    assert "after the last episode (60)" in remaining.findings[0].message


def test_repair_leaves_a_clean_arc_alone() -> None:
    arc = edited({})
    repaired, remaining = repair_arc(arc, BIBLE, SPEC, PACK)
    assert repaired is arc and remaining.clean


# ---- random arcs: repair converges ---------------------------------------------------------------------------


def random_bible(rng: random.Random, episodes: int = 60) -> Bible:
    chars = [*CAST, "li_na"]
    secrets = [{"id": f"secret_{i}", "description": "d", "known_by": [rng.choice(chars)],
                "planned_reveal_episode": rng.choice([None, rng.randint(1, episodes)])} for i in range(rng.randint(1, 6))]
    cards = [{"id": f"card_{i}", "description": "d",
              "stages": sorted(({"episode": rng.randint(1, episodes), "to": rng.choice([*chars, "audience"])}
                                for _ in range(rng.randint(0, 4))), key=lambda s: s["episode"])}
             for i in range(rng.randint(0, 5))]
    plants = []
    for i in range(rng.randint(0, 8)):
        a, b = sorted(rng.sample(range(1, episodes + 1), 2))
        plants.append({"id": f"plant_{i}", "what": "w", "planted_episode": a, "payoff_episode": b})
    count = rng.randint(0, 4)
    falls = sorted(rng.sample(range(3, episodes + 1), count))
    tiers = sorted(rng.randint(1, 3) for _ in range(count))
    ants = [{"character": c, "tier": t, "act": t, "downfall_episode": f if rng.random() < 0.9 or t < 3 else None,
             "downfall": "falls"} for c, t, f in zip(chars[1:], tiers, falls, strict=False)]
    rng.shuffle(ants)
    return Bible.model_validate({"premise": "p", "world_rules": [], "characters": [_character(c) for c in chars],
                                 "locations": [], "secrets": secrets, "antagonists": ants, "cards": cards,
                                 "plants": plants, "address": []})


def random_arc(rng: random.Random, bible: Bible, spec: SeasonSpec) -> ArcPlan:
    chars = list(bible.character_ids)
    revealable = list(bible.revealable_ids)
    plants = [p.id for p in bible.plants]
    kinds = [k.id for k in PACK.cliffhanger_kinds]
    rows = [{
        "episode": ep, "act": 1, "logline": "l", "beats": ["a", "b"], "payoff": "p",
        "payoff_kind": rng.choice(PAYOFFS), "intensity": rng.choice(["small", "medium", "big"]),
        "antagonist": rng.choice([*chars, None]), "opening_hook": "h",
        "cliffhanger": {"kind": rng.choice(kinds), "hook_line": "x", "strength": rng.randint(1, 5)},
        "paywall": spec.is_paywall(ep),
        "reveals": [{"secret": rng.choice(revealable), "to": rng.choice([*chars, "audience"])}
                    for _ in range(rng.randint(0, 3) if revealable else 0)],
        "plants": rng.sample(plants, min(len(plants), rng.randint(0, 1))),
        "pays": rng.sample(plants, min(len(plants), rng.randint(0, 1))), "walk_ons": [],
    } for ep in range(1, spec.episodes + 1)]
    return ArcPlan.model_validate({"rows": rows})


def test_repair_converges_on_random_arcs() -> None:
    rng = random.Random(16)
    before = after = 0
    for _ in range(200):
        bible = random_bible(rng)
        arc = random_arc(rng, bible, SPEC)
        before += len(audit(arc, bible).findings)
        repaired, remaining = repair_arc(arc, bible, SPEC, PACK)
        left = [f.line() for f in remaining.findings if f.rule in REPAIRABLE]
        assert left == [], left[:5]
        assert repair_arc(repaired, bible, SPEC, PACK)[0] == repaired  # idempotent
        assert repair_arc(arc, bible, SPEC, PACK)[0] == repaired  # deterministic
        assert not repaired.problems_against(SPEC, bible)
        after += len(remaining.findings)
    assert before > 200 * 20 and after == 0


# ---- format 1 -----------------------------------------------------------------------------------------------

V2_ROW_FIELDS = ("payoff_kind", "intensity", "antagonist", "plants", "pays", "walk_ons")


def format_1_arc() -> dict[str, Any]:
    data = arc_data()
    for row in data["rows"]:
        for key in V2_ROW_FIELDS:
            row.pop(key)
        row["reveals"] = [r["secret"] for r in row["reveals"] if r["secret"] == "switched_at_birth"]
    return data


def format_1_bible() -> dict[str, Any]:
    data = bible_data()
    for key in ("antagonists", "cards", "plants", "address"):
        data.pop(key)
    return data


def test_a_format_1_arc_names_the_rules_it_could_not_apply() -> None:
    arc = ArcPlan.model_validate(format_1_arc())
    bible = Bible.model_validate(format_1_bible())
    for b in (bible, BIBLE, None):
        result = audit(arc, b)
        assert result.findings == ()
        skipped = {s.split(":", 1)[0] for s in result.skipped}
        assert skipped >= {"payoff_repeat", "big_payoff_density", "secret_off_schedule", "reveal_repeated",
                           "plant_unpaid", "plant_order", "antagonist_order"}, result.skipped
        assert skipped <= set(RULES) and all(": " in s for s in result.skipped)
    # the rules it can apply still apply
    data = format_1_arc()
    data["rows"][9]["cliffhanger"]["strength"] = 2
    assert found(ArcPlan.model_validate(data), bible) == [("paywall_weak", (10,), "identity_about_to_drop")]
    repaired, _ = repair_arc(ArcPlan.model_validate(data), bible, SPEC, PACK)
    assert repaired.row(10).cliffhanger.strength == 5 and repaired.row(11).reveals == arc.row(11).reveals
    assert all(r.payoff_kind is None and r.intensity is None for r in repaired.rows)


def test_partly_known_rows_are_checked_where_known() -> None:
    arc = edited({12: {"payoff_kind": PAYOFFS[9 % 6]}, 30: {"payoff_kind": None}, 31: {"payoff_kind": None}})
    result = audit(arc)
    assert [(f.rule, f.episodes) for f in result.findings] == [("payoff_repeat", (10, 12))]
    assert result.skipped == ("payoff_repeat: episodes 30-31 have no payoff_kind and were not checked there",)
    arc = edited({11: {"reveals": [{"secret": "switched_at_birth", "to": None}]}})
    assert {s.split(":")[0] for s in audit(arc).skipped} == {"secret_off_schedule", "reveal_repeated"}


# ---- the command ---------------------------------------------------------------------------------------------


def _season(tmp_path: Path, arc: dict[str, Any] | None, bible: dict[str, Any] | None = None) -> Path:
    store = make_season(tmp_path / "s", 60, free=10)
    store.write_bible(Bible.model_validate(bible or bible_data()))
    if arc is not None:
        store.write_arc(ArcPlan.model_validate(arc))
    return store.root


def test_cli_clean_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _season(tmp_path, arc_data())
    code, out, err = run_cli(capsys, "arc", "check", root)
    assert (code, err) == (0, "") and out.strip() == "arc check: clean (60 episodes)"
    code, out, err = run_cli(capsys, "arc", "check", root, "--format", "json")
    assert (code, json.loads(out), err) == (0, [], "")


def test_cli_findings_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = arc_data()
    data["rows"][11]["payoff_kind"] = data["rows"][10]["payoff_kind"]
    data["rows"][9]["cliffhanger"]["strength"] = 3
    root = _season(tmp_path, data)
    code, out, _ = run_cli(capsys, "arc", "check", root)
    lines = out.strip().splitlines()
    assert code == 1 and lines[-1] == "arc check: 2 findings (60 episodes)"
    assert lines[0].startswith("ep 10 paywall_weak identity_about_to_drop: episode 10 is the cut")
    assert lines[1].startswith(f"ep 11-12 payoff_repeat {PAYOFFS[10 % 6]}: the same payoff kind in episodes 11 and 12")
    code, out, err = run_cli(capsys, "arc", "check", root, "--format", "json")
    got = json.loads(out)
    assert code == 1 and err == "" and isinstance(got, list)
    assert [(f["rule"], f["episodes"]) for f in got] == [("paywall_weak", [10]), ("payoff_repeat", [11, 12])]
    assert all(set(f) == {"rule", "episodes", "subject", "message"} for f in got)


def test_cli_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _season(tmp_path, None)
    code, out, err = run_cli(capsys, "arc", "check", root)
    assert code == 2 and out == "" and "arc.json: no arc yet" in err and len(err.strip().splitlines()) == 1
    arc_path = root / "arc.json"
    arc_path.write_text("{not json", encoding="utf-8")
    code, _, err = run_cli(capsys, "arc", "check", root, "--format", "json")
    assert code == 2 and "arc.json: damaged" in err
    data = arc_data()
    data["rows"][4]["intensity"] = "huge"
    arc_path.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = run_cli(capsys, "arc", "check", root, "--format", "json")
    assert code == 2 and out == "" and "arc.json" in err and "rows.4.intensity" in err
    data = arc_data()
    data["rows"][4]["reveals"] = [{"secret": "no_such_secret", "to": "audience"}]
    arc_path.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = run_cli(capsys, "arc", "check", root)
    assert code == 2 and "episode 5: reveals 'no_such_secret', which is not a bible secret" in err
    code, _, err = run_cli(capsys, "arc", "check", tmp_path / "nowhere")
    assert code == 2 and "not a folder" in err


def test_cli_reads_a_format_1_season(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _season(tmp_path, None)
    (root / "bible.json").write_text(json.dumps(format_1_bible(), ensure_ascii=False), encoding="utf-8")
    (root / "arc.json").write_text(json.dumps(format_1_arc(), ensure_ascii=False), encoding="utf-8")
    toml = root / "season.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("format = 2\n", "format = 1\n"), encoding="utf-8")
    code, out, err = run_cli(capsys, "arc", "check", root)
    assert code == 0 and err == ""
    assert "skipped payoff_repeat: no row has a payoff_kind" in out and out.strip().endswith("arc check: clean (60 episodes)")
    code, out, err = run_cli(capsys, "arc", "check", root, "--format", "json")
    assert code == 0 and json.loads(out) == [] and "skipped secret_off_schedule" in err
