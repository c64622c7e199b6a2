"""Plain-text renderings written beside the JSON record: bible.md and script.fountain."""

from __future__ import annotations

from cliffhanger.agents.artifacts import Bible, DialogueLine, EpisodeScript

_TIME_EN = {"day": "DAY", "night": "NIGHT", "dawn": "DAWN", "dusk": "DUSK"}


def _cue(name: str) -> str:
    # Fountain reads a cue only in upper case ascii; `@` forces any other name (Chinese) to be a cue.
    return name.upper() if name.isascii() else f"@{name}"


def fountain(script: EpisodeScript, bible: Bible | None, series: str) -> str:
    names = {c.id: c.name for c in bible.characters} if bible else {}
    places = {loc.id: loc.name for loc in bible.locations} if bible else {}
    out = [f"Title: {series} - {script.episode}. {script.title}", "", "===", ""]
    for scene in script.scenes:
        where = places.get(scene.location, scene.location)
        out += [f".{scene.int_ext}. {where} - {_TIME_EN.get(scene.time, str(scene.time).upper())} #{scene.label(script.episode)}#", ""]
        for el in scene.elements:
            if isinstance(el, DialogueLine):
                cue = _cue(names.get(el.speaker, el.speaker)) + (f" ({el.delivery})" if el.delivery else "")
                out.append(cue)
                if el.parenthetical:
                    out.append(f"({el.parenthetical})")
                out += [el.line, ""]
            else:
                out += [el.text, ""]
    out += [f"> {script.ending_hook} <", ""]
    return "\n".join(out)


def bible_markdown(bible: Bible, title: str) -> str:
    out = [f"# {title}: series bible", "", bible.premise, "", "## World rules", ""]
    out += [f"- {r}" for r in bible.world_rules] + ["", "## Characters", ""]
    for c in bible.characters:
        out += [f"### {c.name} (`{c.id}`, {c.role})", "",
                f"- Aliases: {', '.join(c.aliases) or '-'}", f"- Age: {c.age if c.age is not None else '-'}",
                f"- Wants: {c.want}", f"- Secret: {c.secret or '-'}", f"- Arc: {c.arc}", f"- Voice: {c.voice}",
                f"- Look (locked): {c.visual.as_prompt()}", ""]
    out += ["## Locations", ""] + [f"- **{loc.name}** (`{loc.id}`, {loc.int_ext}): {loc.description} "
                                   f"Look: {loc.visual}" for loc in bible.locations]
    out += ["", "## Secrets", ""] + [f"- `{s.id}`: {s.description} Known by: {', '.join(s.known_by) or 'no one'}. "
                                     f"Planned reveal: episode {s.planned_reveal_episode or '-'}." for s in bible.secrets]
    return "\n".join(out) + "\n"
