"""The README and docs/ link only to files the repository has (a clone has no shared/)."""

from __future__ import annotations

import re

from pipeline.paths import PROJECT_ROOT

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_relative_link_resolves_inside_the_repository():
    broken = []
    for page in [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]:
        text = page.read_text()
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target):
                continue  # a web address, not a file
            resolved = (page.parent / target).resolve()
            if not resolved.exists() or PROJECT_ROOT not in resolved.parents:
                broken.append(f"{page.name}: {target}")
        if "shared/" in text:
            broken.append(f"{page.name}: mentions shared/, which a clone does not have")
    assert broken == []
