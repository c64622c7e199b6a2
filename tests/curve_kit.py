"""A hand-made season for the season curve's tests (conftest puts tests/ on sys.path): 12 episodes, free 4 (the
卡点集 is 4, the 付费首集 5), two antagonists on the ladder, a secret and a card revealed, a plant paid off,
a payoff kind repeated in 6-7 (an arc audit finding), and episodes 1-3 accepted with the critic's scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from season_kit import make_season

from cliffhanger.agents.season.artifacts import CRITERIA, ArcPlan, Bible, Critique, EpisodeScript, Review
from cliffhanger.agents.season.store import SeasonStore

DATA = Path(__file__).resolve().parent / "data"
EPISODES = 12
DRAFTED = (1, 2, 3)
PAYOFF_KINDS = ["public_face_slap", "identity_drop", "evidence_exposure", "snob_flip", "villain_betrayal",
                "kneel_and_beg", "kneel_and_beg", "public_face_slap", "identity_drop", "evidence_exposure", "snob_flip",
                "villain_betrayal"]
INTENSITY = ["small", "medium", "small", "medium", "big", "small", "medium", "small", "medium", "small", "big", "medium"]
STRENGTH = [3, 4, 3, 5, 4, 3, 4, 3, 4, 3, 4, 5]
CLIFFS = ["evidence_pending", "villain_counterstrike", "ally_in_danger", "identity_about_to_drop", "cornered_framed",
          "bigger_enemy_reveal"]
SCORES = {1: (7, 6, 8), 2: (9, 5, 4), 3: (3, 8, 10)}  # episode: (hook, payoff, cliffhanger pull)
HOSTILE = "<script>alert('x')</script> & \"q\" [bold]b[/bold] \x01]]>"


def _character(cid: str, name: str, role: str = "other") -> dict[str, Any]:
    return {"id": cid, "name": name, "aliases": [], "role": role, "age": 30, "want": "to win", "secret": None,
            "arc": "learns the price", "voice": "short sentences",
            "visual": {"face": "oval face", "hair": "black hair", "build": "slim", "age_look": "thirties",
                       "wardrobe": "grey suit", "marks": ""}, "reference_image": None}


def bible(hostile: bool = False) -> Bible:
    odd = HOSTILE if hostile else ""
    return Bible.model_validate({
        "premise": "被调包的真千金林晚回到豪门复仇。", "world_rules": [],
        "characters": [_character("lin_wan", "林晚", "protagonist"), _character("su_mei", f"苏梅{odd}"),
                       _character("zhao_lei", "赵磊"), _character("gu_chen", "顾辰")],
        "locations": [],
        "secrets": [{"id": "switched_at_birth", "description": "出生时被调包。", "known_by": ["su_mei"],
                     "planned_reveal_episode": 5}],
        "antagonists": [
            {"character": "su_mei", "tier": 1, "act": 1, "downfall_episode": 6, "downfall": f"被逐出林家。{odd}"},
            {"character": "zhao_lei", "tier": 2, "act": 2, "downfall_episode": 12, "downfall": "公司破产。"}],
        "cards": [{"id": "anonymous_buyer", "description": "林晚是匿名买家。",
                   "stages": [{"episode": 4, "to": "audience"}, {"episode": 9, "to": "gu_chen"}]}],
        "plants": [{"id": "broken_clasp", "what": f"项链搭扣是坏的。{odd}", "planted_episode": 2, "payoff_episode": 9}],
        "address": [],
    })


def arc(paywall: list[bool], hostile: bool = False) -> ArcPlan:
    rows = []
    for i in range(EPISODES):
        ep = i + 1
        rows.append({
            "episode": ep, "act": 1 if ep <= 6 else 2, "logline": f"第{ep}集：林晚反击。" + (HOSTILE if hostile else ""),
            "beats": ["压", "打"], "payoff": "当众打脸。", "payoff_kind": PAYOFF_KINDS[i], "intensity": INTENSITY[i],
            "antagonist": "su_mei" if ep <= 6 else "zhao_lei", "opening_hook": "一杯酒泼来。",
            "cliffhanger": {"kind": CLIFFS[i % len(CLIFFS)], "hook_line": "门被推开。", "strength": STRENGTH[i]},
            "paywall": paywall[i], "reveals": [], "plants": [], "pays": [], "walk_ons": []})
    rows[3]["reveals"] = [{"secret": "anonymous_buyer", "to": "audience"}]
    rows[4]["reveals"] = [{"secret": "switched_at_birth", "to": "audience"}]
    rows[8]["reveals"] = [{"secret": "anonymous_buyer", "to": "gu_chen"}]
    rows[1]["plants"] = ["broken_clasp"]
    rows[8]["pays"] = ["broken_clasp"]
    return ArcPlan.model_validate({"rows": rows})


def critique(hook: int, payoff: int, pull: int) -> Critique:
    data: dict[str, Any] = {c: {"score": 6, "reason": f"{c} holds"} for c in CRITERIA}
    data.update(hook={"score": hook, "reason": "r"}, payoff={"score": payoff, "reason": "r"},
                cliffhanger_pull={"score": pull, "reason": "r"}, must_fix=[], notes="")
    return Critique.model_validate(data)


def accept(store: SeasonStore, ep: int, scores: tuple[int, int, int] | None, title: str | None = None) -> None:
    """Episode `ep` accepted at revision 1 (revision 0 scored otherwise, to tell them apart)."""
    script = EpisodeScript.model_validate(dict(json.loads((DATA / "zh_script.json").read_text(encoding="utf-8")),
                                               episode=ep, **({"title": title} if title else {})))
    revisions = [{"revision": 0, "critique": critique(1, 1, 1).model_dump(mode="json"), "overall": 1.0}]
    if scores is not None:
        revisions.append({"revision": 1, "critique": critique(*scores).model_dump(mode="json"), "overall": 7.25})
    store.write_review(ep, Review.model_validate({"accepted_revision": 1, "revisions": revisions}))
    store.write_script(ep, script, "fountain")


def curve_season(root: Path, *, hostile: bool = False, drafted: tuple[int, ...] = DRAFTED) -> SeasonStore:
    store = make_season(root, EPISODES, free=4)
    spec = store.spec()
    if hostile:
        raw = store.spec_path.read_text(encoding="utf-8")
        store.spec_path.write_text(raw.replace('title = "千金归来"', f"title = {json.dumps(HOSTILE[:-4] + ']]>')}"),
                                   encoding="utf-8")
    store.write_bible(bible(hostile))
    store.write_arc(arc([spec.is_paywall(e) for e in range(1, EPISODES + 1)], hostile))
    for ep in drafted:
        accept(store, ep, SCORES.get(ep), HOSTILE if hostile else None)
    return store
