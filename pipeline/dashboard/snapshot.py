"""The dashboard's PNG: the page as headless Chromium draws it."""

from __future__ import annotations

import os
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


def snapshot_png(html_path: Path, png_path: Path, width: int = 1400, height: int = 1800) -> None:
    """A PNG of the page as headless Chromium draws it in a width x height window. Raises
    RuntimeError (ChromiumNotFoundError when there is no Chromium) if no PNG is made."""
    browser = chromium_path()
    html_path, png_path = Path(html_path).resolve(), Path(png_path).resolve()
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
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=90)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"Chromium took over {exc.timeout:.0f} s to draw the page") from exc
    if result.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise RuntimeError(
            f"Chromium made no screenshot of {html_path.name} (exit {result.returncode}): {tail}"
        )
    partial.replace(png_path)
