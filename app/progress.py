"""Progress of a run: a live rich table on a terminal, plain log lines otherwise.

Shows episodes done / total, the current step of each episode in flight, tokens, cost, elapsed time
and an ETA from this run's pace. Model text never reaches this display; only our own labels do.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.live import Live
    from rich.table import Table

    from cliffhanger.agents.llm.usage import UsageLog


PLAIN_TOKEN_EVERY_S = 10.0


class Progress:
    def __init__(self, total: int, done: int, usage: UsageLog, *, live: bool | None = None) -> None:
        self.total, self.done_at_start, self.usage = total, done, usage
        self.done = done
        self.steps: dict[str, str] = {}
        self.tokens: dict[str, str] = {}  # a long model call's tokens so far, shown beside its step
        self._printed_tokens: dict[str, float] = {}
        self.started = time.monotonic()
        self.live_mode = sys.stdout.isatty() if live is None else live
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.live_mode:
            from rich.live import Live

            self._live = Live(self._render(), refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)

    def event(self, kind: str, episode: int | None, detail: str) -> None:
        key = f"ep {episode}" if episode else "season"
        if kind == "tokens":
            self._tokens(key, detail)
            return
        self.tokens.pop(key, None)
        if kind == "accepted":
            self.done += 1
            self.steps.pop(key, None)
            line = f"{key}: accepted ({detail})"
        else:
            self.steps[key] = detail
            line = f"{key}: {detail}"
        if self._live is not None:
            self._live.update(self._render())
        else:
            print(f"[{self._elapsed()}] {line} | {self._stats()}", flush=True)

    def _tokens(self, key: str, detail: str) -> None:
        """Tokens arriving in a long call: the live table shows them at once, plain lines every 10 s."""
        self.tokens[key] = detail
        if self._live is not None:
            self._live.update(self._render())
            return
        now = time.monotonic()
        if now - self._printed_tokens.get(key, 0.0) >= PLAIN_TOKEN_EVERY_S:
            self._printed_tokens[key] = now
            print(f"[{self._elapsed()}] {key}: {self.steps.get(key, 'model')} ... {detail} | {self._stats()}", flush=True)

    def _elapsed(self) -> str:
        s = int(time.monotonic() - self.started)
        return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"

    def _eta(self) -> str:
        made = self.done - self.done_at_start
        if made <= 0 or self.done >= self.total:
            return "-"
        per = (time.monotonic() - self.started) / made
        s = int(per * (self.total - self.done))
        return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"

    def _stats(self) -> str:
        t = self.usage.totals()
        return (f"{self.done}/{self.total} episodes, {t.tokens:,} tokens, "
                f"${t.cost_usd:.4f}, elapsed {self._elapsed()}, ETA {self._eta()}")

    def _render(self) -> Table:
        from rich.table import Table

        table = Table(title=self._stats(), title_justify="left")
        table.add_column("episode")
        table.add_column("step")
        for key, step in sorted(self.steps.items()):
            table.add_row(key, f"{step} ... {self.tokens[key]}" if key in self.tokens else step)
        return table
