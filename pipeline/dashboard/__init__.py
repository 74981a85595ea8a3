"""The executive dashboard: its numbers read from the `bi` views, one self-contained HTML page
(inline CSS and SVG, no network) and a PNG snapshot of that page taken with headless Chromium."""

from pipeline.dashboard.render import (
    ChromiumNotFoundError,
    dashboard_data,
    render_html,
    snapshot_png,
)

__all__ = ["ChromiumNotFoundError", "dashboard_data", "render_html", "snapshot_png"]
