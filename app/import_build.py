"""Building a season from a parsed script (`import_script`): bible, imported arc rows, accepted episodes
and canon, written through the season store into a temp folder that is renamed into place only when
complete. What it writes and how the room continues it: see `cliffhanger.app.importer`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import string
import uuid
from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from cliffhanger.agents.errors import UserError, format_validation_error
from cliffhanger.agents.roles.continuity import seed_canon
from cliffhanger.agents.season.artifacts import (
    Action,
    ArcRow,
    Bible,
    Character,
    Cliffhanger,
    DialogueLine,
    EpisodeScript,
    ImportedEpisode,
    ImportedPlan,
    Location,
    Review,
    Scene,
    SeasonSpec,
    VisualDescriptor,
)
from cliffhanger.agents.season.screenplay import fountain
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.app.import_parse import (
    Item,
    ParsedScript,
    Part,
    clip,
    parse_script,
    script_error,
    split_episodes,
    to_elements,
)
from cliffhanger.app.seasons import parse_paywall
from cliffhanger.genres.loader import load_catalog
from cliffhanger.memory.facts import Entity, Fact
from cliffhanger.memory.ledger import Doc, Ledger

TBD = "to be described (imported script: fill in before generating video)"


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
            id=ident, name=clip(display, 80), aliases=tuple(clip(a, 80) for a in aliases),
            role="protagonist" if rank == 0 else "other", age=None, want=TBD,
            arc=f"{TBD}. The imported opening ({parsed.path.name}) establishes where they start.",
            voice=clip(f"As in the imported script, e.g. \u201c{first_line.get(name, '')}\u201d", 300),
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
        locs.append(Location(id=ident, name=clip(string.capwords(place.lower()) if place.isascii() else place, 80),
                             description=clip(f"Imported from the scene heading \u201c{hs[0].text}\u201d.", 1000),
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
                els = to_elements(item, ids)
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
                                    location=locs.get(h.place.upper()) or clip(h.place or "opening", 80),
                                    cast=tuple(list(seen)[:20]), elements=tuple(elements)))
            except ValidationError as exc:
                raise script_error(path, chunk[0].line, format_validation_error(exc, "cannot import this scene")) from None
            presence += [(number, who, line) for who, line in list(seen.items())[:20]]
    if len(scenes) > 30:
        raise script_error(path, part.scenes[30][0].line, f"episode {ep} has {len(scenes)} scenes, over the limit of 30: "
                                                   "split it with an episode heading")
    default = f"第{ep}集" if language == "zh" else f"Episode {ep}"
    last = scenes[-1].elements[-1]
    script = EpisodeScript(episode=ep, title=clip(part.title or default, 80), scenes=tuple(scenes),
                           ending_hook=clip(_say(last, display), 300))
    return script, presence


def _first_sentence(text: str) -> str:
    return clip(re.split(r"(?<=[。！？!?.])\s*", text.strip())[0] or text, 300)


def _arc_row(script: EpisodeScript, spec: SeasonSpec, display: dict[str, str], places: dict[str, str]) -> ArcRow:
    elements = [el for s in script.scenes for el in s.elements]
    actions = script.actions()
    dialogue = script.dialogue()
    beats = []
    for s in script.scenes:
        where = f"{s.int_ext}. {places.get(s.location, s.location)} - {s.time.upper()}"
        beats.append(clip(f"{where}: {_first_sentence(_say(s.elements[0], display))}", 300))
    if len(beats) > 8:
        beats = beats[:7] + beats[-1:]
    if len(beats) < 2:
        beats.append(clip(f"Ends on: {_say(elements[-1], display)}", 300))
    return ArcRow(
        episode=script.episode, act=1,
        logline=_first_sentence(actions[0].text if actions else _say(elements[0], display)),
        beats=tuple(beats), payoff=clip(_say(dialogue[-1] if dialogue else elements[-1], display), 300),
        opening_hook=_first_sentence(_say(elements[0], display)),
        cliffhanger=Cliffhanger(kind="imported", hook_line=script.ending_hook,
                                strength=5 if spec.is_paywall_cliffhanger(script.episode) else 3),
        paywall=spec.is_paywall(script.episode), reveals=())


# ---- the import ---------------------------------------------------------------------------------

def import_script(path: Path, directory: Path, *, genre: str, language: str | None, title: str | None,
                  episodes: int, free: int, runtime: int, mode: str = "paywall", paywall: str | None = None,
                  genres_dirs: list[Path] | None = None) -> SeasonStore:
    """Create season `directory` from the opening of the script at `path` (see `cliffhanger.app.importer`)."""
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
        raise script_error(path, 1, "no scenes with action or dialogue found")
    if len(parts) > episodes - 1:
        raise UserError(f"{path.name} makes {len(parts)} episodes of about {runtime} s but the season has {episodes}: "
                        f"use --episodes {len(parts) + 1} or more (the room needs room to continue), or a longer "
                        "--runtime, or import a shorter opening")
    points = parse_paywall(paywall)
    actions = [i.text for i in parsed.items if i.kind == "action"]
    premise = parsed.description or clip(" ".join(actions[:3]), 4000) or f"Imported from {path.name}."
    try:
        spec = SeasonSpec.create(
            title=title or parsed.title or path.stem, logline=clip(premise, 1000), genre=pack.id, language=lang,
            episodes=episodes, runtime_s=runtime, free_episodes=free if mode == "paywall" else None,
            paywall_episodes=points, mode=mode)
    except ValidationError as exc:
        raise UserError(format_validation_error(exc, "season")) from None

    order, canon, _ = _cast_names(parsed)
    characters, ids = _characters(parsed, order, canon)
    display = {c.id: c.name for c in characters}
    locations, loc_ids = _locations(parts, {c.id for c in characters})
    bible = Bible(premise=clip(premise, 4000), world_rules=(), characters=tuple(characters[:40]),
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
        store.write_bible(bible, meta)
        source = [ImportedEpisode(episode=s.episode, source_lines=(p.scenes[0][1][0].line, p.elements()[-1].line),
                                  estimated_runtime_s=s.estimate_runtime_s(lang), scenes=len(s.scenes),
                                  dialogue=len(s.dialogue())) for s, p in zip(scripts, parts, strict=True)]
        store.write_imported_plan(ImportedPlan(rows=rows, episodes=source), {**meta, "format": parsed.format})
        with contextlib.closing(Ledger(store.ledger_path)) as ledger:
            seed_canon(ledger, bible)
            for c in characters[40:]:
                ledger.add_entity(Entity(id=c.id, type="character", name=c.name, aliases=c.aliases), strict=False)
            for script, seen, row in zip(scripts, presence, rows, strict=True):
                facts = [Fact(subject=who, kind="presence", attribute="appears", value=True, episode=script.episode,
                              scene=scene, evidence=clip(line, 2000)) for scene, who, line in seen]
                ledger.record_episode(script.episode, facts, source="import")
                ledger.put_doc(Doc(f"ending_{script.episode}", "ending", script.ending_hook, script.episode))
                ledger.put_doc(Doc(f"summary_{script.episode}", "summary",
                                   f"Episode {script.episode}: {row.logline}", script.episode))
        for script in scripts:
            store.write_review(script.episode, Review(accepted_revision=0, imported_from=path.name))
            store.write_script(script.episode, script, fountain(script, bible, spec.title), {**meta, "revision": 0})
        if directory.exists():
            directory.rmdir()  # empty, checked above
        os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SeasonStore(directory)
