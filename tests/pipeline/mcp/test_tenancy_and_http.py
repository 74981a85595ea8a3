"""Over streamable HTTP on loopback: a server bound to some accounts never answers about
another's projects, and a publish while it serves is picked up without a restart and never
fails a call."""

from __future__ import annotations

import anyio
import pytest

from pipeline.mcp.server import serve
from pipeline.mcp.source import Source
from tests.pipeline.mcp.marts import read, shared_name
from tests.pipeline.mcp.mcp_helpers import (
    answer,
    http_server,
    http_session,
    refusal,
    stdio_session,
)
from tests.pipeline.publish.publish_helpers import publish_db


def test_a_server_bound_to_one_account_shows_only_its_projects(exports, tmp_path):
    shared = shared_name(exports)
    mine, theirs = shared["accounts"]
    my_project, their_project = shared["projects"]
    (unshared,) = read(
        exports,
        "select project_id from marts.fct_project_status where account_id = ? "
        "and project_id not in (select unnest(?)) order by project_id limit 1",
        [theirs, shared["projects"]],
    )

    async def bound(session):
        return {
            # the shared name is no longer ambiguous: only this account's project is served
            "by_name": await answer(session, "project_status", project=shared["name"]),
            "theirs": await refusal(session, "project_status", project=their_project),
            "their_other": await refusal(session, "flow", project=unshared["project_id"]),
            "unknown": await refusal(session, "project_status", project="0000-not-a-project"),
            "their_account": await refusal(session, "velocity", account=theirs),
            "found": await answer(session, "find_projects", query=shared["name"]),
            "risk": await answer(session, "at_risk_projects"),
        }

    async def both(session):
        return await refusal(session, "project_status", project=shared["name"])

    async def scenario():
        with http_server(exports, tmp_path, "--account", mine) as url:
            async with http_session(url) as session:
                one = await bound(session)
        async with stdio_session(exports, tmp_path, "--account", mine, "--account", theirs) as s:
            two = await both(s)
        return one, two

    one, two = anyio.run(scenario)
    assert one["by_name"]["project_id"] == my_project
    assert one["by_name"]["account_id"] == mine
    # another account's project reads exactly like one that does not exist
    assert one["theirs"] == one["unknown"].replace("0000-not-a-project", their_project)
    assert "no live project has the id or name" in one["their_other"]
    assert f"no account '{theirs}'" in one["their_account"]
    assert [p["project_id"] for p in one["found"]["projects"]] == [my_project]
    assert [a["account_id"] for a in one["found"]["as_of"]] == [mine]
    assert {p["account_id"] for p in one["risk"]["projects"]} <= {mine}
    # bound to both accounts, the same name names two projects
    assert "matches 2 projects" in two
    assert my_project in two and their_project in two


def test_http_listens_on_loopback_only(exports):
    with pytest.raises(ValueError, match="loopback only"):
        serve(Source(exports / "analytics.duckdb"), "http", host="0.0.0.0", port=1)


def test_a_publish_while_serving_is_picked_up_and_never_fails_a_call(demo_db, exports, tmp_path):
    root = tmp_path / "exports"
    first = publish_db(demo_db, root)["release_id"]
    project = read(
        exports, "select project_id as project from marts.fct_project_status order by 1 limit 1"
    )[0]
    releases = []

    async def scenario():
        with http_server(root, tmp_path) as url:
            async with http_session(url) as session:
                seen = [(await answer(session, "project_status", **project))["source"]]
                done = anyio.Event()

                async def publish_three_times():
                    for _ in range(3):
                        manifest = await anyio.to_thread.run_sync(publish_db, demo_db, root)
                        releases.append(manifest["release_id"])
                    done.set()

                async with anyio.create_task_group() as group:
                    group.start_soon(publish_three_times)
                    while not done.is_set():
                        # answer() fails the test on any tool error
                        status = await answer(session, "project_status", **project)
                        seen.append(status["source"])
                        await answer(session, "velocity", account=status["account_id"])
                seen.append((await answer(session, "project_status", **project))["source"])
        return seen

    seen = anyio.run(scenario)
    ids = [s["release_id"] for s in seen]
    assert ids[0] == first
    assert ids[-1] == releases[-1] != first
    assert set(ids) <= {first, *releases}
    assert len(seen) > 4
