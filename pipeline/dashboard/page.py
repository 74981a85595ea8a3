"""The dashboard page: one self-contained HTML document (inline CSS and SVG, no script, no
URL) drawn from what `pipeline.dashboard.data.dashboard_data` returns."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from pipeline.dashboard import charts
from pipeline.dashboard.charts import NO_VALUE, long_date, number, short_date
from pipeline.dashboard.data import ACTIVITY_WEEKS, BRAINDUMP_DAYS
from pipeline.dashboard.style import CSS

MAX_RISK_ROWS = 12


def _empty(what: str) -> str:
    return (
        f'<div class="empty" role="note"><strong>No data yet</strong>'
        f"<span>{escape(what)}</span></div>"
    )


def _figure(name: str, title: str, desc: str, body: str, extra: str = "") -> str:
    return (
        f'<figure class="chart" data-chart="{escape(name)}"{extra}>'
        f'<figcaption><span class="title">{escape(title)}</span>'
        f'<span class="desc">{escape(desc)}</span></figcaption>{body}</figure>'
    )


def _swatch(kind: str) -> str:
    """A legend key: a tiny inline SVG of the mark it stands for (aria-hidden)."""
    marks = {
        "bar": '<rect x="5" y="1" width="12" height="10" rx="2" fill="#2563eb"/>',
        "partial": '<rect x="5" y="1" width="12" height="10" rx="2" fill="#bfdbfe" '
        'stroke="#2563eb" stroke-dasharray="3 2"/>',
        "avg": '<path d="M1 6H21" stroke="#d97706" stroke-width="2.5"/>'
        '<circle cx="11" cy="6" r="3" fill="#fff" stroke="#d97706" stroke-width="2"/>',
        "processed": '<rect x="5" y="1" width="12" height="10" fill="#0f766e"/>',
        "failed": '<rect x="5" y="1" width="12" height="10" fill="#dc2626"/>',
        "pending": '<rect x="5" y="1" width="12" height="10" fill="#fbbf24"/>',
        "remaining": '<path d="M1 6H21" stroke="#2563eb" stroke-width="2.5"/>',
        "projection": '<path d="M1 6H21" stroke="#2563eb" stroke-width="2" '
        'stroke-dasharray="2 3"/>',
        "scope": '<path d="M1 6H21" stroke="#475569" stroke-width="1.5"/>',
        "done": '<rect x="1" y="3" width="20" height="8" fill="#d1fae5"/>'
        '<path d="M1 3H21" stroke="#059669" stroke-width="1.5"/>',
        "ideal": '<path d="M1 6H21" stroke="#94a3b8" stroke-width="1.5" stroke-dasharray="5 4"/>',
        "end": '<path d="M11 0V12" stroke="#d97706" stroke-width="1.5" stroke-dasharray="4 3"/>',
    }
    return f'<svg viewBox="0 0 22 12" aria-hidden="true" focusable="false">{marks[kind]}</svg>'


def _legend(items: list[tuple[str, str]]) -> str:
    keys = "".join(f"<li>{_swatch(kind)}{escape(text)}</li>" for kind, text in items)
    return f'<ul class="legend">{keys}</ul>'


def _percent(value: float | None, decimals: int = 0) -> str:
    return NO_VALUE if value is None else f"{value:.{decimals}f}%"


def week_to_date_comparison(now: int, before: int, this_week, as_of_at) -> str:
    """'▲ 3 vs 18 on the same days last week (Mon 00:00 to Tue 14:05 UTC)': like with like,
    whatever the weekday (HTML)."""
    change = now - before
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    tone = "up" if change > 0 else "down" if change < 0 else ""
    shown = f"{arrow} {number(abs(change))}" if change else "= same"
    if as_of_at is None:
        span = f"week of {short_date(this_week)}"
    else:
        moment = as_of_at.astimezone(UTC) if as_of_at.tzinfo else as_of_at
        span = f"Mon 00:00 to {moment:%a %H:%M} UTC"
    return (
        f'<span class="delta {tone}">{escape(shown)}</span> vs '
        f'<span class="same-days">{escape(number(before))}</span> on the same days last week '
        f"({escape(span)})"
    )


def _kpi_tiles(data: dict) -> str:
    kpis = data["kpis"]
    this_week, as_of = data["this_week_start"], data["as_of_date"]
    now, before = kpis["completed_this_week"], kpis["completed_same_days_last_week"]
    if as_of is None:
        delta, week_note = "no weeks yet", "ISO week of the as-of date"
    else:
        delta = week_to_date_comparison(now, before, this_week, data["as_of_at"])
        average = kpis["average_complete_weeks"]
        week_note = (
            f"{data['average_weeks']}-week average (complete weeks): "
            f"{escape(number(average, 1) if average is not None else NO_VALUE)} a week"
        )
    completion = kpis["completion_pct"]
    at_risk = kpis["at_risk_projects"]
    tiles = [
        (
            "",
            "Active projects",
            number(kpis["active_projects"]),
            f"{escape(number(kpis['live_projects']))} live projects in all",
        ),
        (
            "ok",
            "Overall completion",
            _percent(completion, 1),
            f"{escape(number(kpis['done_tasks']))} of {escape(number(kpis['live_tasks']))} "
            f"live tasks done",
        ),
        (
            "",
            "Tasks completed this week, to date",
            number(now),
            f"{delta}<br>{week_note}",
        ),
        (
            "warn" if at_risk else "ok",
            "Projects overdue or at risk",
            number(at_risk),
            f"{escape(number(kpis['overdue_projects']))} overdue · of "
            f"{escape(number(kpis['assessed_projects']))} live projects assessed",
        ),
    ]
    items = "".join(
        f'<li class="kpi {tone}"><p class="label">{escape(label)}</p>'
        f'<p class="value">{escape(value)}</p><p class="sub">{sub}</p></li>'
        for tone, label, value, sub in tiles
    )
    return (
        '<section aria-labelledby="h-kpis"><h2 id="h-kpis" class="sr-only">Portfolio key '
        f'figures</h2><ul class="kpis">{items}</ul></section>'
    )


def _velocity_figure(data: dict) -> str:
    weeks = data["velocity"]
    n_weeks = data["velocity_weeks"]
    title = f"Velocity: tasks completed per week, last {n_weeks} weeks"
    if not weeks or data["this_week_start"] is None:
        return _figure("velocity", title, "", _empty("No completed-task weeks to chart."))
    total = sum(row["tasks_completed"] or 0 for row in weeks)
    desc = (
        f"{number(total)} tasks completed over the period, summed over projects. "
        "The latest week is still running: its bar is to date, and it is left out of the average."
    )
    legend = _legend(
        [
            ("bar", "Tasks completed"),
            ("partial", "This week, to date"),
            ("avg", "Average of the last 3 complete weeks"),
        ]
    )
    body = legend + charts.velocity_chart(weeks, data["this_week_start"], n_weeks)
    return _figure("velocity", title, desc, body)


def _braindump_figure(data: dict) -> str:
    dumps = data["braindumps"]
    title = f"Brain dumps, last {BRAINDUMP_DAYS // 7} weeks"
    if not dumps["days"] or not dumps["created"]:
        return _figure("braindumps", title, "", _empty("No brain dumps in the last 8 weeks."))
    desc = (
        f"{number(dumps['created'])} created, {number(dumps['processed'])} processed, "
        f"{number(dumps['failed'])} failed, {number(dumps['pending'])} pending. "
        f"Processed rate {_percent(_rate(dumps['processed_rate']))} "
        "(processed ÷ created, by day created)."
    )
    legend = _legend([("processed", "Processed"), ("failed", "Failed"), ("pending", "Pending")])
    body = legend + charts.braindump_chart(dumps["days"], dumps["first_day"], dumps["last_day"])
    return _figure("braindumps", title, desc, body)


def _rate(value: float | None) -> float | None:
    return None if value is None else 100 * value


def _burndown_section(data: dict) -> str:
    projects = [p for p in data["burndown"] if p["days"]]
    legend = _legend(
        [
            ("remaining", "Remaining (burndown)"),
            ("projection", "Projection"),
            ("scope", "Scope"),
            ("done", "Completed (burnup)"),
            ("ideal", "Ideal"),
            ("end", "End date"),
        ]
    )
    head = (
        '<div class="section-head"><h2 id="h-burndown">Burndown: the most active projects'
        '<span class="h-note">from creation to the later of the end date and the projection; '
        "one task scale for all</span></h2>"
        f"{legend if projects else ''}</div>"
    )
    if not projects:
        figure = _figure(
            "burndown",
            "Burndown",
            "",
            _empty(f"No project completed a task in the last {ACTIVITY_WEEKS} weeks."),
        )
        return f'<section aria-labelledby="h-burndown">{head}{figure}</section>'
    figures = []
    for rank, project in enumerate(projects, start=1):
        projected = project["projected_completion_date"]
        if project["remaining_tasks"] == 0:
            finish = "all done"
        elif projected is None:
            finish = "no projected finish at this pace"
        else:
            finish = f"projected finish {long_date(projected)}"
        end = project["end_date"]
        desc = (
            f"{number(project['remaining_tasks'])} of {number(project['scope_tasks'])} "
            f"remaining · {finish}"
            + (f" · ends {long_date(end)}" if end is not None else "")
            + f" · {number(project['tasks_completed_recently'])} done in {ACTIVITY_WEEKS} wks"
        )
        figures.append(
            _figure(
                "burndown",
                project["display_name"],
                desc,
                charts.burndown_chart(project),
                f' data-rank="{rank}" title="{escape(project["display_name"])}"',
            )
        )
    return (
        f'<section class="burndown" aria-labelledby="h-burndown">{head}'
        f'<div class="grid4">{"".join(figures)}</div></section>'
    )


def _tasks(value: float | None) -> str:
    """A task count; the ideal line is fractional, shown to one decimal unless whole."""
    if value is None:
        return NO_VALUE
    return number(value) if float(value).is_integer() else number(value, 1)


def _reason_tag(reason: str) -> str:
    kind = "milestone" if "milestone" in reason else "blocked" if "block" in reason else ""
    return f'<span class="tag {kind}">{escape(reason)}</span>'


def _risk_section(data: dict) -> str:
    rows = data["at_risk"]
    head = '<h2 id="h-risk">Projects at risk</h2>'
    if not rows:
        body = (
            '<p class="more">No project is overdue or at risk: none is past its end date with '
            "work left, projected to finish late, behind its ideal burndown beyond the "
            "tolerance, or has a missed milestone or blocked work.</p>"
            if data["kpis"]["assessed_projects"]
            else '<p class="more">No data yet: no project has been assessed.</p>'
        )
        return f'<section class="risk panel" aria-labelledby="h-risk">{head}{body}</section>'
    lines = []
    for row in rows[:MAX_RISK_ROWS]:
        status = row["risk_status"] or "at risk"
        remaining, ideal = row["remaining_tasks"], row["ideal_remaining_tasks"]
        behind = "behind the ideal burndown" in (row["risk_reasons"] or [])
        projected, end = row["projected_completion_date"], row["end_date"]
        lines.append(
            "<tr>"
            f'<td class="name">{escape(row["display_name"])}'
            f'<span class="state">{escape(row["project_state"] or "")}</span></td>'
            f'<td><span class="status {status.replace(" ", "-")}">{escape(status)}</span></td>'
            f"<td>{''.join(_reason_tag(r) for r in row['risk_reasons'] or [])}</td>"
            f'<td class="num{" hot" if behind else ""}">{escape(number(remaining))}</td>'
            f'<td class="num">{escape(_tasks(ideal))}</td>'
            f'<td class="num{" hot" if row["missed_milestones"] else ""}">'
            f"{escape(number(row['missed_milestones']))}</td>"
            f'<td class="num{" hot" if row["blocked_tasks"] else ""}">'
            f"{escape(number(row['blocked_tasks']))}</td>"
            f'<td class="num">{escape(long_date(end) if end else NO_VALUE)}</td>'
            + (
                f'<td class="num">{escape(long_date(projected))}</td>'
                if projected
                else '<td class="num never">not at this pace</td>'
            )
            + "</tr>"
        )
    share, tasks = data["kpis"]["risk_tolerance"] or (None, None)
    tolerance = (
        f"{number(100 * share)}% of the scope and {number(tasks)} tasks"
        if share is not None
        else "the tolerance"
    )
    hidden = len(rows) - MAX_RISK_ROWS
    more = (
        f'<p class="more">and {hidden} more project{"s" if hidden > 1 else ""} overdue or at '
        "risk, fewest reasons last.</p>"
        if hidden > 0
        else ""
    )
    table = (
        "<table><caption>Active and planning projects with work left: <strong>overdue</strong> "
        "when past their end date; <strong>at risk</strong> when projected to finish after "
        f"it, behind the ideal line by more than {escape(tolerance)}, or with a "
        "missed milestone or blocked work. Overdue first, then most reasons.</caption>"
        '<thead><tr><th scope="col">Project</th><th scope="col">Status</th>'
        '<th scope="col">Reasons</th>'
        '<th scope="col" class="num">Remaining</th><th scope="col" class="num">Ideal</th>'
        '<th scope="col" class="num">Missed milestones</th>'
        '<th scope="col" class="num">Blocked tasks</th>'
        '<th scope="col" class="num">End date</th>'
        '<th scope="col" class="num">Projected finish</th></tr></thead>'
        f"<tbody>{''.join(lines)}</tbody></table>"
    )
    return f'<section class="risk panel" aria-labelledby="h-risk">{head}{table}{more}</section>'


def _days(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:.1f} d"


def _flow_section(data: dict) -> str:
    flow = data["flow"]
    head = '<h2 id="h-flow">Flow</h2>'
    if flow is None:
        body = '<p class="more">No data yet: nothing has been completed or started.</p>'
        return f'<section class="flow panel" aria-labelledby="h-flow">{head}{body}</section>'
    period = f"{short_date(flow['first_day'])} to {short_date(flow['last_day'])}"
    stats = [
        (
            "Throughput",
            number(flow["throughput"]),
            f"tasks completed, {period} ({number(flow['throughput_per_week'], 1)} a week)",
        ),
        (
            "Cycle time, median",
            _days(flow["cycle_time_p50_days"]),
            f"from first start to done; 85th percentile {_days(flow['cycle_time_p85_days'])}, "
            f"95th {_days(flow['cycle_time_p95_days'])} "
            f"({number(flow['cycle_timed_tasks'])} tasks that were in progress)",
        ),
        (
            "Work in progress now",
            number(flow["wip_tasks"]),
            "tasks in progress or blocked",
        ),
        (
            "Age of work in progress",
            _days(flow["wip_age_p50_days"]),
            f"median since first started; oldest {_days(flow['wip_oldest_days'])}; "
            f"{number(flow['wip_older_than_stale'])} older than {flow['stale_days']} days",
        ),
    ]
    items = "".join(
        f'<li class="stat"><p class="label">{escape(label)}</p>'
        f'<p class="value">{escape(value)}</p><p class="sub">{escape(sub)}</p></li>'
        for label, value, sub in stats
    )
    return (
        f'<section class="flow panel" aria-labelledby="h-flow">{head}'
        f'<ul class="stats">{items}</ul></section>'
    )


def _accounts_section(data: dict) -> str:
    """The all-accounts summary's table: one line per account, by its label."""
    rows = data["per_account"]
    if data["account_id"] is not None or len(rows) < 2:
        return ""
    lines = "".join(
        f'<tr><td class="name">{escape(row["account_label"])}</td>'
        f'<td class="num">{escape(number(row["active_projects"]))}</td>'
        f'<td class="num">{escape(_percent(row["completion_pct"], 1))}</td>'
        f'<td class="num">{escape(number(row["done_tasks"]))} of '
        f"{escape(number(row['live_tasks']))}</td>"
        f'<td class="num{" hot" if row["overdue_projects"] else ""}">'
        f"{escape(number(row['overdue_projects']))}</td>"
        f'<td class="num{" hot" if row["at_risk_projects"] else ""}">'
        f"{escape(number(row['at_risk_projects']))}</td></tr>"
        for row in rows
    )
    return (
        '<section class="accounts panel" aria-labelledby="h-accounts">'
        '<h2 id="h-accounts">By account</h2><table>'
        '<thead><tr><th scope="col">Account</th><th scope="col" class="num">Active projects</th>'
        '<th scope="col" class="num">Completion</th><th scope="col" class="num">Tasks done</th>'
        '<th scope="col" class="num">Overdue</th>'
        '<th scope="col" class="num">Overdue or at risk</th></tr></thead>'
        f"<tbody>{lines}</tbody></table></section>"
    )


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_html(data: dict, generated_at: datetime, metrics_url: str | None = None) -> str:
    """The whole dashboard as one HTML page: inline CSS and SVG, no script, and no URL but
    `metrics_url` (where the metric definitions are published) when one is given."""
    as_of = data["as_of_date"]
    if data["account_id"] is not None:
        label = data["account_labels"].get(data["account_id"], data["account_id"][:8])
        scope = f"account {label}"
    else:
        count = data["accounts"]
        scope = {0: "no accounts yet", 1: "1 account"}.get(count, f"all {count} accounts")
    as_of_text = f"{as_of:%A} {long_date(as_of)}" if as_of is not None else "no data yet"
    title = "BuildOS executive dashboard" + (f" · {long_date(as_of)}" if as_of else "")
    header = (
        '<header class="top"><div><p class="brand">BuildOS analytics</p>'
        "<h1>Executive dashboard</h1></div>"
        f'<p class="meta">Data as of <strong>{escape(as_of_text)}</strong> · {escape(scope)}'
        f"<br>Generated {escape(_stamp(generated_at))}</p></header>"
    )
    footer = (
        "<footer>Weeks are ISO weeks (Monday to Sunday, UTC); “this week” is the week of the "
        "as-of date, compared with the same stretch of last week. "
        + (
            f'<a class="how" href="{escape(metrics_url)}">How these are computed</a>.'
            if metrics_url
            else '<span class="how">How these are computed: docs/metrics.md of BuildOS '
            "Analytics.</span>"
        )
        + "</footer>"
    )
    body = (
        header
        + _kpi_tiles(data)
        + '<section aria-labelledby="h-trends"><h2 id="h-trends" class="sr-only">Trends</h2>'
        + f'<div class="grid2">{_velocity_figure(data)}{_braindump_figure(data)}</div></section>'
        + _accounts_section(data)
        + _flow_section(data)
        + _burndown_section(data)
        + _risk_section(data)
        + footer
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
