"""The lore index: chromadb over canon facts and documents, filtered by episode and kind.

An embedded `PersistentClient` in the season's `lore/` folder. Every item carries metadata `kind`
(fact kind, or document kind), `subject` and `episode`, so retrieval can ask "as of episode N"
(`episode $lte N`). The index is derived data: `rebuild(ledger)` recreates it from the ledger, and
syncing an episode replaces that episode's items, so re-recording an episode never duplicates them.

Syncing an episode reads the ledger at once and writes the index in a worker thread (chroma's upsert
spends tens of milliseconds in fsyncs, without the GIL), so the run goes on to its next model call
meanwhile. Every read of the index (query, count, rebuild) waits for the writes queued before it, so it
sees the index as if they had been made in place; `settled()` waits without blocking the event loop. An
episode queued and not yet written is named in a marker file, written (and fsynced) before `sync_episode`
returns: a process killed before the write ends has that episode synced again when the next run starts
(`finish_unwritten`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cliffhanger.memory.facts import Entity, Fact
from cliffhanger.memory.ledger import Doc, Ledger

COLLECTION = "lore"
_BATCH = 512
PENDING = ".cliffhanger-pending.json"  # in the index folder: episodes queued for syncing and not yet synced
Items = tuple[list[str], list[str], list[dict[str, Any]]]  # ids, texts, metadatas


@dataclass(frozen=True)
class Hit:
    id: str
    kind: str
    text: str
    episode: int
    subject: str | None
    distance: float


def fact_text(fact: Fact, names: dict[str, str]) -> str:
    """A fact as a sentence for embedding: names in every language help cross-lingual retrieval."""
    who = names.get(fact.subject, fact.subject)
    where = f"episode {fact.episode}" + (f", scene {fact.scene}" if fact.scene else "")
    verb = {"trait": "trait", "state": "is now" if fact.change else "state", "presence": "appears",
            "knows": "learns the secret", "uses": "acts on the secret", "holds": "holds"}[fact.kind]
    value = names.get(str(fact.value), str(fact.value)) if fact.kind in ("knows", "uses", "holds") else fact.value
    head = f"{who}: {verb}" if fact.kind in ("presence",) else f"{who}: {fact.attribute} {verb} {value}"
    return f"{head} ({where}). {fact.evidence}".strip()


def fact_id(fact: Fact) -> str:
    digest = hashlib.sha1(fact.model_dump_json().encode()).hexdigest()[:16]
    return f"fact:{fact.episode}:{digest}"


def _names(entities: list[Entity]) -> dict[str, str]:
    return {e.id: " / ".join(dict.fromkeys([e.name or e.id, *e.aliases])) for e in entities}


class LoreIndex:
    """Retrieval over a season's canon. One writer process; readers may open it too."""

    def __init__(self, folder: Path, embedding: Any | None = None) -> None:
        import chromadb
        from chromadb.config import Settings

        from cliffhanger.memory.embeddings import UsemEmbedding

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(path=str(folder), settings=Settings(anonymized_telemetry=False))
        self._embedding = embedding or UsemEmbedding()
        self._collection = self._open()
        self._count: int | None = None
        self._answers: dict[tuple[Any, ...], list[Hit]] = {}  # queries answered since the index last changed
        self._worker: ThreadPoolExecutor | None = None
        self._jobs: list[Future[None]] = []
        self._queued: set[int] = set()  # episodes whose sync is queued or running
        self._stale = self._marked()  # queued by a run killed before writing them: `finish_unwritten` syncs them
        self._marker_lock = threading.Lock()
        self._jobs_lock = threading.Lock()
        # chroma is used from this thread, the sync worker and `aquery`'s: one at a time, and the memos with it
        self._chroma_lock = threading.RLock()

    def _open(self) -> Any:
        import json

        identity = f"{self._embedding.name()}:{json.dumps(self._embedding.get_config(), sort_keys=True)}"
        meta = {"hnsw:space": "cosine", "embedding": identity}
        try:
            col = self._client.get_or_create_collection(COLLECTION, embedding_function=self._embedding, metadata=meta)
        except ValueError as exc:
            if "embedding function" not in str(exc).lower():
                raise
            col = None
        if col is None or (col.metadata or {}).get("embedding") != identity:
            # Built with another embedding: vectors from two models cannot be compared. The index is
            # derived data, so it starts empty and `ensure_built` refills it from the ledger.
            self._client.delete_collection(COLLECTION)
            col = self._client.get_or_create_collection(COLLECTION, embedding_function=self._embedding, metadata=meta)
        return col

    def ensure_built(self, ledger: Ledger) -> None:
        """Rebuild from the ledger when the index is empty but canon is not (new embedding, deleted lore/)."""
        if self.count() == 0 and (ledger.count() or ledger.docs()):
            self.rebuild(ledger)

    def finish_unwritten(self, ledger: Ledger) -> list[int]:
        """Sync again the episodes a killed run had queued and not written (the marker file names them); the
        season's writer calls this as it starts, before anything reads the index. Returns those episodes."""
        stale = sorted(self._stale)
        for episode in stale:
            self._replace_episode(episode, self._episode_items(ledger, episode))
        with self._marker_lock:
            self._stale = set()
            self._write_marker(self._queued)
        return stale

    def count(self) -> int:
        """Items in the index; remembered between changes (chroma's count is a query of its own, and
        every retrieval asks it)."""
        self.flush()
        with self._chroma_lock:
            if self._count is None:
                self._count = int(self._collection.count())
            return self._count

    def _upsert(self, ids: list[str], texts: list[str], metas: list[dict[str, Any]]) -> None:
        with self._chroma_lock:
            self._changed()
            for i in range(0, len(ids), _BATCH):
                self._collection.upsert(ids=ids[i : i + _BATCH], documents=texts[i : i + _BATCH],
                                        metadatas=metas[i : i + _BATCH])

    def _changed(self) -> None:
        with self._chroma_lock:
            self._count = None
            self._answers.clear()

    def add_facts(self, facts: list[Fact], entities: list[Entity]) -> None:
        self.flush()
        self._upsert(*_fact_items(facts, entities))

    def add_docs(self, docs: list[Doc]) -> None:
        self.flush()
        self._upsert(*_doc_items(docs))

    def sync_episode(self, ledger: Ledger, episode: int) -> None:
        """Make the index hold exactly the ledger's facts and documents of `episode` (as the ledger holds them
        now); written in the worker thread, read back by every later read of the index."""
        items = self._episode_items(ledger, episode)
        with self._marker_lock:
            self._queued.add(episode)
            self._write_marker(self._queued | self._stale)
        with self._jobs_lock:  # (the worker forgets the remembered answers and count when it writes)
            if self._worker is None:
                self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lore-sync")
            self._jobs.append(self._worker.submit(self._sync_job, episode, items))

    def _episode_items(self, ledger: Ledger, episode: int) -> Items:
        facts = _fact_items([f for f in ledger.facts(until_episode=episode) if f.episode == episode], ledger.entities())
        docs = _doc_items([d for d in ledger.docs(until_episode=episode) if d.episode == episode])
        return facts[0] + docs[0], facts[1] + docs[1], facts[2] + docs[2]

    def _sync_job(self, episode: int, items: Items) -> None:
        self._replace_episode(episode, items)
        with self._marker_lock:
            self._queued.discard(episode)
            self._write_marker(self._queued | self._stale, durable=False)  # lost in a crash: synced again

    def _replace_episode(self, episode: int, items: Items) -> None:
        with self._chroma_lock:
            self._changed()
            self._collection.delete(where={"episode": episode})
            self._upsert(*items)

    async def settled(self) -> None:
        """Wait for the syncs queued so far without blocking the event loop (other tasks run meanwhile);
        raises what a failed one raised."""
        with self._jobs_lock:
            waiting = [asyncio.wrap_future(j) for j in self._jobs if not j.done()]
        if waiting:
            await asyncio.wait(waiting)
            for w in waiting:
                w.exception()  # seen here (asyncio would log it as never retrieved); flush() raises it
        self.flush()

    def flush(self) -> None:
        """Wait for the syncs queued so far; raises what a failed one raised (its episode stays marked)."""
        with self._jobs_lock:
            jobs, self._jobs = self._jobs, []
        failure: BaseException | None = None
        for job in jobs:
            exc = job.exception()
            failure = failure or exc
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Wait for the queued syncs and stop the worker thread. A failed sync is not raised here (a run that
        ends well has raised it at `settled()`; one that fails keeps its own error): its episode stays marked
        and is synced again when the index is next opened for a run."""
        with self._jobs_lock:
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            job.exception()  # waits
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None

    def _marked(self) -> set[int]:
        try:
            return {int(e) for e in json.loads((self.folder / PENDING).read_text(encoding="utf-8"))}
        except (OSError, ValueError, TypeError):
            return set()

    def _write_marker(self, episodes: set[int], *, durable: bool = True) -> None:
        """The marker file naming `episodes` (none: no file), replaced atomically; fsynced when `durable`."""
        path = self.folder / PENDING
        if not episodes:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return
        # Mode 0666 under the user's umask, as store_io.open_temp makes them (mkstemp's 0600 would leave a
        # teammate sharing the season unable to read the marker, and so blind to lore not yet synced).
        tmp = os.path.join(self.folder, f".{PENDING}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(sorted(episodes)))
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def rebuild(self, ledger: Ledger) -> int:
        """Drop the index and recreate it from the ledger; returns the number of items."""
        self.flush()
        with self._chroma_lock:
            self._client.delete_collection(COLLECTION)
            self._collection = self._open()
            self._changed()
            self._upsert(*_doc_items(ledger.docs()))
            self._upsert(*_fact_items(ledger.facts(), ledger.entities()))
        with self._marker_lock:
            self._stale = set()
            self._write_marker(self._queued)
        return self.count()

    async def aquery(self, text: str, *, until_episode: int | None = None, kinds: list[str] | None = None,
                     subject: str | None = None, k: int = 8) -> list[Hit]:
        """`query` in a thread (the event loop goes on meanwhile)."""
        return await asyncio.to_thread(self.query, text, until_episode=until_episode, kinds=kinds, subject=subject,
                                       k=k)

    def query(self, text: str, *, until_episode: int | None = None, kinds: list[str] | None = None,
              subject: str | None = None, k: int = 8) -> list[Hit]:
        """The `k` items nearest to `text`, never from after `until_episode`."""
        clauses: list[dict[str, Any]] = []
        if until_episode is not None:
            clauses.append({"episode": {"$lte": until_episode}})
        if kinds:
            clauses.append({"kind": {"$in": list(kinds)}})
        if subject:
            clauses.append({"subject": subject})
        where = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
        total = self.count()  # waits for queued syncs
        if total == 0:
            return []
        key = (text, until_episode, tuple(kinds or ()), subject, k)
        with self._chroma_lock:
            if key not in self._answers:  # the same plan asked again (a revision's canon): the index is unchanged
                res = self._collection.query(query_texts=[text], n_results=min(k, total), where=where,
                                             include=["documents", "metadatas", "distances"])
                self._answers[key] = [
                    Hit(id=i, kind=str(meta.get("kind")), text=doc, episode=int(meta.get("episode", 0)),
                        subject=(meta.get("subject") or None), distance=float(dist))
                    for i, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                                  res["distances"][0], strict=True)]
            return list(self._answers[key])


def _fact_items(facts: list[Fact], entities: list[Entity]) -> Items:
    names = _names(entities)
    unique = {fact_id(f): f for f in facts}
    return (list(unique), [fact_text(f, names) for f in unique.values()],
            [{"kind": f.kind, "subject": f.subject, "episode": f.episode, "source": "fact"} for f in unique.values()])


def _doc_items(docs: list[Doc]) -> Items:
    return ([f"doc:{d.id}" for d in docs], [d.text for d in docs],
            [{"kind": d.kind, "subject": d.subject or "", "episode": d.episode, "source": "doc"} for d in docs])
