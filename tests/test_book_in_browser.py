"""The HTML season book in a real browser: headless Chromium (Debian's `chromium`) screenshots it at a phone
width and a desktop width, and the season curve is drawn there (its columns' colour fills a wide stretch of
the picture, among many other colours), with one SVG element per episode of the season.

Without Chromium the test is skipped, except under CI (`CI` set), where `.ci/run` installs it: there a
missing browser fails it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from curve_kit import EPISODES, curve_season
from season_kit import run_cli

from cliffhanger.agents.season.curve_draw import BAR

SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


def chromium() -> str:
    found = next((p for name in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(name))), None)
    if found is None:
        message = "Chromium is not installed: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class _Curve(HTMLParser):
    """The curve's `<svg data-episodes>` and its episode groups, as the browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[dict[str, str | None]] = []
        self.episodes: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.svgs.append(a)
        elif tag == "g" and a.get("class") == "ep":
            self.episodes.append(a.get("data-ep"))


def screenshot(browser: str, page: Path, out: Path, size: tuple[int, int], profile: Path) -> None:
    cmd = [browser, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--mute-audio",
           f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", f"--screenshot={out}",
           page.resolve().as_uri()]
    if os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert out.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"


def _near(pixel: tuple[int, int, int], colour: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


@pytest.mark.parametrize("device", list(SIZES))
def test_the_curve_renders_in_chromium(tmp_path: Path, capsys: pytest.CaptureFixture[str], device: str) -> None:
    from PIL import Image

    browser = chromium()
    store = curve_season(tmp_path / "s")
    book = tmp_path / "book.html"
    code, _, err = run_cli(capsys, "export", store.root, "--format", "html", "--out", book)
    assert code == 0, err
    parsed = _Curve()
    parsed.feed(book.read_text(encoding="utf-8"))
    curves = [s for s in parsed.svgs if s.get("class") == "season-curve"]
    assert len(curves) == 1 and curves[0].get("data-episodes") == str(store.spec().episodes) == str(EPISODES)
    assert parsed.episodes == [str(e) for e in range(1, EPISODES + 1)]

    width, height = SIZES[device]
    shot = tmp_path / f"{device}.png"
    screenshot(browser, book, shot, (width, height), tmp_path / "profile")
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
    assert rgb.width >= width * 0.9
    bar = tuple(int(BAR[i:i + 2], 16) for i in (1, 3, 5))
    pixels = rgb.load()
    # where the curve's payoff columns are drawn: their bounding box in the screenshot
    hits = [(x, y) for y in range(0, rgb.height, 2) for x in range(0, rgb.width, 2) if _near(pixels[x, y], bar)]
    assert len(hits) > 200, f"the curve's columns are not on the {device} screenshot {shot}"
    x0, x1 = min(x for x, _ in hits), max(x for x, _ in hits)
    y0, y1 = min(y for _, y in hits), max(y for _, y in hits)
    assert x1 - x0 > 0.6 * (width - 40) and y1 - y0 > 30  # across the page, and tall enough to read
    region = rgb.crop((x0, y0, x1 + 1, y1 + 1))
    colours = region.getcolors(maxcolors=1 << 20) or []
    blank = sum(n for n, c in colours if min(c) > 245)
    assert blank < 0.9 * region.width * region.height and len(colours) > 20  # lines and markers, not one fill
