"""`cliffhanger export`: scripts, shot lists, video-model jobs and the season book, from the season folder.

File names come only from the format and episode numbers, never from titles or ids, so nothing a model
wrote can steer a file outside `--out`. A season with missing episodes exports what it has and names
what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.season.curve import SeasonCurve, read_curve
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S
from cliffhanger.agents.season.store import SeasonStore, atomic_write

FORMATS = {
    "fountain": "season.fountain", "fdx": "season.fdx", "zh-script": "season.zh.txt", "shots-json": "shots.json",
    "shots-csv": "shots.csv", "jobs": "jobs.{target}.jsonl", "bible-md": "season.md", "html": "season.html",
}
TARGETS = tuple(CLIP_LENGTHS_S)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    episodes: list[int]
    missing: list[int]


def parse_episodes(text: str | None, last: int) -> list[int]:
    """'1-10', '3', '1,4,7-9' -> episode numbers within 1..last; None -> all."""
    if not text:
        return list(range(1, last + 1))
    out: set[int] = set()
    try:
        for part in text.replace(" ", "").split(","):
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                out.update(range(a, b + 1))
            elif part:
                out.add(int(part))
    except ValueError:
        raise UserError(f"--episodes {text!r} is not a range: use e.g. 1-10 or 3,5,7-9") from None
    bad = sorted(e for e in out if not 1 <= e <= last)
    if bad or not out:
        raise UserError(f"--episodes {text!r} is outside the season (episodes 1-{last})")
    return sorted(out)


def export_season(directory: Path, fmt: str, *, target: str | None = None, out: Path | None = None,
                  episodes: str | None = None) -> ExportResult:
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if target is not None and target not in TARGETS:
        raise UserError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    if fmt == "jobs" and target is None:
        raise UserError(f"--format jobs needs --target: one of {', '.join(TARGETS)}")
    store = SeasonStore.open(directory)
    spec, bible, arc = store.spec(), store.bible(), store.arc()
    wanted = parse_episodes(episodes, spec.episodes)
    scripts = {e: s for e in wanted if (s := store.script(e)) is not None}
    shot_lists = {e: s for e in wanted if (s := store.shots(e)) is not None}
    needs_shots = fmt in ("shots-json", "shots-csv", "jobs")
    have = sorted(shot_lists if needs_shots else scripts)
    missing = [e for e in wanted if e not in have]
    if bible is None or not have and fmt not in ("bible-md", "html"):
        raise UserError(f"nothing to export in {directory}: no accepted episodes yet; run `cliffhanger draft {directory}`")
    text = _render(fmt, spec, bible, arc, scripts, shot_lists, target, curve=_curve(store) if fmt == "html" else None)
    path = out if out is not None else store.exports_dir / FORMATS[fmt].format(target=target or "generic")
    try:
        if path.is_dir():  # inside the try: a name too long for the file system fails already here
            path = path / FORMATS[fmt].format(target=target or "generic")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text)
    except OSError as exc:  # permission, a file where a folder should be, a read-only file system...
        raise UserError(f"cannot write {path} ({exc.__class__.__name__}): choose an --out you can write to") from None
    return ExportResult(path, have, missing)


def _curve(store: SeasonStore) -> SeasonCurve:
    """The season curve of the HTML book, with the arc audit's findings on it."""
    from cliffhanger.agents.season.report import audit_arc

    return read_curve(store, audit_arc(store))


def _render(fmt: str, spec, bible, arc, scripts, shot_lists, target, curve=None) -> str:  # noqa: ANN001
    from cliffhanger.agents.season import screenplay

    script_list = [scripts[e] for e in sorted(scripts)]
    shot_list_list = [shot_lists[e] for e in sorted(shot_lists)]

    if fmt == "fountain":
        return screenplay.fountain_season(script_list, bible, spec)
    if fmt == "fdx":
        return screenplay.fdx_document(script_list, bible, spec)
    if fmt == "zh-script":
        return screenplay.zh_script(script_list, bible, spec)
    if fmt in ("shots-json", "shots-csv", "jobs"):
        from cliffhanger.app import export_shots

        if fmt == "shots-json":
            return export_shots.shots_json(shot_list_list)
        if fmt == "shots-csv":
            return export_shots.shots_csv(shot_list_list)
        return export_shots.jobs_jsonl(shot_list_list, target, bible)
    from cliffhanger.app import export_book

    if fmt == "bible-md":
        return export_book.season_markdown(spec, bible, arc, scripts, shot_lists)
    return export_book.season_html(spec, bible, arc, scripts, shot_lists, curve)
