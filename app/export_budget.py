"""The video budget (`agents/season/video_budget.py`) for people: a table on the terminal, the same table as
plain text, JSON for scripts, and the season book's HTML section.

One target: a row per episode and a total row. Several (`--target all`): a row per target. Below either,
the prices used (with their source) and the reference images the shots need. Every cell is a number, a
target name or a bible id, but the HTML still escapes them all.
"""

from __future__ import annotations

import io
import json
from html import escape
from typing import TYPE_CHECKING

from cliffhanger.agents.season.video_budget import CONFIG_HINT, PRICES_AS_OF, SeasonBudget, TargetBudget, usd

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def _seconds(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _episodes_table(b: TargetBudget) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=f"Video budget: {b.target}", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("episode", "clips", "seconds", "cost USD", "ref images"):
        table.add_column(name, justify="right")
    for e in b.episodes:
        table.add_row(str(e.episode), str(e.clips), _seconds(e.seconds), usd(e.cost_usd), str(e.references))
    table.add_section()
    table.add_row("total", f"{b.clips:,}", _seconds(b.seconds), usd(b.cost_usd), "", style="bold")
    return table


def _targets_table(budget: SeasonBudget) -> Table:
    from rich import box
    from rich.table import Table

    eps = budget.episodes
    table = Table(title=f"Video budget: every target, episodes {eps[0]}-{eps[-1]} ({len(eps)} with shot lists)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("target")
    for name in ("clips", "seconds", "price", "cost USD", "jobs"):
        table.add_column(name, justify="left" if name == "price" else "right")
    for b in budget.targets:
        table.add_row(b.target, f"{b.clips:,}", _seconds(b.seconds), b.price.label() if b.price else "unknown",
                      usd(b.cost_usd), f"{b.jobs:,}")
    return table


def _notes(budget: SeasonBudget) -> list[str]:
    lines = [f"price {b.price_line()}" for b in budget.targets if len(budget.targets) == 1 or b.price is None]
    if len(budget.targets) == 1:
        b = budget.targets[0]
        lines.append(f"jobs: {b.jobs:,}, one per clip, as `--format jobs --target {b.target}` writes them")
    lines += [f"drift {w}" for b in budget.targets if (w := b.drift_line())]
    lines += [budget.references.line(),
              f"prices: list prices as of {PRICES_AS_OF} unless set with {CONFIG_HINT.format(target='TARGET')}"]
    return lines


def print_budget(budget: SeasonBudget, console: Console | None = None) -> None:
    """The budget as a table on `console` (default: stdout), then its notes."""
    from cliffhanger.app.console import console as stdout

    out = console or stdout()
    if not budget.episodes:
        out.print("no shot lists yet: the budget is counted from them", soft_wrap=True)
        return
    one = len(budget.targets) == 1
    out.print(_episodes_table(budget.targets[0]) if one else _targets_table(budget))
    for line in _notes(budget):
        out.print(line, soft_wrap=True, markup=False, highlight=False)


def budget_text(budget: SeasonBudget) -> str:
    """`print_budget`'s output as plain text, for a file."""
    from rich.console import Console

    buffer = io.StringIO()
    print_budget(budget, Console(file=buffer, width=120, color_system=None, highlight=False, force_terminal=False))
    return buffer.getvalue()


def budget_json(budget: SeasonBudget, missing: list[int]) -> str:
    """The budget as JSON (`SeasonBudget.as_dict`, plus the episodes without a shot list)."""
    return json.dumps({**budget.as_dict(), "missing": missing}, ensure_ascii=False, indent=2) + "\n"


def budget_html(budget: SeasonBudget) -> str:
    """The season book's "Video budget" section: a row per target, then each episode's clips, seconds and cost
    per target folded in a `<details>`."""
    e = escape
    out = ['<section id="video-budget"><h2>Video budget</h2>']
    if not budget.episodes:
        return out[0] + '<p class="missing">No shot lists yet: the budget is counted from them.</p></section>'
    head = "".join(f"<th>{h}</th>" for h in ("Target", "Clips", "Seconds", "Price", "Cost (USD)", "Jobs"))
    rows = "".join(f"<tr><td>{e(b.target)}</td><td>{b.clips:,}</td><td>{_seconds(b.seconds)}</td>"
                   f"<td>{e(b.price.label() if b.price else 'unknown')}</td><td>{usd(b.cost_usd)}</td>"
                   f"<td>{b.jobs:,}</td></tr>" for b in budget.targets)
    out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    refs = budget.references
    out.append(f"<p>{e(refs.line()[0].upper() + refs.line()[1:])}: "
               f"{e(', '.join((*refs.characters, *refs.locations)) or '-')}. Prices: list prices as of "
               f"{PRICES_AS_OF} unless set with {e(CONFIG_HINT.format(target='TARGET'))}.</p>")
    per_head = "<th>Ep</th><th>Clips</th>" + "".join(f"<th>{e(b.target)} s / USD</th>" for b in budget.targets)
    per_rows = []
    for i, ep in enumerate(budget.episodes):
        cells = "".join(f"<td>{_seconds(b.episodes[i].seconds)} / {usd(b.episodes[i].cost_usd)}</td>"
                        for b in budget.targets)
        per_rows.append(f"<tr><td>{ep}</td><td>{budget.targets[0].episodes[i].clips}</td>{cells}</tr>")
    out.append(f"<details><summary>per episode</summary><table><thead><tr>{per_head}</tr></thead><tbody>"
               f"{''.join(per_rows)}</tbody></table></details></section>")
    return "\n".join(out)
