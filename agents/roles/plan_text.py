"""The text the showrunner's planning prompts (bible, act plan, act rows) are filled with, in the season's
language: the genre brief, the cast, the secrets, the acts and their goals, the pack's kinds and beats.

Every function takes `language` ("en" or "zh", default "en"). A Chinese season's planner reads the head
writer's words (集, 幕, 卡点集, 爽点, 转折点, 收尾); ids, kind ids and the pack's own text stay as they are
(a Chinese pack's text is Chinese already; an English pack has no Chinese text to offer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cliffhanger.agents.roles.writer_context import beats_text
from cliffhanger.agents.season.artifacts import Bible, SeasonSpec
from cliffhanger.genres.pack import GenrePack

if TYPE_CHECKING:
    from cliffhanger.agents.roles.showrunner import ActOutline

# A role as a Chinese head writer names it (as the writer's and the critic's prompts do).
ROLES_ZH = {"protagonist": "主角", "antagonist": "反派", "love_interest": "感情线", "ally": "盟友", "mentor": "导师",
            "rival": "对手", "family": "家人", "other": "其他"}


def _clause(text: str) -> str:
    """A Chinese sentence as a clause of a longer one: without its closing full stop."""
    return text.strip().rstrip("。")


def _role(role: str, language: str) -> str:
    return ROLES_ZH.get(role, role) if language == "zh" else role


def genre_brief(pack: GenrePack, language: str = "en") -> str:
    """The pack in a few lines: what it is, its tone and audience, its tropes and archetypes, the antagonist
    ladder and the cards typical of the genre, and its market's content-review rules."""
    names = {a.id: a.name for a in pack.archetypes}
    if language == "zh":
        tropes = "".join(f"\n- {t.name}：{t.how_it_plays}" for t in pack.tropes[:6])
        people = "".join(f"\n- {a.name}（{_role(a.role, language)}）：{a.description}" for a in pack.archetypes[:6])
        ladder = "".join(f"\n{n}. {names.get(r.archetype, r.archetype)}：拿捏主角的是{r.holds}；倒台：{r.falls_by}"
                         for n, r in enumerate(pack.ladder, start=1))
        cards = "".join(f"\n- {c.name}：{c.how_it_plays}" for c in pack.cards)
        review = "".join(f"\n- {c.rule}" for c in pack.compliance)
        return (f"{pack.description}\n调性：{pack.tone}\n受众：{pack.audience}\n常用套路：{tropes}\n人设原型：{people}"
                + (f"\n本类型常见的反派阶梯（从低到高）：{ladder}" if ladder else "")
                + (f"\n主角常见的底牌：{cards}" if cards else "")
                + (f"\n审核红线：{review}" if review else ""))
    tropes = "; ".join(f"{t.name}: {t.how_it_plays}" for t in pack.tropes[:6])
    people = "; ".join(f"{a.name} ({a.role}): {a.description}" for a in pack.archetypes[:6])
    ladder = "; ".join(f"{n}. {names.get(r.archetype, r.archetype)}, holding {r.holds}, falls by {r.falls_by}"
                       for n, r in enumerate(pack.ladder, start=1))
    cards = "; ".join(f"{c.name}: {c.how_it_plays}" for c in pack.cards)
    review = "; ".join(c.rule for c in pack.compliance)
    return (f"{pack.description}\nTone: {pack.tone}\nAudience: {pack.audience}\nTropes: {tropes}\nArchetypes: {people}"
            + (f"\nThe genre's usual antagonist ladder (lowest first): {ladder}" if ladder else "")
            + (f"\nCards the lead usually holds: {cards}" if cards else "")
            + (f"\nContent review: {review}" if review else ""))


def characters(bible: Bible, language: str = "en") -> str:
    """The cast, one line each: id, name, role and what they want."""
    if language == "zh":
        return "\n".join(f"- {c.id} {c.name}（{_role(c.role, language)}）：{c.want}" for c in bible.characters)
    return "\n".join(f"- {c.id} {c.name} ({c.role}): {c.want}" for c in bible.characters)


def secrets(bible: Bible, language: str = "en") -> str:
    """The secrets, one line each: who knows it when the season opens, and when the audience learns it."""
    if language == "zh":
        return "\n".join(f"- {s.id}：{s.description}（开季知情者：{'、'.join(s.known_by) or '无人'}；"
                         + (f"第{s.planned_reveal_episode}集对观众揭晓）" if s.planned_reveal_episode else "留待下一季）")
                         for s in bible.secrets) or "（无）"
    return "\n".join(f"- {s.id}: {s.description} (known by {', '.join(s.known_by) or 'no one'}; "
                     f"reveal ep {s.planned_reveal_episode or '-'})" for s in bible.secrets) or "(none)"


def acts_list(pack: GenrePack, ranges: Sequence[tuple[int, int]], language: str = "en") -> str:
    """Every act with its episodes, the pack's name for it and its job."""
    if language == "zh":
        return "\n".join(f"- 第{i}幕，第{a}-{b}集，“{pack.acts[i - 1].name}”：{pack.acts[i - 1].job}"
                         for i, (a, b) in enumerate(ranges, start=1))
    return "\n".join(f"- act {i}: episodes {a}-{b}: {pack.acts[i - 1].name}: {pack.acts[i - 1].job}"
                     for i, (a, b) in enumerate(ranges, start=1))


def acts_to_come(pack: GenrePack, plans: Sequence[ActOutline], ranges: Sequence[tuple[int, int]], act: int,
                 language: str = "en") -> str:
    """The acts after `act`, each with its goal and how it ends (`plans`: the outline's acts, in order)."""
    later = [(n, a, b) for n, (a, b) in enumerate(ranges, start=1) if act < n <= len(plans)]
    if language == "zh":
        return "\n".join(f"- 第{n}幕（第{a}-{b}集）“{pack.acts[n - 1].name}”：目标：{_clause(plans[n - 1].goal)}；"
                         f"收尾：{plans[n - 1].ending}" for n, a, b in later) or "（无：本幕就是全季最后一幕）"
    return "\n".join(f"- act {n} (episodes {a}-{b}), {pack.acts[n - 1].name}: {plans[n - 1].goal} "
                     f"Ends: {plans[n - 1].ending}" for n, a, b in later) or "(none: this act closes the season)"


def act_goal(plan: ActOutline, language: str = "en") -> str:
    """The act's goal, its turning points and its ending, as the act plan has them."""
    if language == "zh":
        return f"{plan.goal}\n转折点：{'；'.join(_clause(t) for t in plan.turning_points)}\n收尾：{plan.ending}"
    return f"{plan.goal} Turning points: {'; '.join(plan.turning_points)}. Ends: {plan.ending}"


def first_cut(spec: SeasonSpec, pack: GenrePack, first: int, last: int, language: str = "en") -> str:
    """The first cut (the 卡点集 before the first paywall point) with what the pack asks of it, when it falls
    in episodes first..last."""
    cut = next((e - 1 for e in spec.paywall.paywall_episodes if e > 1), None)
    if cut and first <= cut <= last:
        return f"第{cut}集：{pack.paywall.first_paywall}" if language == "zh" else f"{cut}: {pack.paywall.first_paywall}"
    return "（不在本幕）" if language == "zh" else "(not in this act)"


def cliffhanger_kinds(pack: GenrePack, language: str = "en") -> str:
    """The pack's cliffhanger kinds: id, whether it is strong enough for a paywall episode, its pull."""
    if language == "zh":
        return "\n".join(f"- {k.id}（{k.name}，{'卡点级' if k.paywall else '普通'}，强度{k.strength}）：{k.description}"
                         for k in pack.cliffhanger_kinds)
    return "\n".join(f"- {k.id} ({'paywall' if k.paywall else 'ordinary'}, strength {k.strength}): {k.description}"
                     for k in pack.cliffhanger_kinds)


def payoff_kinds(pack: GenrePack, language: str = "en") -> str:
    """The pack's payoff kinds: id, name and what the audience gets."""
    if language == "zh":
        return "\n".join(f"- {k.id}（{k.name}）：{k.description}" for k in pack.payoff_kinds)
    return "\n".join(f"- {k.id} ({k.name}): {k.description}" for k in pack.payoff_kinds)


def beats(pack: GenrePack, runtime_s: float, language: str = "en") -> str:
    """The pack's beat template timed to the runtime (the writer's prompt shows the same)."""
    return beats_text(pack, runtime_s, language)
