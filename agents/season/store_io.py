"""File mechanics under `SeasonStore`: atomic writes, the season.toml text, the one-writer lock and the
temp files a killed writer leaves behind. Paths come from the store; nothing here names a season file.

Every write is atomic (temp file in the same folder, fsync, rename), so a crash leaves the old file or
the new one, never half of one. One writer process per season: `hold_lock()` takes an flock that the OS
releases if the process dies, and a second writer gets a clear error.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from cliffhanger.agents.errors import UserError, format_validation_error
from cliffhanger.agents.season.artifacts import SeasonSpec

M = TypeVar("M", bound=BaseModel)

# Season folder layout version; a folder written by a newer cliffhanger is refused, not misread.
# 2: arc rows carry payoff_kind, intensity, antagonist, reveals as {secret, to}, plants, pays and walk_ons; the
#    bible carries antagonists, cards, plants and address. A format-1 folder opens and drafts on: its missing
#    fields read as unknown (None) or empty, a reveal written as a secret id as {secret, to: null}.
FORMAT = 2
_LOCK_TRIES = 6
_ORPHAN = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # temp names: open_temp's, and mkstemp's of older versions


class SeasonError(UserError):
    """A season folder that cannot be used as asked."""


def open_temp(folder: Path, name: str) -> tuple[int, str]:
    """A new, empty `.NAME.XXXXXXXX.tmp` in `folder`, open for writing: (fd, path).

    Unlike tempfile.mkstemp (always 0600, which shuts out the team sharing a season folder), the file is
    created with mode 0666, so the kernel applies the user's umask (and a folder's default ACL) as it does
    for any file a program makes: umask 022 gives 0644, 002 gives 0664, 077 keeps it private. Nothing reads
    or changes the process umask, so threads writing at the same time are safe.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name for {name} in {folder}")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` so that readers see the old content or the new, never a mix. A new file gets
    the user's umask (`open_temp`); a replaced one too, whatever mode it had."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = open_temp(path.parent, path.name)
    except FileNotFoundError:  # the folder's first file (asking first would cost every write two more syscalls)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = open_temp(path.parent, path.name)
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


class ModelReader:
    """Reads pydantic models from JSON files, and keeps what it made of each (file, schema) with a frozen schema:
    the bytes it read and the model. A file whose bytes are unchanged is not parsed and validated again (the
    nodes of one step read the bible, the arc and the draft over and over); any change on disk, by us or by
    hand, is read anew, since the file is read every time."""

    KEPT = 512  # (file, schema) pairs kept: about two 60-episode seasons' worth of revisions

    def __init__(self) -> None:
        self._parsed: dict[tuple[Path, type[BaseModel]], tuple[bytes, BaseModel]] = {}

    def read(self, path: Path, schema: type[M]) -> M:
        """The model at `path`; FileNotFoundError when there is none, SeasonError when it is damaged."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise SeasonError(f"{path}: damaged ({exc.__class__.__name__}): delete it to have it redone") from None
        key = (path, schema)
        known = self._parsed.get(key)
        if known is not None and known[0] == raw:
            return known[1]  # type: ignore[return-value]  # frozen, so handing it out again is safe
        value = _parse_model(path, raw, schema)
        if schema.model_config.get("frozen"):
            if len(self._parsed) >= self.KEPT:
                self._parsed.clear()
            self._parsed[key] = (raw, value)
        return value


def _parse_model(path: Path, raw: bytes, schema: type[M]) -> M:
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError both
        raise SeasonError(f"{path}: damaged ({exc.__class__.__name__}): delete it to have it redone") from None
    if not isinstance(data, dict):
        raise SeasonError(f"{path}: damaged (a JSON {type(data).__name__}, not an object): delete it to have it redone")
    data.pop("_meta", None)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise SeasonError(format_validation_error(exc, str(path))) from None


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


def lock_holder(path: Path) -> str | None:
    """Who holds the lock file at `path` ("pid 1234"), or None when no one does."""
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
def hold_lock(path: Path, folder: Path) -> Iterator[None]:
    """Hold the lock file at `path` for `folder` (named in the errors) until the block ends."""
    try:
        fh = open(path, "a+")  # noqa: SIM115 - held for the whole run
    except PermissionError:
        raise SeasonError(f"cannot write in {folder} (permission denied): check the folder's permissions") from None
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
                raise SeasonError(f"{folder} is being drafted by {holder}: wait for it to finish or stop it "
                                  "(Ctrl-C), then run again") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield
    finally:
        fh.close()


def remove_orphans(top: Path, trees: Iterable[Path]) -> list[Path]:
    """Delete atomic_write's temp files directly in `top` and anywhere under each of `trees`."""
    found = [p for p in top.glob(".*.tmp") if _ORPHAN.match(p.name)]
    for tree in trees:
        found += [p for p in tree.rglob(".*.tmp") if _ORPHAN.match(p.name)]
    for p in found:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return found
