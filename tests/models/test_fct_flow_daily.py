"""fct_flow_daily: throughput, cumulative flow, and work in progress with its age per day."""

from tests.models.harness import d, run_model, ts

A = "acct"
AS_OF = {"account_id": A, "as_of_at": ts("2026-03-04 12:00"), "as_of_date": d("2026-03-04")}
TYPES = {
    "staging.stg_buildos__tasks": {"completed_at": "timestamptz"},
    "intermediate.int_task_state_intervals": {"valid_to": "timestamptz"},
    # no effort weights: this mart counts tasks
    "intermediate.int_task_effort_intervals": {
        "account_id": "varchar",
        "project_id": "varchar",
        "task_id": "varchar",
        "facet_scale": "varchar",
        "effort_weight": "double",
        "valid_from": "timestamptz",
        "valid_to": "timestamptz",
    },
}
PROJECTS = [
    {
        "account_id": A,
        "project_id": "p1",
        "created_at": ts("2026-03-01 10:00"),
        "is_deleted": False,
    },
    {
        "account_id": A,
        "project_id": "empty",
        "created_at": ts("2026-03-03 08:00"),
        "is_deleted": False,
    },
    {
        "account_id": A,
        "project_id": "gone",
        "created_at": ts("2026-03-01 10:00"),
        "is_deleted": True,
    },
]
# task -> (state now, completed_at, [(state, valid_from)], {day: state at the end of the day})
TASKS = {
    # started, then blocked since the 3rd
    "a": (
        "blocked",
        None,
        [
            ("todo", "2026-03-01 10:00"),
            ("in_progress", "2026-03-01 12:00"),
            ("blocked", "2026-03-03 06:00"),
        ],
        {"01": "in_progress", "02": "in_progress", "03": "blocked", "04": "blocked"},
    ),
    # done on the 2nd, reopened on the 3rd, done again (for good) on the 4th
    "b": (
        "done",
        "2026-03-04 06:00",
        [
            ("todo", "2026-03-01 10:00"),
            ("in_progress", "2026-03-02 00:00"),
            ("done", "2026-03-02 18:00"),
            ("todo", "2026-03-03 09:00"),
            ("done", "2026-03-04 06:00"),
        ],
        {"01": "todo", "02": "done", "03": "todo", "04": "done"},
    ),
    "c": (
        "todo",
        None,
        [("todo", "2026-03-01 10:00")],
        {d: "todo" for d in ("01", "02", "03", "04")},
    ),
    # blocked without ever being in progress: work in progress without an age
    "d": (
        "blocked",
        None,
        [("todo", "2026-03-02 08:00"), ("blocked", "2026-03-02 09:00")],
        {"02": "blocked", "03": "blocked", "04": "blocked"},
    ),
}


def inputs(project_id_of=lambda task_id: "p1"):
    tasks, intervals = [], []
    for task_id, (state, completed, steps, _by_day) in TASKS.items():
        project_id = project_id_of(task_id)
        tasks.append(
            {
                "account_id": A,
                "project_id": project_id,
                "task_id": task_id,
                "task_state": state,
                "completed_at": ts(completed) if completed else None,
                "is_deleted": False,
            }
        )
        for number, (step_state, start) in enumerate(steps):
            end = steps[number + 1][1] if number + 1 < len(steps) else None
            intervals.append(
                {
                    "account_id": A,
                    "project_id": project_id,
                    "task_id": task_id,
                    "task_state": step_state,
                    "valid_from": ts(start),
                    "valid_to": ts(end) if end else None,
                }
            )
    return {
        "staging.stg_buildos__projects": PROJECTS,
        "staging.stg_buildos__tasks": tasks,
        "intermediate.int_task_state_intervals": intervals,
        "intermediate.int_task_effort_intervals": [],
        "intermediate.int_account_as_of": [AS_OF],
    }


def flow_daily(given):
    rows = run_model("fct_flow_daily", given, TYPES, order_by="project_id, day_date")
    return {(row["project_id"], row["day_date"].day): row for row in rows}


COLUMNS = (
    "throughput_tasks",
    "todo_tasks",
    "in_progress_tasks",
    "blocked_tasks",
    "done_tasks",
    "wip_tasks",
    "wip_average_age_days",
)


def test_each_day_from_project_creation_to_the_as_of_day():
    rows = flow_daily(inputs())
    assert sorted(rows) == [
        ("empty", 3),
        ("empty", 4),
        ("p1", 1),
        ("p1", 2),
        ("p1", 3),
        ("p1", 4),
    ]


def test_throughput_counts_a_reopened_task_on_its_final_completion_only():
    rows = flow_daily(inputs())
    assert [rows["p1", day]["throughput_tasks"] for day in (1, 2, 3, 4)] == [0, 0, 0, 1]


def test_cumulative_flow_and_wip_at_the_end_of_each_day():
    rows = flow_daily(inputs())
    got = {day: tuple(rows["p1", day][c] for c in COLUMNS) for day in (1, 2, 3, 4)}
    assert got == {
        # a has been in progress half a day by midnight
        1: (0, 2, 1, 0, 0, 1, 0.5),
        # d is blocked but never started: it counts as WIP, not in the age
        2: (0, 1, 1, 1, 1, 2, 1.5),
        # a stays WIP while blocked; its age runs from its first start
        3: (0, 2, 0, 2, 0, 2, 2.5),
        # the as-of day ends at as_of_at (12:00)
        4: (1, 1, 0, 2, 1, 2, 3.0),
    }


def test_state_counts_are_the_end_of_day_states_of_the_tasks():
    """The running sums give, day by day, the states worked out by hand in TASKS."""
    rows = flow_daily(inputs())
    for day in (1, 2, 3, 4):
        states = [by_day[f"0{day}"] for *_, by_day in TASKS.values() if f"0{day}" in by_day]
        got = {s: rows["p1", day][f"{s}_tasks"] for s in ("todo", "in_progress", "blocked", "done")}
        assert got == {s: states.count(s) for s in got}


def test_a_project_without_tasks_has_zeros_and_no_age():
    rows = flow_daily(inputs())
    for day in (3, 4):
        assert tuple(rows["empty", day][c] for c in COLUMNS) == (0, 0, 0, 0, 0, 0, None)


def test_a_deleted_project_has_no_rows():
    rows = flow_daily(inputs(lambda task_id: "gone"))
    assert {project for project, _ in rows} == {"p1", "empty"}
    assert all(rows[key]["todo_tasks"] == 0 for key in rows)
