"""Inline SVG charts for the executive dashboard, drawn in Python from the numbers it is given.

Each function returns one `<svg>` element (no xmlns: inline SVG in HTML needs none, and the page
must not hold a single URL). Sizes are viewBox units close to the pixels the page gives them,
so text stays legible; CSS scales the SVG to its box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

# Colours live in the page's CSS (a class on each mark), so screen and print share them.

NO_VALUE = "\u2013"  # an en dash: a value the views leave empty

# A projection further out than this is drawn to the chart's edge and named in the caption.
PROJECTION_HORIZON_DAYS = 42


def short_date(day: date) -> str:
    return f"{day.day} {day:%b}"


def long_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def number(value: float | int | None, decimals: int = 0) -> str:
    if value is None:
        return NO_VALUE
    if decimals == 0:
        return f"{round(value):,}"
    return f"{value:,.{decimals}f}"


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and round steps (1, 2 or 5 times a power of ten) up to at least `top`."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1)  # counts: never a fractional gridline
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _f(value: float) -> str:
    """A coordinate with one decimal at most: small files, no visible loss."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class Frame:
    """The plotting area inside an SVG of `width` by `height`, and its y scale."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    y_max: float

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:
        return self.height - self.bottom

    @property
    def y1(self) -> float:
        return self.top

    def y(self, value: float) -> float:
        return self.y0 - (self.y0 - self.y1) * (value / self.y_max if self.y_max else 0)


def svg_open(width: float, height: float, label: str) -> str:
    return (
        f'<svg viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" '
        f'height="{_f(height)}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
    )


def y_axis(frame: Frame, ticks: Sequence[float]) -> str:
    parts = []
    for tick in ticks:
        y = _f(frame.y(tick))
        parts.append(
            f'<line class="grid" x1="{_f(frame.x0)}" x2="{_f(frame.x1)}" y1="{y}" y2="{y}"/>'
            f'<text class="tick" x="{_f(frame.x0 - 6)}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{number(tick)}</text>'
        )
    return "".join(parts)


def x_label(x: float, y: float, text: str, anchor: str = "middle") -> str:
    return (
        f'<text class="tick" x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def polyline_path(points: Sequence[tuple[float, float]]) -> str:
    return "M" + "L".join(f"{_f(x)} {_f(y)}" for x, y in points)


def segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points whose value is not None (a null breaks the line)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [run for run in runs if run]


def velocity_chart(weeks: Sequence[dict], this_week: date, n_weeks: int) -> str:
    """Bars: tasks completed per ISO week; line: the average of the 3 complete weeks ending
    with each week. The current week is still running, so its bar is drawn lighter and marked
    'to date', and it has no average. Bar values sit in a band above the plot, so no line can
    run through them."""
    width, height = 640.0, 262.0
    by_week = {row["week_start"]: row for row in weeks}
    slots = [this_week - timedelta(weeks=n_weeks - 1 - i) for i in range(n_weeks)]
    values = [by_week[s]["tasks_completed"] for s in slots if s in by_week]
    averages = [by_week[s]["average_complete_weeks"] or 0 for s in slots if s in by_week]
    ticks = nice_ticks(max([*values, *averages, 1]))
    frame = Frame(width, height, left=48, right=12, top=26, bottom=40, y_max=ticks[-1])
    slot = (frame.x1 - frame.x0) / n_weeks
    bar = slot * 0.62
    total = sum(values)
    label = (
        f"Tasks completed per week over the last {n_weeks} weeks: {number(total)} in all; "
        f"bars are weekly totals, the line is the average of the last 3 complete weeks."
    )
    parts = [svg_open(width, height, label), y_axis(frame, ticks), y_title(frame, "tasks")]
    line: list[tuple[float, float | None]] = []
    for i, week in enumerate(slots):
        center = frame.x0 + slot * (i + 0.5)
        current = week == this_week
        parts.append(x_label(center, height - 22, short_date(week)))
        row = by_week.get(week)
        if row is None:
            line.append((center, None))
            continue
        value = row["tasks_completed"] or 0
        y = frame.y(value)
        tip = f"Week of {long_date(week)}: {number(value)} tasks completed" + (
            " (week to date)" if current else ""
        )
        parts.append(
            f'<rect class="{"bar partial" if current else "bar"}" x="{_f(center - bar / 2)}" '
            f'y="{_f(y)}" width="{_f(bar)}" height="{_f(max(frame.y0 - y, 0.5))}" rx="2">'
            f"<title>{escape(tip)}</title></rect>"
        )
        parts.append(
            f'<text class="value" x="{_f(center)}" y="{_f(frame.y1 - 9)}" '
            f'text-anchor="middle">{number(value)}</text>'
        )
        if current:
            parts.append(
                f'<text class="note" x="{_f(center)}" y="{_f(height - 8)}" '
                f'text-anchor="middle">to date</text>'
            )
        average = row["average_complete_weeks"]
        line.append((center, None if average is None else frame.y(average)))
    for run in segments(line):
        parts.append(f'<path class="avg" d="{polyline_path(run)}"/>')
        parts += [f'<circle class="avg-dot" cx="{_f(x)}" cy="{_f(y)}" r="3"/>' for x, y in run]
    parts.append(
        f'<line class="axis" x1="{_f(frame.x0)}" x2="{_f(frame.x1)}" '
        f'y1="{_f(frame.y0)}" y2="{_f(frame.y0)}"/></svg>'
    )
    return "".join(parts)


def y_title(frame: Frame, text: str) -> str:
    """The y axis's unit, written up the left edge."""
    middle = (frame.y0 + frame.y1) / 2
    return (
        f'<text class="tick axis-title" transform="translate(11 {_f(middle)}) rotate(-90)" '
        f'text-anchor="middle">{escape(text)}</text>'
    )


def braindump_chart(days: Sequence[dict], first_day: date, last_day: date) -> str:
    """Stacked bars per day: brain dumps created that day, split by their outcome now
    (processed, failed, still pending)."""
    width, height = 640.0, 250.0
    n_days = (last_day - first_day).days + 1
    totals = [row["created"] or 0 for row in days]
    ticks = nice_ticks(max([*totals, 1]))
    frame = Frame(width, height, left=40, right=12, top=22, bottom=30, y_max=ticks[-1])
    slot = (frame.x1 - frame.x0) / n_days
    bar = max(slot * 0.72, 1.0)
    label = (
        f"Brain dumps created per day from {long_date(first_day)} to {long_date(last_day)}, "
        f"stacked by outcome: processed, failed, pending; {number(sum(totals))} in all."
    )
    parts = [svg_open(width, height, label), y_axis(frame, ticks)]
    for i in range(n_days):
        day = first_day + timedelta(days=i)
        if day.weekday() == 0:
            parts.append(x_label(frame.x0 + slot * (i + 0.5), height - 10, short_date(day)))
    for row in days:
        i = (row["day_date"] - first_day).days
        x = frame.x0 + slot * (i + 0.5) - bar / 2
        base = 0
        tip = (
            f"{long_date(row['day_date'])}: {number(row['created'])} created, "
            f"{number(row['processed'])} processed, {number(row['failed'])} failed, "
            f"{number(row['pending'])} pending"
        )
        for key in ("processed", "failed", "pending"):
            value = row[key] or 0
            if value <= 0:
                continue
            y_top, y_bottom = frame.y(base + value), frame.y(base)
            parts.append(
                f'<rect class="bd-{key}" x="{_f(x)}" y="{_f(y_top)}" width="{_f(bar)}" '
                f'height="{_f(y_bottom - y_top)}"><title>{escape(tip)}</title></rect>'
            )
            base += value
    parts.append(
        f'<line class="axis" x1="{_f(frame.x0)}" x2="{_f(frame.x1)}" '
        f'y1="{_f(frame.y0)}" y2="{_f(frame.y0)}"/></svg>'
    )
    return "".join(parts)


def burndown_axis(project: dict) -> tuple[date, date, bool]:
    """The time axis: from the project's first day (its creation) to the later of its end date
    and its projected completion. A projection further out than the project's age so far (at
    least PROJECTION_HORIZON_DAYS) would flatten the history: the axis then stops there and
    the projection runs off its edge, labelled with its date. Returns (first, last, cut)."""
    days = project["days"]
    first, today = days[0]["day_date"], days[-1]["day_date"]
    projected, end = project["projected_completion_date"], project["end_date"]
    axis_end = max([today, *(day for day in (end,) if day is not None)])
    cut = False
    if projected is not None and projected > axis_end:
        horizon = max(axis_end, today + max(today - first, timedelta(PROJECTION_HORIZON_DAYS)))
        cut = projected > horizon
        axis_end = min(projected, horizon)
    if axis_end <= first:
        axis_end = first + timedelta(days=1)
    return first, axis_end, cut


def burndown_chart(project: dict) -> str:
    """One project's burnup (scope, completed) and burndown (remaining) per day, its ideal
    line to the end date, and the projection from today's remaining to zero on the projected
    completion date (dashed, over a shaded 'ahead' band). The end date is a vertical marker.
    The y scale is `project["y_top"]` (shared by the panels) when given."""
    width, height = 330.0, 256.0
    days = project["days"]
    last = days[-1]["day_date"]
    projected, end = project["projected_completion_date"], project["end_date"]
    first, axis_end, cut = burndown_axis(project)
    span = (axis_end - first).days
    top = project.get("y_top") or max(
        [row["scope_tasks"] or 0 for row in days]
        + [row["ideal_remaining_tasks"] or 0 for row in days]
        + [1]
    )
    ticks = nice_ticks(top, 4)
    # the band above the plot holds the end-date and cut-projection labels, clear of lines
    frame = Frame(width, height, left=44, right=12, top=34, bottom=24, y_max=ticks[-1])

    def x(day: date) -> float:
        return frame.x0 + (frame.x1 - frame.x0) * min((day - first).days, span) / span

    label = (
        f"Burndown of {project.get('display_name', project['project_name'])}: "
        f"{number(project['remaining_tasks'])} of {number(project['scope_tasks'])} tasks "
        f"remaining on {long_date(last)}, from {long_date(first)} to {long_date(axis_end)}"
        + (
            f", projected to finish {long_date(projected)}."
            if projected is not None
            else ", no projected finish at the current pace."
        )
    )
    axis = f'data-axis-start="{first}" data-axis-end="{axis_end}" data-y-max="{_f(ticks[-1])}"'
    parts = [svg_open(width, height, label).replace("<svg ", f"<svg {axis} ", 1)]
    if axis_end > last:
        parts.append(
            f'<rect class="ahead" x="{_f(x(last))}" y="{_f(frame.y1)}" '
            f'width="{_f(x(axis_end) - x(last))}" height="{_f(frame.y0 - frame.y1)}"/>'
        )
    parts.append(y_axis(frame, ticks))
    parts.append(y_title(frame, "tasks"))
    # Date labels by priority (the first day, the axis end, today, the end date), each kept
    # only when it clears the ones already placed.
    placed: list[tuple[float, float]] = []
    candidates = [(first, "start"), (axis_end, "end"), (last, "middle")]
    if end is not None and first < end < axis_end:
        candidates.append((end, "middle"))
    for day, anchor in candidates:
        text = short_date(day) if day.year == last.year else f"{short_date(day)} {day:%y}"
        half = 3.3 * len(text)
        centre = x(day) + {"start": half, "end": -half, "middle": 0.0}[anchor]
        box = (centre - half - 4, centre + half + 4)
        if all(box[1] < lo or box[0] > hi for lo, hi in placed):
            placed.append(box)
            parts.append(x_label(x(day), height - 7, text, anchor))

    def line(key: str) -> list[tuple[float, float | None]]:
        return [
            (x(row["day_date"]), None if row[key] is None else frame.y(row[key])) for row in days
        ]

    for run in segments(line("completed_tasks")):
        area = [(run[0][0], frame.y0), *run, (run[-1][0], frame.y0)]
        parts.append(f'<path class="bn-done-area" d="{polyline_path(area)}Z"/>')
        parts.append(f'<path class="bn-done" d="{polyline_path(run)}"/>')
    for run in segments(line("scope_tasks")):
        parts.append(f'<path class="bn-scope" d="{polyline_path(run)}"/>')
    ideal = line("ideal_remaining_tasks")
    ahead = [(x(day), frame.y(value)) for day, value in project.get("ideal_to_end") or []]
    for run in segments(ideal):
        if ahead and run[-1][0] == ahead[0][0]:
            run = [*run, *ahead[1:]]
            ahead = []
        parts.append(f'<path class="bn-ideal" d="{polyline_path(run)}"/>')
    if ahead:
        parts.append(f'<path class="bn-ideal" d="{polyline_path(ahead)}"/>')
    for run in segments(line("remaining_tasks")):
        parts.append(f'<path class="bn-remaining" d="{polyline_path(run)}"/>')
    remaining = project["remaining_tasks"] or 0
    if projected is not None and projected > last and remaining > 0:
        # Drawn geometry only: the straight line from today to the view's projected date,
        # cut at the chart's edge when that date is beyond it.
        stop = min(projected, axis_end)
        share = (stop - last).days / (projected - last).days
        points = [(x(last), frame.y(remaining)), (x(stop), frame.y(remaining * (1 - share)))]
        parts.append(f'<path class="bn-projection" d="{polyline_path(points)}"/>')
        if not cut:
            parts.append(
                f'<circle class="bn-projection-dot" cx="{_f(x(projected))}" '
                f'cy="{_f(frame.y0)}" r="3.5"><title>Projected completion '
                f"{escape(long_date(projected))}</title></circle>"
            )
        else:
            parts.append(
                f'<text class="note" x="{_f(frame.x1)}" y="{_f(frame.y1 - 19)}" '
                f'text-anchor="end">projected {escape(long_date(projected))} →</text>'
            )
    if end is not None and first <= end <= axis_end:
        anchor = "end" if x(end) > (frame.x0 + frame.x1) / 2 else "start"
        parts.append(
            f'<line class="bn-end" x1="{_f(x(end))}" x2="{_f(x(end))}" y1="{_f(frame.y1)}" '
            f'y2="{_f(frame.y0)}"><title>End date {escape(long_date(end))}</title></line>'
        )
        parts.append(
            f'<text class="note" x="{_f(x(end))}" y="{_f(frame.y1 - 6)}" '
            f'text-anchor="{anchor}">end {escape(short_date(end))}</text>'
        )
    parts.append(
        f'<circle class="bn-today" cx="{_f(x(last))}" cy="{_f(frame.y(remaining))}" r="3.5">'
        f"<title>{escape(number(remaining))} remaining on {escape(long_date(last))}</title>"
        f"</circle>"
    )
    parts.append(
        f'<line class="axis" x1="{_f(frame.x0)}" x2="{_f(frame.x1)}" '
        f'y1="{_f(frame.y0)}" y2="{_f(frame.y0)}"/></svg>'
    )
    return "".join(parts)
