"""The usage log: one JSON line per model call, appended to `usage.jsonl`.

A line records what a call cost and how it went. Tokens come from the server's `usage_metadata`
when it reports them (`estimated: false`) and from tiktoken otherwise (`estimated: true`). Tokens
of every attempt are summed: a retried call is billed for each try. `cached_in` is the part of
`tokens_in` the server reported as read from its prompt cache (OpenAI's `cached_tokens`, DeepSeek's
`prompt_cache_hit_tokens`), priced at the model's cached-input rate; lines written before the field
existed read as 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

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
    cached_in: int = 0  # of tokens_in, read from the provider's prompt cache

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_FIELDS = tuple(f.name for f in fields(UsageRecord))


class UsageLog:
    """Appends records to a JSONL file; safe across threads; None path keeps records in memory only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.records: list[UsageRecord] = []
        self._lock = threading.Lock()
        self._running = UsageTotals()  # `_totals(self.records)`, kept as records come (progress asks at every step)
        self._writer: ThreadPoolExecutor | None = None
        self._pending: set[Future[None]] = set()
        if path is not None:
            _LIVE.add(self)

    def append(self, record: UsageRecord) -> None:
        """Keep `record` and append its line to the file. Called on an event loop (a run's model calls), the
        line goes to this log's writer thread, in order, so the loop (shared with other seasons and, on a
        server, other runs) never waits on the disk; `flush` waits for it."""
        # The fields are plain values: read them directly (asdict deep-copies each one)
        line = json.dumps({name: getattr(record, name) for name in _FIELDS}, ensure_ascii=False)
        with self._lock:
            self.records.append(record)
            self._running = _plus(self._running, record)
            if self.path is None:
                return
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                self._write(line)
                return
            if self._writer is None:
                self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-log")
            future = self._writer.submit(self._write, line)
            self._pending.add(future)
            future.add_done_callback(self._pending.discard)

    def _write(self, line: str) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write() of a whole line with O_APPEND: a crash leaves whole lines, never half ones
        # interleaved with another writer's.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # the umask decides
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)

    def flush(self) -> None:
        """Wait until every line appended so far is in the file (raises a write's error)."""
        for future in list(self._pending):
            future.result()

    def totals(self) -> UsageSummary:
        """Calls, tokens and cost over the records of this process."""
        with self._lock:
            recs = list(self.records)
        return usage_summary(recs)

    def running_totals(self) -> UsageTotals:
        """What `totals()` says in all (not per role or model), without going over every record again."""
        with self._lock:
            return self._running


@dataclass(frozen=True)
class UsageTotals:
    """Calls, tokens, cost and time of a set of usage records."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cached_in: int = 0             # of tokens_in, served from the provider's prompt cache
    cost_usd: float = 0.0          # of the calls whose cost is known
    cost_unknown_calls: int = 0    # calls of models without a price: their cost is not in cost_usd
    retries: int = 0               # transport retries
    latency_s: float = 0.0         # seconds spent waiting for models, summed over calls

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def cached_share(self) -> float:
        """Cached prompt tokens over prompt tokens (0 when there were none)."""
        return self.cached_in / self.tokens_in if self.tokens_in else 0.0


@dataclass(frozen=True)
class UsageSummary(UsageTotals):
    """Totals over a usage log, and the same totals per role and per model."""

    by_role: dict[str, UsageTotals] = field(default_factory=dict)
    by_model: dict[str, UsageTotals] = field(default_factory=dict)


def usage_summary(records: Iterable[UsageRecord]) -> UsageSummary:
    """What `records` add up to, in all and per role and per model (keys sorted)."""
    recs = list(records)
    total = _totals(recs)
    return UsageSummary(**asdict(total), by_role=_grouped(recs, lambda r: r.role),
                        by_model=_grouped(recs, lambda r: r.model))


def _totals(recs: list[UsageRecord]) -> UsageTotals:
    return UsageTotals(
        calls=len(recs), tokens_in=sum(r.tokens_in for r in recs), tokens_out=sum(r.tokens_out for r in recs),
        cached_in=sum(r.cached_in for r in recs),
        cost_usd=sum((r.cost_usd for r in recs if r.cost_usd is not None), 0.0),
        cost_unknown_calls=sum(1 for r in recs if r.cost_usd is None), retries=sum(r.retries for r in recs),
        latency_s=sum((r.latency_s for r in recs), 0.0))


def _plus(t: UsageTotals, r: UsageRecord) -> UsageTotals:
    """`t` with one more record: the same sums, in the same order, as `_totals` over the records."""
    return UsageTotals(
        calls=t.calls + 1, tokens_in=t.tokens_in + r.tokens_in, tokens_out=t.tokens_out + r.tokens_out,
        cached_in=t.cached_in + r.cached_in,
        cost_usd=t.cost_usd + r.cost_usd if r.cost_usd is not None else t.cost_usd,
        cost_unknown_calls=t.cost_unknown_calls + (r.cost_usd is None), retries=t.retries + r.retries,
        latency_s=t.latency_s + r.latency_s)


def _grouped(recs: list[UsageRecord], key: Callable[[UsageRecord], str]) -> dict[str, UsageTotals]:
    groups: dict[str, list[UsageRecord]] = {}
    for r in recs:
        groups.setdefault(key(r), []).append(r)
    return {k: _totals(groups[k]) for k in sorted(groups)}


def _record(data: dict[str, Any]) -> UsageRecord:
    """A record from one parsed line. A field missing from it (a line written before the field existed)
    reads as unknown or its usual value; a value of the wrong kind raises ValueError or TypeError."""

    def text(key: str, default: str = "") -> str:
        value = data.get(key)
        return default if value is None else str(value)

    def optional_text(key: str) -> str | None:
        value = data.get(key)
        return None if value is None else str(value)

    def number(key: str, default: float) -> float:
        value = data.get(key)
        if isinstance(value, dict | list):
            raise TypeError(f"{key} is not a number")
        return default if value is None else float(value)

    episode = data.get("episode")
    cost = data.get("cost_usd")
    return UsageRecord(
        time=text("time"), role=text("role"), episode=None if episode is None else int(number("episode", 0)),
        provider=text("provider"), model=text("model"), kind=text("kind", "structured"),  # type: ignore[arg-type]
        method=optional_text("method"), tokens_in=int(number("tokens_in", 0)), tokens_out=int(number("tokens_out", 0)),
        estimated=bool(data.get("estimated", True)), latency_s=number("latency_s", 0.0),
        cost_usd=None if cost is None else number("cost_usd", 0.0), attempts=int(number("attempts", 1)),
        retries=int(number("retries", 0)), outcome=text("outcome", "ok"),  # type: ignore[arg-type]
        prompt=optional_text("prompt"), error=optional_text("error"), cached_in=int(number("cached_in", 0)))


# The logs of this process with a file: a reader of that file first waits for their lines still being written.
_LIVE: weakref.WeakSet[UsageLog] = weakref.WeakSet()


def _flush_writers_of(path: Path) -> None:
    for log in list(_LIVE):
        if log._pending and log.path is not None and (log.path == path or log.path.resolve() == path.resolve()):
            log.flush()


def read_usage(path: Path) -> list[UsageRecord]:
    """The records of a usage.jsonl file, in order. A torn last line (crash mid-write) and lines that are
    not a record are skipped; a field a line lacks reads as unknown (cost, episode, method), empty (names)
    or its usual value (one attempt, no retries, outcome ok, tokens estimated). Lines this process has appended
    (on an event loop, written by the log's thread) are in the file before it is read."""
    _flush_writers_of(path)
    records: list[UsageRecord] = []
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if isinstance(data, dict):
                records.append(_record(data))
        except (ValueError, TypeError):  # JSONDecodeError is a ValueError
            continue
    return records


def response_usage(msg: Any) -> Any:
    """A response's usage_metadata, with DeepSeek's `prompt_cache_hit_tokens` (which langchain-openai does
    not read; it reads OpenAI's `prompt_tokens_details.cached_tokens`) as the cache reads."""
    usage = getattr(msg, "usage_metadata", None)
    raw = ((getattr(msg, "response_metadata", None) or {}).get("token_usage") or {})
    hit = raw.get("prompt_cache_hit_tokens") if isinstance(raw, dict) else None
    if usage and hit and not cached_tokens(usage):
        usage = {**usage, "input_token_details": {**(usage.get("input_token_details") or {}), "cache_read": int(hit)}}
    return usage


def cached_tokens(usage: Any) -> int:
    """Cached prompt tokens in a usage_metadata dict (0 when the server reported none)."""
    details = usage.get("input_token_details") if usage else None
    return int((details or {}).get("cache_read") or 0)
