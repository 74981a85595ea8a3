"""The sandbox's request handling: BuildOS routes, auth, faults and the sandbox-only admin routes.

Independent of the HTTP plumbing (server.py): `SandboxApp.handle` takes a parsed request and
returns a `Reply`, so the routes can be read top to bottom like the real SvelteKit handlers.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from pipeline.sandbox.faults import FaultConfig, FaultInjector
from pipeline.sandbox.model import US_PER_DAY, Account, Workspace, iso, parse_ts
from pipeline.sandbox.truth import build_truth
from pipeline.sandbox.view import WorkspaceView

COOKIE_NAME = "sb-sandbox-auth-token"
ADMIN_PREFIX = "/__sandbox/"
SESSION_TTL_SECONDS = 3600.0  # how long a login session lasts, then 401 SESSION_EXPIRED
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
LEADING_INT = re.compile(r"^\s*([+-]?\d+)")
TASK_BUCKETS = ("backlog", "in_progress", "scheduled", "overdue", "blocked", "done")
PROJECT_STATES = ("planning", "active", "paused", "completed", "cancelled")
LEGACY_STATUS = {
    "planning": "active",
    "active": "active",
    "paused": "paused",
    "completed": "completed",
    "cancelled": "archived",
}


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None  # "drop" and "slow" are carried out by the HTTP layer


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str, details=None):
        super().__init__(message)
        self.status, self.message, self.code, self.details = status, message, code, details


def _int_param(value: str | None, default: int, minimum: int, maximum: int | None) -> int:
    """JavaScript parseInt semantics as the app's validatePagination uses them: a bad or too
    small value falls back to the default, a too large one is clamped to the maximum."""
    match = LEADING_INT.match(value) if value else None
    number = int(match.group(1)) if match else default
    if number < minimum:
        number = default
    if maximum is not None and number > maximum:
        number = maximum
    return number


def _offset_param(value: str | None) -> int:
    match = LEADING_INT.match(value) if value else None
    number = int(match.group(1)) if match else 0
    return max(number, 0)


def _time_param(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        return parse_ts(value)
    except ValueError as exc:
        raise ApiError(
            400, f"Invalid {name} timestamp", "INVALID_REQUEST", {"field": name}
        ) from exc


def _sort_nulls_last(rows: list[dict], key: str, descending: bool = False) -> list[dict]:
    present = [r for r in rows if r.get(key) is not None]
    present.sort(key=lambda r: r[key], reverse=descending)
    return present + [r for r in rows if r.get(key) is None]


class SandboxApp:
    """All state of a running sandbox: the workspace, the clock's view, sessions, faults."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        session_ttl: float = SESSION_TTL_SECONDS,
        faults: FaultConfig | None = None,
    ):
        self.workspace = workspace
        self.session_ttl = session_ttl
        self.faults = FaultInjector(faults)
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[Account, float]] = {}
        self._keys = {account.api_key: account for account in workspace.accounts}
        self._view = WorkspaceView(workspace)
        self._cache: dict[tuple, bytes] = {}
        self.stats: Counter[str] = Counter()
        self._routes: list[tuple[str, re.Pattern, str, Callable]] = [
            ("POST", re.compile(r"^/api/auth/login$"), "login", self.login),
            ("GET", re.compile(r"^/api/projects$"), "projects", self.list_projects),
            ("GET", re.compile(r"^/api/onto/projects/([^/]+)$"), "project_bundle", self.bundle),
            ("GET", re.compile(r"^/api/onto/projects/([^/]+)/tasks$"), "tasks", self.tasks),
            (
                "GET",
                re.compile(r"^/api/onto/projects/([^/]+)/tasks/archived$"),
                "tasks_archived",
                self.tasks_archived,
            ),
            ("GET", re.compile(r"^/api/onto/projects/([^/]+)/logs$"), "logs", self.logs),
            ("GET", re.compile(r"^/api/onto/projects/([^/]+)/events$"), "events", self.events),
            ("GET", re.compile(r"^/api/onto/edges$"), "edges", self.edges),
            ("GET", re.compile(r"^/api/onto/braindumps$"), "braindumps", self.braindumps),
            ("GET", re.compile(r"^/api/onto/braindumps/([^/]+)$"), "braindump", self.braindump),
            ("GET", re.compile(r"^/api/daily-briefs/history$"), "briefs", self.briefs),
            ("GET", re.compile(r"^/api/calendar/items$"), "calendar_items", self.calendar_items),
            ("GET", re.compile(r"^/__sandbox/health$"), "admin", self.admin_health),
            ("GET", re.compile(r"^/__sandbox/clock$"), "admin", self.admin_clock),
            ("POST", re.compile(r"^/__sandbox/clock/advance$"), "admin", self.admin_advance),
            ("GET", re.compile(r"^/__sandbox/accounts$"), "admin", self.admin_accounts),
            ("GET", re.compile(r"^/__sandbox/truth$"), "admin", self.admin_truth),
            ("GET", re.compile(r"^/__sandbox/faults$"), "admin", self.admin_faults),
            ("POST", re.compile(r"^/__sandbox/faults$"), "admin", self.admin_set_faults),
            ("POST", re.compile(r"^/__sandbox/sessions/expire$"), "admin", self.admin_expire),
            ("GET", re.compile(r"^/__sandbox/stats$"), "admin", self.admin_stats),
            ("POST", re.compile(r"^/__sandbox/stats/reset$"), "admin", self.admin_reset_stats),
        ]

    @property
    def now_iso(self) -> str:
        """The simulated clock, as every response's `timestamp` shows it."""
        return self._view.now_iso

    # -- envelope -------------------------------------------------------------------------

    def _success(
        self, data, message: str | None = None, status: int = 200, headers: dict | None = None
    ) -> Reply:
        envelope = {"success": True, "data": data}
        if message:
            envelope["message"] = message
        envelope["timestamp"] = self._view.now_iso
        return Reply(status, orjson.dumps(envelope), headers or {})

    def _error(self, error: ApiError, headers: dict | None = None) -> Reply:
        envelope = {
            "success": False,
            "error": error.message,
            "message": error.message,
            "code": error.code,
        }
        if error.details is not None:
            envelope["details"] = error.details
        envelope["timestamp"] = self._view.now_iso
        return Reply(error.status, orjson.dumps(envelope), headers or {})

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        allowed = []
        for method, pattern, name, handler in self._routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            with self._lock:
                self.stats[name] += 1
                self.stats["total" if name != "admin" else "admin_total"] += 1
            if name == "admin":
                return self._run(handler, request, None, match.groups())
            return self._api(name, handler, request, match.groups())
        if allowed:
            return self._error(
                ApiError(405, "Method not allowed", "INVALID_REQUEST"),
                {"Allow": ", ".join(sorted(set(allowed)))},
            )
        return self._error(ApiError(404, "Route not found", "NOT_FOUND"))

    def _api(self, name: str, handler, request: Request, groups: tuple) -> Reply:
        fault, status = self.faults.draw()
        if fault == "rate_limit":
            retry = self.faults.config.retry_after
            with self._lock:
                self.stats["fault_rate_limit"] += 1
            return self._error(
                ApiError(429, "Too many requests", "RATE_LIMITED"),
                {
                    "Retry-After": str(retry),
                    "X-RateLimit-Limit": "60",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(retry),
                },
            )
        if fault == "server_error":
            with self._lock:
                self.stats[f"fault_{status}"] += 1
            code = "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE"
            return self._error(ApiError(status, "Upstream failure (sandbox fault)", code))
        account = None
        if name != "login":
            try:
                account = self._authenticate(request, expire=fault == "expire_session")
            except ApiError as exc:
                return self._error(exc)
        reply = self._run(handler, request, account, groups)
        if fault in ("slow", "drop"):
            with self._lock:
                self.stats[f"fault_{fault}"] += 1
            reply.fault = fault
        return reply

    def _run(self, handler, request: Request, account: Account | None, groups: tuple) -> Reply:
        try:
            return handler(request, account, *groups)
        except ApiError as exc:
            return self._error(exc)
        except Exception as exc:  # a sandbox bug answers like the app's internalError does
            return self._error(
                ApiError(500, f"Internal server error ({type(exc).__name__})", "INTERNAL_ERROR")
            )

    # -- auth -----------------------------------------------------------------------------

    def _authenticate(self, request: Request, expire: bool = False) -> Account:
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            account = self._keys.get(authorization[7:].strip())
            if account is None:
                raise ApiError(401, "Invalid API key", "UNAUTHORIZED")
            return account
        token = _cookie(request.headers.get("cookie", ""), COOKIE_NAME)
        with self._lock:
            session = self._sessions.get(token) if token else None
            if session is None:
                raise ApiError(401, "Authentication required", "UNAUTHORIZED")
            account, expires = session
            if expire:
                self._sessions[token] = (account, 0.0)
                self.stats["fault_expire_session"] += 1
                expires = 0.0
            if time.monotonic() >= expires:
                raise ApiError(401, "Session expired", "SESSION_EXPIRED")
        return account

    def login(self, request: Request, _account, *groups) -> Reply:
        try:
            payload = orjson.loads(request.body or b"null")
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "Request body must be JSON", "INVALID_REQUEST") from exc
        if not isinstance(payload, dict) or not payload.get("email") or not payload.get("password"):
            raise ApiError(
                400,
                "Email and password are required",
                "MISSING_FIELD",
                {"fields": ["email", "password"]},
            )
        email, password = payload["email"], payload["password"]
        if not isinstance(email, str) or not isinstance(password, str):
            raise ApiError(
                400,
                "Email and password must be strings",
                "INVALID_FIELD",
                {"fields": ["email", "password"]},
            )
        account = next(
            (
                a
                for a in self.workspace.accounts
                if a.email == email.strip().lower() and a.password == password
            ),
            None,
        )
        if account is None:
            raise ApiError(401, "Invalid login credentials", "UNAUTHORIZED")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[token] = (account, time.monotonic() + self.session_ttl)
        user = {"id": account.id, "email": account.email, "name": account.name, "timezone": "UTC"}
        cookie = f"{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax"
        return self._success(
            {"user": user}, "Logged in successfully", headers={"Set-Cookie": cookie}
        )

    # -- cached reads ---------------------------------------------------------------------

    def _cached(self, account: Account, request: Request, build: Callable[[], object]) -> Reply:
        key = (account.id, request.path, tuple(sorted(request.query.items())))
        body = self._cache.get(key)
        if body is None:
            body = self._success(build()).body
            self._cache[key] = body
        return Reply(200, body)

    def _project(self, account: Account, project_id: str):
        if not UUID_RE.match(project_id):
            raise ApiError(400, "Invalid project ID", "INVALID_REQUEST")
        view = self._view.project(account, project_id)
        if view is None:
            raise ApiError(404, "Project not found", "NOT_FOUND")
        return view

    # -- BuildOS routes -------------------------------------------------------------------

    def list_projects(self, request: Request, account: Account) -> Reply:
        def build():
            q = request.query
            limit = _int_param(q.get("limit"), 20, 1, 100)
            page = _int_param(q.get("page"), 1, 1, None)
            raw = q.get("status")
            statuses = [s.strip() for s in raw.split(",") if s.strip()] if raw else ["active"]
            allowed = set()
            for status in statuses:
                lowered = status.lower()
                if lowered == "active":
                    allowed |= {"planning", "active"}
                elif lowered == "archived":
                    allowed.add("cancelled")
                elif lowered in PROJECT_STATES:
                    allowed.add(lowered)
                else:
                    allowed.add("active")
            rows = [r for r in self._view.live_projects[account.id] if r["state_key"] in allowed]
            include_counts = q.get("include_counts") == "true"
            projects = []
            for row in rows[(page - 1) * limit : page * limit]:
                item = {
                    "id": row["id"],
                    "name": row["name"],
                    "description": row["description"],
                    "status": LEGACY_STATUS[row["state_key"]],
                    "state_key": row["state_key"],
                    "slug": None,
                    "created_at": row["created_at"],
                    "updated_at": row["updated_at"],
                    "next_step_short": row["next_step_short"],
                    "next_step_long": row["next_step_long"],
                    "next_step_source": None,
                    "next_step_updated_at": None,
                }
                if include_counts:
                    item["task_count"] = self._view.task_counts[row["id"]]
                projects.append(item)
            return {
                "projects": projects,
                "total": len(rows),
                "page": page,
                "limit": limit,
                "statuses": statuses,
            }

        return self._cached(account, request, build)

    def bundle(self, request: Request, account: Account, project_id: str) -> Reply:
        view = self._project(account, project_id)
        return self._cached(
            account,
            request,
            lambda: {
                "project": view.project,
                "goals": view.goals,
                "requirements": [],
                "plans": view.plans,
                "tasks": view.tasks,
                "documents": view.documents,
                "images": [],
                "sources": [],
                "milestones": view.milestones,
                "risks": [],
                "metrics": [],
                "context_document": None,
            },
        )

    def tasks(self, request: Request, account: Account, project_id: str) -> Reply:
        bucket = request.query.get("bucket")
        if bucket not in TASK_BUCKETS:
            raise ApiError(
                400,
                "A valid task bucket is required",
                "INVALID_REQUEST",
                {"buckets": list(TASK_BUCKETS)},
            )
        as_of = _time_param(request.query.get("asOf"), "asOf")
        view = self._project(account, project_id)
        now = iso(as_of if as_of is not None else self._view.now)

        def build():
            # The app orders by priority, then dates (nulls last), then updated_at desc, id.
            rows = sorted(
                (t for t in view.tasks if _in_bucket(t, bucket, now)), key=lambda t: t["id"]
            )
            rows.sort(key=lambda t: t["updated_at"], reverse=True)
            if bucket == "done":
                ordered = _sort_nulls_last(rows, "completed_at", descending=True)
            else:
                ordered = _sort_nulls_last(_sort_nulls_last(rows, "start_at"), "due_at")
            ordered = _sort_nulls_last(ordered, "priority")
            return _offset_page(ordered, request.query, "tasks", 20, 100, {"bucket": bucket})

        return self._cached(account, request, build)

    def tasks_archived(self, request: Request, account: Account, project_id: str) -> Reply:
        view = self._project(account, project_id)
        return self._cached(
            account,
            request,
            lambda: _offset_page(view.deleted_tasks, request.query, "tasks", 50, 200, {}),
        )

    def logs(self, request: Request, account: Account, project_id: str) -> Reply:
        view = self._project(account, project_id)

        def build():
            limit = _int_param(request.query.get("limit"), 10, 1, 50)
            offset = _offset_param(request.query.get("offset"))
            page = view.logs[offset : offset + limit]
            return {
                "logs": page,
                "total": len(view.logs),
                "hasMore": offset + len(page) < len(view.logs),
            }

        return self._cached(account, request, build)

    def events(self, request: Request, account: Account, project_id: str) -> Reply:
        view = self._project(account, project_id)
        time_min = _time_param(request.query.get("timeMin"), "timeMin")
        time_max = _time_param(request.query.get("timeMax"), "timeMax")

        def build():
            limit = _int_param(request.query.get("limit"), 500, 1, 1000)
            rows = [
                e for e in view.events if _overlaps(e["start_at"], e["end_at"], time_min, time_max)
            ]
            return {"events": rows[:limit]}

        return self._cached(account, request, build)

    def edges(self, request: Request, account: Account) -> Reply:
        project_id = request.query.get("project_id")
        if not project_id:
            raise ApiError(
                400, "project_id is required", "INVALID_REQUEST", {"field": "project_id"}
            )
        view = self._project(account, project_id)
        return self._cached(account, request, lambda: {"edges": view.edges})

    def braindumps(self, request: Request, account: Account) -> Reply:
        def build():
            limit = _int_param(request.query.get("limit"), 20, 1, 100)
            offset = _offset_param(request.query.get("offset"))
            status = request.query.get("status")
            rows = self._view.braindumps(account)
            if status:
                rows = [r for r in rows if r["status"] == status]
            listed = [
                {
                    k: r[k]
                    for k in (
                        "id",
                        "title",
                        "topics",
                        "summary",
                        "status",
                        "created_at",
                        "updated_at",
                        "chat_session_id",
                        "metadata",
                    )
                }
                for r in rows[offset : offset + limit]
            ]
            return {
                "braindumps": listed,
                "total": len(rows),
                "limit": limit,
                "offset": offset,
                "hasMore": offset + len(listed) < len(rows),
            }

        return self._cached(account, request, build)

    def braindump(self, request: Request, account: Account, dump_id: str) -> Reply:
        row = next((r for r in self._view.braindumps(account) if r["id"] == dump_id), None)
        if row is None:
            raise ApiError(404, "Braindump not found", "NOT_FOUND")
        return self._cached(account, request, lambda: {"braindump": row})

    def briefs(self, request: Request, account: Account) -> Reply:
        def build():
            q = request.query
            limit = _int_param(q.get("limit"), 20, 1, 100)
            page = _int_param(q.get("page"), 1, 1, None)
            start, end = q.get("start_date"), q.get("end_date")
            rows = [
                r
                for r in self._view.briefs(account)
                if (not start or r["brief_date"] >= start[:10])
                and (not end or r["brief_date"] <= end[:10])
            ]
            total = len(rows)
            pages = (total + limit - 1) // limit
            return {
                "briefs": rows[(page - 1) * limit : page * limit],
                "pagination": {
                    "page": page,
                    "limit": limit,
                    "total": total,
                    "totalPages": pages,
                    "hasNext": page < pages,
                    "hasPrev": page > 1,
                },
            }

        return self._cached(account, request, build)

    def calendar_items(self, request: Request, account: Account) -> Reply:
        q = request.query
        if not q.get("start") or not q.get("end"):
            raise ApiError(400, "start and end are required", "INVALID_REQUEST")
        start, end = _time_param(q["start"], "start"), _time_param(q["end"], "end")
        wanted = {
            p.strip()
            for p in q.get("project_ids", "").strip("[]").replace('"', "").split(",")
            if p.strip()
        }
        limit_text = q.get("limit")
        limit = _int_param(limit_text, 0, 1, None) if limit_text else None

        def build():
            items = []
            for row in self._view.live_projects[account.id]:
                if wanted and row["id"] not in wanted:
                    continue
                view = self._view.project(account, row["id"])
                items.extend(_calendar_items(view, start, end))
            items.sort(key=lambda item: (item["start_at"], item["calendar_item_id"]))
            return {"items": items[:limit] if limit else items}

        return self._cached(account, request, build)

    # -- sandbox-only admin routes (the real API has no /__sandbox/ prefix) -------------

    def admin_health(self, request: Request, _account) -> Reply:
        return self._success({"ok": True, "now": self._view.now_iso})

    def admin_clock(self, request: Request, _account) -> Reply:
        return self._success({"now": self._view.now_iso, "horizon": iso(self.workspace.horizon)})

    def admin_advance(self, request: Request, _account) -> Reply:
        try:
            payload = orjson.loads(request.body or b"{}")
            days = float(payload.get("days", request.query.get("days", 1)))
        except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError) as exc:
            raise ApiError(400, 'Body must be JSON like {"days": 3}', "INVALID_REQUEST") from exc
        if days <= 0:
            raise ApiError(400, "days must be positive", "INVALID_FIELD", {"field": "days"})
        target = self.workspace.now + int(days * US_PER_DAY)
        if target > self.workspace.horizon:
            raise ApiError(
                409,
                "The clock cannot pass the simulated horizon "
                f"({iso(self.workspace.horizon)}); start the sandbox with a larger "
                "--horizon-days",
                "INVALID_REQUEST",
            )
        self.advance_to(target)
        return self._success({"now": self._view.now_iso, "horizon": iso(self.workspace.horizon)})

    def advance_to(self, target: int) -> None:
        with self._lock:
            self.workspace.now = target
            self._view = WorkspaceView(self.workspace)
            self._cache = {}

    def admin_accounts(self, request: Request, _account) -> Reply:
        return self._success(
            {
                "accounts": [
                    {
                        "account_id": a.id,
                        "email": a.email,
                        "password": a.password,
                        "api_key": a.api_key,
                        "name": a.name,
                    }
                    for a in self.workspace.accounts
                ]
            }
        )

    def admin_truth(self, request: Request, _account) -> Reply:
        return self._success(build_truth(self.workspace, request.query.get("account_id")))

    def admin_faults(self, request: Request, _account) -> Reply:
        return self._success(self.faults.config.to_dict())

    def admin_set_faults(self, request: Request, _account) -> Reply:
        try:
            config = FaultConfig.from_dict(orjson.loads(request.body or b"{}"))
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise ApiError(400, str(exc), "INVALID_REQUEST") from exc
        self.faults.configure(config)
        return self._success(config.to_dict())

    def admin_expire(self, request: Request, _account) -> Reply:
        with self._lock:
            for token, (account, _expires) in list(self._sessions.items()):
                self._sessions[token] = (account, 0.0)
        return self._success({"expired": len(self._sessions)})

    def admin_stats(self, request: Request, _account) -> Reply:
        with self._lock:
            return self._success(dict(sorted(self.stats.items())))

    def admin_reset_stats(self, request: Request, _account) -> Reply:
        with self._lock:
            self.stats.clear()
        return self._success({})


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _in_bucket(task: dict, bucket: str, now: str) -> bool:
    """The bucket rules of GET /api/onto/projects/{id}/tasks. ISO strings with the same offset
    compare in time order."""
    state, due, start = task["state_key"], task["due_at"], task["start_at"]
    if bucket == "done":
        return state == "done"
    if bucket == "overdue":
        return state != "done" and due is not None and due < now
    if bucket == "scheduled":
        return state == "todo" and (
            (due is not None and due >= now) or (due is None and start is not None and start >= now)
        )
    if bucket in ("in_progress", "blocked"):
        return state == bucket and (due is None or due >= now)
    return state == "todo" and due is None and (start is None or start < now)  # backlog


def _offset_page(
    rows: list[dict], query: dict, key: str, default: int, maximum: int, extra: dict
) -> dict:
    limit = _int_param(query.get("limit"), default, 1, maximum)
    offset = _offset_param(query.get("offset"))
    page = rows[offset : offset + limit]
    next_offset = offset + len(page)
    has_more = next_offset < len(rows)
    return {
        **extra,
        key: page,
        "total": len(rows),
        "hasMore": has_more,
        "offset": offset,
        "nextOffset": next_offset if has_more else None,
    }


def _overlaps(start_at: str | None, end_at: str | None, lo: int | None, hi: int | None) -> bool:
    if start_at is None:
        return False
    begin = parse_ts(start_at)
    finish = parse_ts(end_at) if end_at else begin
    return (hi is None or begin <= hi) and (lo is None or finish >= lo)


def _calendar_items(view, start: int, end: int) -> list[dict]:
    items = []
    for event in view.events:
        if _overlaps(event["start_at"], event["end_at"], start, end):
            items.append(
                _calendar_item(
                    f"event:{event['id']}",
                    "event",
                    "event",
                    "onto_events",
                    event,
                    event["start_at"],
                    event["end_at"],
                    event_id=event["id"],
                )
            )
    for task in view.tasks:
        begin, due = task["start_at"], task["due_at"]
        if begin and due:
            parts = [("range", begin, due)]
        elif begin or due:
            parts = [("start" if begin else "due", begin or due, None)]
        else:
            parts = []
        for kind, item_start, item_end in parts:
            if _overlaps(item_start, item_end, start, end):
                items.append(
                    _calendar_item(
                        f"task:{task['id']}:{kind}",
                        "task",
                        kind,
                        "onto_tasks",
                        task,
                        item_start,
                        item_end,
                        task_id=task["id"],
                    )
                )
    return items


def _calendar_item(
    item_id: str,
    item_type: str,
    kind: str,
    table: str,
    row: dict,
    start_at: str,
    end_at: str | None,
    *,
    task_id: str | None = None,
    event_id: str | None = None,
) -> dict:
    return {
        "calendar_item_id": item_id,
        "item_type": item_type,
        "item_kind": kind,
        "source_table": table,
        "title": row["title"],
        "start_at": start_at,
        "end_at": end_at,
        "all_day": row.get("all_day", False),
        "timezone": row.get("timezone"),
        "project_id": row["project_id"],
        "owner_entity_type": row.get("owner_entity_type"),
        "owner_entity_id": row.get("owner_entity_id"),
        "task_id": task_id,
        "event_id": event_id,
        "state_key": row["state_key"],
        "type_key": row["type_key"],
        "props": row["props"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
