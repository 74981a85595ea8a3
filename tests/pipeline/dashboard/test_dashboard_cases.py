"""The dashboard of hand-made cases, read in real Chromium as an executive reads it: a Monday
morning, a backfilled project, one past its end date, one projected far past its axis. The
risk list is the documented rule (fct_project_risk's own SQL run on the cases), the axes span
what docs/metrics.md says, no label overlaps a line or another label, no SQL name shows, and
the PNG ends where the page does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.dashboard import dashboard_data, render_html, snapshot_png
from tests.models.harness import run_model
from tests.pipeline.dashboard.bi_tables import BI_COLUMNS, bi_database
from tests.pipeline.dashboard.page_checks import OVERLAP_JS, SQL_NAME
from tests.pipeline.dashboard.test_dashboard_browser import browser, chromium, png_pixels

__all__ = ["browser"]  # the shared Chromium fixture

MONDAY = datetime(2026, 3, 9, 3, 30, tzinfo=UTC)  # a Monday, 03:30 UTC
AS_OF = MONDAY.date()
A, B = "acct-alpha-0001", "acct-bravo-0002"
# project: (account, name, created, end date, scope, remaining today, tasks done a day)
PROJECTS = {
    "backfilled": (A, "Launch", AS_OF - timedelta(days=20), AS_OF + timedelta(days=20), 30, 10),
    "overdue": (A, "Hiring", AS_OF - timedelta(days=40), AS_OF - timedelta(days=6), 20, 5),
    "far": (B, "Launch", AS_OF - timedelta(days=30), AS_OF + timedelta(days=10), 40, 38),
    "on_time": (B, "Website", AS_OF - timedelta(days=14), AS_OF + timedelta(days=30), 14, 6),
}
FAR_PROJECTION = date(2027, 2, 22)


def burndown_rows(project_id: str) -> list[dict]:
    account, _, created, end, scope, remaining = PROJECTS[project_id]
    age = (AS_OF - created).days
    rows = []
    for i in range(age + 1):
        day = created + timedelta(days=i)
        left = round(scope - (scope - remaining) * i / age)
        span = (end - created).days
        ideal = max(scope * (span - i) / span, 0.0) if span > 0 else None
        rows.append(
            {
                "account_id": account,
                "project_id": project_id,
                "day_date": day,
                "scope_tasks": scope,
                "completed_tasks": scope - left,
                "remaining_tasks": left,
                "ideal_remaining_tasks": ideal,
                "burn_rate": None if i == 0 else (scope - remaining) / age,
                "projected_completion_date": None,
            }
        )
    last = rows[-1]
    rate = (scope - remaining) / age
    last["projected_completion_date"] = (
        FAR_PROJECTION
        if project_id == "far"
        else AS_OF + timedelta(days=-(-remaining // rate) if rate else 0)
    )
    return rows


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    burndown = [row for p in PROJECTS for row in burndown_rows(p)]
    projects = [
        {
            "account_id": account,
            "project_id": p,
            "project_name": name,
            "project_state": "active",
            "is_deleted": False,
            "end_at": datetime(end.year, end.month, end.day, 17, tzinfo=UTC),
        }
        for p, (account, name, _, end, _, _) in PROJECTS.items()
    ]
    accounts = [{"account_id": a, "as_of_at": MONDAY, "as_of_date": AS_OF} for a in (A, B)]
    risk = run_model(  # the documented rule, by the mart's own SQL
        "fct_project_risk",
        {
            "staging.stg_buildos__projects": projects,
            "marts.fct_burndown_daily": burndown,
            "marts.dim_milestones": [
                {"account_id": A, "project_id": "x", "is_missed": False, "is_deleted": False}
            ],
            "marts.fct_project_status": [
                {"account_id": a, "project_id": p, "blocked_tasks": 0}
                for p, (a, *_) in PROJECTS.items()
            ],
            "marts.dim_accounts": accounts,
        },
        types={"marts.fct_burndown_daily": {"ideal_remaining_tasks": "double"}},
    )
    keep = BI_COLUMNS["fct_project_risk"]
    flow = [  # 1 this Monday before 03:30; 3 last Monday before 03:30, 1 after
        {"account_id": A, "project_id": "backfilled", "task_id": f"t{i}", "completed_at": at}
        for i, at in enumerate(
            [MONDAY - timedelta(hours=1)]
            + [MONDAY - timedelta(days=7, hours=h) for h in (1, 2, 3)]
            + [MONDAY - timedelta(days=7, hours=-2)]
        )
    ]
    weeks = [
        {
            "account_id": A,
            "project_id": "backfilled",
            "week_start": AS_OF - timedelta(weeks=w),
            "tasks_completed": 1 if w == 0 else 100 + w,
        }
        for w in range(14)
    ] + [  # the others completed work this week, so all four are among the most active
        {"account_id": a, "project_id": p, "week_start": AS_OF, "tasks_completed": 1}
        for p, (a, *_) in PROJECTS.items()
        if p != "backfilled"
    ]
    con = bi_database(
        dim_accounts=[{k: v for k, v in a.items()} for a in accounts],
        dim_projects=[{k: v for k, v in p.items() if k != "end_at"} for p in projects],
        fct_project_risk=[{k: row[k] for k in keep} for row in risk],
        fct_burndown_daily=[{k: v for k, v in row.items() if k != "burn_rate"} for row in burndown],
        fct_velocity_weekly=weeks,
        fct_task_flow=flow,
    )
    data = dashboard_data(con)
    con.close()
    root = tmp_path_factory.mktemp("dashboard-cases")
    page = root / "cases.html"
    page.write_text(render_html(data, MONDAY))
    return data, page, {row["project_id"]: row for row in risk}


def test_monday_compares_like_with_like(cases, browser):
    _, page_path, _ = cases
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(page_path.resolve().as_uri())
    tile = page.locator(".kpi", has_text="Tasks completed this week").inner_text()
    page.close()
    assert "\n1\n" in tile
    assert "▼ 2 vs 3 on the same days last week (Mon 00:00 to Mon 03:30 UTC)" in tile
    # the complete weeks before: 101, 102, 103; the week of the Monday is not averaged
    assert "3-week average (complete weeks): 102.0 a week" in tile


def test_risk_list_is_the_documented_rule(cases, browser):
    _, page_path, risk = cases
    assert risk["overdue"]["risk_status"] == "overdue"
    assert risk["far"]["risk_status"] == "at risk"  # projected after its end date
    assert risk["on_time"]["risk_status"] == "on track"
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(page_path.resolve().as_uri())
    rows = page.locator("section.risk tbody tr").all_inner_texts()
    page.close()
    flagged = sorted(p for p, row in risk.items() if row["is_at_risk"])
    assert len(rows) == len(flagged)
    assert rows[0].startswith("Hiring") and "overdue" in rows[0]  # overdue first
    assert "past its end date" in rows[0] and "behind the ideal" not in rows[0]
    # names that repeat across accounts carry the account's label
    assert any(row.startswith("Launch · acct-bra") for row in rows)


def test_axes_span_creation_to_the_end_date_or_projection(cases, browser):
    _, page_path, _ = cases
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(page_path.resolve().as_uri())
    axes = page.evaluate(
        """() => Array.from(document.querySelectorAll('figure[data-chart=burndown] svg'))
        .map((svg) => ({name: svg.closest('figure').querySelector('.title').textContent,
                        start: svg.dataset.axisStart, end: svg.dataset.axisEnd,
                        y: svg.dataset.yMax,
                        labels: Array.from(svg.querySelectorAll('text.note'))
                            .map((t) => t.textContent)}))"""
    )
    page.close()
    by_name = {axis["name"]: axis for axis in axes}
    backfilled = by_name["Launch · acct-alp"]
    assert backfilled["start"] == str(PROJECTS["backfilled"][2])  # its creation day
    assert backfilled["end"] == str(PROJECTS["backfilled"][3])  # the end date, the later
    assert any(label.startswith("end ") for label in backfilled["labels"])
    overdue = by_name["Hiring"]  # ended 3 Mar; 5 left at 0.375 a day: done 23 Mar
    assert (overdue["start"], overdue["end"]) == ("2026-01-28", "2026-03-23")
    assert "end 3 Mar" in overdue["labels"]
    far = by_name["Launch · acct-bra"]
    age = (AS_OF - PROJECTS["far"][2]).days
    assert far["end"] == str(AS_OF + timedelta(days=max(age, 42)))  # cut before 2027
    assert "projected 22 Feb 2027 →" in far["labels"]
    assert len({axis["y"] for axis in axes}) == 1  # one task scale


def test_no_label_overlaps_a_line_or_a_label_and_no_sql_names(cases, browser):
    _, page_path, _ = cases
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(page_path.resolve().as_uri())
    overlaps = page.evaluate(OVERLAP_JS)
    text = page.inner_text("body")
    page.close()
    assert overlaps == []
    assert not SQL_NAME.search(text), SQL_NAME.search(text)
    assert not SQL_NAME.search(page_path.read_text().split("</style>", 1)[1])
    assert "How these are computed" in text


def test_the_png_ends_with_the_page(cases, browser, tmp_path: Path):
    chromium()
    _, page_path, _ = cases
    png = tmp_path / "cases.png"
    height = snapshot_png(page_path, png)
    page = browser.new_page(viewport={"width": 1400, "height": 600})
    page.goto(page_path.resolve().as_uri())
    bottom = page.evaluate(
        "Math.ceil(document.querySelector('main').getBoundingClientRect().bottom)"
    )
    page.close()
    width, png_height, _ = png_pixels(png)
    assert (width, png_height) == (1400, height) == (1400, bottom)
