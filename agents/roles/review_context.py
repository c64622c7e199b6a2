"""What the reviewers see besides the draft: the bible essentials for this episode in the season's language
(the row and the previous episode's last scene are rendered as the writer reads them, by
`writer_context.row_text` and `writer_context.previous_scene_text`), the score floors an episode's
position sets, and the script cut to a budget for the showrunner's decision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cliffhanger.agents.roles.continuity import script_text
from cliffhanger.agents.season.artifacts import ArcRow, Bible, EpisodeScript, Language, SeasonSpec
from cliffhanger.memory.tokens import count_tokens

MAX_CHARACTERS = 8
DECIDE_SCRIPT_TOKENS = 3000  # above this the showrunner reads the scenes the notes cite, and the ending

_ROLE_ZH = {"protagonist": "主角", "antagonist": "反派", "love_interest": "感情线", "ally": "盟友", "mentor": "导师",
            "rival": "对手", "family": "家人", "other": "其他"}


def _names(bible: Bible | None) -> dict[str, str]:
    if bible is None:
        return {}
    return {c.id: c.name for c in bible.characters} | {loc.id: loc.name for loc in bible.locations}


def _who(bible: Bible | None, ident: str | None) -> str:
    if ident is None:
        return ""
    name = _names(bible).get(ident)
    return f"{name}（{ident}）" if name else ident


# ---- the bible, for one episode ---------------------------------------------------------------------

def review_bible(bible: Bible | None, row: ArcRow, script: EpisodeScript, language: Language) -> str:
    """The premise, the characters in this episode (the draft's cast and the row's antagonist) with what
    they want and how they speak, and the antagonist ladder entry of the row's antagonist, if any."""
    zh = language == "zh"
    if bible is None:
        return "（没有剧集圣经）" if zh else "(no series bible)"
    present = {c for scene in script.scenes for c in scene.cast} | ({row.antagonist} if row.antagonist else set())
    people = [c for c in bible.characters if c.id in present][:MAX_CHARACTERS]
    lines = [f"前提：{bible.premise}" if zh else f"Premise: {bible.premise}"]
    lines.append("本集人物：" if zh else "Characters in this episode:")
    for c in people:
        age = c.age if c.age is not None else "?"
        if zh:
            lines.append(f"- {c.name}（{c.id}，{_ROLE_ZH[c.role]}，{age}岁）想要：{c.want}；说话：{c.voice}")
        else:
            lines.append(f"- {c.name} ({c.id}, {c.role.replace('_', ' ')}, {age}): wants {c.want}; voice: {c.voice}")
    if not people:
        lines.append("- （无）" if zh else "- (none)")
    rung = next((a for a in bible.antagonists if a.character == row.antagonist), None)
    if rung is not None:
        who = _who(bible, rung.character)
        if zh:
            fall = f"第{rung.downfall_episode}集倒台：{rung.downfall}" if rung.downfall_episode else f"本季不倒台（代价：{rung.downfall}）"
            lines.append(f"本集反派（反派阶梯）：第{rung.tier}级 {who}，主导第{rung.act}幕；{fall}")
        else:
            fall = (f"falls in episode {rung.downfall_episode}: {rung.downfall}" if rung.downfall_episode
                    else f"does not fall this season (price: {rung.downfall})")
            lines.append(f"This episode's antagonist (the ladder): tier {rung.tier} {who}, leads act {rung.act}; {fall}")
    elif row.antagonist:
        lines.append(f"本集反派：{_who(bible, row.antagonist)}" if zh else f"This episode's antagonist: {row.antagonist}")
    return "\n".join(lines)


# ---- score floors -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Floor:
    criterion: str
    minimum: int
    why: str
    why_zh: str = ""


def score_floors(spec: SeasonSpec, row: ArcRow) -> tuple[Floor, ...]:
    """The lowest critic score each criterion may have on this episode, whatever the weighted mean: a
    score under its floor sends the draft back. The one table of floors:

    - hook >= 7 on episodes 1-3 (the viewer decides to stay in the first seconds of the first episodes);
    - cliffhanger_pull >= 8 on a 卡点集 (`spec.episode_kind(ep) == "cut"`: the ending sells the unlock);
    - cliffhanger_pull >= 7 on a first paid episode (`"first_paid"`: it must sell the next unlock too);
    - payoff >= 6 on a row whose payoff is big (`row.intensity == "big"`);
    - logic >= 5 on every episode (nobody acts stupid to move the plot, 降智).
    """
    ep, kind = row.episode, spec.episode_kind(row.episode)
    floors = []
    if ep <= 3:
        floors.append(Floor("hook", 7, f"episode {ep} is one of the first three", f"第{ep}集是前三集之一"))
    if kind == "cut":
        floors.append(Floor("cliffhanger_pull", 8, "the cut (卡点集)", "卡点集：结尾决定观众付不付费"))
    elif kind == "first_paid":
        floors.append(Floor("cliffhanger_pull", 7, "a first paid episode", "付费首集：结尾还要卖下一次解锁"))
    if row.intensity == "big":
        floors.append(Floor("payoff", 6, "a big payoff row", "本集是大爽点"))
    floors.append(Floor("logic", 5, "every episode", "每一集都要"))
    return tuple(floors)


def floors_text(floors: Iterable[Floor], language: str = "en") -> str:
    if language == "zh":
        return "\n".join(f"- {f.criterion} 不低于 {f.minimum}（{f.why_zh or f.why}）" for f in floors) or "（无）"
    return "\n".join(f"- {f.criterion} >= {f.minimum} ({f.why})" for f in floors) or "(none)"


# ---- the script, for the showrunner -----------------------------------------------------------------

_CITED = re.compile(r"(?:[Ss]cene|场景?|第)\s*(\d{1,2})|\b\d{1,3}-(\d{1,2})\b")


def cited_scenes(notes: Iterable[str]) -> set[int]:
    """Scene numbers the notes cite ("Scene 3", "第3场", "场景3", "10-3")."""
    return {int(a or b) for note in notes for a, b in _CITED.findall(note)}


def script_for_decision(script: EpisodeScript, notes: Iterable[str], budget_tokens: int = DECIDE_SCRIPT_TOKENS) -> str:
    """The whole script when it fits `budget_tokens`; otherwise the scenes the notes cite and the last
    scene (the ending), each whole, with the scenes left out named."""
    full = script_text(script)
    if count_tokens(full) <= budget_tokens:
        return full
    keep = cited_scenes(notes) | {script.scenes[-1].number}
    part = script.model_copy(update={"scenes": tuple(s for s in script.scenes if s.number in keep)})
    left = [str(s.number) for s in script.scenes if s.number not in keep]
    return f"(scenes {', '.join(left)} left out: only the scenes the notes cite and the ending)\n" + script_text(part)
