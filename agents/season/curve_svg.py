"""The season curve as inline SVG: a string, no script, no external reference, sized by its viewBox so it
scales to any width (the HTML book lets a phone scroll it sideways rather than shrink it past reading).

Every piece of text, attribute or element, goes through `_esc`: XML-escaped (`&`, `<`, `>`, both quotes) and
stripped of the characters XML 1.0 cannot hold, so a title such as `<script>` or `[bold]` is shown as text
and the SVG stays well-formed. The root carries `data-episodes="N"`, and each episode is one
`<g class="ep" data-ep="K">` with a `<title>` tooltip.
"""

from __future__ import annotations

import re
from html import escape

from cliffhanger.agents.season.curve import SeasonCurve
from cliffhanger.agents.season.curve_draw import (
    Circle,
    Drawing,
    Group,
    Item,
    Line,
    Polygon,
    Rect,
    Text,
    draw_curve,
)

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_ANCHOR = {"start": "start", "middle": "middle", "end": "end"}


def _esc(value: object) -> str:
    return escape(_NOT_XML.sub("", str(value)), quote=True)


def _n(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _points(points: tuple[tuple[float, float], ...]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _item(item: Item, out: list[str]) -> None:
    if isinstance(item, Group):
        data = "".join(f' data-{_esc(k)}="{_esc(v)}"' for k, v in item.data.items())
        out.append(f'<g class="{_esc(item.cls)}"{data}>')
        if item.title:
            out.append(f"<title>{_esc(item.title)}</title>")
        for child in item.items:
            _item(child, out)
        out.append("</g>")
    elif isinstance(item, Rect):
        opacity = f' fill-opacity="{_n(item.opacity)}"' if item.opacity != 1.0 else ""
        out.append(f'<rect x="{_n(item.x)}" y="{_n(item.y)}" width="{_n(item.w)}" height="{_n(item.h)}" '
                   f'fill="{_esc(item.fill)}"{opacity}/>')
    elif isinstance(item, Line):
        dash = ' stroke-dasharray="4 3"' if item.dashed else ""
        out.append(f'<polyline points="{_points(item.points)}" fill="none" stroke="{_esc(item.stroke)}" '
                   f'stroke-width="{_n(item.width)}" stroke-linejoin="round"{dash}/>')
    elif isinstance(item, Polygon):
        out.append(f'<polygon points="{_points(item.points)}" fill="{_esc(item.fill)}"/>')
    elif isinstance(item, Circle):
        stroke = f' stroke="{_esc(item.stroke)}" stroke-width="1.2"' if item.stroke else ""
        out.append(f'<circle cx="{_n(item.x)}" cy="{_n(item.y)}" r="{_n(item.r)}" fill="{_esc(item.fill)}"{stroke}/>')
    elif isinstance(item, Text):
        weight = ' font-weight="700"' if item.bold else ""
        out.append(f'<text x="{_n(item.x)}" y="{_n(item.y)}" font-size="{_n(item.size)}" fill="{_esc(item.fill)}" '
                   f'text-anchor="{_ANCHOR.get(item.anchor, "start")}"{weight}>{_esc(item.text)}</text>')


def drawing_svg(drawing: Drawing, *, label: str = "season curve") -> str:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="season-curve" viewBox="0 0 {_n(drawing.width)} '
           f'{_n(drawing.height)}" data-episodes="{drawing.episodes}" role="img" aria-label="{_esc(label)}" '
           'font-family="system-ui,-apple-system,&quot;PingFang SC&quot;,&quot;Noto Sans CJK SC&quot;,sans-serif" '
           'preserveAspectRatio="xMinYMin meet">',
           f'<rect width="{_n(drawing.width)}" height="{_n(drawing.height)}" fill="#ffffff"/>']
    for item in drawing.items:
        _item(item, out)
    out.append("</svg>")
    return "\n".join(out)


def curve_svg(curve: SeasonCurve) -> str:
    """The curve as one `<svg>` element (inline in HTML, or a file of its own)."""
    return drawing_svg(draw_curve(curve), label=f"season curve of {curve.title}, {curve.episodes} episodes")
