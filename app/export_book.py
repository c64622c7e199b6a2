"""The season as one readable book: Markdown for diffs and a self-contained HTML file for browsers.

Contracts
- Both take the spec, bible, arc (or None), and the scripts and shot lists drafted so far (a mapping by
  episode number or any iterable of artifacts); every episode 1..spec.episodes appears, the ones
  without a script as "not drafted yet", and a script without shots says "shots not planned yet".
- HTML: one file, inline CSS, no JavaScript, no external resources (`<details>` folds the prompts).
  Every piece of text goes through `html.escape`, because model output may hold markup such as
  `<script>`: it is shown, never run.
- Markdown: `<` is written as `&lt;` so renderers that pass HTML through cannot run model output,
  and table cells have `|` escaped and newlines flattened.
- With a `budget` (`video_budget.season_budget`), both carry a "Video budget" section after the arc.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import TypeVar

from cliffhanger.agents.season.artifacts import ArcPlan, Bible, DialogueLine, EpisodeScript, Scene, SeasonSpec
from cliffhanger.agents.season.curve import SeasonCurve
from cliffhanger.agents.season.shotlist import Shot, ShotList
from cliffhanger.agents.season.video_budget import SeasonBudget

_A = TypeVar("_A", EpisodeScript, ShotList)
_TIME_EN = {"day": "DAY", "night": "NIGHT", "dawn": "DAWN", "dusk": "DUSK"}
NOT_DRAFTED = "not drafted yet"
NO_SHOTS = "shots not planned yet"


def _by_episode(items: Mapping[int, _A] | Iterable[_A] | None) -> dict[int, _A]:
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    return {a.episode: a for a in items}


_BADGE = {"cut": "cut", "first_paid": "paywall", "paid": "paid", "free": "free", "ad": "free"}


def _access(spec: SeasonSpec, episode: int) -> tuple[str, str]:
    """(CSS class, label) of the episode's place in the money plan, labelled in the season's language with
    the one vocabulary (`SeasonSpec.episode_label`: 卡点集 / 付费首集, "last free episode" / "first paid
    episode")."""
    return _BADGE[spec.episode_kind(episode)], spec.episode_label(episode, spec.language)


def _paywall_point(spec: SeasonSpec, episode: int) -> bool:
    """The 卡点集 or the first paid episode of a paywall point: the episodes the book marks in bold."""
    return spec.episode_kind(episode) in ("cut", "first_paid")


def _heading(scene: Scene, episode: int, spec: SeasonSpec, places: dict[str, str]) -> str:
    where = places.get(scene.location, scene.location)
    if spec.language == "zh":
        return f"{scene.label(episode)} {scene.int_ext_zh} {where} {scene.time_zh}"
    return f"{scene.label(episode)} {scene.int_ext}. {where.upper()} - {_TIME_EN[scene.time]}"


def _cue(el: DialogueLine, names: dict[str, str], spec: SeasonSpec) -> str:
    name = names.get(el.speaker, el.speaker)
    delivery = f" ({el.delivery})" if el.delivery else ""
    if spec.language == "zh":
        return f"{name}{delivery}" + (f"（{el.parenthetical}）" if el.parenthetical else "")
    return name.upper() + delivery


def _shot_cells(shot: Shot) -> list[str]:
    sound = "; ".join(x for x in [shot.sound.vo_os or "", *shot.sound.sfx, shot.sound.music_cue or ""] if x)
    return [
        shot.shot_id, f"{shot.start_s:g}-{shot.end_s:g} s", shot.beat_role,
        f"{shot.shot_size}, {shot.angle}, {shot.movement}, {shot.lens}",
        ", ".join(c.id for c in shot.characters), shot.action,
        " / ".join(f"{d.speaker}: {d.line}" for d in shot.dialogue), sound, shot.on_screen_text or "",
    ]


_SHOT_HEAD = ["Shot", "Time", "Beat", "Camera", "Characters", "Action", "Dialogue", "Sound", "On screen"]

# ---- Markdown ------------------------------------------------------------------------------------


def _md(text: object) -> str:
    return str(text).replace("<", "&lt;")


def _cell(text: object) -> str:
    return _md(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _row(cells: Iterable[object]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def season_markdown(spec: SeasonSpec, bible: Bible, arc: ArcPlan | None,
                    scripts: Mapping[int, EpisodeScript] | Iterable[EpisodeScript],
                    shot_lists: Mapping[int, ShotList] | Iterable[ShotList], *,
                    budget: SeasonBudget | None = None) -> str:
    scripts, shot_lists = _by_episode(scripts), _by_episode(shot_lists)
    names = {c.id: c.name for c in bible.characters}
    places = {loc.id: loc.name for loc in bible.locations}
    out = [f"# {_md(spec.title)}", "", f"> {_md(spec.logline)}", "",
           f"{spec.genre} · {spec.language} · {spec.episodes} episodes × {spec.runtime_s} s · {spec.paywall.mode}", "",
           "## Bible", "", _md(bible.premise), ""]
    out += [f"- {_md(r)}" for r in bible.world_rules] + ["", "### Characters", ""]
    for c in bible.characters:
        out += [f"- **{_md(c.name)}** (`{c.id}`, {c.role}): wants {_md(c.want)}",
                f"  - Look (locked): {_md(c.visual.as_prompt())}"]
    out += ["", "## Arc", "", _row(["Ep", "Access", "Logline", "Payoff", "Cliffhanger", "Hook line", "Drafted"]),
            _row(["---"] * 7)]
    for row in arc.rows if arc else ():
        label = _access(spec, row.episode)[1]
        marker = f"**{label}**" if _paywall_point(spec, row.episode) else label
        kind = f"{row.cliffhanger.kind} ({row.cliffhanger.strength}/5)"
        out.append(_row([row.episode, marker, row.logline, row.payoff, kind, row.cliffhanger.hook_line,
                         "yes" if row.episode in scripts else NOT_DRAFTED]))
    if arc is None:
        out.append("The arc is not planned yet.")
    if budget is not None:
        out += ["", *budget.markdown()]
    for ep in range(1, spec.episodes + 1):
        script = scripts.get(ep)
        if script is None:
            out += ["", f"## Episode {ep}: {NOT_DRAFTED}"]
            continue
        label = f" ({_access(spec, ep)[1]})" if _paywall_point(spec, ep) else ""
        out += ["", f"## Episode {ep}: {_md(script.title)}{label}", ""]
        for scene in script.scenes:
            cast = ", ".join(names.get(i, i) for i in scene.cast)
            out += [f"### {_md(_heading(scene, ep, spec, places))}", "", f"*Cast: {_md(cast) or '-'}*", ""]
            for el in scene.elements:
                if isinstance(el, DialogueLine):
                    cue = _cue(el, names, spec)
                    paren = f" *({_md(el.parenthetical)})*" if el.parenthetical and spec.language != "zh" else ""
                    colon = "：" if spec.language == "zh" else ":"
                    out += [f"**{_md(cue)}**{paren}{colon} {_md(el.line)}", ""]
                else:
                    out += [f"△ {_md(el.text)}" if spec.language == "zh" else _md(el.text), ""]
        out += [f"**Ending hook:** {_md(script.ending_hook)}", ""]
        shots = shot_lists.get(ep)
        if shots is None:
            out.append(f"*{NO_SHOTS}*")
            continue
        out += [f"### Shots ({shots.target}, {len(shots.shots)} clips, {shots.total_duration_s:g} s)", "",
                _row(_SHOT_HEAD), _row(["---"] * len(_SHOT_HEAD))]
        out += [_row(_shot_cells(s)) for s in shots.shots]
    return "\n".join(out) + "\n"


# ---- HTML ----------------------------------------------------------------------------------------

_CSS = """
body{font:16px/1.5 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;max-width:1100px;
margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}.logline{font-style:italic;color:#444}.meta{color:#666;font-size:.9rem}
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.3rem .4rem;vertical-align:top;text-align:left}th{background:#f3f3f3}
.badge{display:inline-block;padding:0 .4rem;border-radius:.3rem;font-size:.8rem;font-weight:600}
.paywall{background:#c0392b;color:#fff}.free{background:#27ae60;color:#fff}.paid{background:#7f8c8d;color:#fff}
.cut{background:#f39c12;color:#fff}
.script{font-family:"Courier Prime","Courier New",monospace;background:#fafafa;padding:1rem;border:1px solid #eee}
.heading{font-weight:700;text-transform:uppercase;margin-top:1rem}.cast{color:#666;font-size:.85rem}
.cue{margin:.6rem 0 0 30%;font-weight:700}.paren{margin-left:25%;font-style:italic}
.line{margin:0 20% 0 20%}.action{margin:.5rem 0}.hook{font-weight:700;margin-top:1rem}
.zh .cue{margin-left:0}.zh .line{margin:0 0 0 2em}
.missing{color:#999}details summary{cursor:pointer;color:#555}
.curve-scroll{overflow-x:auto}.curve-scroll svg{display:block;width:100%;min-width:640px;height:auto}
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _table(head: list[str], rows: Iterable[list[str]], *, raw: bool = False) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _badge(kind: str, label: str) -> str:
    return f'<span class="badge {_e(kind)}">{_e(label)}</span>'


def _script_html(script: EpisodeScript, spec: SeasonSpec, names: dict[str, str], places: dict[str, str]) -> str:
    out = [f'<div class="script {_e(spec.language)}">']
    for scene in script.scenes:
        cast = ", ".join(names.get(i, i) for i in scene.cast) or "-"
        out += [f'<p class="heading">{_e(_heading(scene, script.episode, spec, places))}</p>',
                f'<p class="cast">{_e("人物：" if spec.language == "zh" else "Cast: ")}{_e(cast)}</p>']
        for el in scene.elements:
            if isinstance(el, DialogueLine):
                out.append(f'<p class="cue">{_e(_cue(el, names, spec))}</p>')
                if el.parenthetical and spec.language != "zh":
                    out.append(f'<p class="paren">({_e(el.parenthetical)})</p>')
                out.append(f'<p class="line">{_e(el.line)}</p>')
            else:
                out.append(f'<p class="action">{"△ " if spec.language == "zh" else ""}{_e(el.text)}</p>')
    out += [f'<p class="hook">{_e(script.ending_hook)}</p>', "</div>"]
    return "\n".join(out)


def _shots_html(shots: ShotList) -> str:
    rows = []
    for s in shots.shots:
        cells = [_e(c) for c in _shot_cells(s)]
        cells.append(f"<details><summary>prompt</summary>{_e(s.prompt)}<hr>{_e(s.prompt_native)}"
                     f"<hr>negative: {_e(s.negative_prompt)}</details>")
        rows.append(cells)
    caption = f"<h3>Shots ({_e(shots.target)}, {len(shots.shots)} clips, {shots.total_duration_s:g} s)</h3>"
    return caption + _table([*_SHOT_HEAD, "Prompt"], rows, raw=True)


def season_html(spec: SeasonSpec, bible: Bible, arc: ArcPlan | None,
                scripts: Mapping[int, EpisodeScript] | Iterable[EpisodeScript],
                shot_lists: Mapping[int, ShotList] | Iterable[ShotList], curve: SeasonCurve | None = None, *,
                budget: SeasonBudget | None = None) -> str:
    """`curve`: the season curve, drawn inline as SVG under the title (`_curve_html`); None leaves it out."""
    scripts, shot_lists = _by_episode(scripts), _by_episode(shot_lists)
    names = {c.id: c.name for c in bible.characters}
    places = {loc.id: loc.name for loc in bible.locations}
    lang = "zh-CN" if spec.language == "zh" else "en"
    out = [f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(spec.title)}</title><style>{_CSS}</style></head><body>",
           f"<header><h1>{_e(spec.title)}</h1><p class=\"logline\">{_e(spec.logline)}</p>",
           f'<p class="meta">{_e(spec.genre)} · {_e(spec.language)} · {spec.episodes} episodes × {spec.runtime_s} s · '
           f"{_e(spec.paywall.mode)} · free episodes 1-{spec.paywall.free_episodes} · paywall at "
           f"{_e(', '.join(map(str, spec.paywall.paywall_episodes)) or 'none')}</p></header>",
           _curve_html(curve), "<section><h2>Bible</h2>", f"<p>{_e(bible.premise)}</p>"]
    if bible.world_rules:
        out.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in bible.world_rules) + "</ul>")
    out += ["<h3>Characters</h3>", _table(
        ["Name", "Id", "Role", "Age", "Wants", "Voice", "Look (locked)", "Reference image"],
        [[c.name, c.id, c.role, "-" if c.age is None else str(c.age), c.want, c.voice, c.visual.as_prompt(),
          c.reference_image or "-"] for c in bible.characters])]
    if bible.locations:
        out += ["<h3>Locations</h3>", _table(["Name", "Id", "Int/Ext", "Description", "Look (locked)"],
                                             [[loc.name, loc.id, loc.int_ext, loc.description, loc.visual]
                                              for loc in bible.locations])]
    if bible.secrets:
        out += ["<h3>Secrets</h3>", _table(["Id", "Secret", "Known by", "Planned reveal"],
                                           [[s.id, s.description, ", ".join(s.known_by) or "-",
                                             str(s.planned_reveal_episode or "-")] for s in bible.secrets])]
    out.append("</section><section><h2>Arc</h2>")
    if arc is None:
        out.append("<p class=\"missing\">The arc is not planned yet.</p>")
    else:
        rows = []
        for row in arc.rows:
            kind = _e(f"{row.cliffhanger.kind} ({row.cliffhanger.strength}/5)")
            drafted = (f'<a href="#ep-{row.episode}">{_e(scripts[row.episode].title)}</a>' if row.episode in scripts
                       else f'<span class="missing">{NOT_DRAFTED}</span>')
            rows.append([str(row.episode), _badge(*_access(spec, row.episode)),
                         _e(row.logline), _e(row.opening_hook), _e(row.payoff), kind, _e(row.cliffhanger.hook_line),
                         drafted])
        out.append(_table(["Ep", "Access", "Logline", "Opening hook", "Payoff", "Cliffhanger", "Hook line", "Script"],
                          rows, raw=True))
    out.append("</section>")
    if budget is not None:
        from cliffhanger.app.export_budget import budget_html

        out.append(budget_html(budget))
    for ep in range(1, spec.episodes + 1):
        script = scripts.get(ep)
        if script is None:
            out.append(f'<section id="ep-{ep}" class="missing"><h2>Episode {ep}</h2><p>{NOT_DRAFTED}</p></section>')
            continue
        out += [f'<section id="ep-{ep}"><h2>Episode {ep}: {_e(script.title)} {_badge(*_access(spec, ep))}</h2>',
                _script_html(script, spec, names, places)]
        shots = shot_lists.get(ep)
        out.append(_shots_html(shots) if shots else f'<p class="missing">{NO_SHOTS}</p>')
        out.append("</section>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _curve_html(curve: SeasonCurve | None) -> str:
    """The season curve section: inline SVG (no script, nothing fetched), scrolled sideways on a narrow screen."""
    if curve is None:
        return ""
    from cliffhanger.agents.season.curve_svg import curve_svg

    return (f'<section id="curve"><h2>Season curve</h2><div class="curve-scroll">{curve_svg(curve)}</div>'
            "</section>")
