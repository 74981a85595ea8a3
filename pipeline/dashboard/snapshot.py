"""The dashboard's PNG: the page as headless Chromium draws it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_ENV = "BUILDOS_CHROMIUM"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


class ChromiumNotFoundError(RuntimeError):
    """No Chromium to take the PNG snapshot with."""


def chromium_path() -> str:
    """BUILDOS_CHROMIUM (a path or a command name), else `chromium` on PATH."""
    configured = os.environ.get(CHROMIUM_ENV)
    found = shutil.which(configured or "chromium")
    if found is None:
        where = f"{CHROMIUM_ENV}={configured!r}" if configured else "`chromium` on PATH"
        raise ChromiumNotFoundError(
            f"Chromium is needed for the dashboard's PNG snapshot and was not found ({where}). "
            f"Install it with `apt-get install chromium` (Debian/Ubuntu), or set {CHROMIUM_ENV} "
            "to a Chromium or Chrome executable."
        )
    return found


# Appended to a temporary copy of the page only (the page itself holds no script): writes the
# bottom of the content into the DOM, which --dump-dom prints.
MEASURE_SCRIPT = (
    "<script>document.body.setAttribute('data-content-height', String(Math.ceil("
    "document.querySelector('main') ? document.querySelector('main')"
    ".getBoundingClientRect().bottom : document.documentElement.scrollHeight)));</script>"
)
CONTENT_HEIGHT = re.compile(r'data-content-height="(\d+)"')


def _run(command: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"Chromium took over {exc.timeout:.0f} s to {what}") from exc


def content_height(html_path: Path, width: int, browser: str | None = None) -> int:
    """The height in CSS pixels of the page's content at `width`, as Chromium lays it out."""
    browser = browser or chromium_path()
    with tempfile.TemporaryDirectory(prefix="buildos-chromium-") as folder:
        probe = Path(folder) / "measure.html"
        text = Path(html_path).read_text()
        probe.write_text(text.replace("</body>", MEASURE_SCRIPT + "</body>", 1))
        result = _run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={Path(folder) / 'profile'}",
                f"--window-size={width},200",
                "--dump-dom",
                probe.as_uri(),
            ],
            "lay out the page",
        )
    found = CONTENT_HEIGHT.search(result.stdout)
    if result.returncode != 0 or found is None:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"Chromium could not measure {Path(html_path).name}: {tail}")
    return int(found.group(1))


def snapshot_png(html_path: Path, png_path: Path, width: int = 1400) -> int:
    """A PNG of the whole page as headless Chromium draws it `width` pixels wide, cropped to
    its content (measured first, then drawn in a window that tall). Returns the height. Raises
    RuntimeError (ChromiumNotFoundError when there is no Chromium) if no PNG is made."""
    browser = chromium_path()
    html_path, png_path = Path(html_path).resolve(), Path(png_path).resolve()
    height = content_height(html_path, width, browser)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    partial = png_path.with_name(f".{png_path.name}.partial.png")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="buildos-chromium-") as profile:
        command = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={partial}",
            html_path.as_uri(),
        ]
        result = _run(command, "draw the page")
    if result.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise RuntimeError(
            f"Chromium made no screenshot of {html_path.name} (exit {result.returncode}): {tail}"
        )
    partial.replace(png_path)
    return height
