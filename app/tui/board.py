"""The season board: one row per episode with its status, paywall and free markers, cliffhanger kind,
critic score, open continuity findings, arc audit findings and shot count; above the table, the season curve
as two sparklines (the planned cliffhanger strength, the critic's cliffhanger pull), refreshed with the rows.

Rows update in place (the cursor stays where the writer left it); Enter or a click opens an episode. The
arc audit's findings on the highlighted row show on a line under the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable, Sparkline, Static

from cliffhanger.app.console import untrusted

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cliffhanger.agents.season.artifacts import SeasonSpec
    from cliffhanger.agents.season.curve import SeasonCurve
    from cliffhanger.agents.season.report import EpisodeLine

COLUMNS = (("ep", "ep"), ("status", "status"), ("marker", "$"), ("cliffhanger", "cliffhanger"), ("score", "score"),
           ("findings", "open"), ("arc", "arc"), ("shots", "shots"), ("logline", "logline"))
WIDTHS = {"ep": 3, "status": 9, "marker": 7, "cliffhanger": 22, "score": 5, "findings": 4, "arc": 3, "shots": 5}
# The sparklines above the table: (CurvePoint attribute, label); 0 where a value is unknown (not planned, not
# drafted), so every episode keeps its place along the line.
CURVE_ROWS = (("strength", "plan strength"), ("cliffhanger_pull", "critic pull"))
STATUS_STYLE = {"planned": "dim", "drafting": "yellow", "in review": "cyan", "accepted": "green"}


def _marker(line: EpisodeLine, spec: SeasonSpec | None) -> Text:
    if line.paywall:
        return Text("paywall", style="bold red")
    if spec is not None and spec.is_paywall_cliffhanger(line.episode):
        return Text("hook→$", style="red")
    if spec is not None and spec.paywall.mode == "paywall" and spec.is_free(line.episode):
        return Text("free", style="green")
    return Text("")


def row_cells(line: EpisodeLine, spec: SeasonSpec | None, live: str | None = None,
              arc: Sequence[str] = ()) -> tuple[Text, ...]:
    """The board cells of one `EpisodeLine`; `live` is a status a run event announced before the disk shows it,
    `arc` the arc audit's findings on the row (shown as "N!")."""
    status = live if live and line.status != "accepted" else str(line.status)
    return (
        Text(str(line.episode), justify="right"),
        Text(status, style=STATUS_STYLE.get(status, "")),
        _marker(line, spec),
        untrusted(line.cliffhanger or ""),
        Text(f"{line.overall:.1f}" if line.overall is not None else "", justify="right"),
        Text(str(line.open_findings) if line.open_findings else "", style="red" if line.open_findings else "",
             justify="right"),
        Text(f"{len(arc)}!" if arc else "", style="bold yellow", justify="right"),
        Text(str(line.shots) if line.shots else "", justify="right"),
        untrusted(line.title or ""),
    )


class BoardTable(DataTable[Text]):
    def on_click(self, event: events.Click) -> None:
        # DataTable selects only on a second click of the highlighted row; a board row opens on one click.
        row = event.style.meta.get("row") if event.style else None
        if isinstance(row, int) and 0 <= row < self.row_count:
            key = self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
            if key:
                self.post_message(BoardView.Open(int(key)))


class BoardView(Vertical):
    """The board. Posts `BoardView.Open(episode)` when the writer opens a row."""

    class Open(Message):
        def __init__(self, episode: int) -> None:
            super().__init__()
            self.episode = episode

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cells: dict[int, tuple[str, ...]] = {}
        self.live: dict[int, str] = {}
        self.arc: dict[int, list[str]] = {}  # episode -> the arc audit's findings on its row

    def compose(self) -> ComposeResult:
        with Vertical(id="board-curve"):
            for key, label in CURVE_ROWS:
                with Horizontal(classes="curve-row"):
                    yield Static(label, classes="curve-label", markup=False)
                    yield Sparkline([], id=f"curve-{key}")
        yield BoardTable(id="board-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="board-detail", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(BoardTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key, width=WIDTHS.get(key))

    @property
    def table(self) -> BoardTable:
        return self.query_one(BoardTable)

    def show(self, lines: list[EpisodeLine], spec: SeasonSpec) -> None:
        """Bring the rows up to date with a `SeasonSummary.lines`; unchanged cells are left alone."""
        table = self.table
        self.arc = {ln.episode: list(ln.arc_findings) for ln in lines if ln.arc_findings}
        if len(lines) != table.row_count or any(str(ln.episode) not in table.rows for ln in lines):
            table.clear()
            self._cells.clear()
            for ln in lines:
                cells = row_cells(ln, spec, self.live.get(ln.episode), self.arc.get(ln.episode, ()))
                table.add_row(*cells, key=str(ln.episode))
                self._cells[ln.episode] = tuple(c.plain for c in cells)
            self.show_detail()
            return
        for ln in lines:
            if ln.status in ("accepted", self.live.get(ln.episode)):
                self.live.pop(ln.episode, None)  # the disk has caught up
            cells = row_cells(ln, spec, self.live.get(ln.episode), self.arc.get(ln.episode, ()))
            plain = tuple(c.plain for c in cells)
            old = self._cells.get(ln.episode)
            if plain == old:
                continue
            for (key, _), cell, before, now in zip(COLUMNS, cells, old or (), plain, strict=False):
                if before != now:
                    table.update_cell(str(ln.episode), key, cell, update_width=key == "logline")
            self._cells[ln.episode] = plain
        self.show_detail()

    def show_curve(self, curve: SeasonCurve | None) -> None:
        """Bring the sparklines up to date with the season curve; hidden when there is none."""
        self.query_one("#board-curve").display = curve is not None
        if curve is None:
            return
        for key, _ in CURVE_ROWS:
            data = [float(getattr(p, key) or 0) for p in curve.points]
            spark = self.query_one(f"#curve-{key}", Sparkline)
            if list(spark.data or []) != data:
                spark.data = data

    def curve_data(self) -> dict[str, list[float]]:
        """What each sparkline shows, by CurvePoint attribute."""
        return {key: list(self.query_one(f"#curve-{key}", Sparkline).data or []) for key, _ in CURVE_ROWS}

    def highlighted(self) -> int | None:
        """The episode of the row under the cursor."""
        table = self.table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return int(key) if key else None

    def show_detail(self) -> None:
        """The arc audit's findings on the highlighted row, one a line, under the table; hidden when none."""
        episode = self.highlighted()
        findings = self.arc.get(episode, []) if episode is not None else []
        detail = self.query_one("#board-detail", Static)
        detail.display = bool(findings)
        text = Text(f"ep {episode} arc audit:", style="bold yellow")
        for finding in findings:
            text.append("\n")
            text.append_text(untrusted(finding))
        detail.update(text if findings else Text(""))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.show_detail()

    def mark(self, episode: int, status: str) -> None:
        """Show a status before the disk says so (a run event arrived); accepted rows stay accepted."""
        old = self._cells.get(episode)
        if old is None or old[1] == status or (old[1] == "accepted" and status != "accepted"):
            return
        if status != "accepted":
            self.live[episode] = status
        self.table.update_cell(str(episode), "status", Text(status, style=STATUS_STYLE.get(status, "")))
        self._cells[episode] = (old[0], status, *old[2:])

    def statuses(self) -> dict[int, str]:
        """Episode -> the status shown on the board."""
        return {ep: cells[1] for ep, cells in self._cells.items()}

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(self.Open(int(event.row_key.value)))
