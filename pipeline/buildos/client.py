"""The BuildOS API client (httpx, async): auth, paging, adaptive politeness, retries, breaker.

Everything a sync needs from the API goes through `BuildOSClient.get`, so retries, re-login,
politeness and statistics apply to every request alike. Credentials never reach a log line or
an exception.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import typing
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import orjson
from httpx_aiohttp import AiohttpTransport

from pipeline.buildos.politeness import AdaptiveLimit, DeploymentGate, TokenBucket

if typing.TYPE_CHECKING:
    pass

SESSION_CODES = {"UNAUTHORIZED", "SESSION_EXPIRED"}
RETRY_STATUSES = {429, 500, 502, 503, 504}


class BuildOSError(Exception):
    """A request that failed for good (after retries, or not retryable). `status` and `code`
    are the last answer's HTTP status and envelope code, when there was an answer."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.code = status, code


class AuthError(BuildOSError):
    """Login refused, or still unauthorized after logging in again."""


class CircuitOpenError(BuildOSError):
    """Too many consecutive failures: the run stops instead of hammering a broken server."""


@dataclass(frozen=True)
class ClientSettings:
    """How to reach BuildOS and how politely. Secrets are kept out of repr()."""

    base_url: str
    email: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    # Politeness. No fixed throttle by default: `/api/onto/*` has no rate limit today, and a
    # throttle that is never needed only makes the sync wait on itself. Requests in flight adapt
    # instead (halved on 429 / 5xx / Retry-After, grown back by one per healthy streak) between
    # min_concurrency and the ceiling max_concurrency; requests_per_second is an optional hard
    # ceiling for an account (0: none). Deployment-wide ceilings are `DeploymentLimits`.
    max_concurrency: int = 8
    min_concurrency: int = 1
    requests_per_second: float = 0.0
    burst: int = 50
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 8
    backoff_base: float = 0.2
    backoff_max: float = 15.0
    # Consecutive failed attempts, across all concurrent requests, that stop the run (a broken
    # server, not bad luck: at a 20% failure rate 25 in a row is a one-in-10^17 event). A lone
    # request gives up sooner, after max_attempts, and that too stops the run.
    breaker_threshold: int = 25
    # A total deadline per request attempt, body included: the read timeout is per read, so
    # a body that trickles one byte at a time would otherwise never time out.
    request_deadline: float = 60.0
    # Pages read from one listing at most (100,000 items at 100 a page), whatever the
    # server's `total`, `hasMore` or `nextOffset` claim.
    max_pages: int = 1000

    def __post_init__(self) -> None:
        if not self.api_key and not (self.email and self.password):
            raise ValueError("BuildOS credentials missing: set an API key, or email and password")


@dataclass
class RequestStats:
    """Per-run counters, recorded in meta.sync_runs and in Dagster metadata."""

    requests: int = 0
    responses_bytes: int = 0
    logins: int = 0
    retries: Counter = field(default_factory=Counter)  # cause -> count
    backoffs: int = 0  # times the in-flight limit was cut because the server pushed back
    lowest_concurrency: int | None = None
    paging_stops: Counter = field(default_factory=Counter)  # "route: reason" -> count
    started: float = field(default_factory=time.monotonic)

    @property
    def duration_seconds(self) -> float:
        return time.monotonic() - self.started

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "bytes": self.responses_bytes,
            "logins": self.logins,
            "retries_rate_limited": self.retries["rate_limited"],
            "retries_server_error": self.retries["server_error"],
            "retries_timeout": self.retries["timeout"],
            "retries_connection": self.retries["connection"],
            "retries_session": self.retries["session"],
            "concurrency_backoffs": self.backoffs,
            "paging_stops_count": sum(self.paging_stops.values()),
            "duration_seconds": round(self.duration_seconds, 3),
        }


class BuildOSClient:
    """One client session. Use `async with BuildOSClient(settings) as client:`."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        gate: DeploymentGate | None = None,
    ):
        self.settings = settings
        self.stats = RequestStats()
        self.account_id: str | None = None
        self.server_now: str | None = None  # the latest envelope `timestamp` (server clock)
        self.concurrency = AdaptiveLimit(settings.max_concurrency, settings.min_concurrency)
        self._bucket = TokenBucket(settings.requests_per_second, settings.burst)
        self._gate = gate or DeploymentGate()
        self._login_lock = asyncio.Lock()
        # Cleared while a login is under way: new requests wait for the fresh session
        # instead of going out without a cookie and coming back 401.
        self._session_ready = asyncio.Event()
        self._session_ready.set()
        self._session_generation = 0
        self._consecutive_failures = 0
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        headers = {"Accept": "application/json", "User-Agent": "buildos-analytics/0.1"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._http = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/"),
            timeout=timeout,
            headers=headers,
            transport=transport or aiohttp_transport(settings.max_concurrency),
            limits=httpx.Limits(
                max_connections=settings.max_concurrency,
                max_keepalive_connections=settings.max_concurrency,
            ),
        )

    async def __aenter__(self) -> BuildOSClient:
        if not self.settings.api_key:
            try:
                await self._login(self._session_generation)
            except BaseException:
                await self._http.aclose()  # __aexit__ is not called when entering fails
                raise
        return self

    async def __aexit__(self, *exc) -> None:
        await self._http.aclose()

    # -- auth -----------------------------------------------------------------------------

    async def _login(self, seen_generation: int) -> None:
        """Log in unless another request already did since `seen_generation` failed."""
        async with self._login_lock:
            if self._session_generation != seen_generation:
                return
            self._session_ready.clear()
            try:
                self._http.cookies.clear()
                body = {"email": self.settings.email, "password": self.settings.password}
                data = await self._call("POST", "/api/auth/login", json=body, login=True)
                self.stats.logins += 1
                user = data.get("user") if isinstance(data, dict) else None
                user = user if isinstance(user, dict) else {}
                self.account_id = user.get("id") or self.account_id
                self._session_generation += 1
            finally:
                self._session_ready.set()

    # -- requests -------------------------------------------------------------------------

    async def get(self, path: str, params: dict | None = None) -> dict:
        """GET a route and return its `data`. Retries what is worth retrying; raises
        BuildOSError with the route and the server's code for what is not. `data: null` is
        {} here; routes where that matters check for the keys they need."""
        data = await self._call("GET", path, params=params)
        if not isinstance(data, dict):
            raise BuildOSError(
                f"GET {path}: answered data of type {type(data).__name__}, not an object",
                status=200,
            )
        return data

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: dict | None = None,
        login: bool = False,
    ) -> dict:
        session_retries = 0
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            try:
                response, generation = await self._send(method, path, params, json, login)
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.TimeoutException) and not _dropped(exc):
                    detail = f": {exc}" if str(exc) else ""
                    cause, error = "timeout", f"timed out ({type(exc).__name__}{detail})"
                else:
                    cause, error = "connection", f"connection failed ({type(exc).__name__})"
            else:
                payload = _json(response)
                status = response.status_code
                if isinstance(payload.get("timestamp"), str):
                    self.server_now = payload["timestamp"]
                if status == 200 and payload.get("success") and "data" in payload:
                    self._consecutive_failures = 0
                    data = payload["data"]
                    return {} if data is None else data
                code = payload.get("code")
                error = f"HTTP {status} {code or ''}".strip()
                if status == 401 and login:
                    raise AuthError(f"BuildOS refused the configured email and password ({error})")
                if status == 401 and code in SESSION_CODES and not self.settings.api_key:
                    # A fresh session can expire again before this request is retried (another
                    # request's expiry, a short TTL): log in again a bounded number of times.
                    session_retries += 1
                    if session_retries > self.settings.max_attempts:
                        raise AuthError(
                            f"{method} {path}: still unauthorized after logging in again "
                            f"{self.settings.max_attempts} times"
                        )
                    self.stats.retries["session"] += 1
                    await self._login(generation)
                    attempt -= 1
                    continue
                if status == 401:
                    raise AuthError(f"{method} {path}: the API key was refused ({error})")
                if status == 200:  # a 200 whose body was cut short or is not the envelope
                    cause = "connection"
                elif status in RETRY_STATUSES:
                    cause = "rate_limited" if status == 429 else "server_error"
                    retry_after = _retry_after(response)
                    self.concurrency.pushed_back(retry_after)
                    self.stats.backoffs += 1
                    self.stats.lowest_concurrency = min(
                        self.stats.lowest_concurrency or self.concurrency.limit,
                        self.concurrency.limit,
                    )
                else:
                    self._consecutive_failures = 0
                    raise BuildOSError(
                        f"{method} {path} failed: {error}: {payload.get('message')}",
                        status=status,
                        code=code,
                    )
            self._consecutive_failures += 1
            if self._consecutive_failures >= self.settings.breaker_threshold:
                raise CircuitOpenError(
                    f"BuildOS at {self.settings.base_url} failed {self._consecutive_failures} "
                    f"times in a row (last: {method} {path}: {error}); stopping this run. "
                    "Nothing already loaded is lost; run the sync again when the server is "
                    "healthy."
                )
            if attempt >= self.settings.max_attempts:
                raise BuildOSError(f"{method} {path} failed after {attempt} attempts: {error}")
            self.stats.retries[cause] += 1
            await asyncio.sleep(self._backoff(attempt, retry_after))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, never shorter than the server's Retry-After."""
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (attempt - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.settings.backoff_max))
        return delay

    async def _send(
        self, method: str, path: str, params: dict | None, json: dict | None, login: bool
    ) -> tuple[httpx.Response, int]:
        """The answer, and the session generation the request went out with."""
        await self._bucket.take()
        await self._gate.bucket.take()
        if self._gate.fleet is not None:
            await self._gate.fleet.acquire(time.monotonic() + self.settings.request_deadline)
        while True:
            await self.concurrency.acquire()
            # Checked with the slot in hand, not before queueing for it: a request that
            # queued before an expiry must not go out during the re-login (without a cookie,
            # or with the old one) and come back 401, as every freed slot would let one do.
            if login or self._session_ready.is_set():
                break
            await self.concurrency.release(healthy=False)
            await self._session_ready.wait()
        generation = self._session_generation
        healthy = False
        try:
            async with self._gate.in_flight:
                self.stats.requests += 1
                try:
                    async with asyncio.timeout(self.settings.request_deadline):
                        response = await self._http.request(method, path, params=params, json=json)
                except TimeoutError:
                    raise httpx.TimeoutException(
                        f"no whole answer within {self.settings.request_deadline:g} s"
                    ) from None
                self.stats.responses_bytes += len(response.content)
                healthy = response.status_code < 400
                return response, generation
        finally:
            await self.concurrency.release(healthy)

    # -- paging ---------------------------------------------------------------------------

    async def get_pages(
        self,
        path: str,
        key: str,
        params: dict | None = None,
        limit: int = 100,
        on_page: Callable[[list], None] | None = None,
    ) -> list[dict]:
        """Every item of a page/limit route, following what the server answers
        (`pagination.hasNext` or `total`), whatever page size it clamps to, and stopping
        where a lying server would page forever (see `Pager`). With `on_page`, each page
        kept goes to it as it arrives instead (the list returned is then empty)."""
        pager = Pager(self, path, on_page)
        page = 1
        while True:
            data = await self.get(path, {**(params or {}), "page": page, "limit": limit})
            batch = _items(data, key)
            if not pager.take(batch, page):
                return pager.items
            pagination = data.get("pagination")
            if isinstance(pagination, dict):
                more = bool(pagination.get("hasNext"))
            else:
                more = len(pager.items) < _int(data.get("total"))
            if not more:
                return pager.items
            page += 1

    async def get_offset_pages(
        self,
        path: str,
        key: str,
        params: dict | None = None,
        limit: int = 100,
        stop_at_ids: set[str] | None = None,
        on_page: Callable[[list], None] | None = None,
    ) -> list[dict]:
        """Every item of an offset/hasMore route, or, with `stop_at_ids`, items until the
        first page that reaches one of those ids (for newest-first logs). `on_page`: as in
        `get_pages`."""
        pager = Pager(self, path, on_page)
        offset = 0
        while True:
            data = await self.get(path, {**(params or {}), "limit": limit, "offset": offset})
            batch = _items(data, key)
            if not pager.take(batch, offset):
                return pager.items
            if stop_at_ids and any(_id(item) in stop_at_ids for item in batch):
                return pager.items
            if not data.get("hasMore"):
                return pager.items
            next_offset = data.get("nextOffset")
            offset = _int(next_offset) if next_offset is not None else offset + len(batch)


def aiohttp_transport(max_connections: int) -> httpx.AsyncBaseTransport:
    """The network under the httpx client: aiohttp's connection pool, sized like httpx's
    would be. Cookies stay httpx's alone (a second jar inside aiohttp would keep sending a
    session that a re-login has replaced)."""

    def session() -> aiohttp.ClientSession:  # made on the first request, inside the loop
        connector = aiohttp.TCPConnector(limit=max_connections)
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return AiohttpTransport(client=session)


def _dropped(error: httpx.TransportError) -> bool:
    """A connection the server closed, which the aiohttp transport reports as a connect
    timeout: a dropped connection, not a timeout."""
    cause = error.__cause__
    return isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, TimeoutError)


class Pager:
    """The items of one listing, and the guards that stop it when the server's paging
    cannot be trusted: an empty page, a page with no id not seen already, a position that
    does not advance, or `max_pages`. Each stop is counted in the run's stats."""

    def __init__(
        self, client: BuildOSClient, path: str, on_page: Callable[[list], None] | None = None
    ):
        """`on_page`: where each page kept goes (parsed as it arrives, so a listing's
        decoded pages are not all held); without it the pages are kept in `items`."""
        self.client, self.path, self.on_page = client, path, on_page
        self.items: list = []
        self._ids: set = set()
        self._positions: set[int] = set()

    def take(self, batch: list, position: int) -> bool:
        """Keep the page; False when paging must stop here."""
        reason = None
        ids = {_id(item) for item in batch} - {None}
        if not batch:
            # The first page empty is an empty listing; a later one, a promise not kept.
            if self._positions:
                self.client.stats.paging_stops[f"{_route(self.path)}: empty page"] += 1
            return False
        if position in self._positions:
            reason = "offset did not advance"
        elif ids and ids <= self._ids:
            reason = "page with no new ids"
        elif len(self._positions) >= self.client.settings.max_pages:
            reason = "page cap"
        if reason is not None:
            self.client.stats.paging_stops[f"{_route(self.path)}: {reason}"] += 1
            return False
        self._positions.add(position)
        self._ids |= ids
        if self.on_page is None:
            self.items.extend(batch)
        else:
            self.on_page(batch)
        return True


def _items(data: dict, key: str) -> list:
    batch = data.get(key)
    return batch if isinstance(batch, list) else []


def _id(item) -> str | None:
    value = item.get("id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _route(path: str) -> str:
    """The route of a path, ids left out (stats group by route, not by project)."""
    parts = path.strip("/").split("/")
    return "/" + "/".join("{id}" if len(part) == 36 else part for part in parts)


def _json(response: httpx.Response) -> dict:
    try:
        payload = orjson.loads(response.content)  # several times faster than response.json()
    except orjson.JSONDecodeError:
        payload = tolerant_json(response.content)
    return payload if isinstance(payload, dict) else {}


def tolerant_json(content: bytes):
    """A body orjson refuses only for its text (a lone surrogate escape such as `"\\ud800"`,
    or bytes that are not UTF-8) is still JSON: the stdlib parser keeps lone surrogates, and
    invalid bytes become lone surrogates (surrogateescape), so landing can repair and flag
    the one record that holds them. A body that is not JSON at all stays unreadable ({})."""
    try:
        return json.loads(content.decode("utf-8", "surrogateescape"))
    except ValueError:
        return {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
