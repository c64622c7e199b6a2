"""Import an existing script's opening as the start of a season (`cliffhanger new DIR --from FILE`).

Most micro-dramas are adapted from web novels and scripts: the writer brings the first episodes and the
room continues them. `import_script` reads Fountain (with screenplain, the real parser) or plain text
(`NAME: line`, `角色（动作）：台词`, `△ action`, scene headings like `1-1 内 客厅 夜` or `INT. HALL - NIGHT`),
splits it into episodes (`# Episode N` / `# 第N集` sections, `第N集` lines, `集-场` scene numbers, or
else chunks of about `runtime` seconds by `EpisodeScript.estimate_runtime_s`), and writes a season folder:

- season.toml from the flags; bible.json/bible.md: premise from the title page or the first action, one
  character per dialogue cue (extensions like (V.O.) and (CONT'D) stripped; `SHUYA` folded into
  `QIN SHUYA` as an alias; non-ascii names get ids `char_N` with the name kept), the most-speaking one
  the protagonist; locations from scene headings. Visual descriptors say "to be described": fill them
  (bible.json) before generating video. No secrets: the importer cannot know them.
- episodes/NNN/script.json (+ script.fountain, review.json marked `imported_from`) for each imported
  episode, as accepted episodes; at most `episodes - 1` so the season has room to continue.
- canon.sqlite: `seed_canon` plus a presence fact per on-screen character per scene (the line as
  evidence), and per episode an `ending` and a `summary` document, so the writer's context for the first
  new episode starts from where the imported script ends.
- plan/imported.json: an arc row per imported episode (logline from the first action, beats from the
  scene headings, opening hook / payoff / cliffhanger from the first and last lines, paywall flag from
  the spec; cliffhanger kind `imported`, not a genre-pack kind) and where each episode came from
  (source lines, estimated runtime).

How the room continues: `cliffhanger draft DIR` keeps the bible (it only plans one when bible.json is
missing), plans the season's acts and arc.json for all episodes 1..N, skips the accepted (imported)
episodes and drafts from the first missing one, with the last imported ending in the writer's context.
The showrunner should honour plan/imported.json: copy its rows as arc rows 1..k (they describe what
already happened) and plan k+1..N as their continuation. arc.json cannot be written here because an
ArcPlan must cover every episode of the season. lore/ is rebuilt from the ledger (`canon reindex`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import string
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from cliffhanger.agents.errors import UserError, format_validation_error
from cliffhanger.agents.season.artifacts import (
    Action,
    ArcRow,
    Bible,
    Character,
    Cliffhanger,
    DialogueLine,
    EpisodeScript,
    Location,
    Scene,
    SeasonSpec,
    VisualDescriptor,
)
from cliffhanger.agents.season.store import SeasonStore, atomic_write

TBD = "to be described (imported script: fill in before generating video)"
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


def _fail(path: Path, line: int, what: str) -> UserError:
    return UserError(f"{path.name}:{line}: {what}")


def _clip(text: str, limit: int) -> str:
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
        raise _fail(path, 1, "UTF-16 text: save the script as UTF-8")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise _fail(path, line, "binary data, not a script: give a Fountain or plain-text (UTF-8) script")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        try:
            text = raw.decode("gb18030")  # Chinese scripts often come in GBK
        except UnicodeDecodeError:
            raise _fail(path, line, "cannot be read as UTF-8 text: save the script as UTF-8") from None
        # Latin-1/Windows-1252 text often decodes as GBK too, each accented letter turned into a stray
        # Chinese character ("Amélie" -> "Am閘ie"): a real GBK script is mostly Chinese.
        cjk, latin = len(_CJK.findall(text)), sum(ch.isascii() and ch.isalpha() for ch in text)
        if cjk < latin / 4:
            raise _fail(path, line, "cannot be read as UTF-8 text (Latin-1 or Windows-1252?): save the script as "
                        "UTF-8") from None
    for number, line_text in enumerate(text.splitlines(), 1):
        if any(ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\f\r\n") for ch in line_text):
            raise _fail(path, number, "unreadable characters (binary data?): give a Fountain or plain-text script")
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
                parenthetical=_clip("; ".join(n for n in notes if n), 100) or None, delivery=delivery)


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
        raise _fail(path, first, f"no dialogue found from this line on: expected {how}")
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
            secs = sum(_probe(x, language) for x in _elements(el, {}))
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


def _elements(item: Item, ids: dict[str, str]) -> list[Action | DialogueLine]:
    """Artifact elements for an item (long text split); ids maps names to character ids."""
    if item.kind == "action":
        return [Action(text=t) for t in _split_text(item.text, 1000)]
    if item.kind != "dialogue":
        return []
    speaker = ids.get(item.speaker, "x")
    return [DialogueLine(speaker=speaker, parenthetical=item.parenthetical, line=t, delivery=item.delivery)
            for t in _split_text(item.text, 300)]


# ---- canon: characters and locations -----------------------------------------------------------

def _ident(name: str, taken: set[str], fallback: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_").lstrip("0123456789_")[:60] if name.isascii() else ""
    n, ident = 1, base
    if not base:
        n, ident = 1, f"{fallback}_1"
        while ident in taken:
            n += 1
            ident = f"{fallback}_{n}"
    while ident in taken:
        n += 1
        ident = f"{base}_{n}"
    taken.add(ident)
    return ident


def _cast_names(parsed: ParsedScript) -> tuple[list[str], dict[str, str], Counter[str]]:
    """Speaker names (most lines first), name -> canonical name (short names folded), line counts."""
    lines: Counter[str] = Counter()
    for d in parsed.dialogue():
        lines.update([d.speaker, *d.also])
    names = list(lines)
    canon = {n: n for n in names}
    for short in names:
        longer = [n for n in names if n != short and n.upper().endswith(" " + short.upper())]
        if len(longer) == 1 and len(short) >= 3 and short.replace(" ", "").isalpha():
            canon[short] = longer[0]
    merged: Counter[str] = Counter()
    for n, c in lines.items():
        merged[canon[n]] += c
    action = " ".join(i.text for i in parsed.items if i.kind == "action").upper()
    seen = {n: action.count(n.upper()) for n in merged}  # ties go to the one the action shows most
    order = sorted(merged, key=lambda n: (-merged[n], -seen[n], names.index(n)))
    return order, canon, merged


def _characters(parsed: ParsedScript, order: list[str], canon: dict[str, str]) -> tuple[list[Character], dict[str, str]]:
    taken: set[str] = set()
    ids: dict[str, str] = {}
    chars: list[Character] = []
    first_line = {}
    for d in parsed.dialogue():
        first_line.setdefault(canon[d.speaker], d.text)
    for rank, name in enumerate(order):
        ident = _ident(name, taken, "char")
        display = string.capwords(name.lower()) if name.isascii() else name
        aliases = [a for a in dict.fromkeys([name, *(s for s, c in canon.items() if c == name and s != name)])
                   if a != display][:10]
        ids.update({s: ident for s, c in canon.items() if c == name})
        chars.append(Character(
            id=ident, name=_clip(display, 80), aliases=tuple(_clip(a, 80) for a in aliases),
            role="protagonist" if rank == 0 else "other", age=None, want=TBD,
            arc=f"{TBD}. The imported opening ({parsed.path.name}) establishes where they start.",
            voice=_clip(f"As in the imported script, e.g. \u201c{first_line.get(name, '')}\u201d", 300),
            visual=VisualDescriptor(face=TBD, hair=TBD, build=TBD, age_look="to be described", wardrobe=TBD, marks="")))
    return chars, ids


def _locations(parts: list[Part], taken: set[str]) -> tuple[list[Location], dict[str, str]]:
    seen: dict[str, list[Item]] = {}
    for part in parts:
        for h, _ in part.scenes:
            if h.place:
                seen.setdefault(h.place.upper(), []).append(h)
    ranked = sorted(seen.values(), key=lambda hs: -len(hs))[:60]
    locs, ids = [], {}
    for hs in ranked:
        place = hs[0].place
        kinds = {h.int_ext for h in hs}
        ident = _ident(place, taken, "loc")
        ids[place.upper()] = ident
        locs.append(Location(id=ident, name=_clip(string.capwords(place.lower()) if place.isascii() else place, 80),
                             description=_clip(f"Imported from the scene heading \u201c{hs[0].text}\u201d.", 1000),
                             visual=TBD, int_ext=kinds.pop() if len(kinds) == 1 else "INT/EXT"))
    return locs, ids


# ---- artifacts ---------------------------------------------------------------------------------

def _mentions(text: str, names: dict[str, str]) -> list[str]:
    out = []
    for name, ident in names.items():
        if name.isascii():
            if len(name) >= 4 and re.search(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", text, re.I):
                out.append(ident)
        elif len(name) >= 2 and name in text:
            out.append(ident)
    return out


def _say(el: Action | DialogueLine, names: dict[str, str]) -> str:
    return el.text if isinstance(el, Action) else f"{names.get(el.speaker, el.speaker)}: {el.line}"


def _build_episode(ep: int, part: Part, ids: dict[str, str], locs: dict[str, str], display: dict[str, str],
                   language: str, path: Path) -> tuple[EpisodeScript, list[tuple[int, str, str]]]:
    """The episode's script and its presence evidence: (scene, character id, line)."""
    scenes: list[Scene] = []
    presence: list[tuple[int, str, str]] = []
    mention_names = {n: i for n, i in ids.items()} | {v: k for k, v in display.items()}
    for h, items in part.scenes:
        for chunk in (items[i:i + 150] for i in range(0, len(items), 150)):
            number = len(scenes) + 1
            elements: list[Action | DialogueLine] = []
            seen: dict[str, str] = {}
            for item in chunk:
                els = _elements(item, ids)
                elements += els
                on_screen = [ids[s] for s in (item.speaker, *item.also) if item.kind == "dialogue" and
                             item.delivery is None and s in ids]
                listed = _mentions(item.text, mention_names) if item.kind in ("action", "cast") else []
                for who in on_screen + listed:
                    seen.setdefault(who, _say(els[0], display) if els else item.text)
            if not elements:
                continue
            try:
                scenes.append(Scene(number=number, int_ext=h.int_ext, time=h.time or "day",
                                    location=locs.get(h.place.upper()) or _clip(h.place or "opening", 80),
                                    cast=tuple(list(seen)[:20]), elements=tuple(elements)))
            except ValidationError as exc:
                raise _fail(path, chunk[0].line, format_validation_error(exc, "cannot import this scene")) from None
            presence += [(number, who, line) for who, line in list(seen.items())[:20]]
    if len(scenes) > 30:
        raise _fail(path, part.scenes[30][0].line, f"episode {ep} has {len(scenes)} scenes, over the limit of 30: "
                                                   "split it with an episode heading")
    default = f"第{ep}集" if language == "zh" else f"Episode {ep}"
    last = scenes[-1].elements[-1]
    script = EpisodeScript(episode=ep, title=_clip(part.title or default, 80), scenes=tuple(scenes),
                           ending_hook=_clip(_say(last, display), 300))
    return script, presence


def _first_sentence(text: str) -> str:
    return _clip(re.split(r"(?<=[。！？!?.])\s*", text.strip())[0] or text, 300)


def _arc_row(script: EpisodeScript, spec: SeasonSpec, display: dict[str, str], places: dict[str, str]) -> ArcRow:
    elements = [el for s in script.scenes for el in s.elements]
    actions = script.actions()
    dialogue = script.dialogue()
    beats = []
    for s in script.scenes:
        where = f"{s.int_ext}. {places.get(s.location, s.location)} - {s.time.upper()}"
        beats.append(_clip(f"{where}: {_first_sentence(_say(s.elements[0], display))}", 300))
    if len(beats) > 8:
        beats = beats[:7] + beats[-1:]
    if len(beats) < 2:
        beats.append(_clip(f"Ends on: {_say(elements[-1], display)}", 300))
    return ArcRow(
        episode=script.episode, act=1,
        logline=_first_sentence(actions[0].text if actions else _say(elements[0], display)),
        beats=tuple(beats), payoff=_clip(_say(dialogue[-1] if dialogue else elements[-1], display), 300),
        opening_hook=_first_sentence(_say(elements[0], display)),
        cliffhanger=Cliffhanger(kind="imported", hook_line=script.ending_hook,
                                strength=5 if spec.is_paywall_cliffhanger(script.episode) else 3),
        paywall=spec.is_paywall(script.episode), reveals=())


# ---- the import ---------------------------------------------------------------------------------

def import_script(path: Path, directory: Path, *, genre: str, language: str | None, title: str | None,
                  episodes: int, free: int, runtime: int, mode: str = "paywall", paywall: str | None = None,
                  genres_dirs: list[Path] | None = None) -> SeasonStore:
    """Create season `directory` from the opening of the script at `path` (see the module docstring)."""
    from cliffhanger.agents.roles.continuity import seed_canon
    from cliffhanger.agents.season.screenplay import bible_markdown, fountain
    from cliffhanger.genres.loader import load_catalog
    from cliffhanger.memory.facts import Entity, Fact
    from cliffhanger.memory.ledger import Doc, Ledger

    if language not in (None, "zh", "en"):
        raise UserError(f"--language {language!r}: use zh or en")
    if mode not in ("paywall", "ad"):
        raise UserError(f"--mode {mode!r}: use paywall or ad")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UserError(f"{directory} already exists and is not an empty folder: import into a new folder")
    pack = load_catalog(genres_dirs or []).get(genre)
    parsed = parse_script(path)
    lang = language or parsed.language
    parsed.language = lang
    parts = split_episodes(parsed, runtime)
    if not parts:
        raise _fail(path, 1, "no scenes with action or dialogue found")
    if len(parts) > episodes - 1:
        raise UserError(f"{path.name} makes {len(parts)} episodes of about {runtime} s but the season has {episodes}: "
                        f"use --episodes {len(parts) + 1} or more (the room needs room to continue), or a longer "
                        "--runtime, or import a shorter opening")
    points = None
    if paywall:
        try:
            points = [int(p) for p in paywall.replace(" ", "").split(",") if p]
        except ValueError:
            raise UserError(f"--paywall {paywall!r} is not a list of episode numbers: use e.g. 11,30,50") from None
    actions = [i.text for i in parsed.items if i.kind == "action"]
    premise = parsed.description or _clip(" ".join(actions[:3]), 4000) or f"Imported from {path.name}."
    try:
        spec = SeasonSpec.create(
            title=title or parsed.title or path.stem, logline=_clip(premise, 1000), genre=pack.id, language=lang,
            episodes=episodes, runtime_s=runtime, free_episodes=free if mode == "paywall" else None,
            paywall_episodes=points, mode=mode)
    except ValidationError as exc:
        raise UserError(format_validation_error(exc, "season")) from None

    order, canon, _ = _cast_names(parsed)
    characters, ids = _characters(parsed, order, canon)
    display = {c.id: c.name for c in characters}
    locations, loc_ids = _locations(parts, {c.id for c in characters})
    bible = Bible(premise=_clip(premise, 4000), world_rules=(), characters=tuple(characters[:40]),
                  locations=tuple(locations), secrets=())
    scripts, presence = [], []
    for ep, part in enumerate(parts, 1):
        script, seen = _build_episode(ep, part, ids, loc_ids, display, lang, path)
        scripts.append(script)
        presence.append(seen)
    places = {loc.id: loc.name for loc in locations}
    rows = [_arc_row(s, spec, display, places) for s in scripts]

    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserError(f"cannot create {directory}: a folder on its path is a file; choose another place") from None
    tmp = directory.parent / f".{directory.name}.import-{uuid.uuid4().hex[:8]}"
    try:
        store = SeasonStore.create(tmp, spec)
        meta = {"imported_from": path.name}
        store.write_model(tmp / "bible.json", bible, meta)
        store.write_text("bible.md", bible_markdown(bible, spec.title))
        source = [{"episode": s.episode, "source_lines": [p.scenes[0][1][0].line, p.elements()[-1].line],
                   "estimated_runtime_s": s.estimate_runtime_s(lang), "scenes": len(s.scenes),
                   "dialogue": len(s.dialogue())} for s, p in zip(scripts, parts, strict=True)]
        atomic_write(tmp / "plan" / "imported.json", json.dumps(
            {"_meta": {**meta, "format": parsed.format},
             "note": "episodes already written (imported); the arc must keep them as rows 1..k and continue them",
             "rows": [r.model_dump(mode="json") for r in rows], "episodes": source},
            ensure_ascii=False, indent=2) + "\n")
        with contextlib.closing(Ledger(store.ledger_path)) as ledger:
            seed_canon(ledger, bible)
            for c in characters[40:]:
                ledger.add_entity(Entity(id=c.id, type="character", name=c.name, aliases=c.aliases), strict=False)
            for script, seen, row in zip(scripts, presence, rows, strict=True):
                facts = [Fact(subject=who, kind="presence", attribute="appears", value=True, episode=script.episode,
                              scene=scene, evidence=_clip(line, 2000)) for scene, who, line in seen]
                ledger.record_episode(script.episode, facts, source="import")
                ledger.put_doc(Doc(f"ending_{script.episode}", "ending", script.ending_hook, script.episode))
                ledger.put_doc(Doc(f"summary_{script.episode}", "summary",
                                   f"Episode {script.episode}: {row.logline}", script.episode))
        for script in scripts:
            folder = store.episode_dir(script.episode)
            review = {"accepted_revision": 0, "revisions": [], "open_findings": [], "imported_from": path.name}
            atomic_write(folder / "review.json", json.dumps(review, ensure_ascii=False, indent=2) + "\n")
            atomic_write(folder / "script.fountain", fountain(script, bible, spec.title))
            store.write_model(folder / "script.json", script, {**meta, "revision": 0})
        if directory.exists():
            directory.rmdir()  # empty, checked above
        os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SeasonStore(directory)


__all__ = ["ParsedScript", "import_script", "normalise_cue", "parse_script", "split_cue", "split_episodes"]
