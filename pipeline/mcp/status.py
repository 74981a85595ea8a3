"""One project's status, the shape the BuildOS spec's assistant asks for: state, completion,
blockers and why, the next milestone, recent updates, at-risk and why: the published row of
marts.fct_project_status with the reasons beside it. `python -m pipeline
status` and the MCP tool `project_status` both call `project_status` here."""

from __future__ import annotations

from pipeline.mcp.source import Ambiguous, NotFound, Reader

CANDIDATES_SHOWN = 10


def resolve_project(reader: Reader, project: str) -> dict:
    """The one live project of a bound account whose id is `project`, or whose name is it in
    any case. An exact id wins over a name equal to another project's id. A project of another
    account is not found, exactly like an unknown one."""
    text = project.strip()
    if not text:
        raise NotFound("give a project id or name")
    rows = reader.rows(
        "select account_id, project_id, project_name, project_state "
        "from marts.fct_project_status "
        "where list_contains(?, account_id) "
        "and (project_id = ? or lower(project_name) = lower(?)) "
        "order by project_name, account_id, project_id",
        [reader.account_ids, text, text],
    )
    by_id = [row for row in rows if row["project_id"] == text]
    matches = by_id or rows
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise Ambiguous(
            f"{project!r} matches {len(matches)} projects; give the id of one",
            [_candidate(reader, row) for row in matches],
        )
    suggestions = reader.rows(
        "select account_id, project_id, project_name, project_state "
        "from marts.fct_project_status "
        "where list_contains(?, account_id) and contains(lower(project_name), lower(?)) "
        "order by project_name, account_id, project_id limit ?",
        [reader.account_ids, text, CANDIDATES_SHOWN],
    )
    message = f"no live project has the id or name {project!r}"
    if suggestions:
        raise Ambiguous(
            message + "; projects whose name contains it are listed",
            [_candidate(reader, row) for row in suggestions],
        )
    raise NotFound(message + " (find_projects searches names)")


def _candidate(reader: Reader, row: dict) -> dict:
    return {**row, "account_label": reader.accounts[row["account_id"]]["account_label"]}


def project_status(reader: Reader, project: str) -> dict:
    """The status of one project (id or exact name), as of its account's last sync."""
    found = resolve_project(reader, project)
    key = [found["account_id"], found["project_id"]]
    where = "where account_id = ? and project_id = ?"
    columns = reader.shown_columns("fct_project_status")
    row = reader.rows(f"select {', '.join(columns)} from marts.fct_project_status {where}", key)[0]
    risk = reader.rows(
        "select is_at_risk, risk_reasons, remaining_tasks, ideal_remaining_tasks, "
        f"projected_completion_date, end_date from marts.fct_project_risk {where}",
        key,
    )
    blocked = reader.rows(
        "select task_id, first_started_at, current_state_since_at as blocked_since_at, "
        f"days_in_current_state as blocked_days from marts.fct_wip_aging {where} "
        "and task_state = 'blocked' order by days_in_current_state desc, task_id",
        key,
    )
    missed = reader.rows(
        "select milestone_id, milestone_title, due_at, days_until_due from marts.dim_milestones "
        f"{where} and is_missed and not is_deleted order by due_at, milestone_id",
        key,
    )
    account = reader.accounts[found["account_id"]]
    risk_row = risk[0] if risk else {"is_at_risk": False, "risk_reasons": []}
    # The mart's row as it is published (what `status` always printed), then the why.
    return {
        **row,
        "account_label": account["account_label"],
        "as_of_date": account["as_of_date"],
        "blockers": {
            "why": _blocker_reasons(row, blocked, missed),
            "blocked": blocked,
            "missed_milestones": missed,
        },
        "at_risk": {
            "is_at_risk": risk_row["is_at_risk"],
            "why": risk_row["risk_reasons"] or [],
            "remaining_tasks": risk_row.get("remaining_tasks"),
            "ideal_remaining_tasks": risk_row.get("ideal_remaining_tasks"),
            "projected_completion_date": risk_row.get("projected_completion_date"),
            "end_date": risk_row.get("end_date"),
        },
        **_recent_updates(reader, row),
        "source": reader.release(),
    }


def _blocker_reasons(row: dict, blocked: list[dict], missed: list[dict]) -> list[str]:
    reasons = []
    if blocked:
        oldest = blocked[0]["blocked_days"]
        reasons.append(
            f"{len(blocked)} task(s) in state blocked, the longest for {oldest:.1f} days"
        )
    if row["open_dependencies"]:
        reasons.append(
            f"{row['open_dependencies']} task dependency(ies) wait for a prerequisite "
            "that is not done"
        )
    if missed:
        reasons.append(
            f"{len(missed)} milestone(s) missed: "
            + ", ".join(repr(m["milestone_title"]) for m in missed)
        )
    return reasons


def _recent_updates(reader: Reader, row: dict) -> dict:
    if "recent_updates" in row:
        return {"recent_updates": row["recent_updates"]}
    if not reader.source.include_free_text:
        why = "free text is left out unless the server is started with --include-free-text"
    else:
        why = "free text was not published (publish --include-free-text)"
    return {"recent_updates": None, "recent_updates_note": why}
