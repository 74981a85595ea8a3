"""The simulator: builds a believable, reproducible BuildOS workspace with its full history.

Every project is simulated from its own seeded random stream (seed, account, project), so the
same options always give the same workspace. History runs from `now - days` to `now + horizon`:
the server shows the state at `now`, and advancing the clock reveals the activity after it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.sandbox import texts
from pipeline.sandbox.model import (
    US_PER_DAY,
    US_PER_SECOND,
    Account,
    Change,
    Entity,
    Workspace,
    iso,
    make_uuid,
    normalize_changes,
    remove_edges_of_deleted,
    to_us,
)

HOUR = 3_600 * US_PER_SECOND
DAY = US_PER_DAY

FACET_SCALES = ["micro", "small", "medium", "large", "epic"]
FACET_SCALE_WEIGHTS = [25, 35, 25, 10, 5]
FACET_CONTEXTS = [
    "personal",
    "client",
    "commercial",
    "internal",
    "open_source",
    "community",
    "academic",
    "nonprofit",
    "startup",
]
FACET_STAGES = ["discovery", "planning", "execution", "launch", "maintenance", "complete"]


@dataclass(frozen=True, slots=True)
class SimulationOptions:
    """What to simulate. The defaults make the demo workspace (about 2,000 tasks)."""

    seed: int = 7
    accounts: int = 3
    projects_per_account: int = 12
    tasks_per_project: int = 60
    days: int = 120
    horizon_days: int = 30
    now: datetime | None = None  # default: today at 00:00 UTC
    silent_change_rate: float = 0.03

    def resolved_now(self) -> int:
        if self.now is not None:
            return to_us(self.now)
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return to_us(today)


def account_credentials(index: int) -> tuple[str, str, str]:
    """(email, password, api key) of the index-th account (0-based); documented in the README."""
    if index == 0:
        return "demo@sandbox.local", "sandbox", "boca_sandbox_demo"
    number = index + 1
    return f"user{number}@sandbox.local", f"sandbox{number}", f"boca_sandbox_user{number}"


def generate_workspace(options: SimulationOptions) -> Workspace:
    now = options.resolved_now()
    accounts = [_simulate_account(options, index, now) for index in range(options.accounts)]
    return Workspace(accounts=accounts, now=now, horizon=now + options.horizon_days * DAY)


class _WorkClock:
    """Maps working time onto calendar time: work starts at `start`, skips paused stretches,
    and stops for good at `stop` (cancellation, a pause never resumed, or the horizon)."""

    def __init__(self, start: int, pauses: list[tuple[int, int]], stop: int):
        self.start = start
        self.pauses = pauses
        self.stop = stop

    def after(self, at: int, work: int) -> int | None:
        current = max(at, self.start)
        remaining = work
        for pause_from, pause_to in self.pauses:
            if current >= pause_to:
                continue
            if current >= pause_from:
                current = pause_to
                continue
            if current + remaining <= pause_from:
                break
            remaining -= pause_from - current
            current = pause_to
        result = current + remaining
        return result if result < self.stop else None


class _Recorder:
    """Collects the changes of one project's entities and the days the account was active."""

    def __init__(self, rng: random.Random, silent_rate: float, horizon: int, active_days: set):
        self.rng = rng
        self.silent_rate = silent_rate
        self.horizon = horizon
        self.active_days = active_days

    def change(self, entity: Entity, at: int | None, fields: dict, actor: str = "user") -> bool:
        if at is None or at > self.horizon or at < entity.created_at:
            return False
        logged = self.rng.random() >= self.silent_rate
        entity.changes.append(Change(at=at, fields=fields, logged=logged, actor=actor))
        self.active_days.add(at // DAY)
        return True


def _simulate_account(options: SimulationOptions, index: int, now: int) -> Account:
    rng = random.Random(f"{options.seed}:account:{index}")
    email, password, api_key = account_credentials(index)
    account = Account(
        id=make_uuid(rng),
        actor_id=make_uuid(rng),
        email=email,
        password=password,
        api_key=api_key,
        name=texts.PEOPLE[index % len(texts.PEOPLE)],
    )
    start = now - options.days * DAY
    horizon = now + options.horizon_days * DAY
    active_days: set[int] = set()
    past = options.projects_per_account
    future = round(past * options.horizon_days / max(options.days, 1))
    created = sorted(start + int((now - HOUR - start) * rng.random() ** 1.4) for _ in range(past))
    created += sorted(rng.randrange(now, horizon) for _ in range(future))
    for number, created_at in enumerate(created):
        project_rng = random.Random(f"{options.seed}:project:{index}:{number}")
        recorder = _Recorder(project_rng, options.silent_change_rate, horizon, active_days)
        _simulate_project(account, project_rng, recorder, created_at, options)
    _simulate_braindumps(account, rng, start, horizon, active_days)
    _simulate_briefs(account, rng, active_days, horizon)
    for entity in account.all_entities():
        normalize_changes(entity)
    for project in account.projects:
        remove_edges_of_deleted(account.edges[project.id], account.children[project.id])
    return account


def _midnight(at: int) -> int:
    return at - at % DAY


def _pick_scale(rng: random.Random) -> str:
    return rng.choices(FACET_SCALES, FACET_SCALE_WEIGHTS)[0]


def _simulate_project(
    account: Account,
    rng: random.Random,
    rec: _Recorder,
    created_at: int,
    options: SimulationOptions,
) -> None:
    type_key, name_pattern, theme = rng.choice(texts.PROJECT_THEMES)
    name = name_pattern.format(adj=rng.choice(texts.ADJECTIVES))
    project_id = make_uuid(rng)
    start_at = _midnight(created_at + rng.randrange(0, 10 * DAY))
    duration = rng.randrange(14, 100) * DAY
    has_end = rng.random() < 0.85
    end_at = start_at + duration if has_end else None
    scale = _pick_scale(rng)
    project = Entity(
        kind="project",
        id=project_id,
        account_id=account.id,
        project_id=project_id,
        created_at=created_at,
        base={
            "id": project_id,
            "name": name,
            "description": f"{name}: captured from a brain dump and broken into steps.",
            "type_key": type_key,
            "state_key": "planning",
            "facet_context": rng.choice(_contexts_for(theme)),
            "facet_scale": scale,
            "facet_stage": "discovery",
            "start_at": iso(start_at),
            "end_at": iso(end_at),
            "props": {"theme": theme, "source": "brain_dump"},
            "created_by": account.actor_id,
            "archived_at": None,
            "deleted_at": None,
            "is_public": False,
            "org_id": None,
            "next_step_short": "Break the project into first steps",
            "next_step_long": None,
        },
        created_logged=rng.random() >= rec.silent_rate,
    )
    rec.active_days.add(created_at // DAY)

    # The project's own timeline: active at start, maybe a pause, maybe cancelled or deleted.
    fate = rng.random()
    stop = rec.horizon + 1
    pauses: list[tuple[int, int]] = []
    rec.change(
        project,
        max(start_at, created_at + HOUR),
        {"state_key": "active", "facet_stage": "execution"},
    )
    if rng.random() < 0.25:
        pause_from = start_at + int(duration * rng.uniform(0.2, 0.6))
        if rng.random() < 0.3:
            stop = min(stop, pause_from)
            rec.change(project, pause_from, {"state_key": "paused"})
        else:
            pause_to = pause_from + rng.randrange(5, 21) * DAY
            pauses.append((pause_from, pause_to))
            rec.change(project, pause_from, {"state_key": "paused"})
            rec.change(project, pause_to, {"state_key": "active"})
    cancelled_at = None
    if fate < 0.12:
        cancelled_at = start_at + int(duration * rng.uniform(0.1, 0.8))
        if cancelled_at < stop:
            stop = cancelled_at
            rec.change(project, cancelled_at, {"state_key": "cancelled"})
    may_complete = 0.12 <= fate < 0.7
    clock = _WorkClock(start_at, pauses, stop)

    children: list[Entity] = []
    edges: list[Entity] = []
    events: list[Entity] = []
    account.projects.append(project)
    account.children[project_id] = children
    account.edges[project_id] = edges
    account.events[project_id] = events

    def add_edge(src: Entity, dst: Entity, rel: str, at: int) -> Entity:
        edge_id = make_uuid(rng)
        edge = Entity(
            kind="edge",
            id=edge_id,
            account_id=account.id,
            project_id=project_id,
            created_at=at,
            base={
                "id": edge_id,
                "project_id": project_id,
                "src_kind": src.kind,
                "src_id": src.id,
                "dst_kind": dst.kind,
                "dst_id": dst.id,
                "rel": rel,
                "props": {},
            },
        )
        edges.append(edge)
        return edge

    def child(kind: str, at: int, base: dict) -> Entity:
        entity_id = make_uuid(rng)
        base = {
            "id": entity_id,
            "project_id": project_id,
            **base,
            "archived_at": None,
            "deleted_at": None,
        }
        entity = Entity(
            kind=kind,
            id=entity_id,
            account_id=account.id,
            project_id=project_id,
            created_at=at,
            base=base,
            created_logged=rng.random() >= rec.silent_rate,
        )
        if kind == "task":
            entity.base["created_by"] = account.actor_id
        children.append(entity)
        add_edge(project, entity, f"has_{kind}", at)
        return entity

    pace = duration if has_end else 90 * DAY
    goals = [
        child(
            "goal",
            created_at + (g + 1) * US_PER_SECOND,
            {
                "name": rng.choice(texts.GOAL_NAMES),
                "goal": None,
                "description": None,
                "type_key": "goal.outcome",
                "state_key": "draft",
                "target_date": iso(end_at),
                "completed_at": None,
                "props": {},
            },
        )
        for g in range(rng.randint(1, 3))
    ]
    for goal in goals:
        rec.change(goal, max(start_at, created_at + HOUR), {"state_key": "active"})
    milestones = []
    for m in range(rng.randint(0, 4)):
        due = _midnight(start_at + int(pace * (m + 1) / 5)) + 17 * HOUR
        milestone = child(
            "milestone",
            created_at + (10 + m) * US_PER_SECOND,
            {
                "title": texts.MILESTONE_TITLES[m % len(texts.MILESTONE_TITLES)],
                "milestone": None,
                "description": None,
                "type_key": "milestone.checkpoint",
                "state_key": "pending",
                "due_at": iso(due),
                "completed_at": None,
                "props": {},
            },
        )
        milestones.append(milestone)
        begun = clock.after(due - rng.randrange(3, 10) * DAY, 0)
        if rng.random() < 0.8:
            rec.change(milestone, begun, {"state_key": "in_progress"})
        finished = clock.after(due, rng.randrange(-5 * DAY, 3 * DAY))
        if begun is not None and finished is not None and rng.random() < 0.7:
            rec.change(milestone, max(finished, begun + HOUR), {"state_key": "completed"})
    plans = [
        child(
            "plan",
            created_at + (20 + p) * US_PER_SECOND,
            {
                "name": rng.choice(texts.PLAN_NAMES),
                "plan": None,
                "description": None,
                "type_key": "plan.timebox",
                "state_key": "draft",
                "facet_context": None,
                "facet_scale": None,
                "facet_stage": None,
                "props": {},
            },
        )
        for p in range(rng.randint(0, 2))
    ]
    for plan in plans:
        rec.change(plan, clock.after(start_at, 0), {"state_key": "active"})
    for d in range(rng.randint(1, 3)):
        document = child(
            "document",
            created_at + rng.randrange(0, max(pace // 2, DAY)),
            {
                "title": rng.choice(texts.DOCUMENT_TITLES),
                "description": None,
                "type_key": "document.note",
                "state_key": "draft",
                "children": [],
                "props": {"position": d},
            },
        )
        if rng.random() < 0.5:
            rec.change(
                document,
                document.created_at + rng.randrange(HOUR, 10 * DAY),
                {"state_key": "published"},
            )

    # Tasks: an initial scope from the brain dump, then scope added while work goes on.
    total = max(1, round(options.tasks_per_project * rng.uniform(0.6, 1.4)))
    initial = max(1, round(total * rng.uniform(0.5, 0.8)))
    creations = [created_at + (100 + n) * US_PER_SECOND for n in range(initial)]
    for _ in range(total - initial):
        added = start_at + int(pace * 0.6 * rng.random())
        if added < stop and added <= rec.horizon:
            creations.append(added)
    creations.sort()
    done_times: list[int] = []
    tasks: list[Entity] = []
    for number, task_created in enumerate(creations):
        task = _simulate_task(
            rng, rec, clock, child, theme, task_created, number, pace, may_complete, done_times
        )
        tasks.append(task)
        if goals and rng.random() < 0.6:
            goal = rng.choice(goals)
            add_edge(task, goal, "supports_goal", task_created)
            if rng.random() < 0.5:
                task.base["props"]["goal_id"] = goal.id
        if milestones and rng.random() < 0.3:
            milestone = rng.choice(milestones)
            add_edge(task, milestone, "targets_milestone", task_created)
            task.base["props"]["supporting_milestone_id"] = milestone.id
        if number > 0 and rng.random() < 0.12:
            add_edge(task, rng.choice(tasks[:-1]), "depends_on", task_created)
        if number > 0 and rng.random() < 0.05:
            add_edge(rng.choice(tasks[:-1]), task, "blocks", task_created)
        _simulate_task_events(rng, account, project_id, task, events)

    deleted_ids = {t.id for t in tasks if any(c.fields.get("deleted") for c in t.changes)}
    live_done = [t for t in tasks if t.id not in deleted_ids]
    if may_complete and live_done and len(done_times) == len(live_done):
        finished = max(done_times) + rng.randrange(HOUR, 2 * DAY)
        if finished < stop and rec.change(
            project, finished, {"state_key": "completed", "facet_stage": "complete"}
        ):
            for goal in goals:
                rec.change(goal, finished, {"state_key": "achieved"})
            for plan in plans:
                rec.change(plan, finished, {"state_key": "completed"})
    if cancelled_at is not None and cancelled_at == stop:
        for goal in goals:
            rec.change(goal, cancelled_at, {"state_key": "abandoned"})
    for _ in range(rng.randint(0, 4)):
        rec.change(
            project,
            clock.after(start_at, int(pace * rng.random())),
            {"next_step_short": f"{rng.choice(texts.TASK_VERBS)} the next piece"},
            actor="agent",
        )
    if rng.random() < 0.04:
        rec.change(project, created_at + rng.randrange(DAY, 60 * DAY), {"deleted": True})
    _link_braindump(account, rng, project)


def _contexts_for(theme: str) -> list[str]:
    by_theme = {
        "writing": ["personal", "commercial"],
        "software": ["startup", "client", "open_source"],
        "business": ["commercial", "startup", "internal"],
        "creative": ["personal", "community"],
        "personal": ["personal"],
        "research": ["academic", "client"],
        "education": ["commercial", "academic"],
        "community": ["community", "nonprofit"],
    }
    return by_theme.get(theme, FACET_CONTEXTS)


def _simulate_task(
    rng: random.Random,
    rec: _Recorder,
    clock: _WorkClock,
    child,
    theme: str,
    created: int,
    number: int,
    pace: int,
    may_complete: bool,
    done_times: list[int],
) -> Entity:
    obj = rng.choice(texts.TASK_OBJECTS[theme]).format(n=number + 1)
    title = f"{rng.choice(texts.TASK_VERBS)} {obj}"
    spread = 0.6 if may_complete else 0.9
    planned_start = clock.after(created, int(pace * spread * rng.random() ** 1.3))
    work = rng.randrange(HOUR, int(6 * DAY))
    has_scale = rng.random()
    props: dict = {}
    facet_scale = None
    if has_scale < 0.55:
        facet_scale = _pick_scale(rng)
    elif has_scale < 0.65:
        props["facets"] = {"scale": _pick_scale(rng)}
    due_at = None
    if rng.random() < 0.45:
        anchor = planned_start if planned_start is not None else created + pace // 2
        due_at = _midnight(anchor + work + rng.randrange(-3 * DAY, 8 * DAY)) + 17 * HOUR
        due_at = max(due_at, _midnight(created) + DAY + 17 * HOUR)
    start_at = None
    if planned_start is not None and rng.random() < 0.2:
        start_at = _midnight(planned_start) + 9 * HOUR
    task = child(
        "task",
        created,
        {
            "title": title,
            "description": None if rng.random() < 0.6 else f"Notes: {title.lower()}.",
            "type_key": rng.choice(texts.TASK_TYPES),
            "state_key": "todo",
            "priority": rng.choices([1, 2, 3, 4, 5], [8, 20, 40, 22, 10])[0],
            "start_at": iso(start_at),
            "due_at": iso(due_at),
            "completed_at": None,
            "facet_scale": facet_scale,
            "props": props,
        },
    )
    never_started = not may_complete and rng.random() < 0.12
    deleted_after = None
    if rng.random() < 0.06:
        deleted_after = created + rng.randrange(HOUR, int(pace))
    events: list[tuple[int | None, dict]] = []
    if rng.random() < 0.1:
        events.append((created + rng.randrange(HOUR, 5 * DAY), {"title": f"{title} (revised)"}))
    if rng.random() < 0.1:
        events.append((created + rng.randrange(HOUR, 10 * DAY), {"priority": rng.randint(1, 5)}))
    done_at = None
    if not never_started and planned_start is not None:
        at = planned_start
        events.append((at, {"state_key": "in_progress"}))
        if rng.random() < 0.15:
            blocked_at = clock.after(at, int(work * rng.random()))
            unblocked = (
                clock.after(blocked_at, rng.randrange(HOUR, 8 * DAY)) if blocked_at else None
            )
            events.append((blocked_at, {"state_key": "blocked"}))
            events.append((unblocked, {"state_key": "in_progress"}))
            at = unblocked if unblocked is not None else at
        done_at = clock.after(at, work) if at is not None else None
        events.append((done_at, {"state_key": "done"}))
        if done_at is not None and rng.random() < 0.08:
            reopened = clock.after(done_at, rng.randrange(HOUR, 8 * DAY))
            back = "todo" if rng.random() < 0.3 else "in_progress"
            events.append((reopened, {"state_key": back}))
            done_at = clock.after(reopened, rng.randrange(HOUR, 4 * DAY)) if reopened else None
            events.append((done_at, {"state_key": "done"}))
    if due_at is not None and rng.random() < 0.35:
        limit = done_at if done_at is not None else created + pace
        for _ in range(rng.randint(1, 2)):
            moved_at = created + int((limit - created) * rng.random())
            due_at = due_at + rng.randrange(2, 15) * DAY
            events.append((moved_at, {"due_at": iso(due_at)}))
    # Apply in time order; a missing time means the project stopped before it happened.
    state = "todo"
    for at, fields in sorted((e for e in events if e[0] is not None), key=lambda e: e[0]):
        if (deleted_after is not None and at >= deleted_after) or at >= clock.stop:
            break
        if fields.get("state_key") == state:
            continue
        actor = "agent" if rng.random() < 0.1 else "user"
        if rec.change(task, at, dict(fields), actor=actor) and "state_key" in fields:
            state = fields["state_key"]
    if deleted_after is not None:
        rec.change(task, deleted_after, {"deleted": True})
    elif state == "done":
        done_times.append(max(c.at for c in task.changes if c.fields.get("state_key") == "done"))
    return task


def _simulate_task_events(
    rng, account: Account, project_id: str, task: Entity, events: list[Entity]
) -> None:
    """Work blocks on the calendar (`event.task_work`) for some tasks that got started."""
    starts = [c.at for c in task.changes if c.fields.get("state_key") == "in_progress"]
    if not starts or rng.random() >= 0.35:
        return
    for _ in range(rng.randint(1, 2)):
        begin = _midnight(starts[0]) + rng.choice([9, 10, 13, 14, 16]) * HOUR
        event_id = make_uuid(rng)
        length = rng.choice([1, 2]) * HOUR
        event = Entity(
            kind="event",
            id=event_id,
            account_id=account.id,
            project_id=project_id,
            created_at=min(begin, starts[0]) - HOUR,
            base={
                "id": event_id,
                "project_id": project_id,
                "owner_entity_type": "task",
                "owner_entity_id": task.id,
                "title": f"Work on: {task.base['title']}",
                "description": None,
                "start_at": iso(begin),
                "end_at": iso(begin + length),
                "all_day": False,
                "timezone": "UTC",
                "state_key": "scheduled",
                "type_key": "event.task_work",
                "recurrence": None,
                "sync_status": "synced",
                "props": {},
                "deleted_at": None,
            },
        )
        if event.created_at < task.created_at:
            event.created_at = task.created_at
        if rng.random() < 0.1:
            event.changes.append(Change(at=begin - HOUR // 2, fields={"state_key": "cancelled"}))
        events.append(event)
        starts[0] += DAY


def _link_braindump(account: Account, rng: random.Random, project: Entity) -> None:
    """The brain dump a project came from: processed a minute before the project appeared."""
    theme = project.base["props"]["theme"]
    created = project.created_at - rng.randrange(30, 180) * US_PER_SECOND
    _add_braindump(
        account,
        rng,
        created,
        theme,
        outcome="processed",
        title=project.base["name"],
        processed_at=project.created_at - US_PER_SECOND,
    )


def _add_braindump(
    account: Account,
    rng: random.Random,
    created: int,
    theme: str,
    *,
    outcome: str,
    title: str,
    processed_at: int | None = None,
) -> None:
    objects = texts.TASK_OBJECTS[theme]
    lines = [rng.choice(texts.BRAIN_DUMP_OPENERS)]
    lines += [
        rng.choice(texts.BRAIN_DUMP_LINES).format(obj=rng.choice(objects).format(n=2))
        for _ in range(rng.randint(2, 6))
    ]
    content = " ".join(lines)
    theme_topic = {"software": "launch", "writing": "writing"}.get(theme, "planning")
    topics = sorted({*rng.sample(texts.TOPICS, rng.randint(1, 3)), theme_topic})
    dump_id = make_uuid(rng)
    dump = Entity(
        kind="braindump",
        id=dump_id,
        account_id=account.id,
        project_id=None,
        created_at=created,
        base={
            "id": dump_id,
            "user_id": account.id,
            "title": title,
            "topics": topics,
            "summary": None,
            "content": content,
            "status": "pending",
            "error_message": None,
            "processed_at": None,
            "metadata": {
                "source": rng.choice(["web", "voice", "mobile"]),
                "word_count": len(content.split()),
            },
            "chat_session_id": make_uuid(rng) if rng.random() < 0.4 else None,
        },
    )
    if outcome != "pending":
        dump.changes.append(Change(at=created + 2 * US_PER_SECOND, fields={"status": "processing"}))
        finished = processed_at or created + rng.randrange(5, 120) * US_PER_SECOND
        if outcome == "processed":
            fields = {
                "status": "processed",
                "processed_at": iso(finished),
                "summary": f"{len(lines) - 1} thoughts about {theme}.",
            }
        else:
            fields = {
                "status": "failed",
                "error_message": rng.choice(
                    [
                        "LLM timeout after 60s",
                        "Could not parse model output",
                        "Rate limited by model provider",
                    ]
                ),
            }
        dump.changes.append(Change(at=max(finished, created + 3 * US_PER_SECOND), fields=fields))
    account.braindumps.append(dump)


def _simulate_braindumps(
    account: Account, rng: random.Random, start: int, horizon: int, active_days: set[int]
) -> None:
    themes = list(texts.TASK_OBJECTS)
    for day in range(start // DAY, horizon // DAY):
        if rng.random() < 0.35:
            continue
        for _ in range(rng.choices([1, 2, 3], [70, 22, 8])[0]):
            created = day * DAY + rng.randrange(6 * HOUR, 23 * HOUR)
            if created > horizon:
                continue
            outcome = rng.choices(["processed", "failed", "pending"], [88, 6, 6])[0]
            theme = rng.choice(themes)
            _add_braindump(
                account,
                rng,
                created,
                theme,
                outcome=outcome,
                title=f"{rng.choice(texts.TOPICS).capitalize()} thoughts",
            )
            active_days.add(day)
    account.braindumps.sort(key=lambda dump: (dump.created_at, dump.id))


def _simulate_briefs(
    account: Account, rng: random.Random, active_days: set[int], horizon: int
) -> None:
    themes = list(texts.TASK_OBJECTS)
    for day in sorted(active_days):
        started = day * DAY + 6 * HOUR + rng.randrange(0, 3_600) * US_PER_SECOND
        if started > horizon:
            continue
        brief_id = make_uuid(rng)
        objects = texts.TASK_OBJECTS[rng.choice(themes)]
        actions = [
            rng.choice(texts.BRIEF_ACTIONS).format(obj=rng.choice(objects).format(n=1))
            for _ in range(rng.randint(1, 4))
        ]
        brief = Entity(
            kind="brief",
            id=brief_id,
            account_id=account.id,
            project_id=None,
            created_at=started,
            base={
                "id": brief_id,
                "user_id": account.id,
                "brief_date": iso(day * DAY)[:10],
                "executive_summary": None,
                "llm_analysis": None,
                "priority_actions": [],
                "generation_status": "processing",
                "generation_error": None,
                "generation_started_at": iso(started),
                "generation_completed_at": None,
                "metadata": {"actions": len(actions)},
            },
        )
        finished = started + rng.randrange(15, 120) * US_PER_SECOND
        if rng.random() < 0.05:
            fields = {
                "generation_status": "failed",
                "generation_error": "Model provider returned 503",
                "generation_completed_at": iso(finished),
            }
        else:
            fields = {
                "generation_status": "completed",
                "generation_completed_at": iso(finished),
                "executive_summary": f"{len(actions)} things matter today.",
                "llm_analysis": "Momentum is steady; protect focus time.",
                "priority_actions": actions,
            }
        brief.changes.append(Change(at=finished, fields=fields))
        account.briefs.append(brief)


def account_ids(options: SimulationOptions) -> list[str]:
    """The simulated accounts' ids, without simulating their history: each account's first
    draw from its own generator (see _simulate_account)."""
    return [
        make_uuid(random.Random(f"{options.seed}:account:{index}"))
        for index in range(options.accounts)
    ]
