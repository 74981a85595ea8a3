"""Guards for values that become file paths: an account id must be a UUID before it names a
folder, and every path written must stay inside the root it was meant for."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path


class UnsafePathError(ValueError):
    """A path (or the id that would make one) that would leave its root."""


def account_id(value: object) -> str:
    """The account id, if it is a UUID in canonical text; otherwise UnsafePathError."""
    text = value if isinstance(value, str) else ""
    try:
        canonical = str(uuid.UUID(text)) if len(text) == 36 else None
    except ValueError:
        canonical = None
    if canonical != text.lower() or canonical is None:
        raise UnsafePathError(f"account id {value!r} is not a UUID; refusing to use it in a path")
    return text


def inside(root: Path, *parts: str) -> Path:
    """root / parts, refused unless it resolves inside root (no `..`, no absolute part, no
    symlink leading out)."""
    base = Path(root).resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise UnsafePathError(f"{path} is outside {base}; refusing to write there")
    return path


def account_root(root: Path, account: object) -> Path:
    """The folder of one account's exports under root: accounts/<uuid>."""
    return inside(root, "accounts", account_id(account))


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove what a killed publish left being built in folder (`.building-*` directories,
    `.<file>.building-*` files): only one publish writes an exports folder at a time, so
    anything still being built when the next one starts is dead."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        if entry.name.startswith(".") and ".building-" in entry.name:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
