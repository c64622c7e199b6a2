"""Reading a script for `cliffhanger new --from`: Fountain (with screenplain, the real parser) or plain
text (`NAME: line`, `角色（动作）：台词`, `△ action`, scene headings like `1-1 内 客厅 夜` or `INT. HALL - NIGHT`)
into a `ParsedScript` of items with their source lines, then into episodes (`split_episodes`). No season
folder here: `import_build` turns the parts into a season (see `cliffhanger.app.importer`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.season.artifacts import Action, DialogueLine, EpisodeScript, Scene

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_DELIVERY = {"V.O.": "VO", "VO": "VO", "V/O": "VO", "TEXT": "VO", "ON PHONE": "VO", "PHONE": "VO", "FILTERED": "VO",
             "PRE-LAP": "VO", "旁白": "VO", "内心": "VO", "心声": "VO", "独白": "VO", "内心独白": "VO",
             "O.S.": "OS", "OS": "OS", "O.C.": "OS", "OC": "OS", "OFF": "OS", "画外音": "OS", "画外": "OS"}
_DROP_EXT = {"CONT'D", "CONT’D", "CONTD", "CONT.", "CONT", "CONTINUING", "MORE"}
_NOT_CUE = re.compile(r"^(INSERT|MONTAGE|QUICK CUTS?|SERIES OF SHOTS|INTERCUT|FLASHBACK|FLASH BACK|BACK TO|SUPER|"
                      r"TITLE|CHYRON|ON SCREEN|CUT TO|FADE|END OF|BEGIN|CLOSE ON|ANGLE ON|SMASH CUT)\b")
_EPISODE = re.compile(r"^\s*(?:#+\s*)?(?:第\s*[0-9０-９一二三四五六七八九十百零〇两]+\s*集|(?:episode|ep\.?)\s*\d+)"
                      r"[\s:：.、\-—]*(.*)$", re.I)
_TIMES = [("night", ("MIDNIGHT", "NIGHT", "夜", "晚")), ("dawn", ("DAWN", "SUNRISE", "EARLY MORNING", "晨", "凌晨", "早")),
          ("dusk", ("DUSK", "SUNSET", "EVENING", "TWILIGHT", "黄昏", "傍晚", "昏")),
          ("day", ("DAY", "MORNING", "AFTERNOON", "NOON", "日", "白天", "午"))]
_SAME_TIME = ("CONTINUOUS", "SAME", "LATER", "MOMENTS LATER")


@dataclass
class Item:
    """One piece of the parsed script, with the source line it came from."""

    kind: str  # episode | scene | action | dialogue | cast
    line: int
    text: str = ""
    speaker: str = ""  # normalised cue
    also: tuple[str, ...] = ()  # other speakers of a joint line ("A & B")
    parenthetical: str | None = None
    delivery: str | None = None
    int_ext: str = "INT"
    place: str = ""
    time: str | None = None
    episode_no: int | None = None  # from a 集-场 scene number


@dataclass
class ParsedScript:
    path: Path
    format: str  # fountain | text
    title: str
    description: str
    items: list[Item]
    language: str = "en"

    def dialogue(self) -> list[Item]:
        return [i for i in self.items if i.kind == "dialogue"]


@dataclass
class Part:
    """One episode to import: scenes as (heading item, elements)."""

    title: str | None
    scenes: list[tuple[Item, list[Item]]] = field(default_factory=list)

    def elements(self) -> list[Item]:
        return [el for _, els in self.scenes for el in els]


def script_error(path: Path, line: int, what: str) -> UserError:
    return UserError(f"{path.name}:{line}: {what}")


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _split_text(text: str, limit: int) -> list[str]:
    """Text in pieces of at most `limit` characters, cut after sentences where possible."""
    out: list[str] = []
    for sentence in re.split(r"(?<=[。！？!?.…])\s*", " ".join(text.split())):
        while len(sentence) > limit:
            out.append(sentence[:limit])
            sentence = sentence[limit:]
        if out and len(out[-1]) + 1 + len(sentence) <= limit:
            out[-1] = f"{out[-1]} {sentence}" if sentence.isascii() else out[-1] + sentence
        elif sentence:
            out.append(sentence)
    return out


# ---- reading -----------------------------------------------------------------------------------

def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: not found: check the path of --from") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.__class__.__name__}): check the file") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise script_error(path, 1, "UTF-16 text: save the script as UTF-8")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise script_error(path, line, "binary data, not a script: give a Fountain or plain-text (UTF-8) script")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        try:
            text = raw.decode("gb18030")  # Chinese scripts often come in GBK
        except UnicodeDecodeError:
            raise script_error(path, line, "cannot be read as UTF-8 text: save the script as UTF-8") from None
        # Latin-1/Windows-1252 text often decodes as GBK too, each accented letter turned into a stray
        # Chinese character ("Amélie" -> "Am閘ie"): a real GBK script is mostly Chinese.
        cjk, latin = len(_CJK.findall(text)), sum(ch.isascii() and ch.isalpha() for ch in text)
        if cjk < latin / 4:
            raise script_error(path, line, "cannot be read as UTF-8 text (Latin-1 or Windows-1252?): save the script as "
                        "UTF-8") from None
    for number, line_text in enumerate(text.splitlines(), 1):
        if any(ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\f\r\n") for ch in line_text):
            raise script_error(path, number, "unreadable characters (binary data?): give a Fountain or plain-text script")
    return text


def split_cue(cue: str) -> tuple[str, str | None, list[str]]:
    """A cue's name, delivery (VO/OS) and other notes: `JIANG HE (O.S.) (CONT'D)` -> ('JIANG HE', 'OS', [])."""
    cue = cue.replace("（", "(").replace("）", ")").strip().rstrip("^").strip().lstrip("@")
    delivery, notes = None, []
    for ext in re.findall(r"\(([^)]*)\)", cue):
        key = ext.strip().upper()
        if key in _DROP_EXT:
            continue
        if key in _DELIVERY or key.replace(" ", "") in _DELIVERY:
            delivery = _DELIVERY.get(key) or _DELIVERY[key.replace(" ", "")]
        elif ext.strip():
            notes.append(ext.strip())
    name = " ".join(re.sub(r"\([^)]*\)", " ", cue).split()).strip(" :：")
    return name, delivery, notes


def normalise_cue(cue: str) -> str | None:
    """The character name of a dialogue cue, or None when the cue is not a character (INSERT, MONTAGE:)."""
    raw = cue.strip()
    name = split_cue(raw)[0]
    if not name or raw.endswith((":", "：")) or _NOT_CUE.match(name.upper()):
        return None
    return name


def _speakers(name: str) -> list[str]:
    parts = [p for p in re.split(r"\s*(?:&|\bAND\b|、)\s*", name) if p]
    return parts or [name]


def _time_of(text: str) -> str | None:
    up = text.upper()
    for value, words in _TIMES:
        if any(re.search(rf"(?<![A-Z]){re.escape(w)}(?![A-Z])", up) for w in words):
            return value
    return None


def _heading(text: str, line: int) -> Item:
    t = text.strip().lstrip(".").strip()
    int_ext = "INT"
    m = re.match(r"^(INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|I/E|INT|EXT|EST)\.?(?=[\s.])[\s.]*", t, re.I)
    if m:
        tag = m.group(1).upper()
        int_ext = "INT/EXT" if "/" in tag else ("INT" if tag.startswith("INT") else "EXT")
        t = t[m.end():]
    if _CJK.search(t):
        places, seen, time = [], set(), None
        for tok in re.split(r"[\s,，、·/|]+", t):
            if tok in ("内", "内景", "外", "外景", "内外"):
                seen |= {"INT"} if tok.startswith("内") else {"EXT"}
                seen |= {"INT", "EXT"} if tok == "内外" else set()
            elif tok and _time_of(tok) and len(tok) <= 2:
                time = _time_of(tok)
            elif tok:
                places.append(tok)
        int_ext = "INT/EXT" if len(seen) == 2 else (seen.pop() if seen else int_ext)
        return Item("scene", line, text=text.strip(), int_ext=int_ext, place=" ".join(places), time=time)
    parts = [p.strip() for p in re.split(r"\s+[-–—]\s+", t) if p.strip()]
    time = None
    if len(parts) > 1:
        last = parts.pop()
        time = None if any(w in last.upper() for w in _SAME_TIME) else (_time_of(last) or "day")
    return Item("scene", line, text=text.strip(), int_ext=int_ext, place=" - ".join(parts), time=time)


def _dialogue(line: int, cue: str, paren: list[str], speech: list[str]) -> Item | None:
    name = normalise_cue(cue)
    if name is None:
        return Item("action", line, text=" ".join([cue, *paren, *speech]))
    _, delivery, notes = split_cue(cue)
    who = _speakers(name)
    notes += [p.strip().strip("()（）") for p in paren]
    return Item("dialogue", line, text=" ".join(speech), speaker=who[0], also=tuple(who[1:]),
                parenthetical=clip("; ".join(n for n in notes if n), 100) or None, delivery=delivery)


def _parse_fountain(path: Path, text: str) -> ParsedScript:
    from screenplain import types as sp
    from screenplain.parsers import fountain as fp

    content = fp.boneyard_re.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    lines = [fp._preprocess_line(x) for x in fp.linebreak_re.split(content)]
    head = list(itertools.takewhile(lambda x: x != "", lines))
    title_page = fp.parse_title_page(head) or {}
    start = len(head) if title_page else 0
    paragraphs: list[object] = []
    origins: list[int] = []
    groups = itertools.groupby(enumerate(lines[start:], start + 1), key=lambda t: fp._is_blank(t[1]))
    for blank, group in groups:
        rows = list(group)
        joined = fp.note_re.sub("", "\n".join(x for _, x in rows))
        if blank or fp._is_blank(joined):
            continue
        fp.InputParagraph(joined.split("\n")).update_list(paragraphs)
        origins += [rows[0][0]] * (len(paragraphs) - len(origins))
    items: list[Item] = []
    for p, line in zip(paragraphs, origins, strict=True):
        if isinstance(p, sp.Slug):
            item = _heading(str(p.line), line)
            num = re.match(r"^(\d+)-\d+$", str(p.scene_number or ""))
            item.episode_no = int(num.group(1)) if num else None
            items.append(item)
        elif isinstance(p, sp.Section) and _EPISODE.match(str(p.text)):
            items.append(Item("episode", line, text=str(p.text).strip()))
        elif isinstance(p, sp.Dialog | sp.DualDialog):
            for d in (p.left, p.right) if isinstance(p, sp.DualDialog) else (p,):
                paren = [str(t) for is_paren, t in d.blocks if is_paren]
                speech = [str(t).strip() for is_paren, t in d.blocks if not is_paren and str(t).strip()]
                if speech or normalise_cue(str(d.character)) is None:
                    items.append(_dialogue(line, str(d.character), paren, speech))
                else:  # a cue with no speech: a stage direction, or the script stops mid-cue
                    items.append(Item("action", line, text=" ".join([str(d.character), *paren]), speaker="?"))
        elif isinstance(p, sp.Action):
            body = " ".join(str(x).strip() for x in p.lines if str(x).strip())
            if body:
                items.append(Item("action", line, text=body))
    # The opening often stops mid-speech: drop a dangling cue at the end.
    cues = {i.speaker for i in items if i.kind == "dialogue"}
    while items and items[-1].kind == "action" and (items[-1].speaker == "?" or
                                                     split_cue(items[-1].text)[0] in cues):
        items.pop()
    for i in items:
        i.speaker = "" if i.kind == "action" else i.speaker

    def page(key: str) -> str:
        return " ".join(" ".join(str(v) for v in title_page.get(key, [])).split())

    return ParsedScript(path, "fountain", page("Title"), page("Description") or page("Logline"), items)


_META = re.compile(r"^\s*(title|标题|剧名|片名|description|logline|简介|梗概|故事梗概)\s*[:：]\s*(.+)$", re.I)
_ZH_SCENE = re.compile(r"^\s*(?:场景?\s*)?(\d+)\s*[-－—–]\s*(\d+)(?![\d])[\s.、：:]*(.*)$")
_EN_SCENE = re.compile(r"^\s*\.?(INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|I/E|INT|EXT|EST)[.\s]", re.I)
_CAST = re.compile(r"^\s*(人物|出场人物|出场|角色)\s*[:：]\s*(.+)$")
_ZH_LINE = re.compile(r"^\s*([^\s△▲【\[（(：:]{1,16}?)\s*(?:[（(]([^）)]{0,80})[）)])?\s*[：:]\s*(\S.*)$")
_EN_LINE = re.compile(r"^\s*([A-Z][A-Za-z0-9.'’\-]*(?: [A-Za-z0-9.'’\-]+){0,3})\s*(?:\(([^)]{0,80})\))?\s*:\s*(\S.*)$")


def _parse_plain(path: Path, text: str) -> ParsedScript:
    meta: dict[str, str] = {}
    items: list[Item] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        m = _META.match(line)
        if m and not items:
            key = m.group(1).lower()
            meta["title" if key in ("title", "标题", "剧名", "片名") else "description"] = m.group(2).strip()
        elif _EPISODE.match(line) and len(line) <= 60:
            items.append(Item("episode", number, text=line.lstrip("#").strip()))
        elif m := _ZH_SCENE.match(line):
            item = _heading(m.group(3), number)
            item.text, item.episode_no = line, int(m.group(1))
            items.append(item)
        elif _EN_SCENE.match(line):
            items.append(_heading(line, number))
        elif m := _CAST.match(line):
            items.append(Item("cast", number, text=m.group(2)))
        elif line[0] in "△▲":
            if line[1:].strip():
                items.append(Item("action", number, text=line[1:].strip()))
        elif (m := _ZH_LINE.match(line)) and _CJK.search(m.group(1)) or (m := _EN_LINE.match(line)):
            paren = [m.group(2)] if m.group(2) else []
            cue = m.group(1) + "".join(f" ({p})" for p in paren if split_cue(f"({p})")[1])
            item = _dialogue(number, cue, [p for p in paren if not split_cue(f"({p})")[1]], [m.group(3)])
            items.append(item or Item("action", number, text=line))
        elif re.search(r"\w", line):
            items.append(Item("action", number, text=line.strip("【】[]")))
    return ParsedScript(path, "text", meta.get("title", ""), meta.get("description", ""), items)


def parse_script(path: Path) -> ParsedScript:
    """Read and parse a script; UserError naming the file and line when it cannot be used."""
    text = _read(path)
    cjk_lines = re.search(r"^\s*[△▲]|^\s*\S{1,16}?(?:（[^）]*）)?：", text, re.M)
    fountain = path.suffix.lower() in (".fountain", ".spmd") or (
        not cjk_lines and re.search(r"^\s*\.?(INT|EXT|INT\./EXT)[. ]", text, re.M | re.I) is not None)
    parsed = _parse_fountain(path, text) if fountain else _parse_plain(path, text)
    if not parsed.dialogue():
        first = next((n for n, x in enumerate(text.splitlines(), 1) if x.strip()), 1)
        how = ("character cues in capitals with the speech below (Fountain)" if fountain
               else "lines like 'NAME: line' or '角色（动作）：台词'")
        raise script_error(path, first, f"no dialogue found from this line on: expected {how}")
    spoken = " ".join(i.text for i in parsed.dialogue())
    parsed.language = "zh" if len(_CJK.findall(spoken)) > len(re.findall(r"[A-Za-z]+", spoken)) else "en"
    return parsed


# ---- episodes ----------------------------------------------------------------------------------

def _probe(el: Action | DialogueLine, language: str) -> float:
    cast = (el.speaker,) if isinstance(el, DialogueLine) else ()
    scene = Scene(number=1, int_ext="INT", location="x", time="day", cast=cast, elements=(el,))
    return EpisodeScript(episode=1, title="x", scenes=(scene,), ending_hook="x").estimate_runtime_s(language)


def split_episodes(parsed: ParsedScript, runtime: int) -> list[Part]:
    """Episodes from explicit markers (sections, 第N集, 集-场 numbers) or chunks of about `runtime` s."""
    scenes: list[tuple[Item, list[Item]]] = []
    marks: list[tuple[int, str | None]] = []  # (scene index where an episode starts, its title)
    heading = Item("scene", 1, text="", place="")
    current: list[Item] | None = None
    last_no, time = None, "day"
    for item in parsed.items:
        if item.kind == "episode":
            title = _EPISODE.match(item.text).group(1).strip() or None  # type: ignore[union-attr]
            marks.append((len(scenes), title))
            current = None
        elif item.kind == "scene":
            item.time = item.time or time
            time = item.time
            if item.episode_no is not None and item.episode_no != last_no:
                if not marks or marks[-1][0] != len(scenes):
                    marks.append((len(scenes), None))
                last_no = item.episode_no
            heading, current = item, []
            scenes.append((heading, current))
        else:
            if current is None:
                h = Item("scene", item.line, text=heading.text, int_ext=heading.int_ext, place=heading.place,
                         time=heading.time or time)
                current = []
                scenes.append((h, current))
            current.append(item)
    scenes = [(h, els) for h, els in scenes if any(e.kind != "cast" for e in els)]
    if marks:
        bounds = sorted({0, *(m for m, _ in marks)})
        titles = dict((m, t) for m, t in marks)
        parts = [Part(titles.get(a), scenes[a:b]) for a, b in zip(bounds, [*bounds[1:], len(scenes)], strict=True)]
        return [p for p in parts if p.scenes]
    # Chunks: cut before the element that would pass the runtime, preferring a scene boundary late on.
    language = parsed.language
    parts, part, spent = [], Part(None), 0.0
    for h, els in scenes:
        if part.scenes and (spent >= 0.7 * runtime or len(part.scenes) >= 30):
            parts.append(part)
            part, spent = Part(None), 0.0
        part.scenes.append((h, []))
        for el in els:
            secs = sum(_probe(x, language) for x in to_elements(el, {}))
            if spent + secs > runtime and spent >= 0.5 * runtime:
                parts.append(part)
                part, spent = Part(None, [(h, [])]), 0.0
            part.scenes[-1][1].append(el)
            spent += secs
    if part.elements():
        if parts and spent < 0.3 * runtime and len(parts[-1].scenes) + len(part.scenes) <= 30:
            last = parts[-1]
            if last.scenes[-1][0] is part.scenes[0][0]:
                last.scenes[-1][1].extend(part.scenes.pop(0)[1])
            last.scenes += part.scenes
        else:
            parts.append(part)
    return [Part(p.title, [(h, els) for h, els in p.scenes if els]) for p in parts]


def to_elements(item: Item, ids: dict[str, str]) -> list[Action | DialogueLine]:
    """Artifact elements for an item (long text split); ids maps names to character ids."""
    if item.kind == "action":
        return [Action(text=t) for t in _split_text(item.text, 1000)]
    if item.kind != "dialogue":
        return []
    speaker = ids.get(item.speaker, "x")
    return [DialogueLine(speaker=speaker, parenthetical=item.parenthetical, line=t, delivery=item.delivery)
            for t in _split_text(item.text, 300)]
