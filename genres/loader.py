"""Finding, parsing, merging and validating genre packs, with file:line:field errors.

Sources, in order: the built-in packs (package data), the user's `<config dir>/genres/`, then any
`--genres-dir`. A user pack may `extends: <id>` another pack: mappings merge key by key (recursively),
anything else (lists, strings, numbers) replaces the parent's value; `id` and `names` are the child's
own. A user pack whose id is a built-in id is refused unless it says `shadow: true`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cliffhanger.genres.errors import GenreError
from cliffhanger.genres.pack import GenrePack

_META_KEYS = ("extends", "shadow")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class PackSource:
    path: Path
    builtin: bool
    data: dict[str, Any]
    node: yaml.Node


def _read(path: Path, builtin: bool) -> PackSource:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise GenreError(f"{path}: cannot read ({exc.__class__.__name__}): check the file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise GenreError(f"{path}:{line}: not UTF-8 text: save the pack as UTF-8") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader (libyaml's when available)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise GenreError(f"{where}: invalid YAML ({problem}): fix the syntax") from None
    if not isinstance(data, dict) or node is None:
        raise GenreError(f"{path}:1: a genre pack must be a YAML mapping (id: ..., names: ..., ...)")
    return PackSource(path, builtin, data, node)


def _line_of(node: yaml.Node | None, loc: Iterable[object]) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location (nearest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def _validate(source: PackSource, data: dict[str, Any]) -> GenrePack:
    body = {k: v for k, v in data.items() if k not in _META_KEYS}
    try:
        return GenrePack.model_validate(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = [p for p in err["loc"] if p != "__root__"]
            line = _line_of(source.node, loc)
            field = ".".join(str(p) for p in loc) or "(pack)"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{source.path}:{line or 1}: {field}: {msg}")
        raise GenreError(problems) from None


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = dict(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@functools.cache
def _builtin_sources() -> tuple[PackSource, ...]:
    """The built-in packs, parsed once per process (they are package data and never change)."""
    return tuple(_read(p, True) for p in _builtin_paths())


def _builtin_paths() -> list[Path]:
    folder = resources.files("cliffhanger.genres").joinpath("packs")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith((".yaml", ".yml")))


def _user_paths(dirs: Iterable[Path]) -> list[Path]:
    paths: list[Path] = []
    for d in dirs:
        if d.is_dir():
            paths += sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml"))
    return paths


def user_genres_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("cliffhanger")) / "genres"


@dataclass(frozen=True)
class Catalog:
    """Every usable pack by id, with where it came from."""

    packs: dict[str, GenrePack]
    origins: dict[str, Path]
    problems: tuple[str, ...] = ()  # user packs left out because they are broken, one line each
    broken: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the problems by pack id, where known

    def get(self, name: str) -> GenrePack:
        """A pack by id or by its zh/en name; GenreError listing the known ids otherwise."""
        if name in self.packs:
            return self.packs[name]
        by_name = {n.lower(): p for p in self.packs.values() for n in (p.names.zh, p.names.en)}
        if name.lower() in by_name:
            return by_name[name.lower()]
        broken = list(self.broken.get(name, ())) or [
            p for p in self.problems if Path(p.split(":", 1)[0]).stem == name]  # unreadable: named by its file
        if broken:
            raise GenreError(broken)
        raise GenreError(f"unknown genre {name!r}: known genres are {', '.join(sorted(self.packs))}")


def load_catalog(extra_dirs: Iterable[Path] = (), *, include_user_dir: bool = True, strict: bool = False) -> Catalog:
    """Built-in packs, then user packs (config dir, then `extra_dirs`).

    Broken user packs are left out and listed in `Catalog.problems`; with `strict`, GenreError lists them.
    """
    extra_dirs = list(extra_dirs)
    dirs = [user_genres_dir(), *extra_dirs] if include_user_dir else list(extra_dirs)
    for d in extra_dirs:
        if not d.is_dir():
            raise GenreError(f"--genres-dir {d} is not a folder: give a folder of .yaml packs")
    return _build(list(_builtin_sources()), _user_paths(dirs), strict=strict)


def _build(builtins: list[PackSource], user_paths: list[Path], *, strict: bool = True) -> Catalog:
    problems: list[str] = []
    broken: dict[str, list[str]] = {}
    sources: dict[str, PackSource] = {}
    for src in builtins:
        sources[str(src.data.get("id"))] = src
    for path in user_paths:
        try:
            src = _read(path, False)
        except GenreError as exc:
            problems += exc.problems
            continue
        pid = str(src.data.get("id"))
        if pid in sources:
            other = sources[pid]
            if other.builtin and src.data.get("shadow") is True:
                sources[pid] = src
                continue
            hint = "set `shadow: true` to replace the built-in" if other.builtin else "rename one of them"
            problems.append(f"{path}:{_line_of(src.node, ['id'])}: id: duplicate id {pid!r} "
                            f"(also in {other.path}): {hint}")
            broken.setdefault(pid, []).append(problems[-1])
            continue
        sources[pid] = src
    packs: dict[str, GenrePack] = {}
    origins: dict[str, Path] = {}
    for pid, src in sources.items():
        try:
            packs[pid] = _validate(src, _resolve(src, sources, []))
            origins[pid] = src.path
        except GenreError as exc:
            problems += exc.problems
            broken.setdefault(pid, []).extend(exc.problems)
    if problems and strict:
        raise GenreError(problems)
    return Catalog(packs, origins, tuple(problems), {k: tuple(v) for k, v in broken.items()})


def _resolve(src: PackSource, sources: dict[str, PackSource], chain: list[str]) -> dict[str, Any]:
    parent_id = src.data.get("extends")
    if parent_id is None:
        return src.data
    line = _line_of(src.node, ["extends"])
    if parent_id not in sources or sources[parent_id] is src:
        known = ", ".join(sorted(k for k, s in sources.items() if s is not src))
        raise GenreError(f"{src.path}:{line}: extends: unknown pack {parent_id!r}: use one of {known}")
    if parent_id in chain:
        raise GenreError(f"{src.path}:{line}: extends: cycle {' -> '.join([*chain, parent_id])}")
    parent = _resolve(sources[parent_id], sources, [*chain, str(src.data.get("id"))])
    child = {k: v for k, v in src.data.items() if k != "extends"}
    return _merge({k: v for k, v in parent.items() if k not in _META_KEYS}, child)


def validate_file(path: Path, extra_dirs: Iterable[Path] = ()) -> GenrePack:
    """Validate one pack file (resolving `extends` against the built-ins and `extra_dirs`)."""
    src = _read(path, False)
    sources = {str(b.data.get("id")): b for b in _builtin_sources()}
    for p in _user_paths(extra_dirs):
        if p.resolve() != path.resolve():
            try:
                other = _read(p, False)
            except GenreError:
                continue  # `genres list` reports it; it only matters here if this pack extends it (unknown pack)
            sources.setdefault(str(other.data.get("id")), other)
    pid = str(src.data.get("id"))
    if pid in sources and sources[pid].builtin and src.data.get("shadow") is not True and \
            sources[pid].path.resolve() != path.resolve():
        raise GenreError(f"{path}:{_line_of(src.node, ['id'])}: id: duplicate id {pid!r} (a built-in pack): "
                         "rename it or set `shadow: true` to replace the built-in")
    if pid in sources and not sources[pid].builtin:
        raise GenreError(f"{path}:{_line_of(src.node, ['id'])}: id: duplicate id {pid!r} (also in "
                         f"{sources[pid].path}): rename one of them")
    sources[pid] = src
    return _validate(src, _resolve(src, sources, []))


@functools.cache
def builtin_catalog() -> Catalog:
    """The built-in packs only (cached)."""
    return _build(list(_builtin_sources()), [])
