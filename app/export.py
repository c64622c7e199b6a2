"""`cliffhanger export`: scripts, shot lists, video-model jobs, keyframes, reference sheets, the video budget and
the season book, from the season folder.

File names come only from the format and the target, never from titles or ids, so nothing a model wrote can
steer a file outside `--out`. `--out` names a file, or a folder when it is one already or ends in a slash
(`exports/`), and then the format's default name is written inside it. A season with missing episodes
exports what it has and names what is missing. Every export that names a target (shots JSON and CSV, jobs,
budget, tts) cuts the shot lists for it the same way (`ShotList.for_target`), whatever target they were
planned for.
Subtitles and timelines write one file per episode into a folder named like a file here (`export_episodes`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.season.curve import SeasonCurve, read_curve
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S
from cliffhanger.agents.season.store import SeasonStore, atomic_write
from cliffhanger.agents.season.video_budget import SeasonBudget, VideoPrice, season_budget
from cliffhanger.app.export_episodes import FOLDER_FORMATS, write_episode_files
from cliffhanger.app.export_frames import FRAME_FORMATS, render_frames

FORMATS = {
    "fountain": "season.fountain", "fdx": "season.fdx", "zh-script": "season.zh.txt", "shots-json": "shots.json",
    "shots-csv": "shots.csv", "jobs": "jobs.{target}.jsonl", "bible-md": "season.md", "html": "season.html",
    "budget": "budget.{target}.json", "tts": "tts.jsonl",
    "keyframes": "keyframes.jsonl", "references": "references.jsonl",
}
TARGETS = tuple(CLIP_LENGTHS_S)
ALL = "all"  # --target all: every target at once (the budget only)
SHOT_FORMATS = ("shots-json", "shots-csv", "jobs", "budget", "keyframes", "tts")
BIBLE_FORMATS = ("bible-md", "html", "references")  # written from the bible alone when no episode is drafted
PRICED_FORMATS = ("budget", "bible-md", "html")  # the ones that read [video_prices]


@dataclass(frozen=True)
class ExportResult:
    path: Path
    episodes: list[int]
    missing: list[int]
    budget: SeasonBudget | None = None  # --format budget: what the file holds, for the terminal
    notes: tuple[str, ...] = ()  # warning lines for stderr (ids assets.toml has no image for)


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


def check_target(fmt: str, target: str | None) -> None:
    """UserError (one line, naming the known targets) for a target `fmt` cannot take."""
    known = ", ".join(TARGETS)
    if target == ALL and fmt != "budget":
        raise UserError(f"--target all is for --format budget; --format {fmt} takes one target: {known}")
    if target is not None and target not in (*TARGETS, ALL):
        raise UserError(f"unknown target {target!r}: use one of {known} (or all, with --format budget)")
    if fmt == "jobs" and target is None:
        raise UserError(f"--format jobs needs --target: one of {known}")


def output_path(out: Path | str | None, default_dir: Path, name: str) -> Path:
    """Where an export goes: `out` as a file, or `name` inside it when `out` ends in a path separator or is a
    folder already; without `out`, `name` in `default_dir`. OSError from the file system (a name too long)."""
    if out is None:
        return default_dir / name
    text = os.fspath(out)
    if "\x00" in text:
        raise UserError(f"--out {text!r} holds a null byte: give a plain file or folder path")
    path = Path(text)
    return path / name if text.endswith(("/", os.sep)) or path.is_dir() else path


def export_season(directory: Path, fmt: str, *, target: str | None = None, out: Path | str | None = None,
                  episodes: str | None = None, video_prices: Mapping[str, VideoPrice] | None = None) -> ExportResult:
    """Write one export; `video_prices` (the user's [video_prices]) price the budget and the book's budget."""
    if fmt not in FORMATS and fmt not in FOLDER_FORMATS:
        raise UserError(f"unknown format {fmt!r}: use one of {', '.join([*FORMATS, *FOLDER_FORMATS])}")
    check_target(fmt, target)
    if fmt == "budget" and target is None:
        target = ALL
    store = SeasonStore.open(directory)
    spec, bible, arc = store.spec(), store.bible(), store.arc()
    wanted = parse_episodes(episodes, spec.episodes)
    scripts = {e: s for e in wanted if (s := store.script(e)) is not None}
    shot_lists = {e: s for e in wanted if (s := store.shots(e)) is not None}
    have = sorted(shot_lists if fmt in SHOT_FORMATS or fmt in FOLDER_FORMATS else scripts)
    missing = [e for e in wanted if e not in have]
    if bible is None or not have and fmt not in BIBLE_FORMATS:
        raise UserError(f"nothing to export in {directory}: no accepted episodes yet; run `cliffhanger draft {directory}`")
    lists = [shot_lists[e] for e in sorted(shot_lists)]
    if target not in (None, ALL):  # each target's own clip lengths, as its jobs file has them
        lists = [sl.for_target(target) for sl in lists]  # type: ignore[arg-type]  # checked: a VideoTarget
    if fmt in FOLDER_FORMATS:  # one file per episode, in a folder (export_episodes)
        folder = write_episode_files(fmt, lambda: output_path(out, store.exports_dir, FOLDER_FORMATS[fmt]),
                                     spec, bible, arc, scripts, lists)
        return ExportResult(folder, have, missing)
    name = FORMATS[fmt].format(target=target or "generic")
    budget, notes = None, []
    path = Path(os.fspath(out)) if out is not None else store.exports_dir / name
    curve = _curve(store) if fmt == "html" else None
    try:
        path = output_path(out, store.exports_dir, name)  # inside the try: a name too long for the file system
        if fmt == "budget":
            from cliffhanger.app.export_budget import budget_json, budget_text

            budget = season_budget(lists, bible, TARGETS if target == ALL else (str(target),), video_prices)
            text = budget_json(budget, missing) if path.suffix in (".json", "") else budget_text(budget)
        elif fmt in FRAME_FORMATS:  # canon's looks and assets.toml; every job checked before anything is written
            text, notes = render_frames(store, fmt, spec, bible, lists, target, wanted)
        else:
            text = _render(fmt, spec, bible, arc, scripts, lists, target, video_prices, curve)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text)
    except OSError as exc:  # permission, a file where a folder should be, a read-only file system...
        raise UserError(f"cannot write {path} ({exc.__class__.__name__}): choose an --out you can write to") from None
    return ExportResult(path, have, missing, budget, tuple(notes))


def _curve(store: SeasonStore) -> SeasonCurve:
    """The season curve of the HTML book, with the arc audit's findings on it."""
    from cliffhanger.agents.season.report import audit_arc

    return read_curve(store, audit_arc(store))


def run_export(directory: Path, fmt: str, *, target: str | None, out: str | None, episodes: str | None,
               config: Path | None) -> None:
    """`cliffhanger export`: the export written and named on stdout (the budget's table first), the episodes
    still missing on stderr."""
    import typer

    prices = None
    if fmt in PRICED_FORMATS:
        from cliffhanger.app.settings import load_settings

        prices = load_settings(config).video_price_overrides()
    result = export_season(directory, fmt, target=target, out=out, episodes=episodes, video_prices=prices)
    if result.budget is not None:
        from cliffhanger.app.export_budget import print_budget

        print_budget(result.budget)
    eps = f"episodes {result.episodes[0]}-{result.episodes[-1]}" if result.episodes else "no episodes"
    typer.echo(f"wrote {result.path} ({eps})")
    if result.missing:
        typer.echo(f"missing (not drafted yet): episodes {', '.join(map(str, result.missing))}", err=True)
    for note in result.notes:
        typer.echo(note, err=True)


def _render(fmt: str, spec, bible, arc, scripts, shot_list_list, target, prices, curve=None) -> str:  # noqa: ANN001
    from cliffhanger.agents.season import screenplay

    script_list = [scripts[e] for e in sorted(scripts)]
    if fmt == "tts":
        return _tts(spec, bible, arc, shot_list_list)

    if fmt == "fountain":
        return screenplay.fountain_season(script_list, bible, spec)
    if fmt == "fdx":
        return screenplay.fdx_document(script_list, bible, spec)
    if fmt == "zh-script":
        return screenplay.zh_script(script_list, bible, spec)
    if fmt in ("shots-json", "shots-csv"):  # jobs: render_frames
        from cliffhanger.app import export_shots

        if fmt == "shots-json":
            return export_shots.shots_json(shot_list_list)
        return export_shots.shots_csv(shot_list_list)
    from cliffhanger.app import export_book

    budget = season_budget(shot_list_list, bible, TARGETS, prices)
    if fmt == "bible-md":
        return export_book.season_markdown(spec, bible, arc, scripts, shot_list_list, budget=budget)
    return export_book.season_html(spec, bible, arc, scripts, shot_list_list, curve, budget=budget)


def _tts(spec, bible, arc, shot_list_list) -> str:  # noqa: ANN001
    from cliffhanger.app.export_tts import tts_jsonl

    return tts_jsonl(shot_list_list, bible, spec.language, arc)
