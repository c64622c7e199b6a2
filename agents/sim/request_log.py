"""The sim's request log: one JSON line per request, appended under a lock.

Records carry what a cost estimate or a benchmark needs (model, mode, tokens, latency, status,
fault) and never a header, so the API key cannot end up in the file. With `SimConfig(log_bodies=True)`
a record also carries the request's `messages` (as sent), the `schema` (the json_schema's or the
forced tool's name) it asked for and the tool and schema definitions as counted (`extra_prompt`): what
tests read to check what each role was given. `cached_tokens` (written when not 0) is what the sim's
prompt cache served.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()

FIELDS = ("time", "model", "mode", "stream", "prompt_tokens", "cached_tokens", "completion_tokens", "latency_ms",
          "status", "fault",
          "tokens_sent",  # of a stream, what went out before it ended or the client hung up
          "schema", "messages", "extra_prompt")  # with log_bodies only (extra_prompt: tool and schema definitions)
_OPTIONAL = frozenset({"tokens_sent", "schema", "messages", "extra_prompt"})  # written only when the record has them
_NONZERO = frozenset({"cached_tokens"})  # written only when not 0


def _lock_for(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.Lock())


class RequestLog:
    """Appends records to a JSONL file; servers in one process that share a file share its lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser().resolve()
        self._lock = _lock_for(self.path)

    def write(self, record: dict[str, Any]) -> None:
        line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        line.update({k: record.get(k) for k in FIELDS if k != "time" and (k not in _OPTIONAL or k in record)
                     and (k not in _NONZERO or record.get(k))})
        text = json.dumps(line, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(text)
