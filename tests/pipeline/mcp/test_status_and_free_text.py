"""`python -m pipeline status` and the MCP tool project_status give one answer (one function
behind both), and free text (recent updates) is shown only when opted in twice over: published
with --include-free-text and served with --include-free-text, as the exports' rule has it."""

from __future__ import annotations

import anyio
import orjson
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.publish.serving import SERVING_FILE
from tests.pipeline.mcp.marts import busiest_project, read, shared_name
from tests.pipeline.mcp.mcp_helpers import answer, stdio_session


def _status(*args: str):
    return CliRunner().invoke(main, ["status", *args], catch_exceptions=False)


def test_the_status_command_and_project_status_give_the_same_answer(exports_with_text, tmp_path):
    project = busiest_project(exports_with_text)

    async def scenario():
        async with stdio_session(exports_with_text, tmp_path, "--include-free-text") as session:
            return await answer(session, "project_status", project=project["project_id"])

    served = anyio.run(scenario)
    printed = _status(project["project_name"], "--db", str(exports_with_text / SERVING_FILE))
    assert printed.exit_code == 0, printed.output
    assert orjson.loads(printed.stdout) == served
    assert served["recent_updates"] == project["recent_updates"]
    assert len(served["recent_updates"]) > 0


def test_the_status_command_reads_the_pipeline_file_and_refuses_ambiguous_names(demo_db, exports):
    project = busiest_project(exports)
    printed = _status(project["project_id"], "--db", str(demo_db))
    assert printed.exit_code == 0, printed.output
    answer_ = orjson.loads(printed.stdout)
    assert answer_["project_name"] == project["project_name"]
    assert answer_["source"] is None  # the pipeline's own file is no release
    shared = shared_name(exports)
    refused = _status(shared["name"], "--db", str(demo_db))
    assert refused.exit_code == 2
    assert "matches 2 projects" in refused.stderr
    for project_id in shared["projects"]:
        assert project_id in refused.stderr
    missing = _status("x", "--db", str(demo_db.parent / "absent.duckdb"))
    assert missing.exit_code == 2 and "run `python -m pipeline publish`" in missing.stderr


def test_recent_updates_need_both_publish_and_server_to_opt_in(
    exports, exports_with_text, tmp_path
):
    project = busiest_project(exports)["project_id"]

    async def status_of(root, *options):
        async with stdio_session(root, tmp_path, *options) as session:
            return await answer(session, "project_status", project=project)

    async def scenario():
        return (
            await status_of(exports_with_text),
            await status_of(exports, "--include-free-text"),
        )

    not_served, not_published = anyio.run(scenario)
    assert not_served["recent_updates"] is None
    assert "--include-free-text" in not_served["recent_updates_note"]
    assert not_published["recent_updates"] is None
    assert "not published" in not_published["recent_updates_note"]
    # the default publish leaves the column out of the serving file altogether
    columns = {r["column_name"] for r in read(exports, "describe marts.fct_project_status")}
    assert "recent_updates" not in columns


def test_project_status_json_answers_or_says_which_projects_match(demo_db, exports):
    from pipeline.status import StatusNotAnswered, project_status_json

    project = busiest_project(exports)
    answered = orjson.loads(project_status_json(demo_db, project["project_id"]))
    assert answered["project_name"] == project["project_name"]
    shared = shared_name(exports)
    with pytest.raises(StatusNotAnswered) as refused:
        project_status_json(demo_db, shared["name"])
    assert "matches 2 projects" in refused.value.lines[0]
    assert len(refused.value.lines) == 3
    assert all(any(p in line for line in refused.value.lines) for p in shared["projects"])
