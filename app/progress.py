"""Progress of a run: a live rich table on a terminal, plain log lines otherwise (`SeasonsProgress`: several
seasons side by side, one row or `[season]` line each).

Shows episodes done / total, the current step of each episode in flight, tokens, cost, elapsed time
and an ETA from this run's pace. Model text never reaches this display; only our own labels do.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from rich.live import Live
    from rich.table import Table

    from cliffhanger.agents.llm.usage import UsageLog


PLAIN_TOKEN_EVERY_S = 10.0


class _LiveTable:
    """A rich live table on a terminal (`live_mode`), refreshed from `_render`; plain lines otherwise."""

    live_mode: bool
    _live: Live | None

    def _render(self) -> Table:
        raise NotImplementedError

    def __enter__(self) -> Self:
        if self.live_mode:
            from rich.live import Live

            self._live = Live(self._render(), refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)


class Progress(_LiveTable):
    def __init__(self, total: int, done: int, usage: UsageLog, *, live: bool | None = None) -> None:
        self.total, self.done_at_start, self.usage = total, done, usage
        self.done = done
        self.steps: dict[str, str] = {}
        self.tokens: dict[str, str] = {}  # a long model call's tokens so far, shown beside its step
        self._printed_tokens: dict[str, float] = {}
        self.started = time.monotonic()
        self.live_mode = sys.stdout.isatty() if live is None else live
        self._live: Live | None = None


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
        t = self.usage.running_totals()
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


class _Row:
    """One season's line in `SeasonsProgress`."""

    def __init__(self, label: str, title: str, total: int, done: int, usage: UsageLog) -> None:
        self.label, self.title, self.total, self.done, self.usage = label, title, total, done, usage
        self.step = self.base = "waiting"  # base: the last step; step: it and a long call's tokens so far
        self.printed_tokens = 0.0


class SeasonsProgress(_LiveTable):
    """Several seasons drafted side by side: a live table with one row per season on a terminal (title and
    folder, episodes accepted of total, current step, calls, cost), plain `[season] ...` lines otherwise."""

    def __init__(self, *, live: bool | None = None) -> None:
        self.rows: dict[str, _Row] = {}
        self.started = time.monotonic()
        self.live_mode = sys.stdout.isatty() if live is None else live
        self._live: Live | None = None

    def add(self, label: str, title: str, total: int, done: int, usage: UsageLog) -> Callable[[str, int | None, str], None]:
        """A row for the season `label`; returns the `emit` its run reports to."""
        from cliffhanger.agents.errors import one_line

        row = self.rows[label] = _Row(label, one_line(title, 60), total, done, usage)

        def event(kind: str, episode: int | None, detail: str) -> None:
            self._event(row, kind, episode, detail)

        return event

    def finish(self, label: str, outcome: str) -> None:
        """The season's run is over: its row says how (done, stopped, failed: ...)."""
        row = self.rows.get(label)
        if row is not None:
            row.step = row.base = outcome
            self._show(row, outcome)


    def _event(self, row: _Row, kind: str, episode: int | None, detail: str) -> None:
        key = f"ep {episode}" if episode else "season"
        if kind == "tokens":  # the live table shows them at once, plain lines every 10 s
            row.step = f"{row.base} ... {detail}"
            now = time.monotonic()
            if self._live is None and now - row.printed_tokens < PLAIN_TOKEN_EVERY_S:
                return
            row.printed_tokens = now
        else:
            if kind == "accepted":
                row.done += 1
            row.step = row.base = f"{key}: accepted ({detail})" if kind == "accepted" else f"{key}: {detail}"
        self._show(row, row.step)

    def _show(self, row: _Row, line: str) -> None:
        if self._live is not None:
            self._live.update(self._render())
        else:
            print(f"[{row.label}] {line} | {self._stats(row)}", flush=True)

    def _stats(self, row: _Row) -> str:
        t = row.usage.running_totals()
        s = int(time.monotonic() - self.started)
        return (f"{row.done}/{row.total} episodes, {t.calls} calls, ${t.cost_usd:.4f}, "
                f"elapsed {s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}")

    def _render(self) -> Table:
        from rich.table import Table
        from rich.text import Text

        s = int(time.monotonic() - self.started)
        table = Table(title=f"{len(self.rows)} seasons, elapsed {s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}",
                      title_justify="left")
        for name in ("season", "title", "episodes", "step", "calls", "cost"):
            table.add_column(name)
        for row in self.rows.values():
            t = row.usage.running_totals()
            table.add_row(Text(row.label), Text(row.title), f"{row.done}/{row.total}", Text(row.step),
                          str(t.calls), f"${t.cost_usd:.4f}")
        return table
