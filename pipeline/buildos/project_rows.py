"""One project's records while a sync fetches it: parsed into columns as each answer arrives,
adopted into the account's open group once the project is whole; and the names an incremental
sync needs to keep older log rows true after a rename."""

from __future__ import annotations

from pipeline.buildos import detect, landing
from pipeline.buildos.fetch import Fetched

# Children of a project that a refetch sees whole.
PROJECT_SCOPED = ("tasks", "goals", "plans", "milestones", "documents", "edges", "events")


class Names:
    """The names of the entities an incremental sync refetched, and the logs it read."""

    def __init__(self):
        self.current: dict[str, str] = {}
        self.fetched_logs: set[str] = set()
        # The route's own entity_name on a log just read is the name now: the newest log's
        # (pages come newest first), over what the bundle says.
        self.log_names: dict[str, str] = {}

    def take(self, part: str, records: list) -> None:
        """Names in one answer of a project being fetched (see fetch.Sink)."""
        if part == "logs":
            for log in records:
                if is_text(log, "id"):
                    self.fetched_logs.add(log["id"])
                    if is_text(log, "entity_id") and is_text(log, "entity_name"):
                        self.log_names.setdefault(log["entity_id"], log["entity_name"])
            return
        entity = {"project": "projects", "archived": "tasks"}.get(part, part)
        name_field = detect.NAME_FIELDS.get(entity)
        if name_field is None:
            return
        for record in records:
            if is_text(record, "id") and is_text(record, name_field):
                self.current[record["id"]] = record[name_field]

    def update(self, project: Names) -> None:
        """A whole project's names (its logs' over its records')."""
        self.current.update(project.current)
        self.current.update(project.log_names)
        self.fetched_logs |= project.fetched_logs


class ProjectRows:
    """One project's records while it is fetched, parsed as each answer arrives (a
    `fetch.Sink`) into a group of its own: the decoded answers are dropped at once instead of
    waiting for the project's last answer and its turn to be parsed. Adopted into the open
    group once the project is whole; dropped if it fails."""

    def __init__(self, stage: landing.AccountStage, project_id: str, names: bool):
        self.stage, self.scope = stage, {"project_id": project_id}
        self.group = landing.Group()
        self.names = Names() if names else None

    def __call__(self, part: str, records: list) -> None:
        stage, group = self.stage, self.group
        if part == "project":
            stage.add("projects", records, into=group)
        elif part == "logs":
            stage.add("logs", records, self.scope, into=group)
        else:
            entity = "tasks" if part == "archived" else part
            stage.add(entity, records, self.scope, seen=True, into=group)
        if self.names is not None:
            self.names.take(part, records)


def is_text(record, key: str) -> bool:
    return isinstance(record, dict) and isinstance(record.get(key), str)


def restage_renamed_logs(stage: landing.AccountStage, names: Names) -> None:
    """Older log rows of a renamed entity: the API now serves them with the new name, so the
    stored payload is restaged with it (what a full sync would land)."""
    stale = detect.stale_log_names(stage.con, stage.account_id, names.current, names.fetched_logs)
    if not stale:
        return
    stored = landing.stored_payloads(stage.con, "logs", stage.account_id, stale)
    for project_id, payload in stored.values():
        payload["entity_name"] = names.current[payload.get("entity_id")]
        stage.add("logs", [payload], {"project_id": project_id})


def add_project(stage: landing.AccountStage, fetched: Fetched, rows: ProjectRows) -> None:
    project_id = fetched.listed["id"]
    stage.adopt(rows.group)
    stage.scopes.setdefault("project_id", set()).add(project_id)
    for entity in PROJECT_SCOPED:
        if (entity, "project_id") not in stage.removal:
            stage.removal.append((entity, "project_id"))
