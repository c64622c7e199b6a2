"""What the writer sees around its row, rendered in the season's language.

The draft node gathers a `WriterContext` from the season folder (the previous script, the rows around the
episode, canon as of the last episode); these functions turn it and the bible and genre pack into the
prompt's text. Every part has a fixed cap (elements, rows, places, people, characters per line), so the
context costs the same at episode 55 as at episode 6. The words are the season's: a Chinese prompt
carries Chinese labels, and only ids, the script's JSON keys and the trade's OS/VO stay in latin letters.
"""

from __future__ import annotations

from dataclasses import dataclass

from cliffhanger.agents.roles.shot_planner import bible_as_of
from cliffhanger.agents.season.artifacts import ArcRow, Bible, DialogueLine, EpisodeScript, SeasonSpec
from cliffhanger.genres.pack import GenrePack
from cliffhanger.memory.checker import CanonState

# Caps that keep the context flat across a season.
LAST_ELEMENTS = 6  # elements of the previous episode's last scene
LOGLINES = 3
PLACES = 10
PEOPLE = 8
ADDRESS_FORMS = 16
LINE_CHARS = 160  # one quoted line of model-written text
EXAMPLE_CHARS = 700


EMPTY: dict[str, dict[str, str]] = {
    "zh": {"none": "（无）", "canon": "（暂无）", "opening": "（本季从这里开始）", "first": "（这是第一集，前面没有剧集）",
           "last": "（这是本季最后一集，没有下一集）", "notes": "（无）"},
    "en": {"none": "(none)", "canon": "(nothing yet)", "opening": "(the season opens here)",
           "first": "(this is the first episode: nothing before it)", "last": "(the last episode of the season)",
           "notes": "(none)"},
}

_ROLES_ZH = {"protagonist": "主角", "antagonist": "反派", "love_interest": "感情线", "ally": "盟友", "mentor": "导师",
             "rival": "对手", "family": "家人", "other": "其他"}
_BEATS_ZH = {"hook": "钩子", "setup": "铺垫", "escalation": "升级", "payoff": "爽点", "reversal": "反转",
             "cliffhanger": "结尾悬念"}
_INTENSITY_ZH = {"small": "小", "medium": "中", "big": "大"}
_TIME_ZH = {"day": "日", "night": "夜", "dawn": "晨", "dusk": "黄昏"}
_INT_EXT_ZH = {"INT": "内", "EXT": "外", "INT/EXT": "内/外"}
_DELIVERY = {"zh": {"OS": "OS", "VO": "VO"}, "en": {"OS": "O.S.", "VO": "V.O."}}


@dataclass(frozen=True)
class WriterContext:
    """The season around one episode, as the draft node read it from the folder."""

    previous: EpisodeScript | None = None  # the accepted script of the episode before
    recent_rows: tuple[ArcRow, ...] = ()  # rows of the episodes before, oldest first
    next_row: ArcRow | None = None
    state: CanonState | None = None  # canon as of the end of the episode before (None: the bible's looks)


def cut(text: str, limit: int = LINE_CHARS) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 1].rstrip() + "…"


def empty(language: str, key: str) -> str:
    return EMPTY["zh" if language == "zh" else "en"][key]


# ---- the bible ------------------------------------------------------------------------------------------

def bible_essentials(bible: Bible, cast: set[str] | None = None, language: str = "en") -> str:
    people = [c for c in bible.characters if cast is None or c.id in cast] or list(bible.characters)
    if language == "zh":
        lines = [f"故事前提：{bible.premise}"]
        lines += [f"世界规则：{r}" for r in bible.world_rules[:6]]
        lines += [f"{c.id} {c.name}（{_ROLES_ZH.get(c.role, c.role)}，{c.age if c.age is not None else '年龄不详'}"
                  f"{'岁' if c.age is not None else ''}）：想要{c.want}；说话方式：{c.voice}" for c in people[:PEOPLE]]
        return "\n".join(lines)
    lines = [f"Premise: {bible.premise}"]
    lines += [f"World rule: {r}" for r in bible.world_rules[:6]]
    lines += [f"{c.id} {c.name} ({c.role}, {c.age if c.age is not None else '?'}): wants {c.want}; voice: {c.voice}"
              for c in people[:PEOPLE]]
    return "\n".join(lines)


def locations_text(bible: Bible, language: str) -> str:
    """The places a scene's `location` may name, with their locked looks."""
    sep = "：" if language == "zh" else ": "
    return "\n".join(f"- {loc.id} {loc.name}{sep}{cut(loc.visual)}" for loc in bible.locations[:PLACES]) \
        or empty(language, "none")


def wardrobe_text(bible: Bible, state: CanonState | None, language: str) -> str:
    """What each character wears as of the episode: canon's latest outfit, else the bible's signature look
    (the same rule as the shot planner's `bible_as_of`), with marks canon added."""
    now = bible_as_of(bible, state) if state is not None else bible
    was = {c.id: c.visual for c in bible.characters}
    out = []
    for c in now.characters[:PEOPLE]:
        changed = c.visual != was[c.id]
        if language == "zh":
            marks = f"；特征：{cut(c.visual.marks, 100)}" if c.visual.marks else ""
            out.append(f"- {c.id} {c.name}：{cut(c.visual.wardrobe)}{marks}{'（正典已更新）' if changed else ''}")
        else:
            marks = f"; marks: {cut(c.visual.marks, 100)}" if c.visual.marks else ""
            out.append(f"- {c.id} {c.name}: {cut(c.visual.wardrobe)}{marks}{' (changed in canon)' if changed else ''}")
    return "\n".join(out) or empty(language, "none")


def address_text(bible: Bible, language: str) -> str:
    """Forms of address (叫法): who calls whom what."""
    names = {c.id: c.name for c in bible.characters}
    out = []
    for a in bible.address[:ADDRESS_FORMS]:
        who, whom = names.get(a.speaker, a.speaker), names.get(a.listener, a.listener)
        out.append(f"- {who}（{a.speaker}）称{whom}（{a.listener}）为“{a.form}”" if language == "zh"
                   else f"- {who} ({a.speaker}) calls {whom} ({a.listener}) \"{a.form}\"")
    return "\n".join(out) or empty(language, "none")


# ---- the rows -------------------------------------------------------------------------------------------

def row_text(row: ArcRow, pack: GenrePack, bible: Bible | None, language: str) -> str:
    """The row as prose in the season's language (the writer's brief, not a JSON record)."""
    names = {c.id: c.name for c in bible.characters} if bible else {}
    payoffs = {p.id: p.name for p in pack.payoff_kinds}
    hooks = {k.id: k.name for k in pack.cliffhanger_kinds}
    beats = "\n".join(f"{n}. {b}" for n, b in enumerate(row.beats, start=1))
    who = f"{names.get(row.antagonist, row.antagonist)}（{row.antagonist}）" if row.antagonist else None
    c = row.cliffhanger
    if language == "zh":
        kind = f"（{payoffs.get(row.payoff_kind, row.payoff_kind)}，{_INTENSITY_ZH.get(row.intensity or '', '')}爽点）" \
            if row.payoff_kind else ""
        lines = [f"一句话梗概：{row.logline}", f"开场钩子（前3-5秒）：{row.opening_hook}", f"节拍：\n{beats}",
                 f"爽点{kind}：{row.payoff}", f"本集施压的反派：{who or '无'}",
                 f"结尾悬念（{hooks.get(c.kind, c.kind)}，强度{c.strength}）——最后一句/最后一个画面：{c.hook_line}"]
        lines += [f"揭晓：{r.secret} 让{names.get(r.to, '观众' if r.to == 'audience' else r.to or '？')}得知"
                  for r in row.reveals]
        if row.plants:
            lines.append(f"本集埋下伏笔：{'、'.join(row.plants)}")
        if row.pays:
            lines.append(f"本集回收伏笔：{'、'.join(row.pays)}")
        return "\n".join(lines)
    kind = f" ({payoffs.get(row.payoff_kind, row.payoff_kind)}, {row.intensity or 'unsized'})" if row.payoff_kind else ""
    lines = [f"Logline: {row.logline}", f"Opening hook (first 3-5 s): {row.opening_hook}", f"Beats:\n{beats}",
             f"Payoff{kind}: {row.payoff}", f"Antagonist pressing this episode: {who.replace('（', ' (').replace('）', ')') if who else 'none'}",
             f"Cliffhanger ({hooks.get(c.kind, c.kind)}, strength {c.strength}), the last line or image: {c.hook_line}"]
    lines += [f"Reveal: {r.secret} to {names.get(r.to, r.to or '?')}" for r in row.reveals]
    if row.plants:
        lines.append(f"Plants: {', '.join(row.plants)}")
    if row.pays:
        lines.append(f"Pays off: {', '.join(row.pays)}")
    return "\n".join(lines)


def loglines_text(rows: tuple[ArcRow, ...], language: str) -> str:
    """The last three episodes in one line each, oldest first."""
    return "\n".join((f"- 第{r.episode}集：{cut(r.logline)}" if language == "zh" else f"- Ep {r.episode}: {cut(r.logline)}")
                     for r in rows[-LOGLINES:]) or empty(language, "first")


def next_opening_text(row: ArcRow | None, language: str) -> str:
    if row is None:
        return empty(language, "last")
    return f"第{row.episode}集开场：{cut(row.opening_hook)}" if language == "zh" \
        else f"Episode {row.episode} opens on: {cut(row.opening_hook)}"


# ---- the previous episode -------------------------------------------------------------------------------

def previous_scene_text(script: EpisodeScript | None, bible: Bible | None, language: str) -> str:
    """The heading of the previous episode's last scene and its last elements, as a script reads."""
    if script is None or not script.scenes:
        return empty(language, "opening")
    scene = script.scenes[-1]
    people = {c.id: c.name for c in bible.characters} if bible else {}
    places = {loc.id: loc.name for loc in bible.locations} if bible else {}
    place = places.get(scene.location, scene.location)
    if language == "zh":
        head = f"{script.episode}-{scene.number} {_INT_EXT_ZH.get(scene.int_ext, scene.int_ext)} {place} " \
               f"{_TIME_ZH.get(scene.time, scene.time)}"
    else:
        head = f"{scene.int_ext}. {place.upper()} - {str(scene.time).upper()}"
    lines = [head]
    elements = scene.elements[-LAST_ELEMENTS:]
    if len(scene.elements) > len(elements):
        lines.append("……" if language == "zh" else "...")
    for el in elements:
        if isinstance(el, DialogueLine):
            name = people.get(el.speaker, el.speaker)
            tag = f"（{_DELIVERY['zh'][el.delivery]}）" if language == "zh" and el.delivery else \
                (f" ({_DELIVERY['en'][el.delivery]})" if el.delivery else "")
            if language == "zh":
                paren = f"（{el.parenthetical}）" if el.parenthetical else ""
                lines.append(f"{name}{tag}{paren}：{cut(el.line)}")
            else:
                paren = f" ({el.parenthetical})" if el.parenthetical else ""
                lines.append(f"{name.upper()}{tag}{paren}: {cut(el.line)}")
        else:
            lines.append(f"△ {cut(el.text)}" if language == "zh" else cut(el.text))
    return "\n".join(lines)


# ---- the genre pack -------------------------------------------------------------------------------------

def example_text(spec: SeasonSpec, pack: GenrePack, episode: int) -> str:
    """One worked example of the same place in the season: the pack's opening for episode 1, its paywall
    cliffhanger for a 卡点集 (a cut); none elsewhere, or when the pack is written in another language."""
    if pack.language != spec.language:
        return empty(spec.language, "none")
    if episode == 1:
        text = pack.examples.opening_hook
    elif spec.episode_kind(episode) == "cut":
        text = pack.examples.paywall_cliffhanger
    else:
        return empty(spec.language, "none")
    return text.strip()[:EXAMPLE_CHARS]


def tone_text(spec: SeasonSpec, pack: GenrePack) -> str:
    return pack.tone.strip() if pack.language == spec.language else empty(spec.language, "none")


def push_down_text(pack: GenrePack, runtime_s: float, language: str) -> str:
    """By when the lead strikes back: the pack's `push_down_until`, a fraction of the runtime (default half)."""
    share = pack.push_down_until
    at = round(runtime_s * share)
    if language == "zh":
        return f"第{at}秒（全集的{round(share * 100)}%）"
    return f"{at} s in ({round(share * 100)}% of the episode)"


def inner_voice_max(pack: GenrePack) -> int:
    return pack.inner_voice_max_lines


def beats_text(pack: GenrePack, runtime_s: float, language: str) -> str:
    if language == "zh":
        return "\n".join(f"- {_BEATS_ZH.get(b.role, b.role)} {b.start_s:g}-{b.end_s:g}秒：{b.description}"
                         for b in pack.beats_for(runtime_s))
    return "\n".join(f"- {b.role} {b.start_s:g}-{b.end_s:g} s: {b.description}" for b in pack.beats_for(runtime_s))


def walk_ons_text(row: ArcRow, language: str = "en") -> str:
    """The row's walk-on parts with their looks (their ids may stand in a scene's cast); one line shape in
    both languages, which the arc tests read back."""
    return "\n".join(f"- {w.id} {w.name}: {w.look}" for w in row.walk_ons) or empty(language, "none")
