"""The repair of a season's arc: what a rule of `arc_check` can fix by changing fields, fixed.

`repair_arc` is deterministic (same input, same output) and idempotent, and converges: on the arc it returns,
`check_arc` finds nothing that repair fixes. What it cannot fix (the bible's own plan, a pack with too few
kinds) remains as findings, which go to the showrunner as notes. Each rule's repair is described beside the
rule in `arc_check`.
"""

from __future__ import annotations

from collections.abc import Sequence

from cliffhanger.agents.season.arc_check import (
    BIG_WINDOW,
    CUT_STRENGTH,
    FIRST_PAID_STRENGTH,
    MAX_PLANT_IDS,
    MAX_REVEALS,
    PAYOFF_WINDOW,
    ArcAudit,
    antagonist_ladder,
    check_arc,
    cliff_fault,
    first_audience_reveals,
    is_format1,
    is_standing,
    is_strong,
    pay_target,
    planned_reveals,
    successor,
    unknown_to,
)
from cliffhanger.agents.season.artifacts import AUDIENCE, ArcPlan, ArcRow, Bible, Reveal, SeasonSpec
from cliffhanger.genres.pack import GenrePack

# ---- repair ---------------------------------------------------------------------------------------------


def _rotate(ids: Sequence[str], episode: int) -> list[str]:
    """`ids` starting at a place set by the episode: choices vary along the season, deterministically."""
    if not ids:
        return []
    k = episode % len(ids)
    return [*ids[k:], *ids[:k]]


def _repair_payoffs(rows: list[ArcRow], pack: GenrePack) -> None:
    kinds = [k.id for k in pack.payoff_kinds]
    for i, row in enumerate(rows):
        kind = row.payoff_kind
        if kind is None:
            continue
        before = {r.payoff_kind for r in rows[max(0, i - PAYOFF_WINDOW + 1): i]}
        if kind not in before:
            continue
        after = {r.payoff_kind for r in rows[i + 1: i + PAYOFF_WINDOW]}
        free = [k for k in _rotate(kinds, row.episode) if k not in before]
        pick = next((k for k in free if k not in after), free[0] if free else None)
        if pick is not None:
            rows[i] = row.model_copy(update={"payoff_kind": pick})


def _repair_big(rows: list[ArcRow], spec: SeasonSpec) -> None:
    last: int | None = None
    for i, row in enumerate(rows):
        if row.intensity != "big" or is_strong(spec, row.episode):
            continue
        if last is not None and row.episode - last < BIG_WINDOW:
            rows[i] = row.model_copy(update={"intensity": "medium"})
        else:
            last = row.episode


def _repair_cliffhangers(rows: list[ArcRow], spec: SeasonSpec, pack: GenrePack) -> None:
    strong = [k.id for k in pack.paywall_kinds()]
    ordinary = [k.id for k in pack.ordinary_kinds()]
    for i, row in enumerate(rows):
        cliff, place = row.cliffhanger, spec.episode_kind(row.episode)
        kind, strength = cliff.kind, cliff.strength
        repeat = cliff_fault(rows, i, kind) is not None
        if place == "cut":
            bad_kind = kind not in strong
            strength = max(strength, CUT_STRENGTH)
        else:
            bad_kind = False
            if place == "first_paid":
                strength = max(strength, FIRST_PAID_STRENGTH)
        if repeat or bad_kind:
            if place in ("cut", "first_paid"):
                pool = _rotate(strong, row.episode)
            else:  # an ordinary kind first; a paywall kind when every ordinary one would repeat
                pool = _rotate(ordinary, row.episode) + _rotate(strong, row.episode)
            ok = [k for k in pool if cliff_fault([*rows[:i], _with_kind(row, k)], i, k) is None]
            nxt = rows[i + 1].cliffhanger.kind if i + 1 < len(rows) else None
            pick = next((k for k in ok if k != nxt), ok[0] if ok else None)
            if pick is not None:
                kind = pick
        if (kind, strength) != (cliff.kind, cliff.strength):
            rows[i] = row.model_copy(update={"cliffhanger": cliff.model_copy(update={"kind": kind, "strength": strength})})


def _with_kind(row: ArcRow, kind: str) -> ArcRow:
    return row.model_copy(update={"cliffhanger": row.cliffhanger.model_copy(update={"kind": kind})})


def _set_reveals(rows: list[ArcRow], i: int, reveals: list[Reveal]) -> None:
    if tuple(reveals) != rows[i].reveals:
        rows[i] = rows[i].model_copy(update={"reveals": tuple(reveals)})


def _repair_reveals(rows: list[ArcRow], arc: ArcPlan, bible: Bible) -> None:
    last = len(rows)
    first = first_audience_reveals(arc)
    for sid, planned in planned_reveals(bible).items():
        seen = first.get(sid)
        if planned is not None and (planned > last or seen == planned):
            continue  # on schedule, or the bible's plan is outside the season (a note, not a repair)
        if planned is None and seen is None:
            continue
        for i, row in enumerate(rows):  # the audience learns it at the planned episode, and only there
            keep = [r for r in row.reveals if not (r.secret == sid and r.to == AUDIENCE and row.episode != planned)]
            _set_reveals(rows, i, keep)
        if planned is not None:
            row = rows[planned - 1]
            if not any(r.secret == sid and r.to == AUDIENCE for r in row.reveals) and len(row.reveals) < MAX_REVEALS:
                _set_reveals(rows, planned - 1, [*row.reveals, Reveal(secret=sid, to=AUDIENCE)])
    seen_pairs: set[tuple[str, str]] = set()
    for i, row in enumerate(rows):  # a secret is revealed to each party once
        keep = []
        for r in row.reveals:
            if r.to is not None and (r.secret, r.to) in seen_pairs:
                continue
            if r.to is not None:
                seen_pairs.add((r.secret, r.to))
            keep.append(r)
        _set_reveals(rows, i, keep)


def _repair_plants(rows: list[ArcRow], bible: Bible) -> None:
    last = len(rows)
    for p in bible.plants:
        planted = next((r.episode for r in rows if p.id in r.plants), p.planted_episode)
        if planted > last:
            continue  # the bible plants it after the season: a note, not a repair
        for i, row in enumerate(rows):  # a payoff before the plant is dropped ...
            if p.id in row.pays and row.episode < planted:
                rows[i] = row.model_copy(update={"pays": tuple(x for x in row.pays if x != p.id)})
        if any(p.id in r.pays for r in rows):
            continue
        target = pay_target(planted, p.payoff_episode, last)  # ... and a plant never paid is paid here
        row = rows[target - 1]
        if len(row.pays) < MAX_PLANT_IDS:
            rows[target - 1] = row.model_copy(update={"pays": (*row.pays, p.id)})


def _repair_antagonists(rows: list[ArcRow], bible: Bible) -> None:
    ladder = antagonist_ladder(bible)
    by_id = {a.character: a for a in ladder}
    for i, row in enumerate(rows):
        a = by_id.get(row.antagonist or "")
        if a is not None and not is_standing(a, row.episode):
            rows[i] = row.model_copy(update={"antagonist": successor(ladder, a.character, row.episode)})


def repair_arc(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec,
               pack: GenrePack) -> tuple[ArcPlan, ArcAudit]:
    """`arc` with what the rules can repair repaired (see the module doc), and the audit of the result:
    the findings that remain, for the showrunner. Deterministic and idempotent; fields that are unknown
    (format-1 rows) are left alone."""
    rows = list(arc.rows)
    old = is_format1(arc)
    if bible is not None and not old and not unknown_to(arc):
        _repair_reveals(rows, arc, bible)
    if bible is not None and not old:
        _repair_plants(rows, bible)
        _repair_antagonists(rows, bible)
    _repair_payoffs(rows, pack)
    _repair_big(rows, spec)
    _repair_cliffhangers(rows, spec, pack)
    repaired = arc if tuple(rows) == arc.rows else ArcPlan(rows=tuple(rows))
    return repaired, check_arc(repaired, bible, spec, pack)
