"""The season folder: the record a person can read, diff and back up.

    season.toml  bible.json bible.md  arc.json  plan/  episodes/017/{script.json, script.fountain,
    shots.json, review.json, revisions/}  canon.sqlite  lore/  checkpoints.sqlite  usage.jsonl  report.md

Every write is atomic (temp file in the same folder, fsync, rename), so a crash leaves the old file or
the new one, never half of one. One writer process per season: `lock()` takes an flock on `.lock`
that the OS releases if the process dies, and a second writer gets a clear error.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cliffhanger.agents.errors import UserError, format_validation_error
from cliffhanger.agents.season.artifacts import ArcPlan, Bible, EpisodeScript, SeasonSpec
from cliffhanger.agents.season.shotlist import ShotList

T = TypeVar("T", bound=BaseModel)
SPEC = "season.toml"
_LOCK_TRIES = 6
_ORPHAN = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # atomic_write's temp names (tempfile.mkstemp)
FORMAT = 1  # season folder layout version; a folder written by a newer cliffhanger is refused, not misread


class WriterBrief(BaseModel):
    """The head writer's note for the next draft of one episode (episodes/017/brief.json)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str = Field(description="What the writer asked for, verbatim.", max_length=4000)
    base: str | None = Field(None, description="Season-relative path of the script to revise; None: a fresh draft.")


class SeasonError(UserError):
    """A season folder that cannot be used as asked."""


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` so that readers see the old content or the new, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def spec_to_toml(spec: SeasonSpec, season_id: str) -> str:
    d = spec.model_dump()
    paywall = d.pop("paywall")
    lines = ["# cliffhanger season spec: edit with care; `cliffhanger draft` reads it at every run",
             f"format = {FORMAT}", f"id = {_toml_value(season_id)}"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in d.items()]
    lines += ["", "[paywall]"] + [f"{k} = {_toml_value(v)}" for k, v in paywall.items()]
    return "\n".join(lines) + "\n"


def slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit] or "season"


class SeasonStore:
    """Paths and atomic reads/writes of one season folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # ---- creating and opening ----------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, spec: SeasonSpec) -> SeasonStore:
        if (root / SPEC).exists():
            raise SeasonError(f"{root} already holds a season ({SPEC}); choose another folder or draft this one")
        if root.exists() and not root.is_dir():
            raise SeasonError(f"{root} is a file, not a folder: choose a folder for the season")
        try:
            root.mkdir(parents=True, exist_ok=True)
            atomic_write(root / SPEC, spec_to_toml(spec, uuid.uuid4().hex[:12]))
        except PermissionError:
            raise SeasonError(f"cannot write in {root} (permission denied): choose a folder you can write to") from None
        except (NotADirectoryError, FileExistsError):
            raise SeasonError(f"cannot create {root}: a folder on its path is a file; choose another place") from None
        return cls(root)

    @classmethod
    def open(cls, root: Path) -> SeasonStore:
        if root.exists() and not root.is_dir():
            raise SeasonError(f"{root} is a file, not a season folder: give the folder that holds season.toml")
        if not root.is_dir():
            raise SeasonError(f"{root} is not a folder: create a season with `cliffhanger new {root} ...`")
        if not (root / SPEC).is_file():
            raise SeasonError(f"{root} is not a season folder (no {SPEC}): create one with `cliffhanger new`")
        store = cls(root)
        store.spec()  # fail early and clearly on a damaged spec
        return store

    def _raw_spec(self) -> dict[str, object]:
        path = self.root / SPEC
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SeasonError(f"{path}: damaged ({exc}): fix the file or recreate the season") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SeasonError(f"{path}: cannot read ({exc.__class__.__name__})") from None

    def season_id(self) -> str:
        value = self._raw_spec().get("id")
        if not isinstance(value, str) or not value:
            raise SeasonError(f"{self.root / SPEC}: no id: recreate the season or add id = \"...\"")
        return value

    def spec(self) -> SeasonSpec:
        raw = self._raw_spec()
        fmt = raw.get("format", 1)  # folders from before the format key are format 1
        if not isinstance(fmt, int) or fmt < 1:
            raise SeasonError(f"{self.root / SPEC}: format = {fmt!r} is not a season format: set format = {FORMAT}")
        if fmt > FORMAT:
            raise SeasonError(f"{self.root} was written by a newer cliffhanger (season format {fmt}; this one reads "
                              f"up to {FORMAT}): upgrade with `pip install -U cliffhanger`")
        data = {k: v for k, v in raw.items() if k not in ("id", "format")}
        try:
            return SeasonSpec.model_validate(data)
        except ValidationError as exc:
            missing = [e["loc"][0] for e in exc.errors() if e["type"] == "missing" and e["loc"]]
            if missing:
                raise SeasonError(f"{self.root / SPEC}: no {', '.join(map(str, missing))}: this looks like a season from "
                                  "an older or damaged format; recreate it with `cliffhanger new` (or `new --from` "
                                  "an exported script)") from None
            raise SeasonError(format_validation_error(exc, str(self.root / SPEC))) from None

    # ---- paths -------------------------------------------------------------------------------

    def episode_dir(self, episode: int) -> Path:
        return self.root / "episodes" / f"{episode:03d}"

    def revision_path(self, episode: int, revision: int, kind: str = "draft") -> Path:
        return self.episode_dir(episode) / "revisions" / f"r{revision:02d}.{kind}.json"

    @property
    def ledger_path(self) -> Path:
        return self.root / "canon.sqlite"

    @property
    def lore_path(self) -> Path:
        return self.root / "lore"

    @property
    def checkpoint_path(self) -> Path:
        return self.root / "checkpoints.sqlite"

    @property
    def usage_path(self) -> Path:
        return self.root / "usage.jsonl"

    # ---- artifacts -------------------------------------------------------------------------------

    def write_model(self, path: Path, value: BaseModel, meta: dict[str, object] | None = None) -> None:
        data = value.model_dump(mode="json")
        if meta:
            data = {"_meta": meta, **data}
        atomic_write(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")

    def read_model(self, path: Path, schema: type[T]) -> T:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise SeasonError(f"{path}: damaged ({exc.__class__.__name__}): delete it to have it redone") from None
        if not isinstance(data, dict):
            raise SeasonError(f"{path}: damaged (a JSON {type(data).__name__}, not an object): delete it to have it redone")
        data.pop("_meta", None)
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            raise SeasonError(format_validation_error(exc, str(path))) from None

    def meta(self, path: Path) -> dict[str, object]:
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")).get("_meta", {}))
        except (OSError, ValueError):
            return {}

    def bible(self) -> Bible | None:
        path = self.root / "bible.json"
        return self.read_model(path, Bible) if path.exists() else None

    def arc(self) -> ArcPlan | None:
        path = self.root / "arc.json"
        return self.read_model(path, ArcPlan) if path.exists() else None

    def script(self, episode: int) -> EpisodeScript | None:
        path = self.episode_dir(episode) / "script.json"
        return self.read_model(path, EpisodeScript) if path.exists() else None

    def shots(self, episode: int) -> ShotList | None:
        path = self.episode_dir(episode) / "shots.json"
        return self.read_model(path, ShotList) if path.exists() else None

    def check(self) -> None:
        """Read what a run builds on (id, bible, arc, accepted episodes, canon), so that a damaged file is
        named (SeasonError) before the run takes the lock or writes anything."""
        from cliffhanger.memory.ledger import LedgerError, check_ledger

        self.season_id()
        self.bible()
        self.arc()
        for episode in self.accepted_episodes():
            self.script(episode)
            self.shots(episode)
            self.brief(episode)
        try:
            check_ledger(self.ledger_path)
        except LedgerError as exc:
            raise SeasonError(str(exc)) from None

    def accepted_episodes(self) -> list[int]:
        folder = self.root / "episodes"
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and (p / "script.json").exists())

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.root / name, text)

    # ---- redrafts -------------------------------------------------------------------------------------

    def brief(self, episode: int) -> WriterBrief | None:
        path = self.episode_dir(episode) / "brief.json"
        return self.read_model(path, WriterBrief) if path.exists() else None

    def brief_base(self, episode: int) -> EpisodeScript | None:
        """The script a brief asks to revise, if it names one that still exists inside the season."""
        brief = self.brief(episode)
        if brief is None or brief.base is None:
            return None
        path = (self.root / brief.base).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            return None
        return self.read_model(path, EpisodeScript)

    def reopen_episode(self, episode: int, note: str, *, revise: bool = True) -> Path | None:
        """Move the episode's work to `history/NN/` and leave a brief, so the next run drafts it again.

        With `revise`, the new draft starts from the accepted script and the note; otherwise from
        scratch. Nothing is deleted: the old script, shots, review and revisions stay in the history
        folder. Returns that folder (None when there was nothing to move).
        """
        folder = self.episode_dir(episode)
        movable = [p for p in (folder.iterdir() if folder.is_dir() else []) if p.name != "history"]
        archive = None
        if movable:
            history = folder / "history"
            n = 1 + max((int(p.name) for p in history.iterdir() if p.name.isdigit()), default=0) \
                if history.is_dir() else 1
            archive = history / f"{n:02d}"
            archive.mkdir(parents=True)
            # script.json first: once it is gone the episode no longer counts as accepted.
            for p in sorted(movable, key=lambda p: p.name != "script.json"):
                os.replace(p, archive / p.name)
        base = archive / "script.json" if archive is not None and revise else None
        brief = WriterBrief(note=note, base=str(base.relative_to(self.root)) if base and base.exists() else None)
        self.write_model(folder / "brief.json", brief)
        return archive

    # ---- the one-writer lock -----------------------------------------------------------------------

    def lock_holder(self) -> str | None:
        """Who holds the season's lock ("pid 1234"), or None when no run is going."""
        path = self.root / ".lock"
        if not path.exists():
            return None
        try:
            with open(path) as fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return fh.read().strip() or "another process"
        except OSError:
            return None
        return None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        path = self.root / ".lock"
        try:
            fh = open(path, "a+")  # noqa: SIM115 - held for the whole run
        except PermissionError:
            raise SeasonError(f"cannot write in {self.root} (permission denied): check the folder's permissions") from None
        try:
            for attempt in range(_LOCK_TRIES):
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    # A reader probing with lock_holder() holds LOCK_SH for an instant: try a few times.
                    if attempt + 1 < _LOCK_TRIES:
                        time.sleep(0.05)
                        continue
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    raise SeasonError(f"{self.root} is being drafted by {holder}: wait for it to finish or stop it "
                                      "(Ctrl-C), then run again") from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            self.remove_orphan_temp_files()
            yield
        finally:
            fh.close()

    def remove_orphan_temp_files(self) -> list[Path]:
        """Delete the temp files of atomic writes whose writer died (kill -9) before its rename.

        Call with the lock held: then no writer of the record is mid-write, so every such file is an
        orphan. `exports/` (written without the lock) and `lore/` (chromadb's) are left alone.
        """
        found = [p for p in self.root.glob(".*.tmp") if _ORPHAN.match(p.name)]
        for sub in ("plan", "episodes"):
            found += [p for p in (self.root / sub).rglob(".*.tmp") if _ORPHAN.match(p.name)]
        for p in found:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        return found
