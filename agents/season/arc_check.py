"""A model-free audit of a season's arc against its bible, spec and genre pack, and the repair of what a
rule can repair by changing fields.

`check_arc` applies every rule of RULES and returns the findings (`{rule, episodes, subject, message}`, the
message one line: what is wrong and how to fix it) and the rules it could not apply because the fields they
read are unknown (an arc.json from season format 1: no payoff_kind, no intensity, reveals without `to`), each
as "rule: why". It never raises on story bookkeeping: a bible whose plant pays off before it is planted, or
whose antagonists fall out of tier order, is a finding, not an error.

`arc_repair.repair_arc` fixes what a rule can fix by changing fields (each rule's repair is named below).

The rules, in the vocabulary of `SeasonSpec.episode_kind` ("cut" = the 卡点集, the episode before a paywall
point; "first_paid" = the 付费首集, the paywall episode itself):
- payoff_repeat: the same payoff_kind twice within three consecutive episodes (three apart is fine).
  Repair: the later row takes a pack payoff kind unused in its window.
- big_payoff_density: two `big` rows within four consecutive episodes; cut and first paid episodes are
  excepted. Repair: the later row becomes `medium`.
- cliffhanger_repeat: the same cliffhanger kind in consecutive episodes, or three times within five.
  Repair: the later row takes another kind: a paywall kind at a cut or first paid episode, otherwise an
  ordinary kind first.
- paywall_weak: a cut episode whose cliffhanger is not a paywall kind (GenrePack.paywall_kinds) of
  strength 5, or a first paid episode below strength 4. Repair: a paywall kind at strength 5 / strength 4.
- secret_off_schedule: a bible secret (or card with an audience stage) first revealed to the audience in
  another episode than the bible plans (Secret.planned_reveal_episode; a card's first audience stage), never
  revealed to the audience, or revealed though the bible plans it for no episode of this season.
  Repair: the audience reveal moves to the planned episode (dropped when none is planned).
- reveal_repeated: the same secret revealed to the same party twice. Repair: the repeat is dropped.
- plant_unpaid: a bible plant that no row pays. Repair: `pays` at the plant's payoff episode, or the last.
- plant_order: a plant paid before it is planted (in the rows, or in the bible's own plan).
  Repair (rows only): the early payoff is dropped, and paid where plant_unpaid would pay it.
- antagonist_order: antagonists whose downfalls fall out of tier order (a lower tier after a higher one, in
  the bible), or one leading a row (ArcRow.antagonist) after their downfall episode. Repair (rows only):
  the next antagonist of the ladder still standing, or null.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pydantic import Field

from cliffhanger.agents.season.artifacts import (
    AUDIENCE,
    Antagonist,
    ArcPlan,
    ArcRow,
    Artifact,
    Bible,
    SeasonSpec,
)
from cliffhanger.genres.pack import GenrePack

RULES: tuple[str, ...] = (
    "payoff_repeat", "big_payoff_density", "cliffhanger_repeat", "paywall_weak", "secret_off_schedule",
    "reveal_repeated", "plant_unpaid", "plant_order", "antagonist_order",
)

PAYOFF_WINDOW = 3  # the same payoff kind at most once in any 3 consecutive episodes
BIG_WINDOW = 4  # at most one big payoff in any 4 consecutive episodes (cut and first paid excepted)
CLIFF_WINDOW, CLIFF_MAX = 5, 2  # a cliffhanger kind at most twice in any 5 consecutive episodes
CUT_STRENGTH, FIRST_PAID_STRENGTH = 5, 4
MAX_REVEALS = 10  # ArcRow.reveals' bound
MAX_PLANT_IDS = 10  # ArcRow.pays' bound


class ArcFinding(Artifact):
    """One broken rule: which, in which episodes, about what (a kind, secret, plant or character id)."""

    rule: str = Field(description="The rule broken, one of RULES.")
    episodes: tuple[int, ...] = Field(description="The episodes concerned, in order; the row to change last.")
    subject: str = Field(description="What the finding is about: a payoff or cliffhanger kind, secret, plant or character id.")
    message: str = Field(description="One line: what is wrong and how to fix it.")

    def line(self) -> str:
        """The finding as one line: `ep 10-11 payoff_repeat identity_drop: ...`."""
        return f"ep {episode_span(self.episodes)} {self.rule} {self.subject}: {self.message}"


class ArcAudit(Artifact):
    """What `check_arc` found, and the rules it could not apply ("rule: why")."""

    findings: tuple[ArcFinding, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not self.findings

    def for_episode(self, episode: int) -> tuple[ArcFinding, ...]:
        """The findings that name `episode`."""
        return tuple(f for f in self.findings if episode in f.episodes)

    def episodes(self) -> tuple[int, ...]:
        """Every episode some finding names, in order."""
        return tuple(sorted({e for f in self.findings for e in f.episodes}))


def episode_span(episodes: Sequence[int]) -> str:
    """`10` for one episode, `10-12` for a run, `3,7,9` otherwise; `-` for none."""
    eps = list(episodes)
    if not eps:
        return "-"
    if len(eps) > 1 and eps == list(range(eps[0], eps[0] + len(eps))):
        return f"{eps[0]}-{eps[-1]}"
    return ",".join(map(str, eps))


def _spans(episodes: Iterable[int]) -> str:
    """Runs of episodes as `1-4, 9, 12-13`."""
    out: list[list[int]] = []
    for ep in sorted(set(episodes)):
        if out and ep == out[-1][-1] + 1:
            out[-1].append(ep)
        else:
            out.append([ep])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in out)


# ---- what is known -------------------------------------------------------------------------------------


def is_format1(arc: ArcPlan) -> bool:
    """An arc from before season format 2: no row knows its payoff kind or intensity."""
    return all(r.payoff_kind is None and r.intensity is None for r in arc.rows)


_OLD = "the arc is from before season format 2 (rows without payoff_kind and intensity)"


def unknown_to(arc: ArcPlan) -> list[int]:
    return [r.episode for r in arc.rows if any(v.to is None for v in r.reveals)]


def is_strong(spec: SeasonSpec, episode: int) -> bool:
    return spec.episode_kind(episode) in ("cut", "first_paid")


def planned_reveals(bible: Bible) -> dict[str, int | None]:
    """Secret or card id -> the episode the audience learns it (None: not this season). Cards without an
    audience stage have no plan and are not listed."""
    plan: dict[str, int | None] = {s.id: s.planned_reveal_episode for s in bible.secrets}
    for card in bible.cards:
        eps = [st.episode for st in card.stages if st.to == AUDIENCE]
        if eps:
            plan[card.id] = min(eps)
    return plan


def antagonist_ladder(bible: Bible) -> list[Antagonist]:
    """The antagonist ladder: one entry per character (the first), minor first, earlier downfall first."""
    seen: dict[str, Antagonist] = {}
    for a in bible.antagonists:
        seen.setdefault(a.character, a)
    order = list(seen.values())
    return sorted(order, key=lambda a: (a.tier, a.downfall_episode or 10**6, order.index(a)))


def is_standing(a: Antagonist, episode: int) -> bool:
    return a.downfall_episode is None or episode <= a.downfall_episode


def successor(ladder: list[Antagonist], fallen: str, episode: int) -> str | None:
    """The next antagonist after `fallen` on the ladder still standing at `episode`; None when none is."""
    idx = next((i for i, a in enumerate(ladder) if a.character == fallen), len(ladder))
    return next((a.character for a in ladder[idx + 1:] if is_standing(a, episode)), None)


def plant_episodes(rows: Iterable[ArcRow]) -> tuple[dict[str, int], dict[str, int]]:
    """(plant id -> the first row that plants it, plant id -> the first row that pays it), in row order."""
    planted: dict[str, int] = {}
    paid: dict[str, int] = {}
    for row in rows:
        for pid in row.plants:
            planted.setdefault(pid, row.episode)
        for pid in row.pays:
            paid.setdefault(pid, row.episode)
    return planted, paid


def _planted_at(arc: ArcPlan, plant_id: str, bible_planted: int) -> int:
    """Where a plant is planted: the first row that plants it, else the bible's planted episode."""
    return next((r.episode for r in arc.rows if plant_id in r.plants), bible_planted)


def pay_target(planted: int, payoff: int, last: int) -> int:
    """Where a missing payoff goes: the bible's payoff episode when it is in the season and not before the
    plant, else the last episode."""
    return payoff if planted <= payoff <= last else last


# ---- the rules ------------------------------------------------------------------------------------------

Finder = Callable[[ArcPlan, "Bible | None", SeasonSpec, GenrePack, list[str]], list[ArcFinding]]


def _finding(rule: str, episodes: Iterable[int], subject: str, message: str) -> ArcFinding:
    return ArcFinding(rule=rule, episodes=tuple(sorted(set(episodes))), subject=subject, message=message)


def _known_or_skip(arc: ArcPlan, rule: str, field: str, skipped: list[str]) -> list[ArcRow] | None:
    rows = [r for r in arc.rows if getattr(r, field) is not None]
    unknown = [r.episode for r in arc.rows if getattr(r, field) is None]
    if not rows:
        skipped.append(f"{rule}: no row has a {field} ({_OLD})")
        return None
    if unknown:
        skipped.append(f"{rule}: episodes {_spans(unknown)} have no {field} and were not checked there")
    return rows


def _payoff_alternatives(arc: ArcPlan, pack: GenrePack, episode: int) -> list[str]:
    near = {r.payoff_kind for r in arc.rows if abs(r.episode - episode) < PAYOFF_WINDOW}
    return [k.id for k in pack.payoff_kinds if k.id not in near]


def _payoff_repeat(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec, pack: GenrePack,
                   skipped: list[str]) -> list[ArcFinding]:
    rows = _known_or_skip(arc, "payoff_repeat", "payoff_kind", skipped)
    out: list[ArcFinding] = []
    last: dict[str, int] = {}
    for row in rows or []:
        kind = str(row.payoff_kind)
        prev = last.get(kind)
        if prev is not None and row.episode - prev < PAYOFF_WINDOW:
            alts = _payoff_alternatives(arc, pack, row.episode)[:3]
            hint = f", e.g. {' or '.join(alts)}" if alts else ""
            out.append(_finding("payoff_repeat", (prev, row.episode), kind,
                                f"the same payoff kind in episodes {prev} and {row.episode}, twice within "
                                f"{PAYOFF_WINDOW} episodes: give episode {row.episode} another payoff kind{hint}"))
        last[kind] = row.episode
    return out


def _big_payoff_density(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec, pack: GenrePack,
                        skipped: list[str]) -> list[ArcFinding]:
    rows = _known_or_skip(arc, "big_payoff_density", "intensity", skipped)
    out: list[ArcFinding] = []
    last: int | None = None
    for row in rows or []:
        if row.intensity != "big" or is_strong(spec, row.episode):
            continue
        if last is not None and row.episode - last < BIG_WINDOW:
            out.append(_finding("big_payoff_density", (last, row.episode), "big",
                                f"big payoffs in episodes {last} and {row.episode}, two within {BIG_WINDOW} "
                                f"episodes (outside the cut and first paid episodes): make episode {row.episode} "
                                f"medium, or move its big payoff to episode {last + BIG_WINDOW} or later"))
        last = row.episode
    return out


def cliff_fault(rows: Sequence[ArcRow], i: int, kind: str) -> tuple[int, ...] | None:
    """The episodes that make `kind` at rows[i] a repeat (with the rows before it), or None."""
    if i > 0 and rows[i - 1].cliffhanger.kind == kind:
        return (rows[i - 1].episode, rows[i].episode)
    same = [r.episode for r in rows[max(0, i - CLIFF_WINDOW + 1): i] if r.cliffhanger.kind == kind]
    if len(same) >= CLIFF_MAX:
        return (*same, rows[i].episode)
    return None


def _cliffhanger_repeat(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec, pack: GenrePack,
                        skipped: list[str]) -> list[ArcFinding]:
    out: list[ArcFinding] = []
    rows = arc.rows
    for i, row in enumerate(rows):
        kind = row.cliffhanger.kind
        eps = cliff_fault(rows, i, kind)
        if eps is None:
            continue
        how = ("in consecutive episodes" if len(eps) == 2 and eps[1] - eps[0] == 1
               else f"{len(eps)} times within {CLIFF_WINDOW} episodes")
        out.append(_finding("cliffhanger_repeat", eps, kind,
                            f"the same cliffhanger kind {how} ({episode_span(eps)}): end episode {row.episode} "
                            f"on another kind"))
    return out


def _paywall_weak(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec, pack: GenrePack,
                  skipped: list[str]) -> list[ArcFinding]:
    out: list[ArcFinding] = []
    strong = [k.id for k in pack.paywall_kinds()]
    for row in arc.rows:
        ep, cliff, kind = row.episode, row.cliffhanger, spec.episode_kind(row.episode)
        if kind == "cut" and (cliff.kind not in strong or cliff.strength < CUT_STRENGTH):
            why = (f"{cliff.kind!r} is not a paywall kind" if cliff.kind not in strong
                   else f"its strength is {cliff.strength}")
            out.append(_finding("paywall_weak", (ep,), cliff.kind,
                                f"episode {ep} is the cut before the paywall at episode {ep + 1} (the 卡点集) and "
                                f"must end on a paywall kind at strength {CUT_STRENGTH}, but {why}: use one of "
                                f"{', '.join(strong) or 'none (the pack marks no paywall kinds)'} at strength "
                                f"{CUT_STRENGTH}"))
        elif kind == "first_paid" and cliff.strength < FIRST_PAID_STRENGTH:
            out.append(_finding("paywall_weak", (ep,), cliff.kind,
                                f"episode {ep} is a first paid episode (付费首集) and must end at strength "
                                f"{FIRST_PAID_STRENGTH} or more, but ends at {cliff.strength}: raise its "
                                f"cliffhanger to strength {FIRST_PAID_STRENGTH}"))
    return out


def _reveals_unknown(arc: ArcPlan, rule: str, skipped: list[str]) -> bool:
    if is_format1(arc):
        skipped.append(f"{rule}: {_OLD}: reveals do not say who learns them")
        return True
    unknown = unknown_to(arc)
    if unknown:
        skipped.append(f"{rule}: episodes {_spans(unknown)} reveal secrets without saying to whom (to is null)")
        return True
    return False


def first_audience_reveals(arc: ArcPlan) -> dict[str, int]:
    first: dict[str, int] = {}
    for row in arc.rows:
        for r in row.reveals:
            if r.to == AUDIENCE:
                first.setdefault(r.secret, row.episode)
    return first


def _secret_off_schedule(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec, pack: GenrePack,
                         skipped: list[str]) -> list[ArcFinding]:
    if bible is None:
        skipped.append("secret_off_schedule: no bible to plan the reveals")
        return []
    if _reveals_unknown(arc, "secret_off_schedule", skipped):
        return []
    out: list[ArcFinding] = []
    last = len(arc.rows)
    first = first_audience_reveals(arc)
    for sid, planned in planned_reveals(bible).items():
        seen = first.get(sid)
        rule = "secret_off_schedule"
        if planned is None:
            if seen is not None:
                out.append(_finding(rule, (seen,), sid,
                                    f"episode {seen} reveals {sid} to the audience, but the bible plans it for no "
                                    f"episode of this season: drop that reveal, or set its planned_reveal_episode"))
        elif planned > last:
            out.append(_finding(rule, (last,), sid,
                                f"the bible plans the audience reveal of {sid} for episode {planned}, after the "
                                f"last episode ({last}): plan it in episodes 1-{last} in the bible"))
        elif seen is None:
            out.append(_finding(rule, (planned,), sid,
                                f"the bible plans the audience reveal of {sid} for episode {planned}, but no "
                                f"episode reveals it to the audience: add {{secret: {sid}, to: {AUDIENCE}}} to "
                                f"episode {planned}'s reveals"))
        elif seen != planned:
            out.append(_finding(rule, (seen, planned), sid,
                                f"{sid} is first revealed to the audience in episode {seen}, but the bible plans "
                                f"episode {planned}: move the reveal to episode {planned} (or change the bible's plan)"))
    return out


def _reveal_repeated(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec, pack: GenrePack,
                     skipped: list[str]) -> list[ArcFinding]:
    if is_format1(arc):
        skipped.append(f"reveal_repeated: {_OLD}: reveals do not say who learns them")
        return []
    unknown = unknown_to(arc)
    if unknown:
        skipped.append(f"reveal_repeated: episodes {_spans(unknown)} reveal secrets without saying to whom "
                       "(to is null) and were not checked there")
    out: list[ArcFinding] = []
    seen: dict[tuple[str, str], int] = {}
    for row in arc.rows:
        for r in row.reveals:
            if r.to is None:
                continue
            key = (r.secret, r.to)
            if key in seen:
                first = seen[key]
                where = f"twice in episode {first}" if first == row.episode else f"in episodes {first} and {row.episode}"
                party = "the audience" if r.to == AUDIENCE else r.to
                out.append(_finding("reveal_repeated", (first, row.episode), r.secret,
                                    f"{r.secret} is revealed to {party} {where}: drop the repeat in episode "
                                    f"{row.episode}, or reveal it to someone who does not know it yet"))
            else:
                seen[key] = row.episode
    return out


def _plants_unknown(arc: ArcPlan, bible: Bible | None, rule: str, skipped: list[str]) -> bool:
    if bible is None:
        skipped.append(f"{rule}: no bible to list the plants")
        return True
    if is_format1(arc):
        skipped.append(f"{rule}: {_OLD}: rows do not say what they plant and pay")
        return True
    return False


def _plant_unpaid(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec, pack: GenrePack,
                  skipped: list[str]) -> list[ArcFinding]:
    if _plants_unknown(arc, bible, "plant_unpaid", skipped):
        return []
    assert bible is not None
    paid = {pid for r in arc.rows for pid in r.pays}
    out: list[ArcFinding] = []
    for p in bible.plants:
        planted = _planted_at(arc, p.id, p.planted_episode)
        if p.id in paid or planted > len(arc.rows):  # planted after the last episode: plant_order names the bible
            continue
        target = pay_target(planted, p.payoff_episode, len(arc.rows))
        out.append(_finding("plant_unpaid", (planted, target), p.id,
                            f"plant {p.id} (planted in episode {planted}) is never paid off: add {p.id} to the "
                            f"pays of episode {target}"))
    return out


def _plant_order(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec, pack: GenrePack,
                 skipped: list[str]) -> list[ArcFinding]:
    if _plants_unknown(arc, bible, "plant_order", skipped):
        return []
    assert bible is not None
    out: list[ArcFinding] = []
    for p in bible.plants:
        if p.payoff_episode < p.planted_episode:
            out.append(_finding("plant_order", (p.payoff_episode, p.planted_episode), p.id,
                                f"the bible pays plant {p.id} off in episode {p.payoff_episode}, before it is "
                                f"planted in episode {p.planted_episode}: fix planted_episode or payoff_episode "
                                f"in the bible"))
        planted = _planted_at(arc, p.id, p.planted_episode)
        if planted > len(arc.rows):
            out.append(_finding("plant_order", (len(arc.rows),), p.id,
                                f"the bible plants {p.id} in episode {planted}, after the last episode "
                                f"({len(arc.rows)}): plant it in episodes 1-{len(arc.rows)} in the bible, or drop it"))
            continue
        early = [r.episode for r in arc.rows if p.id in r.pays and r.episode < planted]
        if early:
            target = pay_target(planted, p.payoff_episode, len(arc.rows))
            out.append(_finding("plant_order", (*early, planted), p.id,
                                f"plant {p.id} is paid off in episode{'s' if len(early) > 1 else ''} "
                                f"{_spans(early)}, before it is planted in episode {planted}: move the payoff to "
                                f"episode {target}"))
    return out


def _antagonist_order(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec, pack: GenrePack,
                      skipped: list[str]) -> list[ArcFinding]:
    if bible is None:
        skipped.append("antagonist_order: no bible to rank the antagonists")
        return []
    out: list[ArcFinding] = []
    ladder = antagonist_ladder(bible)
    falls = [a for a in ladder if a.downfall_episode is not None]
    for low in falls:
        for high in falls:
            if low.tier < high.tier and (low.downfall_episode or 0) > (high.downfall_episode or 0):
                out.append(_finding("antagonist_order", (high.downfall_episode or 0, low.downfall_episode or 0),
                                    low.character,
                                    f"{low.character} (tier {low.tier}) falls in episode {low.downfall_episode}, "
                                    f"after {high.character} (tier {high.tier}) in episode {high.downfall_episode}: "
                                    f"the minor antagonists fall first; move {low.character}'s downfall before "
                                    f"episode {high.downfall_episode} in the bible (or swap their tiers)"))
    if is_format1(arc):
        skipped.append(f"antagonist_order: {_OLD}: rows do not name their antagonist, so only the bible's "
                       "downfall order was checked")
        return out
    for a in falls:
        late = [r.episode for r in arc.rows if r.antagonist == a.character and not is_standing(a, r.episode)]
        if late:
            nxt = successor(ladder, a.character, late[0])
            instead = f"give {'them' if len(late) > 1 else 'it'} {nxt} (next on the ladder)" if nxt else "set antagonist to null"
            out.append(_finding("antagonist_order", late, a.character,
                                f"{a.character} falls in episode {a.downfall_episode} but leads the pressure in "
                                f"episode{'s' if len(late) > 1 else ''} {_spans(late)}: {instead}"))
    return out


_FINDERS: dict[str, Finder] = {
    "payoff_repeat": _payoff_repeat, "big_payoff_density": _big_payoff_density,
    "cliffhanger_repeat": _cliffhanger_repeat, "paywall_weak": _paywall_weak,
    "secret_off_schedule": _secret_off_schedule, "reveal_repeated": _reveal_repeated,
    "plant_unpaid": _plant_unpaid, "plant_order": _plant_order, "antagonist_order": _antagonist_order,
}
assert tuple(_FINDERS) == RULES


def check_arc(arc: ArcPlan, bible: Bible | None, spec: SeasonSpec, pack: GenrePack) -> ArcAudit:
    """Every rule of RULES over `arc`: the findings, and the rules that could not be applied ("rule: why")."""
    findings: list[ArcFinding] = []
    skipped: list[str] = []
    for finder in _FINDERS.values():
        findings += finder(arc, bible, spec, pack, skipped)
    findings.sort(key=lambda f: (f.episodes[:1] or (0,), RULES.index(f.rule), f.episodes, f.subject))
    return ArcAudit(findings=tuple(findings), skipped=tuple(skipped))
