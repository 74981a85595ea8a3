"""render_html: one self-contained page, every chart a figure, all text escaped, no URL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.dashboard import ChromiumNotFoundError, dashboard_data, render_html, snapshot_png
from tests.pipeline.dashboard.bi_tables import bi_database

AS_OF = date(2021, 3, 10)
AS_OF_AT = datetime(2021, 3, 10, 14, 5, tzinfo=UTC)  # a Wednesday afternoon
ACCOUNTS = [{"account_id": a, "as_of_date": AS_OF, "as_of_at": AS_OF_AT} for a in ("a", "b")]
THIS_WEEK = date(2021, 3, 8)
GENERATED = datetime(2021, 3, 11, 6, 30, tzinfo=UTC)
HOSTILE = "<script>alert('x')</script> & \"Q1\" <b>launch</b>"


class Page(HTMLParser):
    """The elements of a page: (tag, attributes, the figure it sits in or None)."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list[tuple[str, dict, int | None]] = []
        self.figures: list[dict] = []
        self._figure: int | None = None
        self._depth = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "figure":
            self.figures.append({**attributes, "children": []})
            self._figure, self._depth = len(self.figures) - 1, 0
        elif self._figure is not None:
            self._depth += 1
            self.figures[self._figure]["children"].append((tag, self._depth, attributes))
        self.elements.append((tag, attributes, self._figure))

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = None
        elif self._figure is not None:
            self._depth -= 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self._figure is not None and tag != "figure":
            self._depth -= 1


def full_data() -> dict:
    days = [AS_OF - timedelta(days=i) for i in range(30)]
    con = bi_database(
        dim_accounts=ACCOUNTS,
        dim_projects=[
            {
                "account_id": "a",
                "project_id": "p1",
                "project_name": HOSTILE,
                "project_state": "active",
                "is_deleted": False,
            },
            {
                "account_id": "a",
                "project_id": "p2",
                "project_name": "Website",
                "project_state": "active",
                "is_deleted": False,
            },
        ],
        fct_project_completion=[
            {"account_id": "a", "project_id": "p1", "live_tasks": 30, "done_tasks": 12},
            {"account_id": "a", "project_id": "p2", "live_tasks": 10, "done_tasks": 9},
        ],
        fct_project_risk=[
            {
                "account_id": "a",
                "project_id": "p1",
                "project_name": HOSTILE,
                "project_state": "active",
                "as_of_date": AS_OF,
                "remaining_tasks": 18,
                "ideal_remaining_tasks": 12.5,
                "end_date": AS_OF + timedelta(days=10),
                "missed_milestones": 1,
                "blocked_tasks": 0,
                "is_at_risk": True,
                "risk_status": "at risk",
                "behind_share_of_scope": 0.1,
                "behind_tasks": 2,
                "risk_reasons": ["behind the ideal burndown", "<missed> milestones"],
            },
            {
                "account_id": "a",
                "project_id": "p2",
                "project_name": "Website",
                "project_state": "active",
                "as_of_date": AS_OF,
                "remaining_tasks": 1,
                "is_at_risk": False,
                "risk_reasons": [],
            },
        ],
        fct_velocity_weekly=[
            {
                "account_id": "a",
                "project_id": p,
                "week_start": THIS_WEEK - timedelta(weeks=i),
                "tasks_completed": i + n,
                "tasks_completed_avg_3w": i + n + 0.5,
            }
            for i in range(5)
            for p, n in (("p1", 2), ("p2", 1))
        ],
        fct_task_flow=[  # 3 this week to Wednesday 14:05, 5 over the same stretch last week
            {"account_id": "a", "project_id": "p1", "task_id": f"t{i}", "completed_at": at}
            for i, at in enumerate(
                [AS_OF_AT - timedelta(hours=h) for h in (1, 20, 40)]
                + [AS_OF_AT - timedelta(days=7, hours=h) for h in (1, 2, 3, 4, 5)]
                + [AS_OF_AT - timedelta(days=7, hours=-1)]
            )
        ],
        fct_burndown_daily=[
            {
                "account_id": "a",
                "project_id": p,
                "day_date": d,
                "scope_tasks": 30,
                "completed_tasks": 30 - remaining - i // 3,
                "remaining_tasks": remaining + i // 3,
                "ideal_remaining_tasks": 10.0 + i / 2,
                "projected_completion_date": AS_OF + timedelta(days=20),
            }
            for i, d in enumerate(days)
            for p, remaining in (("p1", 18), ("p2", 1))
        ],
        fct_braindumps_daily=[
            {
                "account_id": "a",
                "day_date": d,
                "braindumps_created": 3,
                "braindumps_processed": 2,
                "braindumps_failed": 1,
                "braindumps_pending": 0,
            }
            for d in days
        ],
    )
    return dashboard_data(con)


@pytest.fixture(scope="module")
def page_text() -> str:
    return render_html(full_data(), GENERATED)


def test_one_figure_per_chart_each_with_a_caption_and_a_drawn_svg(page_text):
    page = Page(page_text)
    names = [figure.get("data-chart") for figure in page.figures]
    assert names == ["velocity", "braindumps", "burndown", "burndown"]
    for figure in page.figures:
        assert figure["class"] == "chart"
        children = figure["children"]
        assert children[0][0] == "figcaption"
        charts = [attrs for tag, depth, attrs in children if tag == "svg" and depth == 1]
        assert len(charts) == 1, figure.get("data-chart")
        assert charts[0]["role"] == "img" and charts[0]["aria-label"]
        marks = [tag for tag, _, _ in children if tag in {"path", "rect", "circle"}]
        assert marks, figure.get("data-chart")


def test_text_is_escaped(page_text):
    assert HOSTILE not in page_text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;Q1&quot;" in page_text
    assert "&lt;missed&gt; milestones" in page_text
    assert "<b>" not in page_text and "<script" not in page_text


def test_the_page_is_self_contained(page_text):
    page = Page(page_text)
    tags = {tag for tag, _, _ in page.elements}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base"}
    assert re.search(r"https?:", page_text) is None
    assert "//" not in page_text  # not even a protocol-relative URL
    assert "url(" not in page_text and "@import" not in page_text
    for _, attributes, _ in page.elements:
        assert not {"src", "href", "srcset", "xmlns"} & set(attributes)


def test_the_page_is_accessible_and_printable(page_text):
    page = Page(page_text)
    assert page_text.startswith("<!DOCTYPE html>")
    assert ("html", {"lang": "en"}, None) in page.elements
    assert re.search(r"<title>BuildOS executive dashboard[^<]*</title>", page_text)
    assert [tag for tag, _, _ in page.elements].count("h1") == 1
    assert "<h2" in page_text and "<table>" in page_text and "<caption>" in page_text
    assert "@media print" in page_text
    assert "2021-03-11 06:30 UTC" in page_text
    assert "Wednesday 10 Mar 2021" in page_text


def test_kpis_appear_on_the_page(page_text):
    assert "Active projects" in page_text
    assert ">52.5%<" in page_text  # 21 of 40 live tasks done
    assert "21 of 40 live tasks done" in page_text
    assert ">3<" in page_text  # tasks completed this week, to Wednesday 14:05
    text = re.sub(r"<[^>]+>", "", page_text)
    assert "▼ 2 vs 5 on the same days last week (Mon 00:00 to Wed 14:05 UTC)" in text
    assert "3-week average (complete weeks): 7.0 a week" in text  # weeks of 5, 7, 9
    assert "behind the ideal line by more than 10% of the scope and 2 tasks" in text


def test_empty_data_says_no_data_yet_in_every_figure():
    text = render_html(dashboard_data(bi_database()), GENERATED)
    page = Page(text)
    assert [figure["data-chart"] for figure in page.figures] == [
        "velocity",
        "braindumps",
        "burndown",
    ]
    for figure in page.figures:
        assert not [tag for tag, _, _ in figure["children"] if tag == "svg"]
    assert text.count('<div class="empty" role="note"><strong>No data yet</strong>') == 3
    assert "no project has been assessed" in text


def test_missing_chromium_says_how_to_install_it(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("BUILDOS_CHROMIUM", str(tmp_path / "no-such-chromium"))
    html = tmp_path / "page.html"
    html.write_text("<!DOCTYPE html><title>x</title>")
    with pytest.raises(ChromiumNotFoundError, match="apt-get install chromium") as raised:
        snapshot_png(html, tmp_path / "page.png")
    assert isinstance(raised.value, RuntimeError)  # what the dashboard asset catches
    assert not (tmp_path / "page.png").exists()
