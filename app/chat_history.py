"""The conversation of one season in `cliffhanger chat`: chat.jsonl, one JSON line per turn."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HISTORY_FOR_MODEL = 12


@dataclass(frozen=True)
class ChatTurn:
    role: str   # writer, showrunner, system
    text: str
    time: str


class ChatHistory:
    """The turns in `path` (damaged lines skipped) and those appended since. With `persist` off (a
    season another process holds) new turns are kept in memory only and the folder is not written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.persist = True
        self._unsaved: list[ChatTurn] = []

    def turns(self) -> list[ChatTurn]:
        return [*self._saved(), *self._unsaved]

    def _saved(self) -> list[ChatTurn]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                d = json.loads(line)
                out.append(ChatTurn(str(d["role"]), str(d["text"]), str(d.get("time", ""))))
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def append(self, role: str, text: str) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if not self.persist:
            self._unsaved.append(ChatTurn(role, text, now))
            return
        line = json.dumps({"time": now, "role": role, "text": text}, ensure_ascii=False) + "\n"
        # One write on an O_APPEND descriptor: a crash leaves whole lines or a torn last line, never a mix.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)  # the umask decides
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def for_model(self, limit: int = HISTORY_FOR_MODEL) -> str:
        """The last `limit` turns of the writer and the showrunner, as the showrunner's prompt takes them."""
        return "\n".join(f"{t.role}: {t.text[:600]}" for t in self.turns()[-limit:] if t.role != "system")
