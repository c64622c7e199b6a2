"""What the act planner sees of the season around the act it plans: a digest of every earlier row, the
bible's ladder, cards and plants as they fall in this act, and the acts still to come.

The digest stays bounded however long the season grows: the last FULL_ROWS rows in full, the rest of
the previous act one compact line each, older acts one line each, and season-wide tallies (payoff and
cliffhanger kinds used, who learned which secret, plants planted and paid, who led the pressure) whose
size is bounded by the pack and the bible, not by the episode count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from cliffhanger.agents.season.artifacts import ArcRow, Bible

FULL_ROWS = 6  # the latest rows the planner sees in full: the hook to pick up and the rhythm to continue
HOOK_CHARS = 80  # a compact line's hook line is cut here


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ids(values: Sequence[str]) -> str:
    return ", ".join(values) or "-"


def row_line(row: ArcRow, hook_chars: int = HOOK_CHARS) -> str:
    """One row as one line: episode, payoff kind and intensity, antagonist, reveals, plants and pays, and
    how it ends."""
    reveals = ", ".join(f"{r.secret}->{r.to or '?'}" for r in row.reveals) or "-"
    c = row.cliffhanger
    return (f"- {row.episode} | payoff {row.payoff_kind or '?'}/{row.intensity or '?'} | antagonist "
            f"{row.antagonist or '-'} | reveals {reveals} | plants {_ids(row.plants)} | pays {_ids(row.pays)} | "
            f"ends {c.kind} ({c.strength}): \"{_cut(c.hook_line, hook_chars)}\"")


def _full(row: ArcRow) -> str:
    return (f"{row_line(row, 300)}\n  logline: {row.logline}\n  payoff: {row.payoff}\n"
            f"  opening: {row.opening_hook}")


def _leads(rows: Sequence[ArcRow]) -> str:
    """Who led the pressure, one entry per antagonist: `xu_jia 9 eps (1-9), lin_rou 12 eps (10-27)`."""
    eps: dict[str, list[int]] = {}
    for row in rows:
        if row.antagonist:
            eps.setdefault(row.antagonist, []).append(row.episode)
    return ", ".join(f"{who} {len(e)} eps ({e[0]}-{e[-1]})" if len(e) > 1 else f"{who} 1 ep ({e[0]})"
                     for who, e in eps.items()) or "-"


def _tally(counter: Counter[str]) -> str:
    return ", ".join(f"{k}×{n}" for k, n in counter.most_common()) or "-"


def season_tallies(rows: Sequence[ArcRow], bible: Bible | None) -> str:
    """Season-wide tallies of `rows` (bounded by the pack's kinds and the bible, not by the row count)."""
    payoffs = Counter(r.payoff_kind or "?" for r in rows)
    cliffs = Counter(r.cliffhanger.kind for r in rows)
    big = [str(r.episode) for r in rows if r.intensity == "big"]
    big_text = f"{len(big)} big payoffs" + (f", the latest at episodes {', '.join(big[-4:])}" if big else "")
    learned: dict[str, list[str]] = {}
    for r in rows:
        for rv in r.reveals:
            learned.setdefault(rv.secret, []).append(f"{rv.to or '?'} (ep {r.episode})")
    planted: dict[str, int] = {}
    paid: dict[str, int] = {}
    for r in rows:
        for p in r.plants:
            planted.setdefault(p, r.episode)
        for p in r.pays:
            paid.setdefault(p, r.episode)
    plant_lines = []
    for pid in dict.fromkeys([*planted, *paid]):
        due = ""
        if bible is not None and pid not in paid:
            due = next((f", to pay in ep {p.payoff_episode}" for p in bible.plants if p.id == pid), "")
        plant_lines.append(f"{pid} planted ep {planted.get(pid, '?')}, "
                           + (f"paid ep {paid[pid]}" if pid in paid else f"open{due}"))
    fallen = []
    if bible is not None:
        last = rows[-1].episode if rows else 0
        fallen = [f"{a.character} (ep {a.downfall_episode})" for a in bible.antagonists
                  if a.downfall_episode is not None and a.downfall_episode <= last]
    return "\n".join([
        f"- payoff kinds used: {_tally(payoffs)}; {big_text}",
        f"- cliffhanger kinds used: {_tally(cliffs)}",
        "- revealed so far: " + ("; ".join(f"{s} -> {', '.join(to)}" for s, to in learned.items()) or "nothing"),
        "- plants: " + ("; ".join(plant_lines) or "none yet"),
        f"- pressure led by: {_leads(rows)}; fallen: {_ids(fallen)}",
    ])


def earlier_rows_digest(rows: Sequence[ArcRow], act: int, bible: Bible | None) -> str:
    """The digest of every row before act `act`: season tallies, one line per act before the previous one,
    the previous act's rows one compact line each, and the last FULL_ROWS rows in full."""
    rows = sorted(rows, key=lambda r: r.episode)
    if not rows:
        return "(none: this act opens the season)"
    full = rows[-FULL_ROWS:]
    older = rows[: len(rows) - len(full)]
    out = [f"### Season so far (episodes {rows[0].episode}-{rows[-1].episode})", season_tallies(rows, bible)]
    by_act: dict[int, list[ArcRow]] = {}
    for r in rows:
        by_act.setdefault(r.act, []).append(r)
    briefs = []
    for n, act_rows in sorted(by_act.items()):
        if n >= act - 1:
            continue
        end = act_rows[-1].cliffhanger
        briefs.append(f"- act {n} (episodes {act_rows[0].episode}-{act_rows[-1].episode}): payoffs "
                      f"{_tally(Counter(r.payoff_kind or '?' for r in act_rows))}; pressure {_leads(act_rows)}; "
                      f"ended on {end.kind}: \"{_cut(end.hook_line, HOOK_CHARS)}\"")
    if briefs:
        out += ["### Earlier acts in brief", *briefs]
    compact = [row_line(r) for r in older if r.act >= act - 1]
    if compact:
        out += [f"### Act {act - 1}, row by row", *compact]
    out += ["### The latest episodes in full", *(_full(r) for r in full)]
    return "\n".join(out)


def ladder(bible: Bible, act: int) -> str:
    """The antagonist ladder, the one(s) leading act `act` marked."""
    if not bible.antagonists:
        return "(no ladder in the bible: the antagonist is whoever leads the pressure, or null)"
    lines = []
    for a in sorted(bible.antagonists, key=lambda a: (a.tier, a.act)):
        fall = f"falls in episode {a.downfall_episode}: {a.downfall}" if a.downfall_episode else "does not fall this season"
        mark = "  <- leads this act" if a.act == act else ""
        lines.append(f"- tier {a.tier} {a.character} (leads act {a.act}; {fall}){mark}")
    return "\n".join(lines)


def due_in_act(bible: Bible, first: int, last: int) -> str:
    """Secrets, card stages and plants that fall in episodes first..last, as the bible plans them."""
    lines = [f"- episode {s.planned_reveal_episode}: secret {s.id} -> audience"
             for s in bible.secrets if s.planned_reveal_episode and first <= s.planned_reveal_episode <= last]
    for card in bible.cards:
        lines += [f"- episode {st.episode}: card {card.id} -> {st.to}" for st in card.stages
                  if first <= st.episode <= last]
    for p in bible.plants:
        if first <= p.planted_episode <= last:
            lines.append(f"- episode {p.planted_episode}: plant {p.id} ({p.what}), paid in episode {p.payoff_episode}")
        if first <= p.payoff_episode <= last:
            lines.append(f"- episode {p.payoff_episode}: pay plant {p.id} (planted in episode {p.planted_episode})")
    lines.sort(key=lambda ln: int(ln.split(":", 1)[0].split()[-1]))
    return "\n".join(lines) or "(nothing due in this act)"


def cards_text(bible: Bible) -> str:
    """Every card with its stages: who learns it in which episode."""
    return "\n".join(f"- {c.id}: {c.description} (stages: "
                     + (", ".join(f"ep {s.episode} -> {s.to}" for s in c.stages) or "none") + ")"
                     for c in bible.cards) or "(none)"
