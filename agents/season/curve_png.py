"""The season curve as a PNG beside report.md, painted with Pillow from the same shapes as the SVG.

Pillow is imported only when a picture is painted. Without it (or if painting fails) the run goes on:
`write_curve_png` returns a one-line note for the report instead of raising. Pillow's default font has
no CJK glyphs; a CJK font found on the machine is used when there is one, else texts that need one are
drawn by their ascii stand-ins (`Text.plain`).
"""

from __future__ import annotations

import io
import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from cliffhanger.agents.season.store_io import atomic_write

if TYPE_CHECKING:
    from cliffhanger.agents.season.store import SeasonStore

log = logging.getLogger(__name__)
SCALE = 2  # painted at twice the size and scaled down: Pillow draws without anti-aliasing
CJK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
             "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/System/Library/Fonts/PingFang.ttc",
             "C:/Windows/Fonts/msyh.ttc")
NO_PILLOW = "the season curve picture needs Pillow: pip install 'pillow>=10.1'"


def _rgba(colour: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), round(255 * opacity)


@cache
def _font(size: int, cjk: bool) -> Any:
    from PIL import ImageFont

    if cjk:
        for path in CJK_FONTS:
            if Path(path).is_file():
                return ImageFont.truetype(path, size)
        return None
    return ImageFont.load_default(size=size)


def _paint(draw: Any, item: Item) -> None:
    s = SCALE
    if isinstance(item, Group):
        for child in item.items:
            _paint(draw, child)
    elif isinstance(item, Rect):
        if item.opacity > 0:
            draw.rectangle((item.x * s, item.y * s, (item.x + item.w) * s, (item.y + item.h) * s),
                           fill=_rgba(item.fill, item.opacity))
    elif isinstance(item, Line):
        pts = [(x * s, y * s) for x, y in item.points]
        if not item.dashed:
            draw.line(pts, fill=_rgba(item.stroke), width=max(1, round(item.width * s)), joint="curve")
        else:  # every other piece of the line
            for i in range(0, len(pts) - 1, 2):
                draw.line(pts[i:i + 2], fill=_rgba(item.stroke), width=max(1, round(item.width * s)))
    elif isinstance(item, Polygon):
        draw.polygon([(x * s, y * s) for x, y in item.points], fill=_rgba(item.fill))
    elif isinstance(item, Circle):
        box = ((item.x - item.r) * s, (item.y - item.r) * s, (item.x + item.r) * s, (item.y + item.r) * s)
        draw.ellipse(box, fill=_rgba(item.fill), outline=_rgba(item.stroke) if item.stroke else None,
                     width=s if item.stroke else 0)
    elif isinstance(item, Text):
        _text(draw, item)


def _text(draw: Any, item: Text) -> None:
    size = round(item.size * SCALE)
    text, font = item.text, _font(size, False)
    if not text.isascii():
        cjk = _font(size, True)
        if cjk is not None:
            font = cjk
        elif item.plain is not None:
            text = item.plain
        else:
            text = text.encode("ascii", "replace").decode("ascii")
    if not text:
        return
    anchor = {"start": "ls", "middle": "ms", "end": "rs"}.get(item.anchor, "ls")  # left/middle/right, baseline
    draw.text((item.x * SCALE, item.y * SCALE), text, font=font, fill=_rgba(item.fill), anchor=anchor,
              stroke_width=1 if item.bold else 0, stroke_fill=_rgba(item.fill))


def drawing_png(drawing: Drawing) -> bytes:
    """The drawing as PNG bytes (ImportError without Pillow)."""
    from PIL import Image, ImageDraw

    w, h = round(drawing.width), round(drawing.height)
    image = Image.new("RGB", (w * SCALE, h * SCALE), "white")
    draw = ImageDraw.Draw(image, "RGBA")
    for item in drawing.items:
        _paint(draw, item)
    out = io.BytesIO()
    image.resize((w, h), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


def curve_png(curve: SeasonCurve) -> bytes:
    return drawing_png(draw_curve(curve))


def write_curve_png(store: SeasonStore, curve: SeasonCurve) -> str | None:
    """Paint the curve to `store.curve_png_path`; None when written, else why not, in one line (a run never
    fails for its picture)."""
    try:
        data = curve_png(curve)
    except ImportError:
        return NO_PILLOW
    except Exception:  # noqa: BLE001 - a picture must not end a run; the traceback goes to the log
        log.exception("painting the season curve failed")
        return "the season curve picture could not be painted (the log has why)"
    try:
        atomic_write(store.curve_png_path, data)
    except OSError as exc:
        return f"the season curve picture could not be written ({exc.__class__.__name__})"
    return None
