"""The usage log: one JSON line per model call, appended to `usage.jsonl`.

A line records what a call cost and how it went. Tokens come from the server's `usage_metadata`
when it reports them (`estimated: false`) and from tiktoken otherwise (`estimated: true`). Tokens
of every attempt are summed: a retried call is billed for each try.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Outcome = Literal["ok", "repaired", "failed", "cancelled"]


@dataclass(frozen=True)
class UsageRecord:
    """One model call as it appears in usage.jsonl."""

    time: str
    role: str
    episode: int | None
    provider: str
    model: str
    kind: Literal["structured", "text", "stream"]
    method: str | None
    tokens_in: int
    tokens_out: int
    estimated: bool
    latency_s: float
    cost_usd: float | None
    attempts: int
    retries: int
    outcome: Outcome
    prompt: str | None = None
    error: str | None = None

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UsageLog:
    """Appends records to a JSONL file; safe across threads; None path keeps records in memory only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.records: list[UsageRecord] = []
        self._lock = threading.Lock()

    def append(self, record: UsageRecord) -> None:
        line = json.dumps(asdict(record), ensure_ascii=False)
        with self._lock:
            self.records.append(record)
            if self.path is None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write() of a whole line with O_APPEND: a crash leaves whole lines, never half ones
            # interleaved with another writer's.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
            finally:
                os.close(fd)

    def totals(self) -> dict[str, float]:
        """Tokens and cost over the records of this process."""
        with self._lock:
            recs = list(self.records)
        return {
            "calls": len(recs),
            "tokens_in": sum(r.tokens_in for r in recs),
            "tokens_out": sum(r.tokens_out for r in recs),
            "cost_usd": sum(r.cost_usd or 0.0 for r in recs),
        }


def read_usage(path: Path) -> list[dict[str, object]]:
    """Parse a usage.jsonl file; a torn last line (crash mid-write) is skipped."""
    rows = []
    if not path.exists():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows
