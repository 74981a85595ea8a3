"""The metric definitions of docs/metrics.md, one MCP resource per section, so an assistant
can explain a number in the words the project defines it with."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.paths import PROJECT_ROOT

METRICS_DOC = PROJECT_ROOT / "docs" / "metrics.md"
URI_PREFIX = "buildos://metrics"


@dataclass(frozen=True)
class MetricSection:
    slug: str
    title: str
    text: str

    @property
    def uri(self) -> str:
        return f"{URI_PREFIX}/{self.slug}"

    @property
    def tables(self) -> list[str]:
        """The marts the heading names, e.g. `marts.fct_velocity_weekly`."""
        return re.findall(r"`(?:marts|intermediate)\.([a-z_]+)`", self.title)


def metric_sections(text: str | None = None) -> list[MetricSection]:
    """Each `## ` section of the metrics doc, the conventions first."""
    text = METRICS_DOC.read_text() if text is None else text
    sections = []
    for chunk in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        title = chunk.splitlines()[0].strip()
        words = title.split(" (")[0]
        slug = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
        sections.append(MetricSection(slug, title, "## " + chunk.rstrip() + "\n"))
    return sections
