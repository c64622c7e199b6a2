"""The exports that read the looks as of each episode (canon) and assets.toml: keyframes, reference sheets and
video jobs.

Canon is read from `canon.sqlite` when the season has one (a season without canon shows the bible's looks);
a damaged ledger or assets.toml stops the export with one line. Ids the jobs use that assets.toml has no
image for are named on stderr in one line (and per job in `cliffhanger.missing_assets`); the jobs carry the
ids where the images go, never nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.season.artifacts import Bible, SeasonSpec
from cliffhanger.agents.season.keyframes import keyframes
from cliffhanger.agents.season.looks import LookBook
from cliffhanger.agents.season.references import reference_sheets
from cliffhanger.agents.season.shotlist import ShotList
from cliffhanger.agents.season.store import SeasonStore

FRAME_FORMATS = ("jobs", "keyframes", "references")
NAMED_AT_MOST = 20  # ids spelled out in the one warning line; every job names its own


def look_book(store: SeasonStore, bible: Bible, episodes: int) -> LookBook:
    """Every character's look as of each episode 1..`episodes`, from the season's canon ledger."""
    from cliffhanger.agents.roles.shot_planner import bible_as_of
    from cliffhanger.memory.ledger import Ledger, LedgerError, check_ledger

    if not store.ledger_path.is_file():
        return LookBook(bible, episodes)
    try:
        check_ledger(store.ledger_path)
    except LedgerError as exc:
        raise UserError(str(exc)) from None
    with contextlib.closing(Ledger(store.ledger_path)) as ledger:
        changes = {f.episode for f in ledger.facts()}
        return LookBook(bible, episodes, lambda e: bible_as_of(bible, ledger.state_as_of(e)), changes)


def _jsonl(items: Iterable[BaseModel]) -> str:
    return "".join(json.dumps(i.model_dump(mode="json"), ensure_ascii=False) + "\n" for i in items)


def render_frames(store: SeasonStore, fmt: str, spec: SeasonSpec, bible: Bible, lists: Sequence[ShotList],
                  target: str | None, episodes: Sequence[int]) -> tuple[str, list[str]]:
    """(the file's text, warning lines) of `fmt`, one of FRAME_FORMATS; nothing is written here."""
    from cliffhanger.app.export_shots import jobs

    assets = store.assets()
    looks = look_book(store, bible, spec.episodes)
    if fmt == "keyframes":
        return _jsonl(keyframes(lists, looks, assets)), []
    if fmt == "references":
        return _jsonl(reference_sheets(bible, looks, assets, episodes)), []
    made = jobs(lists, target, bible, looks=looks, assets=assets)  # type: ignore[arg-type]  # checked: a VideoTarget
    missing = list(dict.fromkeys(i for j in made for i in j["cliffhanger"]["missing_assets"]))
    text = "".join(json.dumps(j, ensure_ascii=False) + "\n" for j in made)
    return text, [missing_line(missing, store)] if missing else []


def missing_line(missing: Sequence[str], store: SeasonStore) -> str:
    """One line naming the ids the jobs use that assets.toml has no image for."""
    shown = ", ".join(missing[:NAMED_AT_MOST])
    more = f" and {len(missing) - NAMED_AT_MOST} more (each job's cliffhanger.missing_assets)" \
        if len(missing) > NAMED_AT_MOST else ""
    return (f"no image in {store.assets_path} for {len(missing)} ids the jobs use: {shown}{more}; the jobs carry the "
            "ids instead: make them from `export --format keyframes` and `--format references`, then add "
            "`id = \"URL or file\"` lines")
