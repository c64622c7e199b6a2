"""The season curve laid out once, as shapes on a fixed canvas, for every picture of it: `curve_svg` writes
the shapes as SVG (the HTML book), `curve_png` paints them with Pillow (beside report.md).

From the top: title and legend; antagonist tenures as bands, each with its downfall marked; the plot (payoff
intensity as columns, the planned cliffhanger strength and the critic's hook, payoff and cliffhanger-pull
scores as lines on one scale: strength 1-5 on the left, scores 1-10 on the right), with the 卡点集 and
付费首集 columns shaded; then lanes of markers: payoff kinds, reveals, plants joined to their payoffs, arc
audit findings; the episode axis; the payoff kinds' legend. Every episode is one `Group` (class "ep") holding
its column, its markers and a title that sums it up, so a picture has one element per episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cliffhanger.agents.season.curve import SCORE_MAX, STRENGTH_MAX, CurvePoint, SeasonCurve

WIDTH = 1000.0
LEFT, RIGHT = 46.0, 46.0
FONT = 11.0
INK, GRID, MUTED = "#222222", "#dddddd", "#777777"
PLAN, HOOK, PAYOFF, PULL = "#555555", "#2e86de", "#27ae60", "#c0392b"
BAR = "#cfe0f5"
CUT, FIRST_PAID = "#f39c12", "#c0392b"
SECRET, CARD, UNKNOWN = "#8e44ad", "#16a085", "#7f8c8d"
PLANT, FINDING, DOWNFALL = "#a0522d", "#e67e22", "#7b241c"
TIER = {1: "#fadbd8", 2: "#f5b7b1", 3: "#ec7063"}
KIND_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                "#17becf")
KIND_SHAPES = ("circle", "square", "diamond", "triangle")
CUT_EN, FIRST_PAID_EN = "last free episode", "first paid episode"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    opacity: float = 1.0


@dataclass(frozen=True)
class Line:
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float = 1.0
    dashed: bool = False


@dataclass(frozen=True)
class Polygon:
    points: tuple[tuple[float, float], ...]
    fill: str


@dataclass(frozen=True)
class Circle:
    x: float
    y: float
    r: float
    fill: str
    stroke: str | None = None


@dataclass(frozen=True)
class Text:
    """`plain`: an ascii stand-in for a picture whose font may lack the text's glyphs (a CJK title)."""

    x: float
    y: float
    text: str
    size: float = FONT
    fill: str = INK
    anchor: str = "start"  # start / middle / end
    bold: bool = False
    plain: str | None = None


@dataclass
class Group:
    """Shapes that belong together; `title` is the tooltip a browser shows (not painted)."""

    cls: str
    items: list[Item] = field(default_factory=list)
    title: str = ""
    data: dict[str, str] = field(default_factory=dict)


Item = Rect | Line | Polygon | Circle | Text | Group


@dataclass
class Drawing:
    width: float
    height: float
    items: list[Item]
    episodes: int


def text_width(text: str, size: float = FONT) -> float:
    """About how wide `text` is drawn: wide (CJK) characters a full em, others a bit over half."""
    return sum(1.0 if ord(c) >= 0x2E80 else 0.62 for c in text) * size


def marker(shape: str, x: float, y: float, r: float, fill: str) -> Item:
    if shape == "circle":
        return Circle(x, y, r, fill)
    if shape == "square":
        return Polygon(((x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)), fill)
    if shape == "diamond":
        return Polygon(((x, y - r * 1.3), (x + r * 1.3, y), (x, y + r * 1.3), (x - r * 1.3, y)), fill)
    if shape == "down":
        return Polygon(((x - r, y - r), (x + r, y - r), (x, y + r)), fill)
    return Polygon(((x, y - r * 1.2), (x + r * 1.2, y + r), (x - r * 1.2, y + r)), fill)  # triangle


def _lanes(spans: list[tuple[int, int]]) -> list[int]:
    """A lane for each (first, last) span so that spans in one lane do not overlap (greedy, in order)."""
    ends: list[int] = []
    out = []
    for first, last in spans:
        lane = next((i for i, end in enumerate(ends) if end < first), len(ends))
        if lane == len(ends):
            ends.append(last)
        else:
            ends[lane] = last
        out.append(lane)
    return out


def _segments(points: list[tuple[float, float] | None]) -> list[tuple[tuple[float, float], ...]]:
    """Runs of known values; an unknown one breaks the line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for p in points:
        if p is None:
            runs.append([])
        else:
            runs[-1].append(p)
    return [tuple(r) for r in runs if r]


def _episode_title(p: CurvePoint) -> str:
    parts = [f"ep {p.episode} · {p.access_label}"]
    if p.logline:
        parts.append(p.logline)
    if p.strength is not None:
        plan = f"cliffhanger {p.cliffhanger_kind} {p.strength}/5"
        if p.payoff_kind or p.intensity:
            plan += f"; payoff {p.payoff_kind or '?'} ({p.intensity or 'intensity unknown'})"
        parts.append(plan)
    if p.hook is not None:
        parts.append(f"critic: hook {p.hook}, payoff {p.payoff}, cliffhanger pull {p.cliffhanger_pull}"
                     + (f", overall {p.overall:.1f}" if p.overall is not None else ""))
    elif p.drafted:
        parts.append("drafted (no critic scores)")
    if p.findings:
        parts.append("arc check: " + ", ".join(p.findings))
    return "\n".join(parts)


class _Layout:
    def __init__(self, curve: SeasonCurve) -> None:
        self.curve = curve
        self.n = max(curve.episodes, 1)
        self.step = (WIDTH - LEFT - RIGHT) / self.n
        self.back: list[Item] = []  # under the episodes' groups: shaded columns, grid
        self.items: list[Item] = []  # over them: lines, bands, reveals, plants, text
        self.groups = [Group("ep", title=_episode_title(p), data={"ep": str(p.episode)}) for p in curve.points]
        self.y = 0.0

    def x(self, episode: int) -> float:
        return LEFT + (episode - 0.5) * self.step

    def legend(self, entries: list[tuple[str, str, str, str | None]]) -> None:
        """Entries (swatch kind, colour, label, its ascii stand-in) laid out left to right, wrapping."""
        x, self.y = LEFT, self.y + 16
        for kind, colour, label, plain in entries:
            w = 22 + max(text_width(label), text_width(plain or "")) + 12
            if x + w > WIDTH - RIGHT and x > LEFT:
                x, self.y = LEFT, self.y + 16
            cy = self.y - 4
            if kind == "bar":
                self.items.append(Rect(x, cy - 5, 14, 10, colour))
            elif kind == "column":
                self.items.append(Rect(x + 4, cy - 7, 6, 14, colour, 0.35))
            elif kind == "line":
                self.items.append(Line(((x, cy), (x + 16, cy)), colour, 2.0))
            else:
                self.items.append(marker(kind, x + 7, cy, 4.0, colour))
            self.items.append(Text(x + 20, self.y, label, plain=plain))
            x += w

    def bands(self) -> None:
        tenures = self.curve.tenures
        if not tenures:
            return
        lanes = _lanes([(t.first, t.last) for t in tenures])
        top = self.y + 8
        for t, lane in zip(tenures, lanes, strict=True):
            y = top + lane * 18
            x0, x1 = self.x(t.first) - self.step / 2, self.x(t.last) + self.step / 2
            tip = f"antagonist {t.name} ({t.character}), ep {t.first}-{t.last}"
            if t.downfall_episode is not None:
                tip += f"; downfall ep {t.downfall_episode}: {t.downfall}"
            band = Group("tenure", [Rect(x0, y, x1 - x0, 15, TIER.get(t.tier or 0, "#e8e8e8"))], tip)
            label = t.name if t.name == t.character else f"{t.name} ({t.character})"
            band.items.append(Text(x0 + 3, y + 11.5, label, size=10, plain=t.character))
            if t.downfall_episode is not None and 1 <= t.downfall_episode <= self.curve.episodes:
                band.items.append(marker("down", self.x(t.downfall_episode), y + 7.5, 5.0, DOWNFALL))
            self.items.append(band)
        self.y = top + (max(lanes) + 1) * 18

    def plot(self, height: float = 190.0) -> None:
        top, bottom = self.y + 10, self.y + 10 + height
        for ep in self.curve.cuts:
            self.back.append(Rect(self.x(ep) - self.step / 2, top, self.step, height, CUT, 0.25))
        for ep in self.curve.first_paid:
            self.back.append(Rect(self.x(ep) - self.step / 2, top, self.step, height, FIRST_PAID, 0.18))
        for i in range(STRENGTH_MAX + 1):
            y = bottom - height * i / STRENGTH_MAX
            self.back.append(Line(((LEFT, y), (WIDTH - RIGHT, y)), GRID))
            if i:
                self.items.append(Text(LEFT - 6, y + 4, str(i), size=10, fill=PLAN, anchor="end"))
                self.items.append(Text(WIDTH - RIGHT + 6, y + 4, str(i * SCORE_MAX // STRENGTH_MAX), size=10,
                                       fill=PULL))
        self.items.append(Text(LEFT - 6, top - 4, "plan", size=10, fill=PLAN, anchor="end"))
        self.items.append(Text(WIDTH - RIGHT + 6, top - 4, "critic", size=10, fill=PULL))
        for p, g in zip(self.curve.points, self.groups, strict=True):
            g.items.append(Rect(self.x(p.episode) - self.step / 2, top, self.step, height, "#000000", 0.0))
            if p.intensity_level:  # on the left scale: small 1, medium 2, big 3
                h = height * p.intensity_level / STRENGTH_MAX
                g.items.append(Rect(self.x(p.episode) - self.step * 0.32, bottom - h, self.step * 0.64, h, BAR))

        def series(values: list[float | None], scale: float, colour: str, width: float) -> None:
            pts = [None if v is None else (self.x(i), bottom - height * v / scale) for i, v in enumerate(values, 1)]
            for run in _segments(pts):
                if len(run) > 1:
                    self.items.append(Line(run, colour, width))
                self.items += [Circle(px, py, min(2.6, self.step / 3), colour) for px, py in run]

        pts = self.curve.points
        series([p.strength for p in pts], STRENGTH_MAX, PLAN, 2.0)
        for attr, colour in (("hook", HOOK), ("payoff", PAYOFF), ("cliffhanger_pull", PULL)):
            series([getattr(p, attr) for p in pts], SCORE_MAX, colour, 1.6)
        self.y = bottom

    def lanes(self) -> None:
        kinds = {k: i for i, k in enumerate(self.curve.payoff_kinds())}
        r = max(2.0, min(4.5, self.step / 2.6))
        y = self.y + 14
        self.items.append(Text(LEFT - 6, y + 4, "payoff", size=9, fill=MUTED, anchor="end"))
        for p, g in zip(self.curve.points, self.groups, strict=True):
            if p.payoff_kind in kinds:
                i = kinds[p.payoff_kind]
                g.items.append(marker(KIND_SHAPES[i // len(KIND_COLOURS) % len(KIND_SHAPES)], self.x(p.episode), y, r,
                                      KIND_COLOURS[i % len(KIND_COLOURS)]))
        y += 16
        self.items.append(Text(LEFT - 6, y + 4, "reveal", size=9, fill=MUTED, anchor="end"))
        stacked: dict[int, int] = {}
        for rv in self.curve.reveals:
            k = stacked[rv.episode] = stacked.get(rv.episode, -1) + 1
            colour = {"secret": SECRET, "card": CARD}.get(rv.kind, UNKNOWN)
            tip = f"ep {rv.episode}: {rv.kind} {rv.id} revealed" + (f" to {rv.to}" if rv.to else "")
            self.items.append(Group("reveal", [marker("diamond", self.x(rv.episode), y + k * 5, r, colour)], tip))
        y += 14 + 5 * max(stacked.values(), default=0)
        if self.curve.plants:
            self.plants(y)
            y += 50
        self.items.append(Text(LEFT - 6, y + 4, "check", size=9, fill=MUTED, anchor="end"))
        for p, g in zip(self.curve.points, self.groups, strict=True):
            if p.findings:
                g.items.append(marker("triangle", self.x(p.episode), y, r + 0.5, FINDING))
        self.y = y + 10

    def plants(self, y: float) -> None:
        base = y + 32
        self.items.append(Text(LEFT - 6, base, "plant", size=9, fill=MUTED, anchor="end"))
        for pl in self.curve.plants:
            a = self.x(pl.planted) if pl.planted is not None else LEFT
            b = self.x(pl.paid) if pl.paid is not None else WIDTH - RIGHT
            lift = min(28.0, 8 + abs(b - a) / 12)
            arc = tuple((a + (b - a) * t / 16, base - lift * 4 * (t / 16) * (1 - t / 16)) for t in range(17))
            tip = (f"plant {pl.id}: planted ep {pl.planted or '?'}, paid off ep {pl.paid or '?'}"
                   + (f" ({pl.what})" if pl.what else ""))
            g = Group("plant", [Line(arc, PLANT, 1.4, dashed=pl.planted is None or pl.paid is None)], tip)
            if pl.planted is not None:
                g.items.append(Circle(a, base, 3.0, "#ffffff", PLANT))
            if pl.paid is not None:
                g.items.append(Circle(b, base, 3.0, PLANT))
            self.items.append(g)

    def axis(self) -> None:
        n = self.curve.episodes
        every = 1 if n <= 15 else 5 if n <= 60 else 10
        y = self.y + 6
        self.items.append(Line(((LEFT, y), (WIDTH - RIGHT, y)), MUTED))
        for ep in [1, *range(every, n + 1, every)] if every > 1 else range(1, n + 1):
            self.items.append(Line(((self.x(ep), y), (self.x(ep), y + 4)), MUTED))
            self.items.append(Text(self.x(ep), y + 16, str(ep), size=10, fill=MUTED, anchor="middle"))
        self.items.append(Text(WIDTH - RIGHT, y + 30, "episode", size=10, fill=MUTED, anchor="end"))
        self.y = y + 30


def _money_label(curve: SeasonCurve, kind: str, english: str) -> tuple[str, str, str, str | None]:
    """The legend entry of the 卡点集 / 付费首集 columns, named in the season's language."""
    label = next((p.access_label for p in curve.points if p.access == kind), "")
    colour = CUT if kind == "cut" else FIRST_PAID
    return ("column", colour, label, english) if curve.language == "zh" and label else ("column", colour, english, None)


def draw_curve(curve: SeasonCurve) -> Drawing:
    """The shapes of the curve's picture, on a canvas WIDTH wide and as tall as it needs."""
    lay = _Layout(curve)
    title = f"Season curve: {curve.title}"
    status = f"{curve.drafted}/{curve.episodes} drafted" + ("" if curve.planned else " · no arc planned yet")
    lay.y = 22
    lay.items += [Text(LEFT, lay.y, title, size=15, bold=True, plain="Season curve"),
                  Text(WIDTH - RIGHT, lay.y, status, size=11, fill=MUTED, anchor="end")]
    entries: list[tuple[str, str, str, str | None]] = [
        ("bar", BAR, "payoff intensity", None), ("line", PLAN, "cliffhanger strength (plan)", None),
        ("line", HOOK, "hook", None), ("line", PAYOFF, "payoff", None), ("line", PULL, "cliffhanger pull", None)]
    if curve.cuts:
        entries.append(_money_label(curve, "cut", CUT_EN))
    if curve.first_paid:
        entries.append(_money_label(curve, "first_paid", FIRST_PAID_EN))
    entries += [("diamond", SECRET, "secret revealed", None), ("diamond", CARD, "card revealed", None),
                ("down", DOWNFALL, "downfall", None), ("triangle", FINDING, "arc check finding", None)]
    lay.legend(entries)
    lay.y += 4
    lay.bands()
    lay.plot()
    lay.lanes()
    lay.axis()
    kinds = curve.payoff_kinds()
    if kinds:
        lay.legend([(KIND_SHAPES[i // len(KIND_COLOURS) % len(KIND_SHAPES)], KIND_COLOURS[i % len(KIND_COLOURS)], k,
                     None) for i, k in enumerate(kinds)])
    return Drawing(WIDTH, lay.y + 12, [*lay.back, *lay.groups, *lay.items], curve.episodes)
