"""Exports that write one file per episode into a folder: subtitles (`srt`, `vtt`) and timelines (`otio`, `edl`,
`fcpxml`).

`--out` follows the rules of `export.output_path` with the folder's name in place of a file name: without
`--out`, DIR/exports/subtitles/ or DIR/exports/timeline/; `--out x/` (or an existing folder x) writes into
x/subtitles/ or x/timeline/; `--out x` (a new name) is the folder itself. File names come from the episode
number, the season's language and the format only ('001.zh.srt', '001.otio'). Every file is written
atomically, and all are rendered before the first is written: a failure to render writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.season.store import atomic_write

if TYPE_CHECKING:
    from cliffhanger.agents.season.artifacts import ArcPlan, Bible, EpisodeScript, SeasonSpec
    from cliffhanger.agents.season.shotlist import ShotList

FOLDER_FORMATS = {"srt": "subtitles", "vtt": "subtitles", "otio": "timeline", "edl": "timeline", "fcpxml": "timeline"}


def episode_files(fmt: str, spec: SeasonSpec, bible: Bible | None, arc: ArcPlan | None,
                  scripts: Mapping[int, EpisodeScript], shot_lists: Iterable[ShotList]) -> list[tuple[str, str]]:
    """(file name, text) of every file `fmt` writes."""
    if fmt in ("srt", "vtt"):
        from cliffhanger.app.export_subtitles import subtitle_files

        return list(subtitle_files(fmt, spec.language, shot_lists))
    from cliffhanger.app.export_timeline import timeline_files

    return list(timeline_files(fmt, spec, bible, arc, scripts, shot_lists))


def write_episode_files(fmt: str, where: Callable[[], Path], spec: SeasonSpec, bible: Bible | None,
                        arc: ArcPlan | None, scripts: Mapping[int, EpisodeScript],
                        shot_lists: Iterable[ShotList]) -> Path:
    """Render `fmt`'s files and write them into the folder `where()` names (`export.output_path` with the
    folder's name; OSError from the file system); that folder. UserError when it cannot be written."""
    files = episode_files(fmt, spec, bible, arc, scripts, shot_lists)
    try:
        folder = where()
    except OSError as exc:  # a name too long for the file system
        raise UserError(f"cannot write there ({exc.__class__.__name__}): choose a shorter --out") from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files:
            atomic_write(folder / name, text)
    except OSError as exc:
        raise UserError(f"cannot write {folder} ({exc.__class__.__name__}): choose an --out you can write to") from None
    return folder
