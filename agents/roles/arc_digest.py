"""What the act planner sees of the season around the act it plans: a digest of every earlier row, the
bible's ladder, cards and plants as they fall in this act, and the acts still to come.

The digest stays bounded however long the season grows: the last FULL_ROWS rows in full, the rest of
the previous act one compact line each, older acts one line each, and season-wide tallies (payoff and
cliffhanger kinds used, who learned which secret, plants planted and paid, who led the pressure) whose
size is bounded by the pack and the bible, not by the episode count.

Every text comes in the season's language (`language`, "en" or "zh"): a Chinese season's planner reads
the head writer's words (集, 幕, 爽点, 伏笔/回收, 马甲, 揭露, 反派阶梯); ids and kind ids stay as the rows
and the bible hold them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from cliffhanger.agents.season.arc_check import plant_episodes
from cliffhanger.agents.season.artifacts import AUDIENCE, Antagonist, ArcRow, Bible

FULL_ROWS = 6  # the latest rows the planner sees in full: the hook to pick up and the rhythm to continue
HOOK_CHARS = 80  # a compact line's hook line is cut here
_INTENSITY_ZH = {"small": "小", "medium": "中", "big": "大"}


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ids(values: Sequence[str], language: str = "en") -> str:
    if language == "zh":
        return "、".join(values) or "无"
    return ", ".join(values) or "-"


def _who_zh(ident: str | None) -> str:
    """A party that learns something, in Chinese: the audience is 观众, a character stays its id."""
    return "观众" if ident == AUDIENCE else ident or "？"


def _quote(text: str, limit: int, language: str) -> str:
    return f"“{_cut(text, limit)}”" if language == "zh" else f"\"{_cut(text, limit)}\""


def row_line(row: ArcRow, hook_chars: int = HOOK_CHARS, language: str = "en") -> str:
    """One row as one line: episode, payoff kind and intensity, antagonist, reveals, plants and pays, and
    how it ends."""
    c = row.cliffhanger
    if language == "zh":
        reveals = "、".join(f"{r.secret}→{_who_zh(r.to)}" for r in row.reveals) or "无"
        size = _INTENSITY_ZH.get(row.intensity or "", "？")
        return (f"- 第{row.episode}集 | 爽点 {row.payoff_kind or '？'}（{size}） | 施压反派 {row.antagonist or '无'} | "
                f"揭露 {reveals} | 埋伏笔 {_ids(row.plants, language)} | 回收 {_ids(row.pays, language)} | "
                f"结尾 {c.kind}（强度{c.strength}）：{_quote(c.hook_line, hook_chars, language)}")
    reveals = ", ".join(f"{r.secret}->{r.to or '?'}" for r in row.reveals) or "-"
    return (f"- {row.episode} | payoff {row.payoff_kind or '?'}/{row.intensity or '?'} | antagonist "
            f"{row.antagonist or '-'} | reveals {reveals} | plants {_ids(row.plants)} | pays {_ids(row.pays)} | "
            f"ends {c.kind} ({c.strength}): {_quote(c.hook_line, hook_chars, language)}")


def _full(row: ArcRow, language: str = "en") -> str:
    if language == "zh":
        return (f"{row_line(row, 300, language)}\n  一句话梗概：{row.logline}\n  爽点：{row.payoff}\n"
                f"  开场：{row.opening_hook}")
    return (f"{row_line(row, 300)}\n  logline: {row.logline}\n  payoff: {row.payoff}\n"
            f"  opening: {row.opening_hook}")


def _leads(rows: Sequence[ArcRow], language: str = "en") -> str:
    """Who led the pressure, one entry per antagonist: `xu_jia 9 eps (1-9), lin_rou 12 eps (10-27)`
    (`xu_jia 9集（第1-9集）、lin_rou 12集（第10-27集）` in Chinese)."""
    eps: dict[str, list[int]] = {}
    for row in rows:
        if row.antagonist:
            eps.setdefault(row.antagonist, []).append(row.episode)
    if language == "zh":
        return "、".join(f"{who} {len(e)}集（第{e[0]}-{e[-1]}集）" if len(e) > 1 else f"{who} 1集（第{e[0]}集）"
                        for who, e in eps.items()) or "无"
    return ", ".join(f"{who} {len(e)} eps ({e[0]}-{e[-1]})" if len(e) > 1 else f"{who} 1 ep ({e[0]})"
                     for who, e in eps.items()) or "-"


def _tally(counter: Counter[str], language: str = "en") -> str:
    if language == "zh":
        return "、".join(f"{k}×{n}" for k, n in counter.most_common()) or "无"
    return ", ".join(f"{k}×{n}" for k, n in counter.most_common()) or "-"


def _learned(rows: Sequence[ArcRow], language: str) -> str:
    """Who learned which secret, in which episode."""
    learned: dict[str, list[str]] = {}
    for r in rows:
        for rv in r.reveals:
            learned.setdefault(rv.secret, []).append(f"{_who_zh(rv.to)}（第{r.episode}集）" if language == "zh"
                                                     else f"{rv.to or '?'} (ep {r.episode})")
    if language == "zh":
        return "；".join(f"{s} → {'、'.join(to)}" for s, to in learned.items()) or "尚无"
    return "; ".join(f"{s} -> {', '.join(to)}" for s, to in learned.items()) or "nothing"


def _plants(rows: Sequence[ArcRow], bible: Bible | None, language: str) -> str:
    """Each plant planted or paid so far: where it was planted, and where it was paid or is due."""
    planted, paid = plant_episodes(rows)
    zh = language == "zh"
    lines = []
    for pid in dict.fromkeys([*planted, *paid]):
        due = None
        if bible is not None and pid not in paid:
            due = next((p.payoff_episode for p in bible.plants if p.id == pid), None)
        at = planted.get(pid, "？" if zh else "?")
        if zh:
            lines.append(f"{pid} 第{at}集埋下，" + (f"第{paid[pid]}集已回收" if pid in paid else
                                                 "未回收" + (f"（应在第{due}集回收）" if due is not None else "")))
        else:
            lines.append(f"{pid} planted ep {at}, " + (f"paid ep {paid[pid]}" if pid in paid else
                                                     "open" + (f", to pay in ep {due}" if due is not None else "")))
    return ("；".join(lines) or "尚无") if zh else ("; ".join(lines) or "none yet")


def _fallen(rows: Sequence[ArcRow], bible: Bible | None, language: str) -> str:
    """The antagonists whose downfall episode is behind the last row."""
    if bible is None:
        return _ids([], language)
    last = rows[-1].episode if rows else 0
    fallen = [a for a in bible.antagonists if a.downfall_episode is not None and a.downfall_episode <= last]
    if language == "zh":
        return _ids([f"{a.character}（第{a.downfall_episode}集）" for a in fallen], language)
    return _ids([f"{a.character} (ep {a.downfall_episode})" for a in fallen])


def season_tallies(rows: Sequence[ArcRow], bible: Bible | None, language: str = "en") -> str:
    """Season-wide tallies of `rows` (bounded by the pack's kinds and the bible, not by the row count)."""
    payoffs = Counter(r.payoff_kind or "?" for r in rows)
    cliffs = Counter(r.cliffhanger.kind for r in rows)
    big = [str(r.episode) for r in rows if r.intensity == "big"]
    if language == "zh":
        big_text = f"大爽点{len(big)}个" + (f"，最近几个在第{'、'.join(big[-4:])}集" if big else "")
        return "\n".join([
            f"- 已用的爽点类型：{_tally(payoffs, language)}；{big_text}",
            f"- 已用的悬念类型：{_tally(cliffs, language)}",
            f"- 至今已揭露：{_learned(rows, language)}",
            f"- 伏笔：{_plants(rows, bible, language)}",
            f"- 施压的反派：{_leads(rows, language)}；已倒台：{_fallen(rows, bible, language)}",
        ])
    big_text = f"{len(big)} big payoffs" + (f", the latest at episodes {', '.join(big[-4:])}" if big else "")
    return "\n".join([
        f"- payoff kinds used: {_tally(payoffs)}; {big_text}",
        f"- cliffhanger kinds used: {_tally(cliffs)}",
        f"- revealed so far: {_learned(rows, language)}",
        f"- plants: {_plants(rows, bible, language)}",
        f"- pressure led by: {_leads(rows)}; fallen: {_fallen(rows, bible, language)}",
    ])


def _act_brief(n: int, act_rows: Sequence[ArcRow], language: str) -> str:
    """An earlier act in one line: its payoffs, who led the pressure, and how it ended."""
    end = act_rows[-1].cliffhanger
    payoffs = _tally(Counter(r.payoff_kind or "?" for r in act_rows), language)
    first, last = act_rows[0].episode, act_rows[-1].episode
    if language == "zh":
        return (f"- 第{n}幕（第{first}-{last}集）：爽点 {payoffs}；施压 {_leads(act_rows, language)}；"
                f"收在 {end.kind}：{_quote(end.hook_line, HOOK_CHARS, language)}")
    return (f"- act {n} (episodes {first}-{last}): payoffs {payoffs}; pressure {_leads(act_rows)}; "
            f"ended on {end.kind}: {_quote(end.hook_line, HOOK_CHARS, language)}")


def earlier_rows_digest(rows: Sequence[ArcRow], act: int, bible: Bible | None, language: str = "en") -> str:
    """The digest of every row before act `act`: season tallies, one line per act before the previous one,
    the previous act's rows one compact line each, and the last FULL_ROWS rows in full."""
    zh = language == "zh"
    rows = sorted(rows, key=lambda r: r.episode)
    if not rows:
        return "（无：全季从本幕开始）" if zh else "(none: this act opens the season)"
    full = rows[-FULL_ROWS:]
    older = rows[: len(rows) - len(full)]
    span = (rows[0].episode, rows[-1].episode)
    out = ["### 全季至今（第{}-{}集）".format(*span) if zh else "### Season so far (episodes {}-{})".format(*span),
           season_tallies(rows, bible, language)]
    by_act: dict[int, list[ArcRow]] = {}
    for r in rows:
        by_act.setdefault(r.act, []).append(r)
    briefs = [_act_brief(n, act_rows, language) for n, act_rows in sorted(by_act.items()) if n < act - 1]
    if briefs:
        out += ["### 更早各幕概要" if zh else "### Earlier acts in brief", *briefs]
    compact = [row_line(r, language=language) for r in older if r.act >= act - 1]
    if compact:
        out += [f"### 第{act - 1}幕逐集" if zh else f"### Act {act - 1}, row by row", *compact]
    out += ["### 最近几集（完整）" if zh else "### The latest episodes in full", *(_full(r, language) for r in full)]
    return "\n".join(out)


def _rung(a: Antagonist, act: int, language: str) -> str:
    """One rung of the ladder, marked when it leads act `act`."""
    if language == "zh":
        fall = f"第{a.downfall_episode}集倒台：{a.downfall}" if a.downfall_episode else "本季不倒台"
        mark = "  ← 主导本幕" if a.act == act else ""
        return f"- 第{a.tier}级 {a.character}（主导第{a.act}幕；{fall}）{mark}"
    fall = f"falls in episode {a.downfall_episode}: {a.downfall}" if a.downfall_episode else "does not fall this season"
    mark = "  <- leads this act" if a.act == act else ""
    return f"- tier {a.tier} {a.character} (leads act {a.act}; {fall}){mark}"


def ladder(bible: Bible, act: int, language: str = "en") -> str:
    """The antagonist ladder, the one(s) leading act `act` marked."""
    if not bible.antagonists:
        if language == "zh":
            return "（圣经里没有反派阶梯：谁在本集施压，谁就是本集的反派；没有就填 null）"
        return "(no ladder in the bible: the antagonist is whoever leads the pressure, or null)"
    return "\n".join(_rung(a, act, language) for a in sorted(bible.antagonists, key=lambda a: (a.tier, a.act)))


def _due(bible: Bible, first: int, last: int, language: str) -> list[tuple[int, str]]:
    """(episode, what falls due in it) for the secrets, card stages and plants of episodes first..last."""
    zh = language == "zh"
    out = [(s.planned_reveal_episode, f"秘密 {s.id} → 观众" if zh else f"secret {s.id} -> audience")
           for s in bible.secrets if s.planned_reveal_episode and first <= s.planned_reveal_episode <= last]
    for card in bible.cards:
        out += [(st.episode, f"马甲 {card.id} → {_who_zh(st.to)}" if zh else f"card {card.id} -> {st.to}")
                for st in card.stages if first <= st.episode <= last]
    for p in bible.plants:
        if first <= p.planted_episode <= last:
            out.append((p.planted_episode, f"埋伏笔 {p.id}（{p.what}），第{p.payoff_episode}集回收" if zh
                        else f"plant {p.id} ({p.what}), paid in episode {p.payoff_episode}"))
        if first <= p.payoff_episode <= last:
            out.append((p.payoff_episode, f"回收伏笔 {p.id}（第{p.planted_episode}集埋下）" if zh
                        else f"pay plant {p.id} (planted in episode {p.planted_episode})"))
    return out


def due_in_act(bible: Bible, first: int, last: int, language: str = "en") -> str:
    """Secrets, card stages and plants that fall in episodes first..last, as the bible plans them."""
    due = sorted(_due(bible, first, last, language), key=lambda d: d[0])
    if language == "zh":
        return "\n".join(f"- 第{ep}集：{what}" for ep, what in due) or "（本幕没有到期的安排）"
    return "\n".join(f"- episode {ep}: {what}" for ep, what in due) or "(nothing due in this act)"


def cards_text(bible: Bible, language: str = "en") -> str:
    """Every card with its stages: who learns it in which episode."""
    if language == "zh":
        return "\n".join(f"- {c.id}：{c.description}（分步揭开："
                         + ("、".join(f"第{s.episode}集→{_who_zh(s.to)}" for s in c.stages) or "无") + "）"
                         for c in bible.cards) or "（无）"
    return "\n".join(f"- {c.id}: {c.description} (stages: "
                     + (", ".join(f"ep {s.episode} -> {s.to}" for s in c.stages) or "none") + ")"
                     for c in bible.cards) or "(none)"
