"""What a sync may conclude from a doubtful answer: which listed items are usable (an id
that can go into a route), and when a project the listing stopped showing is gone (a 404, or
`misses_to_remove` syncs in a row that got no answer for it)."""

from __future__ import annotations

from pipeline.buildos import landing
from pipeline.buildos.client import AuthError, CircuitOpenError
from pipeline.buildos.values import is_uuid

RUN_LEVEL = (CircuitOpenError, AuthError)  # errors that stop the account, not one project


def valid_listing(stage: landing.AccountStage, entity: str, items: list) -> list[dict]:
    """The listed items whose id can go into a route: a UUID. The others are quarantined
    with their reason (no id, a null id, an id that is not a UUID); the rest of the listing
    goes on. The same id listed twice is fetched once."""
    valid: dict[str, dict] = {}
    for item in items:
        item_id = item.get("id") if isinstance(item, dict) else None
        if is_uuid(item_id):
            valid.setdefault(item_id, item)
            continue
        if not isinstance(item, dict):
            reason = f"expected a JSON object, got {type(item).__name__}"
        elif "id" not in item:
            reason = "is missing"
        elif item_id is None:
            reason = "is null"
        else:
            reason = f"{item_id!r} is not a UUID"
        stage.reject(entity, item, "id", f"listed item: id {reason}")
    return list(valid.values())


def count_misses(con, account_id: str, missed: set[str], threshold: int, at) -> set[str]:
    """One more consecutive miss for each project in `missed`; those that reached
    `threshold` are returned, to be marked removed."""
    if not missed:
        return set()
    counts = dict(
        con.execute(
            "select id, misses from meta.absences where account_id = ? and entity = 'projects'",
            [account_id],
        ).fetchall()
    )
    rows = [(account_id, "projects", i, counts.get(i, 0) + 1, at) for i in missed]
    con.executemany("insert or replace into meta.absences values (?, ?, ?, ?, ?)", rows)
    return {i for _a, _e, i, misses, _t in rows if misses >= max(threshold, 1)}


def forget_absences(con, account_id: str, waiting: set[str]) -> None:
    """Projects seen again (or removed) stop counting: only those still waiting for
    evidence keep their count of consecutive misses."""
    con.execute(
        "delete from meta.absences where account_id = ? and entity = 'projects' "
        "and not list_contains(?::varchar[], id)",
        [account_id, sorted(waiting)],
    )
