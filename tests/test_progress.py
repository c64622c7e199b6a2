"""The progress display of a run: tokens arriving during a long model call are shown, not spammed."""

from __future__ import annotations

import io

from rich.console import Console

from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.app import progress as progress_mod
from cliffhanger.app.progress import Progress


def test_plain_lines_show_tokens_beside_the_step_at_most_every_ten_seconds(capsys, monkeypatch) -> None:
    now = [100.0]
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: now[0])
    with Progress(3, 0, UsageLog(), live=False) as p:
        p.event("step", 2, "writer: draft")
        p.event("tokens", 2, "writer: 12 tokens, 20.0 tok/s")
        now[0] += 3
        p.event("tokens", 2, "writer: 70 tokens, 20.0 tok/s")  # within 10 s of the last line: not printed
        now[0] += 8
        p.event("tokens", 2, "writer: 230 tokens, 21.0 tok/s")
        p.event("accepted", 2, "overall 7.0")
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split("] ", 1)[1].split(" | ")[0] for ln in lines] == [
        "ep 2: writer: draft",
        "ep 2: writer: draft ... writer: 12 tokens, 20.0 tok/s",
        "ep 2: writer: draft ... writer: 230 tokens, 21.0 tok/s",
        "ep 2: accepted (overall 7.0)",
    ]


def test_the_live_table_shows_tokens_until_the_next_step() -> None:
    p = Progress(3, 0, UsageLog(), live=False)
    p.event("step", 1, "critic")
    p.event("tokens", 1, "critic: 40 tokens, 18.0 tok/s")
    out = io.StringIO()
    Console(file=out, width=120).print(p._render())
    assert "critic ... critic: 40 tokens, 18.0 tok/s" in out.getvalue()
    p.event("step", 1, "showrunner: decision")
    out = io.StringIO()
    Console(file=out, width=120).print(p._render())
    assert "tokens" not in out.getvalue().split("\n", 1)[1]  # the title has a token total; rows do not
