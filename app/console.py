"""Terminal output. Text that came from a model or an endpoint is wrapped in `rich.text.Text`, so
markup in it (`[bold]`, `[link=...]`) is shown, never interpreted; escape codes are stripped."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from cliffhanger.agents.llm.doctor import DoctorReport

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]|\x1b\[[0-9;?]*[ -/]*[@-~]")


@functools.cache
def console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


@functools.cache
def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def untrusted(text: object, style: str = "") -> Text:
    """Model or network text as a rich Text: markup literal, control characters removed."""
    from rich.text import Text

    return Text(_CONTROL.sub("", str(text)), style=style)


_STYLE = {"ok": "green", "failed": "red", "warning": "yellow", "skipped": "dim"}


def print_doctor(report: DoctorReport) -> None:
    from rich.table import Table

    out = console()
    table = Table(title=untrusted(f"{report.provider} · {report.model} · {report.base_url}"), title_justify="left")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    table.add_column("latency", justify="right")
    for p in report.probes:
        latency = f"{p.latency_ms:.0f} ms" if p.latency_ms is not None else ""
        table.add_row(p.name, untrusted(p.status, _STYLE.get(p.status, "")), untrusted(p.detail), latency)
    out.print(table)
    if report.recommendation:
        out.print(untrusted("recommendation: " + report.recommendation), soft_wrap=True)
    out.print(untrusted(("ok: " if report.ok else "not usable: ") + report.verdict,
                        "bold green" if report.ok else "bold red"), soft_wrap=True)
