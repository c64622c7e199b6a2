"""The season folder: the record a person can read, diff and back up.

    season.toml  bible.json bible.md  arc.json  plan/{acts.json, act_N.json, imported.json}  chat.jsonl
    episodes/017/{script.json, script.fountain, shots.json, review.json, brief.json, revisions/, history/}
    canon.sqlite  lore/  checkpoints.{sqlite,place}  usage.jsonl  report.md  season_curve.png  exports/  assets.toml

`SeasonStore` owns every path in the folder: callers read and write artifacts through its typed
readers and writers (or take a path from it for a file a library writes, like the ledger), and no
other module joins a path inside a season. Every write is atomic (temp file in the same folder, fsync,
rename), so a crash leaves the old file or the new one, never half of one. One writer process per
season: `lock()` takes an flock on `.lock` that the OS releases if the process dies, and a second
writer gets a clear error (the mechanics are in `store_io`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tomllib
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from cliffhanger.agents.errors import format_validation_error
from cliffhanger.agents.season.artifacts import (
    ArcPlan,
    Bible,
    EpisodeScript,
    ImportedPlan,
    Review,
    SeasonSpec,
    WriterBrief,
)
from cliffhanger.agents.season.assets import read_assets
from cliffhanger.agents.season.screenplay import bible_markdown
from cliffhanger.agents.season.shotlist import ShotList
from cliffhanger.agents.season.store_io import (
    FORMAT,
    ModelReader,
    SeasonError,
    atomic_write,
    hold_lock,
    lock_holder,
    remove_orphans,
    spec_to_toml,
)
from cliffhanger.memory.facts import Fact

T = TypeVar("T", bound=BaseModel)
SPEC = "season.toml"
RevisionKind = Literal["draft", "critique", "continuity", "facts", "decision"]
REVISION_KINDS: tuple[str, ...] = get_args(RevisionKind)
_REVISION = re.compile(r"^r(\d{2,})\.draft\.json$")  # revision_path's draft names: r00.draft.json, r100.draft.json
ModelKind = Literal["draft", "critique", "continuity", "decision"]  # revision artifacts that are one JSON model
MAX_ACTS = 10  # ActOutline.act's bound: plan/act_1.json .. act_10.json
_EPISODE_FILES = ("script.json", "script.fountain", "shots.json", "review.json", "brief.json")


class SeasonStore:
    """Paths and atomic reads/writes of one season folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._models = ModelReader()

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
    def open_or_create(cls, root: Path, spec: SeasonSpec) -> SeasonStore:
        """The season in `root`, created from `spec` when the folder holds none yet (evals, benchmarks)."""
        return cls.open(root) if (root / SPEC).exists() else cls.create(root, spec)

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
        path = self.spec_path
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SeasonError(f"{path}: damaged ({exc}): fix the file or recreate the season") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SeasonError(f"{path}: cannot read ({exc.__class__.__name__})") from None

    def season_id(self) -> str:
        value = self._raw_spec().get("id")
        if not isinstance(value, str) or not value:
            raise SeasonError(f"{self.spec_path}: no id: recreate the season or add id = \"...\"")
        return value

    def spec(self) -> SeasonSpec:
        raw = self._raw_spec()
        fmt = raw.get("format", 1)  # folders from before the format key are format 1
        if not isinstance(fmt, int) or fmt < 1:
            raise SeasonError(f"{self.spec_path}: format = {fmt!r} is not a season format: set format = {FORMAT}")
        if fmt > FORMAT:
            raise SeasonError(f"{self.root} was written by a newer cliffhanger (season format {fmt}; this one reads "
                              f"up to {FORMAT}): upgrade with `pip install -U cliffhanger`")
        try:
            return SeasonSpec.model_validate({k: v for k, v in raw.items() if k not in ("id", "format")})
        except ValidationError as exc:
            missing = [e["loc"][0] for e in exc.errors() if e["type"] == "missing" and e["loc"]]
            if missing:
                raise SeasonError(f"{self.spec_path}: no {', '.join(map(str, missing))}: this looks like a season from "
                                  "an older or damaged format; recreate it with `cliffhanger new` (or `new --from` "
                                  "an exported script)") from None
            raise SeasonError(format_validation_error(exc, str(self.spec_path))) from None

    # ---- paths -------------------------------------------------------------------------------------
    # Public paths are for files a library writes (sqlite, chromadb, the chat log), for folders, and for
    # naming a file to a person; artifacts are read and written through the typed methods below.

    @property
    def spec_path(self) -> Path:
        return self.root / SPEC

    @property
    def bible_path(self) -> Path:
        return self.root / "bible.json"

    @property
    def bible_markdown_path(self) -> Path:
        return self.root / "bible.md"

    @property
    def arc_path(self) -> Path:
        return self.root / "arc.json"

    @property
    def chat_path(self) -> Path:
        return self.root / "chat.jsonl"

    @property
    def report_path(self) -> Path:
        return self.root / "report.md"

    @property
    def curve_png_path(self) -> Path:
        return self.root / "season_curve.png"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def eval_run_path(self) -> Path:
        """eval_run.json: wall time spent drafting this season in `cliffhanger eval`, summed over runs."""
        return self.root / "eval_run.json"

    def eval_wall_s(self) -> float:
        path = self.eval_run_path
        return float(json.loads(path.read_text(encoding="utf-8"))["wall_s"]) if path.exists() else 0.0

    def add_eval_wall(self, seconds: float) -> None:
        path = self.eval_run_path
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"wall_s": 0.0, "runs": 0}
        atomic_write(path, json.dumps({"wall_s": round(data["wall_s"] + seconds, 3), "runs": data["runs"] + 1}) + "\n")

    @property
    def assets_path(self) -> Path:
        return self.root / "assets.toml"

    def assets(self) -> dict[str, str]:  # keyframe and sheet ids -> images (`assets`); files start at the season folder
        return read_assets(self.assets_path, lambda name: (self.root / name).is_file())

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
    def _place_path(self) -> Path:
        return self.root / "checkpoints.place"

    def checkpoint_place(self) -> str | None:
        """Where the checkpoints are kept (`checkpoint.claim_place`); None: never recorded (the SQLite file)."""
        path = self._place_path
        return path.read_text(encoding="utf-8").strip() or None if path.is_file() else None

    def record_checkpoint_place(self, place: str) -> None:
        atomic_write(self._place_path, place + "\n")

    @property
    def usage_path(self) -> Path:
        return self.root / "usage.jsonl"

    @property
    def _lock_path(self) -> Path:
        return self.root / ".lock"

    @property
    def _episodes_dir(self) -> Path:
        return self.root / "episodes"

    @property
    def _plan_dir(self) -> Path:
        return self.root / "plan"

    def _plan_path(self, name: str) -> Path:
        return self._plan_dir / name

    def episode_dir(self, episode: int) -> Path:
        return self._episodes_dir / f"{episode:03d}"

    def _episode_file(self, episode: int, name: str) -> Path:
        return self.episode_dir(episode) / name

    def revision_path(self, episode: int, revision: int, kind: str = "draft") -> Path:
        return self._episode_file(episode, "revisions") / f"r{revision:02d}.{kind}.json"

    def owns(self, path: Path) -> bool:
        """Whether `path` is a file this store names (record, canon, checkpoints, lore/, exports/, history/)."""
        path = path if path.is_absolute() else self.root / path
        folders = [self.lore_path, self.exports_dir]
        folders += [self._episode_file(e, "history") for e in self._episode_numbers()]
        return any(path.is_relative_to(f) for f in folders) or path in self._named_files()

    def _episode_numbers(self) -> list[int]:
        """Episodes with a folder on disk."""
        folder = self._episodes_dir
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit()) if folder.is_dir() else []

    def _named_files(self) -> set[Path]:
        files = {self.spec_path, self.bible_path, self.bible_markdown_path, self.arc_path, self.chat_path,
                 self.report_path, self.usage_path, self._lock_path, self.eval_run_path, self._place_path,
                 self._plan_path("acts.json"), self.curve_png_path, self.assets_path,
                 self._plan_path("imported.json"), *(self._plan_path(f"act_{a}.json") for a in range(1, MAX_ACTS + 1))}
        for db in (self.ledger_path, self.checkpoint_path):
            files |= {db, *(db.with_name(db.name + side) for side in ("-wal", "-shm", "-journal"))}
        for ep in self._episode_numbers():
            files |= {self._episode_file(ep, name) for name in _EPISODE_FILES}
            files |= {self.revision_path(ep, rev, kind) for rev in self.revisions(ep) for kind in REVISION_KINDS}
        return files

    # ---- reading and writing models ----------------------------------------------------------------

    def write_model(self, path: Path, value: BaseModel, meta: dict[str, object] | None = None) -> None:
        data = value.model_dump(mode="json")
        if meta:
            data = {"_meta": meta, **data}
        atomic_write(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")

    def read_model(self, path: Path, schema: type[T]) -> T:
        """The model in the JSON file at `path` (FileNotFoundError when there is none; SeasonError when damaged)."""
        return self._models.read(path, schema)

    def _read(self, path: Path, schema: type[T]) -> T | None:
        """The model at `path`, or None when there is no such file (SeasonError when it is damaged)."""
        try:
            return self.read_model(path, schema)
        except FileNotFoundError:
            return None

    def meta(self, path: Path) -> dict[str, object]:
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")).get("_meta", {}))
        except (OSError, ValueError, TypeError, AttributeError):
            return {}

    # ---- the season: bible, plan, arc ----------------------------------------------------------------

    def bible(self) -> Bible | None:
        return self._read(self.bible_path, Bible)

    def write_bible(self, bible: Bible, meta: dict[str, object] | None = None) -> None:
        """bible.json, then bible.md from it (a kill between the two: `ensure_bible_markdown()` mends it)."""
        self.write_model(self.bible_path, bible, meta)
        atomic_write(self.bible_markdown_path, bible_markdown(bible, self.spec().title))

    def ensure_bible_markdown(self) -> bool:
        """Rewrite bible.md when it is missing or does not match bible.json; True when it was rewritten."""
        bible = self.bible()
        if bible is None:
            return False
        text = bible_markdown(bible, self.spec().title)
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if self.bible_markdown_path.read_text(encoding="utf-8") == text:
                return False
        atomic_write(self.bible_markdown_path, text)
        return True

    def act_plan(self, schema: type[T]) -> T | None:
        """plan/acts.json, the showrunner's act plan (its schema belongs to the showrunner role)."""
        return self._read(self._plan_path("acts.json"), schema)

    def write_act_plan(self, outline: BaseModel, meta: dict[str, object] | None = None) -> None:
        self.write_model(self._plan_path("acts.json"), outline, meta)

    def has_act_rows(self, act: int) -> bool:
        return self._plan_path(f"act_{act}.json").exists()

    def act_rows(self, act: int, schema: type[T]) -> T | None:
        """plan/act_N.json, the arc rows the showrunner planned for act N."""
        return self._read(self._plan_path(f"act_{act}.json"), schema)

    def write_act_rows(self, act: int, rows: BaseModel, meta: dict[str, object] | None = None) -> None:
        self.write_model(self._plan_path(f"act_{act}.json"), rows, meta)

    def imported_plan(self) -> ImportedPlan | None:
        """plan/imported.json: the arc rows of episodes imported from a script (`new --from`)."""
        return self._read(self._plan_path("imported.json"), ImportedPlan)

    def write_imported_plan(self, plan: ImportedPlan, meta: dict[str, object] | None = None) -> None:
        self.write_model(self._plan_path("imported.json"), plan, meta)

    def arc(self) -> ArcPlan | None:
        return self._read(self.arc_path, ArcPlan)

    def write_arc(self, arc: ArcPlan, meta: dict[str, object] | None = None) -> None:
        self.write_model(self.arc_path, arc, meta)

    def write_report(self, markdown: str) -> None:
        atomic_write(self.report_path, markdown)

    # ---- episodes ------------------------------------------------------------------------------------

    def script(self, episode: int) -> EpisodeScript | None:
        return self._read(self._episode_file(episode, "script.json"), EpisodeScript)

    def write_script(self, episode: int, script: EpisodeScript, fountain: str,
                     meta: dict[str, object] | None = None) -> None:
        """The accepted script: script.fountain, then script.json, whose presence marks the episode accepted."""
        atomic_write(self._episode_file(episode, "script.fountain"), fountain)
        self.write_model(self._episode_file(episode, "script.json"), script, meta)

    def shots(self, episode: int) -> ShotList | None:
        return self._read(self._episode_file(episode, "shots.json"), ShotList)

    def write_shots(self, episode: int, shots: ShotList, meta: dict[str, object] | None = None) -> None:
        self.write_model(self._episode_file(episode, "shots.json"), shots, meta)

    def shot_count(self, episode: int) -> int | None:
        """Shots in the episode's shot list without validating it (the board re-reads every few seconds)."""
        try:
            shots = json.loads(self._episode_file(episode, "shots.json").read_text(encoding="utf-8")).get("shots")
        except (OSError, ValueError, AttributeError):
            return None
        return len(shots) if isinstance(shots, list) else None

    def review(self, episode: int) -> Review | None:
        """episodes/NNN/review.json (older and partial files read; SeasonError when damaged)."""
        return self._read(self._episode_file(episode, "review.json"), Review)

    def write_review(self, episode: int, review: Review) -> None:
        self.write_model(self._episode_file(episode, "review.json"), review)

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
        return [e for e in self._episode_numbers() if self._episode_file(e, "script.json").exists()]

    # ---- revisions ----------------------------------------------------------------------------------

    def revisions(self, episode: int) -> list[int]:
        """Revision numbers that have a draft on disk, ascending (temp files of unfinished writes ignored)."""
        folder = self._episode_file(episode, "revisions")
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _REVISION.match(p.name)))

    def has_revision(self, episode: int, revision: int, kind: RevisionKind = "draft") -> bool:
        return self.revision_path(episode, revision, kind).exists()

    def revision(self, episode: int, revision: int, kind: ModelKind, schema: type[T]) -> T | None:
        """One revision's draft (EpisodeScript), critique, continuity report or decision; None when not on disk."""
        return self._read(self.revision_path(episode, revision, kind), schema)

    def write_revision(self, episode: int, revision: int, kind: ModelKind, value: BaseModel,
                       meta: dict[str, object] | None = None) -> None:
        if kind not in get_args(ModelKind):
            raise ValueError(f"{kind!r} is not a revision artifact: use one of {', '.join(get_args(ModelKind))}")
        self.write_model(self.revision_path(episode, revision, kind), value, meta)

    def revision_meta(self, episode: int, revision: int, kind: RevisionKind = "draft") -> dict[str, object]:
        return self.meta(self.revision_path(episode, revision, kind))

    def facts(self, episode: int, revision: int) -> list[Fact] | None:
        """The facts extracted from one revision (JSON lines); None when not on disk."""
        path = self.revision_path(episode, revision, "facts")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise SeasonError(f"{path}: damaged ({exc.__class__.__name__}): delete it to have it redone") from None
        try:
            return [Fact.model_validate_json(line) for line in lines if line.strip()]
        except ValidationError as exc:
            raise SeasonError(format_validation_error(exc, str(path))) from None

    def write_facts(self, episode: int, revision: int, facts: Iterable[Fact]) -> None:
        atomic_write(self.revision_path(episode, revision, "facts"), "".join(f.model_dump_json() + "\n" for f in facts))

    # ---- redrafts -------------------------------------------------------------------------------------

    def brief(self, episode: int) -> WriterBrief | None:
        return self._read(self._episode_file(episode, "brief.json"), WriterBrief)

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
            history = self._episode_file(episode, "history")
            n = 1 + max((int(p.name) for p in history.iterdir() if p.name.isdigit()), default=0) \
                if history.is_dir() else 1
            archive = history / f"{n:02d}"
            archive.mkdir(parents=True)
            # script.json first: once it is gone the episode no longer counts as accepted.
            for p in sorted(movable, key=lambda p: p.name != "script.json"):
                os.replace(p, archive / p.name)
        base = archive / "script.json" if archive is not None and revise else None
        brief = WriterBrief(note=note, base=str(base.relative_to(self.root)) if base and base.exists() else None)
        self.write_model(self._episode_file(episode, "brief.json"), brief)
        return archive

    # ---- the one-writer lock -----------------------------------------------------------------------

    def lock_holder(self) -> str | None:
        """Who holds the season's lock ("pid 1234"), or None when no run is going."""
        return lock_holder(self._lock_path)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Be the season's one writer until the block ends; SeasonError when another process is."""
        with hold_lock(self._lock_path, self.root):
            self.remove_orphan_temp_files()
            yield

    def remove_orphan_temp_files(self) -> list[Path]:
        """Delete the temp files of atomic writes whose writer died (kill -9) before its rename. Call with the lock
        held: then no writer of the record is mid-write, so every such file is an orphan. `exports/` (written
        without the lock) and `lore/` (chromadb's) are left alone."""
        return remove_orphans(self.root, [self._plan_dir, self._episodes_dir])
