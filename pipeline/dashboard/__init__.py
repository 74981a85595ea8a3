"""The executive dashboard, in three rooms: `data` (its numbers, read from the `bi` views),
`page` (one self-contained HTML page, inline CSS and SVG, no network) and `snapshot` (a PNG of
that page taken with headless Chromium)."""

from pipeline.dashboard.data import dashboard_data
from pipeline.dashboard.page import render_html
from pipeline.dashboard.snapshot import ChromiumNotFoundError, snapshot_png

__all__ = ["ChromiumNotFoundError", "dashboard_data", "render_html", "snapshot_png"]
