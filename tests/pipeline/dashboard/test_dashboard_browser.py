"""The dashboard of a real demo build, opened in headless Chromium (the system's `chromium`,
driven by Playwright): every chart draws, the page makes no request and logs no error, and
the PNG snapshot is a real picture."""

from __future__ import annotations

import shutil
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from pipeline.dashboard import dashboard_data, render_html, snapshot_png
from pipeline.dashboard.snapshot import CHROMIUM_FLAGS
from pipeline.resources import BuildOSResource, DeliverySettings, DuckDBWarehouse, PublishSettings
from pipeline.runner import materialize
from tests.pipeline.dashboard.page_checks import OVERLAP_JS, SQL_NAME

CHARTS_JS = """
() => Array.from(document.querySelectorAll('figure.chart')).map((figure) => {
    const svg = figure.querySelector(':scope > svg');
    const drawn = svg ? Array.from(svg.querySelectorAll('path, rect, circle')).filter((mark) => {
        const box = mark.getBoundingClientRect();
        return box.width > 0 && box.height > 0;
    }) : [];
    return {name: figure.dataset.chart, svg: Boolean(svg), drawn: drawn.length};
})
"""


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("the dashboard tests need Chromium: apt-get install chromium")
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[tuple[dict, Path]]:
    """A whole demo build (sync, models, publish with the bi views), its dashboard data and
    the rendered page."""
    root = tmp_path_factory.mktemp("dashboard-demo")
    database = root / "warehouse.duckdb"
    materialize(
        None,
        {
            "buildos": BuildOSResource(sandbox_seed=3),
            "warehouse": DuckDBWarehouse(path=str(database)),
            "publish": PublishSettings(exports_dir=str(root / "exports")),
            "deliver": DeliverySettings(dashboard_dir=str(root / "dashboards")),
        },
    )
    con = duckdb.connect(str(database), read_only=True)
    try:
        data = dashboard_data(con)
    finally:
        con.close()
    page = root / "executive.html"
    page.write_text(render_html(data, datetime.now(UTC)))
    yield data, page


@pytest.fixture(scope="module")
def browser() -> Iterator:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the dashboard tests need Playwright: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=[*CHROMIUM_FLAGS])
        yield launched
        launched.close()


def test_every_chart_draws_and_the_page_stays_offline(demo, browser):
    data, page_path = demo
    assert data["as_of_date"] is not None and data["burndown"] and data["velocity"]
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    url = page_path.resolve().as_uri()
    page.goto(url, wait_until="load")

    charts = page.evaluate(CHARTS_JS)
    names = [chart["name"] for chart in charts]
    assert names[:2] == ["velocity", "braindumps"]
    assert names[2:] == ["burndown"] * len(data["burndown"])
    for chart in charts:
        assert chart["svg"] and chart["drawn"] > 0, chart
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400  # no sideways scroll
    assert page.title().startswith("BuildOS executive dashboard")
    assert requests == [url]
    assert errors == []
    page.close()


def png_pixels(path: Path) -> tuple[int, int, Counter]:
    """Width, height and a count of each pixel value of an 8-bit RGB/RGBA PNG, decoded with
    the standard library (zlib, and the five PNG row filters)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks = 8, []
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    previous = bytearray(stride)
    pixels: Counter = Counter()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels.update(bytes(line[i : i + bpp]) for i in range(0, stride, bpp))
        previous = line
    return width, height, pixels


def test_snapshot_png_is_a_real_picture_cropped_to_the_content(demo, browser):
    chromium()
    _, page_path = demo
    png = page_path.with_suffix(".png")
    made = snapshot_png(page_path, png)
    width, height, pixels = png_pixels(png)
    page = browser.new_page(viewport={"width": 1400, "height": 600})
    page.goto(page_path.resolve().as_uri(), wait_until="load")
    bottom = page.evaluate(
        "Math.ceil(document.querySelector('main').getBoundingClientRect().bottom)"
    )
    footer = page.evaluate("document.querySelector('footer').getBoundingClientRect().bottom")
    page.close()
    assert (width, height) == (1400, made) == (1400, bottom)  # no empty band below the page
    assert footer <= height <= footer + 40  # the footer, then the page's bottom padding
    assert len(pixels) >= 20, "hardly any colours: a blank page?"
    assert pixels.most_common(1)[0][1] / (width * height) < 0.99


def test_the_demo_dashboard_has_no_overlaps_and_no_sql_names(demo, browser):
    _, page_path = demo
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(page_path.resolve().as_uri())
    overlaps = page.evaluate(OVERLAP_JS)
    text = page.inner_text("body")
    page.close()
    assert overlaps == []
    assert not SQL_NAME.search(text), SQL_NAME.search(text)
