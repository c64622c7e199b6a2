"""The canon ledger: entities, aliases, facts and canon documents in SQLite (the source of truth).

`canon.sqlite` in the season folder. Facts are stored per episode and an episode's facts are replaced
as a whole (`record_episode`), so recording the same accepted episode twice (a resumed run) leaves
the ledger as if it had been recorded once. Documents (episode summaries, endings, world rules,
character sheets) live here too, so the lore index can always be rebuilt from the ledger alone.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from cliffhanger.genres.ids import is_id
from cliffhanger.memory.checker import CanonState, Checker, Violation, check, replay, resolver
from cliffhanger.memory.facts import Entity, Fact

V = TypeVar("V")
DocKind = Literal["summary", "ending", "world_rule", "character", "location", "secret", "note"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (id TEXT PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL,
                                     aliases TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT PRIMARY KEY, id TEXT NOT NULL REFERENCES entities(id));
CREATE TABLE IF NOT EXISTS facts (seq INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL,
    kind TEXT NOT NULL, attribute TEXT NOT NULL, value TEXT NOT NULL, episode INTEGER NOT NULL,
    scene INTEGER NOT NULL, change INTEGER NOT NULL, evidence TEXT NOT NULL, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS facts_by_episode ON facts (episode, scene, seq);
CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT, episode INTEGER NOT NULL,
                                 text TEXT NOT NULL);
"""
SCHEMA_VERSION = "1"


def _serialized(method: Callable[..., V]) -> Callable[..., V]:
    """One thread at a time in the ledger's connection."""
    @functools.wraps(method)
    def locked(self: Ledger, *args: Any, **kwargs: Any) -> V:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class LedgerError(ValueError):
    """Canon that cannot be stored as given (an alias claimed by two entities, say)."""

    exit_code = 2


@dataclass(frozen=True)
class Doc:
    id: str
    kind: DocKind
    text: str
    episode: int = 0  # 0: true from the start (bible material)
    subject: str | None = None


def check_ledger(path: Path) -> None:
    """LedgerError naming `path` when it exists but is not an SQLite database (opened read-only: no writes)."""
    if not path.exists():
        return
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_READONLY_ROLLBACK":
            return  # a hot journal left by a writer killed mid-transaction: the run's own open rolls it back
        raise LedgerError(f"{path}: damaged, not a canon ledger ({exc}): restore it from a backup, "
                          "or recreate the season") from None


class Ledger:
    """A season's canon. One writer process at a time (the season lock guarantees it).

    Reads are remembered until the canon changes: a drafting run asks for the same facts, entities and
    state a dozen times per model call (context, checks, shot lists), and building Fact objects from rows
    and replaying them costs more than the rest of the read. The memo is dropped when this ledger writes
    and when SQLite's `data_version` says another connection committed, so every read sees the canon as
    stored. Readers get their own lists, dicts and states: changing one changes nothing remembered.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Any thread may use the ledger (a run's nodes work off the event loop), one at a time.
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.RLock()
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        self._db.commit()
        self._memo: dict[tuple[object, ...], object] = {}
        self._seen_version: object = None

    def _remembered(self, key: tuple[object, ...], read: Callable[[], V]) -> V:
        """`read()`, or what it returned last time if the canon has not changed since."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]  # others' commits change it
        if version != self._seen_version:
            self._memo.clear()
            self._seen_version = version
        if key not in self._memo:
            self._memo[key] = read()
        return self._memo[key]  # type: ignore[return-value]

    def _changed(self) -> None:
        """This connection wrote: forget every remembered read."""
        self._memo.clear()

    @_serialized
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- entities and aliases ------------------------------------------------------------------

    @_serialized
    def add_entity(self, entity: Entity, *, strict: bool = True) -> list[str]:
        """Add or update an entity; its id, name and aliases all resolve to the id.

        A name already taken by another entity raises LedgerError, or with `strict=False` is left out
        (and returned), so an ambiguous alias never silently points at the wrong entity. An entity's own
        id always names it: with `strict=False` it takes the id back from an entity that had it as an
        alias or name (a bible may give one character another's id as a nickname).
        """
        names = {entity.id, *entity.aliases, *([entity.name] if entity.name else [])}
        skipped = []
        self._changed()  # also when the transaction below fails half-way
        with self._db:
            for name in sorted(names):
                row = self._db.execute("SELECT id FROM aliases WHERE alias = ?", (_key(name),)).fetchone()
                if row and row[0] != entity.id:
                    if strict:
                        raise LedgerError(f"alias {name!r} already names {row[0]!r}; it cannot also name {entity.id!r}")
                    if _key(name) == _key(entity.id):
                        continue  # replaced below: the id names its own entity
                    names.discard(name)
                    skipped.append(name)
            self._db.execute("INSERT OR REPLACE INTO entities VALUES (?, ?, ?, ?)",
                             (entity.id, entity.type, entity.name, json.dumps(list(entity.aliases), ensure_ascii=False)))
            self._db.executemany("INSERT OR REPLACE INTO aliases VALUES (?, ?)", [(_key(n), entity.id) for n in names])
        self._changed()
        return skipped

    @_serialized
    def entities(self) -> list[Entity]:
        return list(self._remembered(("entities",), self._read_entities))

    def _read_entities(self) -> list[Entity]:
        rows = self._db.execute("SELECT id, type, name, aliases FROM entities ORDER BY id").fetchall()
        return [Entity(id=i, type=t, name=n, aliases=tuple(json.loads(a))) for i, t, n, a in rows]

    @_serialized
    def alias_map(self) -> dict[str, str]:
        return dict(self._aliases())

    def _aliases(self) -> dict[str, str]:
        return self._remembered(("aliases",), lambda: dict(self._db.execute("SELECT alias, id FROM aliases").fetchall()))

    @_serialized
    def resolve(self, name: str) -> str:
        """The entity id for an id, name or alias in any language; unknown names come back unchanged."""
        return self._aliases().get(_key(name), name)

    # ---- facts ---------------------------------------------------------------------------------

    @_serialized
    def facts(self, until_episode: int | None = None, *, subject: str | None = None,
              exclude_episode: int | None = None) -> list[Fact]:
        """Facts in story order, optionally only up to an episode, about one subject, or without one episode."""
        return list(self._remembered(("facts", until_episode, subject, exclude_episode),
                                     lambda: self._read_facts(until_episode, subject, exclude_episode)))

    def _read_facts(self, until_episode: int | None, subject: str | None, exclude_episode: int | None) -> list[Fact]:
        sql = "SELECT subject, kind, attribute, value, episode, scene, change, evidence FROM facts WHERE 1=1"
        args: list[object] = []
        if until_episode is not None:
            sql += " AND episode <= ?"
            args.append(until_episode)
        if subject is not None:
            sql += " AND subject = ?"
            args.append(self.resolve(subject))
        if exclude_episode is not None:
            sql += " AND episode != ?"
            args.append(exclude_episode)
        sql += " ORDER BY episode, scene, seq"
        return [Fact(subject=s, kind=k, attribute=a, value=json.loads(v), episode=e, scene=sc, change=bool(c),
                     evidence=ev) for s, k, a, v, e, sc, c, ev in self._db.execute(sql, args)]

    @_serialized
    def check(self, facts: Iterable[Fact], *, replacing_episode: int | None = None) -> list[Violation]:
        """Violations in `facts` against the canon (without `replacing_episode`'s stored facts)."""
        canon = self.facts(exclude_episode=replacing_episode)
        return check(canon, facts, resolver(self.alias_map()))

    @_serialized
    def record_episode(self, episode: int, facts: Iterable[Fact], source: str = "") -> list[Violation]:
        """Store an accepted episode's facts, replacing what that episode had; returns the violations.

        Facts that break a rule are not stored (the canon stays consistent); the caller reports them.
        """
        facts = list(facts)
        wrong = [f for f in facts if f.episode != episode]
        if wrong:
            raise LedgerError(f"episode {episode}'s facts include facts of episode {wrong[0].episode}")
        normalise = Checker(resolver(self.alias_map())).normalise
        unnamed = [f for f in facts if not is_id(normalise(f).subject)]
        if unnamed:  # canon is keyed by entity ids; callers resolve or drop other subjects first
            raise LedgerError(f"episode {episode}: the subject {unnamed[0].subject!r} is neither an entity id nor "
                              "a name of one: declare the entity with that alias, or drop the fact")
        violations = self.check(facts, replacing_episode=episode)
        rejected = [v.fact for v in violations]  # violations carry the alias-resolved fact
        keep = [f for f in map(normalise, facts) if f not in rejected]
        self._changed()
        with self._db:
            self._db.execute("DELETE FROM facts WHERE episode = ?", (episode,))
            self._db.executemany(
                "INSERT INTO facts (subject, kind, attribute, value, episode, scene, change, evidence, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(f.subject, f.kind, f.attribute, json.dumps(f.value, ensure_ascii=False), f.episode, f.scene,
                  int(f.change), f.evidence, source or f"episode {episode}") for f in keep],
            )
        self._changed()
        return violations

    @_serialized
    def add_facts(self, facts: Iterable[Fact], source: str = "import") -> list[Violation]:
        """Import facts spanning episodes (a canon file, a bible); each episode is recorded in turn."""
        by_episode: dict[int, list[Fact]] = {}
        for f in facts:
            by_episode.setdefault(f.episode, []).append(f)
        found: list[Violation] = []
        for ep in sorted(by_episode):
            existing = self.facts(until_episode=ep)
            merged = [f for f in existing if f.episode == ep] + by_episode[ep]
            found += self.record_episode(ep, merged, source)
        return found

    @_serialized
    def state_as_of(self, episode: int) -> CanonState:
        """Canon state after `episode` (facts of later episodes are invisible)."""
        state = self._remembered(("state", episode),
                                 lambda: replay(self.facts(until_episode=episode), resolver(self.alias_map())).state)
        return CanonState(dict(state.traits), dict(state.states), dict(state.knows), dict(state.holder))

    @_serialized
    def last_episode(self) -> int:
        return self._remembered(("last_episode",),
                                lambda: int(self._db.execute("SELECT MAX(episode) FROM facts").fetchone()[0] or 0))

    @_serialized
    def count(self) -> int:
        return self._remembered(("count",), lambda: int(self._db.execute("SELECT COUNT(*) FROM facts").fetchone()[0]))

    # ---- documents -------------------------------------------------------------------------------

    @_serialized
    def put_doc(self, doc: Doc) -> None:
        self._changed()
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?)",
                             (doc.id, doc.kind, doc.subject, doc.episode, doc.text))
        self._changed()

    @_serialized
    def docs(self, kind: DocKind | None = None, until_episode: int | None = None) -> list[Doc]:
        return list(self._remembered(("docs", kind, until_episode), lambda: self._read_docs(kind, until_episode)))

    def _read_docs(self, kind: DocKind | None, until_episode: int | None) -> list[Doc]:
        sql = "SELECT id, kind, subject, episode, text FROM docs WHERE 1=1"
        args: list[object] = []
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        if until_episode is not None:
            sql += " AND episode <= ?"
            args.append(until_episode)
        rows = self._db.execute(sql + " ORDER BY episode, id", args).fetchall()
        return [Doc(id=i, kind=k, subject=s, episode=e, text=t) for i, k, s, e, t in rows]


def _key(name: str) -> str:
    return " ".join(str(name).split()).lower()
