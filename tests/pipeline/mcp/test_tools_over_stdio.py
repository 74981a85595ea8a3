"""The server as an MCP client starts it (stdio): its tools and resources, each tool's answer
checked against the marts of the serving file, and bad arguments refused in words."""

from __future__ import annotations

import anyio
import polars as pl
import pytest

from tests.pipeline.mcp.marts import busiest_project, instant, read, shared_name
from tests.pipeline.mcp.mcp_helpers import answer, refusal, stdio_session

TOOLS = {"find_projects", "project_status", "at_risk_projects", "velocity", "burndown", "flow"}


def test_tools_and_metric_resources_are_listed(exports, tmp_path):
    async def scenario():
        async with stdio_session(exports, tmp_path) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            resources = {str(r.uri): r for r in (await session.list_resources()).resources}
            velocity = await session.read_resource("buildos://metrics/velocity")
            return tools, resources, velocity.contents[0].text

    tools, resources, velocity_text = anyio.run(scenario)
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description) > 60, tool.name
        assert tool.input_schema["type"] == "object"
        assert tool.annotations.read_only_hint is True
        for name, spec in tool.input_schema["properties"].items():
            assert spec.get("description"), (tool.name, name)
    assert tools["project_status"].input_schema["required"] == ["project"]
    assert tools["velocity"].input_schema["properties"]["weeks"]["maximum"] == 104
    assert {"buildos://metrics", "buildos://metrics/project-status"} <= set(resources)
    assert velocity_text.startswith("## Velocity (`marts.fct_velocity_weekly`)")
    assert "ISO week" in velocity_text


def test_each_tool_answers_what_the_marts_hold(exports, tmp_path):
    project = busiest_project(exports)
    key = [project["account_id"], project["project_id"]]
    word = project["project_name"].split()[-1]
    typo = project["project_name"][:-1]  # the last letter dropped

    async def scenario():
        async with stdio_session(exports, tmp_path) as session:
            return {
                "status": await answer(
                    session, "project_status", project=project["project_name"].upper()
                ),
                "found": await answer(session, "find_projects", query=word),
                "typo": await answer(session, "find_projects", query=typo + "x"),
                "active": await answer(session, "find_projects", query=word, state="active"),
                "risk": await answer(session, "at_risk_projects"),
                "velocity": await answer(
                    session, "velocity", project=project["project_id"], weeks=4
                ),
                "account_velocity": await answer(
                    session, "velocity", account=project["account_id"], weeks=3
                ),
                "burndown": await answer(
                    session, "burndown", project=project["project_id"], days=10
                ),
                "flow": await answer(session, "flow", project=project["project_id"], days=60),
            }

    got = anyio.run(scenario)
    (as_of,) = read(exports, "select * from marts.dim_accounts where account_id = ?", [key[0]])

    status = got["status"]
    assert status["project_id"] == project["project_id"]
    assert instant(status["as_of_at"]) == as_of["as_of_at"]
    for column in ("project_state", "completion_pct", "live_tasks", "done_tasks", "overdue_tasks"):
        assert status[column] == project[column], column
    assert status["blocked_tasks"] == project["blocked_tasks"]
    assert status["open_dependencies"] == project["open_dependencies"]
    blocked = read(
        exports,
        "select task_id from marts.fct_wip_aging where account_id = ? and project_id = ? "
        "and task_state = 'blocked'",
        key,
    )
    assert {b["task_id"] for b in status["blockers"]["blocked"]} == {b["task_id"] for b in blocked}
    assert status["next_milestone_title"] == project["next_milestone_title"]
    assert status["days_until_next_milestone"] == project["days_until_next_milestone"]
    (risk,) = read(
        exports,
        "select is_at_risk, risk_reasons from marts.fct_project_risk "
        "where account_id = ? and project_id = ?",
        key,
    )
    assert status["at_risk"]["is_at_risk"] == risk["is_at_risk"]
    assert status["at_risk"]["why"] == risk["risk_reasons"]

    found_ids = [p["project_id"] for p in got["found"]["projects"]]
    assert project["project_id"] in found_ids
    named = read(
        exports,
        "select project_id from marts.fct_project_status where contains(lower(project_name), ?)",
        [word.lower()],
    )
    assert set(found_ids) >= {r["project_id"] for r in named}
    assert project["project_id"] in [p["project_id"] for p in got["typo"]["projects"]]
    assert {p["project_state"] for p in got["active"]["projects"]} <= {"active"}
    assert {a["account_id"] for a in got["found"]["as_of"]} == {
        r["account_id"] for r in read(exports, "select account_id from marts.dim_accounts")
    }

    at_risk = read(
        exports, "select project_id from marts.fct_project_risk where is_at_risk order by 1"
    )
    assert sorted(p["project_id"] for p in got["risk"]["projects"]) == [
        r["project_id"] for r in at_risk
    ]
    assert all(p["risk_reasons"] for p in got["risk"]["projects"])

    weeks = read(
        exports,
        "select week_start, tasks_completed from marts.fct_velocity_weekly "
        "where account_id = ? and project_id = ? order by week_start desc limit 4",
        key,
    )[::-1]
    assert [(w["week_start"], w["tasks_completed"]) for w in got["velocity"]["weeks"]] == [
        (w["week_start"].isoformat(), w["tasks_completed"]) for w in weeks
    ]
    summed = read(
        exports,
        "select week_start, sum(tasks_completed) as done from marts.fct_velocity_weekly "
        "where account_id = ? group by 1 order by 1 desc limit 3",
        [key[0]],
    )[::-1]
    assert [w["tasks_completed"] for w in got["account_velocity"]["weeks"]] == [
        s["done"] for s in summed
    ]

    days = got["burndown"]["days"]
    assert len(days) == 10 and days[-1]["day_date"] == as_of["as_of_date"].isoformat()
    last = read(
        exports,
        "select remaining_tasks, scope_tasks from marts.fct_burndown_daily "
        "where account_id = ? and project_id = ? and day_date = ?",
        [*key, as_of["as_of_date"]],
    )[0]
    assert days[-1]["remaining_tasks"] == last["remaining_tasks"]
    assert days[-1]["scope_tasks"] == last["scope_tasks"]

    # Percentiles worked out again with Polars (linear interpolation), not by the same SQL.
    flow = got["flow"]
    completed = pl.DataFrame(
        read(
            exports,
            "select cycle_time_days from marts.fct_task_flow where account_id = ? "
            "and project_id = ? and completed_date > cast(? as date) - 60",
            [*key, as_of["as_of_date"]],
        )
    )
    assert flow["times"]["completed_tasks"] == completed.height > 0
    cycle = completed["cycle_time_days"].drop_nulls()
    for share, name in ((0.5, "cycle_time_p50_days"), (0.85, "cycle_time_p85_days")):
        assert flow["times"][name] == pytest.approx(
            cycle.quantile(share, interpolation="linear"), abs=0.006
        )
    wip = read(
        exports,
        "select count(*) as items from marts.fct_wip_aging where account_id = ? and project_id = ?",
        key,
    )[0]
    assert flow["aging"]["wip_items"] == wip["items"]
    assert flow["wip_now"]["day_date"] == as_of["as_of_date"].isoformat()


def test_bad_arguments_get_clear_tool_errors(exports, tmp_path):
    shared = shared_name(exports)

    async def scenario():
        async with stdio_session(exports, tmp_path) as session:
            return {
                "unknown": await refusal(session, "project_status", project="no such project"),
                "ambiguous": await refusal(session, "project_status", project=shared["name"]),
                "weeks_type": await refusal(session, "velocity", account="x", weeks="many"),
                "weeks_range": await refusal(
                    session, "burndown", project=shared["projects"][0], days=0
                ),
                "state": await refusal(session, "find_projects", query="a", state="finished"),
                "missing": await refusal(session, "flow"),
                "neither": await refusal(session, "velocity"),
                "account": await refusal(session, "at_risk_projects", account="nobody"),
                "injection": await refusal(session, "project_status", project="x' or '1'='1"),
            }

    errors = anyio.run(scenario)
    assert "no live project has the id or name 'no such project'" in errors["unknown"]
    assert "matches 2 projects" in errors["ambiguous"]
    for project_id in shared["projects"]:
        assert project_id in errors["ambiguous"]
    assert "weeks" in errors["weeks_type"] and "integer" in errors["weeks_type"]
    assert "days" in errors["weeks_range"] and "greater than or equal to 1" in errors["weeks_range"]
    assert "state" in errors["state"] and "'active'" in errors["state"]
    assert "project" in errors["missing"] and "required" in errors["missing"].lower()
    assert "either a project or an account" in errors["neither"]
    assert "no account 'nobody'" in errors["account"]
    assert "no live project has the id or name" in errors["injection"]
