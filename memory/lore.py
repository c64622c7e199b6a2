"""The lore index: chromadb over canon facts and documents, filtered by episode and kind.

An embedded `PersistentClient` in the season's `lore/` folder. Every item carries metadata `kind`
(fact kind, or document kind), `subject` and `episode`, so retrieval can ask "as of episode N"
(`episode $lte N`). The index is derived data: `rebuild(ledger)` recreates it from the ledger, and
syncing an episode replaces that episode's items, so re-recording an episode never duplicates them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cliffhanger.memory.facts import Entity, Fact
from cliffhanger.memory.ledger import Doc, Ledger

COLLECTION = "lore"
_BATCH = 512


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

    def count(self) -> int:
        """Items in the index; remembered between changes (chroma's count is a query of its own, and
        every retrieval asks it)."""
        if self._count is None:
            self._count = int(self._collection.count())
        return self._count

    def _upsert(self, ids: list[str], texts: list[str], metas: list[dict[str, Any]]) -> None:
        for i in range(0, len(ids), _BATCH):
            self._count = None
            self._collection.upsert(ids=ids[i : i + _BATCH], documents=texts[i : i + _BATCH],
                                    metadatas=metas[i : i + _BATCH])

    def add_facts(self, facts: list[Fact], entities: list[Entity]) -> None:
        names = _names(entities)
        unique = {fact_id(f): f for f in facts}
        self._upsert(list(unique), [fact_text(f, names) for f in unique.values()],
                     [{"kind": f.kind, "subject": f.subject, "episode": f.episode, "source": "fact"}
                      for f in unique.values()])

    def add_docs(self, docs: list[Doc]) -> None:
        self._upsert([f"doc:{d.id}" for d in docs], [d.text for d in docs],
                     [{"kind": d.kind, "subject": d.subject or "", "episode": d.episode, "source": "doc"} for d in docs])

    def sync_episode(self, ledger: Ledger, episode: int) -> None:
        """Make the index hold exactly the ledger's facts and documents of `episode`."""
        self._count = None
        self._collection.delete(where={"episode": episode})
        self.add_facts([f for f in ledger.facts(until_episode=episode) if f.episode == episode], ledger.entities())
        self.add_docs([d for d in ledger.docs(until_episode=episode) if d.episode == episode])

    def rebuild(self, ledger: Ledger) -> int:
        """Drop the index and recreate it from the ledger; returns the number of items."""
        self._client.delete_collection(COLLECTION)
        self._collection = self._open()
        self._count = None
        self.add_docs(ledger.docs())
        self.add_facts(ledger.facts(), ledger.entities())
        return self.count()

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
        total = self.count()
        if total == 0:
            return []
        res = self._collection.query(query_texts=[text], n_results=min(k, total), where=where,
                                     include=["documents", "metadatas", "distances"])
        hits = []
        for i, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0],
                                      strict=True):
            hits.append(Hit(id=i, kind=str(meta.get("kind")), text=doc, episode=int(meta.get("episode", 0)),
                            subject=(meta.get("subject") or None), distance=float(dist)))
        return hits
