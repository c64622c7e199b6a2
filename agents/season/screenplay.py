"""Screenplay renderings of the record: Fountain, Final Draft (FDX), the Chinese script format, bible.md.

Contracts
- Pure functions from artifacts to text; no I/O, no clock (a draft date is passed in when wanted).
- Names come from the bible: speaker ids become character names and location ids location names;
  an id the bible does not know (or no bible) is printed as is.
- Model text is never trusted as markup. Fountain: action lines that a parser could read as a scene
  heading, transition, cue, section, synopsis, lyric, page break or centered text are forced with `!`;
  dialogue and parenthetical lines that start with a markup character get an invisible U+200B guard;
  `*` is backslash-escaped and `[[` / `/*` are broken so no note or boneyard can swallow text.
  FDX is built with ElementTree, so text is XML-escaped; characters XML 1.0 forbids are dropped.
- Counts an exporter's user can rely on: one Fountain/FDX scene heading per scene, one cue and one
  dialogue block per DialogueLine, one parenthetical per DialogueLine that has one, one action per
  Action plus the centered ending hook, one transition per episode.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from cliffhanger.agents.season.artifacts import Action, Bible, DialogueLine, EpisodeScript, Scene, SeasonSpec
from cliffhanger.agents.season.casting import Casting, bible_casting

_TIME_EN = {"day": "DAY", "night": "NIGHT", "dawn": "DAWN", "dusk": "DUSK"}
_DELIVERY_EN = {"OS": "O.S.", "VO": "V.O."}
_DELIVERY_ZH = {"OS": "OS", "VO": "旁白"}  # the trade writes OS for the inner voice and off-screen
CUT = "CUT TO:"
SMASH_CUT = "SMASH CUT TO BLACK."
FDX_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>'

_GUARD = "\u200b"  # zero-width space: invisible in print, stops a parser reading a leading markup character
_HEADING_RE = re.compile(r"^(?:INT|EXT|EST|I/E|INT\.?/EXT)(?:\s*\.|\s)", re.IGNORECASE)
_CUE_RE = re.compile(r"^[A-Z0-9 ._'#-]*[A-Z][A-Z0-9 ._'#-]*$")
_MARKUP_START = ("!", "@", "#", "~", "=", ".", ">", "[[", "/*")
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class _Names:
    """Bible lookups with the id as fallback."""

    def __init__(self, bible: Bible | None) -> None:
        self.people = {c.id: c.name for c in bible.characters} if bible else {}
        self.places = {loc.id: loc.name for loc in bible.locations} if bible else {}

    def person(self, id: str) -> str:
        return self.people.get(id, id)

    def place(self, id: str) -> str:
        return self.places.get(id, id)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _one_line(text: str) -> str:
    return " ".join(_lines(text))


def _paren(text: str) -> str:
    """A parenthetical without the brackets a model may already have typed."""
    text = _one_line(text)
    if text[:1] in "(（" and text[-1:] in ")）" and len(text) > 2:
        return text[1:-1].strip()
    return text


def _episode_heading(script: EpisodeScript) -> str:
    return f"Episode {script.episode}: {_one_line(script.title)}"


def _transition(script: EpisodeScript, spec: SeasonSpec | None, last: bool) -> str:
    """The cut to black ends the export and every episode before a paywall; other episodes cut on."""
    return SMASH_CUT if last or (spec is not None and spec.is_paywall_cliffhanger(script.episode)) else CUT


def _heading_en(scene: Scene, names: _Names) -> str:
    where = _one_line(names.place(scene.location)).replace("#", "")
    return f"{scene.int_ext}. {where} - {_TIME_EN[scene.time]}"


def _cue_en(line: DialogueLine, names: _Names) -> str:
    name = _one_line(names.person(line.speaker))
    return name.upper() if name.isascii() else name


# ---- Fountain ----------------------------------------------------------------------------------


def _inline(text: str) -> str:
    # `\*` is a literal star for both screenplain and fountain-py, which also breaks `/*` and `*/`;
    # `[[` has no escape, so an invisible guard splits it.
    return text.replace("*", "\\*").replace("[[", f"[{_GUARD}[")


def _misread_as_action(line: str) -> bool:
    """True when a line of action would parse as something else in screenplain or fountain-py."""
    return (
        line.startswith(_MARKUP_START)
        or bool(_HEADING_RE.match(line))
        or line.isupper()  # a cue, a natural transition (`CUT TO:`) or, in screenplain, a dialogue block
        or (line.startswith(">") and line.endswith("<"))
    )


def _action_fountain(text: str) -> list[str]:
    return [("!" if _misread_as_action(line) else "") + _inline(line) for line in _lines(text)]


def _speech_fountain(text: str) -> list[str]:
    out = []
    for line in _lines(text):
        out.append((_GUARD if line.startswith((*_MARKUP_START, "(")) else "") + _inline(line))
    return out


def _cue_fountain(line: DialogueLine, names: _Names) -> str:
    # Fountain reads a natural cue only in upper case ascii; `@` forces any other name (Chinese).
    name = _cue_en(line, names)
    cue = name if _CUE_RE.match(name) and not _HEADING_RE.match(name) else f"@{name.rstrip('^')}"
    return cue + (f" ({_DELIVERY_EN[line.delivery]})" if line.delivery else "")


def _title_page(title: str, logline: str | None, draft_date: str | None) -> list[str]:
    def field(key: str, value: str) -> list[str]:
        parts = _lines(value) or ["-"]
        return [f"{key}: {parts[0]}"] if len(parts) == 1 else [f"{key}:", *(f"    {p}" for p in parts)]

    out = field("Title", title) + field("Credit", "Written by") + field("Author", "cliffhanger writers' room")
    if draft_date:
        out += field("Draft date", draft_date)
    if logline:
        out += field("Notes", logline)
    return out


def _fountain_body(script: EpisodeScript, names: _Names, transition: str) -> list[str]:
    out = [f"# {_inline(_episode_heading(script))}", ""]
    for scene in script.scenes:
        out += [f".{_heading_en(scene, names)} #{scene.label(script.episode)}#", ""]
        for el in scene.elements:
            if isinstance(el, Action):
                out += [*_action_fountain(el.text), ""]
                continue
            out.append(_cue_fountain(el, names))
            if el.parenthetical:
                out.append(f"({_inline(_paren(el.parenthetical))})")
            out += [*_speech_fountain(el.line), ""]
    hook = _lines(script.ending_hook)
    if any("<" in line for line in hook):  # `<` inside `> ... <` ends centering early: keep it as action
        out += [*_action_fountain(script.ending_hook), ""]
    else:
        out += [*(f"> {_inline(line)} <" for line in hook), ""]
    return out + [f">{transition}", ""]


def _fountain(
    scripts: Sequence[EpisodeScript], bible: Bible | None, spec: SeasonSpec | None, title: str,
    logline: str | None, draft_date: str | None,
) -> str:
    names = _Names(bible)
    out = [*_title_page(title, logline, draft_date), ""]
    for i, script in enumerate(scripts):
        out += _fountain_body(script, names, _transition(script, spec, i == len(scripts) - 1))
    return "\n".join(out)


def fountain_episode(
    script: EpisodeScript, bible: Bible | None, spec: SeasonSpec, *, draft_date: str | None = None
) -> str:
    """One episode as a Fountain document: title page (title, credit, optional draft date, logline
    as Notes), a `# Episode N: title` section, its scenes, the centered hook and a closing transition.
    """
    return _fountain([script], bible, spec, spec.title, spec.logline, draft_date)


def fountain_season(
    scripts: Sequence[EpisodeScript], bible: Bible | None, spec: SeasonSpec, *, draft_date: str | None = None
) -> str:
    """Episodes in the order given as one Fountain document with one title page."""
    return _fountain(scripts, bible, spec, spec.title, spec.logline, draft_date)


def fountain(script: EpisodeScript, bible: Bible | None, series: str) -> str:
    """script.fountain beside script.json: `fountain_episode` for callers that hold only the title."""
    return _fountain([script], bible, None, series, None, None)


# ---- Final Draft -------------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    return _XML_INVALID_RE.sub("", text)


def _paragraph(parent: ET.Element, kind: str | None, text: str, **attrs: str) -> None:
    para = ET.SubElement(parent, "Paragraph", {"Type": kind, **attrs} if kind else attrs)
    ET.SubElement(para, "Text").text = _xml_text(text)


def fdx_document(
    scripts: Sequence[EpisodeScript], bible: Bible | None, spec: SeasonSpec, *, draft_date: str | None = None
) -> str:
    """Final Draft XML (version 5) for the episodes given. Each episode opens with a `New Act`
    paragraph naming it; scene headings carry the `集-场` label as their Number; the ending hook is
    a centered Action; a Transition closes each episode. Text is exactly the script's text.
    """
    names = _Names(bible)
    root = ET.Element("FinalDraft", {"DocumentType": "Script", "Template": "No", "Version": "5"})
    content = ET.SubElement(root, "Content")
    for i, script in enumerate(scripts):
        _paragraph(content, "New Act", _episode_heading(script))
        for scene in script.scenes:
            _paragraph(content, "Scene Heading", _heading_en(scene, names), Number=scene.label(script.episode))
            for el in scene.elements:
                if isinstance(el, Action):
                    _paragraph(content, "Action", el.text)
                    continue
                ext = f" ({_DELIVERY_EN[el.delivery]})" if el.delivery else ""
                _paragraph(content, "Character", _cue_en(el, names) + ext)
                if el.parenthetical:
                    _paragraph(content, "Parenthetical", f"({_paren(el.parenthetical)})")
                _paragraph(content, "Dialogue", el.line)
        _paragraph(content, "Action", script.ending_hook, Alignment="Center")
        _paragraph(content, "Transition", _transition(script, spec, i == len(scripts) - 1))
    title_page = ET.SubElement(ET.SubElement(root, "TitlePage"), "Content")
    for text in (spec.title, "Written by", "cliffhanger writers' room", draft_date or "", spec.logline):
        if text:
            _paragraph(title_page, None, text, Alignment="Center")
    ET.indent(root)
    return FDX_DECLARATION + "\n" + ET.tostring(root, encoding="unicode") + "\n"


# ---- Chinese script format ---------------------------------------------------------------------


def _zh_speech(line: DialogueLine, names: _Names) -> str:
    notes = [_DELIVERY_ZH[line.delivery]] if line.delivery else []
    notes += [_paren(line.parenthetical)] if line.parenthetical else []
    direction = f"（{'，'.join(notes)}）" if notes else ""
    return f"{_one_line(names.person(line.speaker))}{direction}：{_one_line(line.line)}"


def zh_script(scripts: Sequence[EpisodeScript], bible: Bible | None, spec: SeasonSpec) -> str:
    """The Chinese industry layout: `第N集 标题`, scene headings `集-场 内/外 地点 日/夜`, a `人物：`
    cast line, `△` action lines, `角色（动作）：台词` speeches (OS as OS, the trade's inner voice and off-screen, VO as 旁白) and the
    episode's hook as `【卡点】` after its last scene. The 卡点集 and the 付费首集 of each paywall point say so
    after their title (`SeasonSpec.episode_label`).
    """
    names = _Names(bible)
    out = [f"《{_one_line(spec.title)}》", ""]
    for script in scripts:
        kind = spec.episode_kind(script.episode)
        label = f"（{spec.episode_label(script.episode, 'zh')}）" if kind in ("cut", "first_paid") else ""
        out += [f"第{script.episode}集 {_one_line(script.title)}{label}", ""]
        for scene in script.scenes:
            where = _one_line(names.place(scene.location))
            out.append(f"{scene.label(script.episode)} {scene.int_ext_zh} {where} {scene.time_zh}")
            out.append("人物：" + "、".join(_one_line(names.person(c)) for c in scene.cast))
            for el in scene.elements:
                if isinstance(el, Action):
                    out += [f"△{line}" for line in _lines(el.text)]
                else:
                    out.append(_zh_speech(el, names))
            out.append("")
        out += [f"【卡点】{_one_line(script.ending_hook)}", "", ""]
    return "\n".join(out).rstrip("\n") + "\n"


# ---- bible -------------------------------------------------------------------------------------


def _casting_line(casting: Casting) -> str:
    ids = "; ".join(f"{p}: {v}" for p, v in casting.voices.items())
    return f"- Casting: {casting.describe()}" + (f" (voice ids: {ids})" if ids else "")


def bible_markdown(bible: Bible, title: str) -> str:
    out = [f"# {title}: series bible", "", bible.premise, "", "## World rules", ""]
    out += [f"- {r}" for r in bible.world_rules] + ["", "## Characters", ""]
    castings = bible_casting(bible)
    for c in bible.characters:
        out += [f"### {c.name} (`{c.id}`, {c.role})", "",
                f"- Aliases: {', '.join(c.aliases) or '-'}", f"- Age: {c.age if c.age is not None else '-'}",
                f"- Wants: {c.want}", f"- Secret: {c.secret or '-'}", f"- Arc: {c.arc}", f"- Voice: {c.voice}",
                _casting_line(castings[c.id]), f"- Look (locked): {c.visual.as_prompt()}", ""]
    out += ["## Locations", ""] + [f"- **{loc.name}** (`{loc.id}`, {loc.int_ext}): {loc.description} "
                                   f"Look: {loc.visual}" for loc in bible.locations]
    out += ["", "## Secrets", ""] + [f"- `{s.id}`: {s.description} Known by: {', '.join(s.known_by) or 'no one'}. "
                                     f"Planned reveal: episode {s.planned_reveal_episode or '-'}." for s in bible.secrets]
    return "\n".join(out) + "\n"
