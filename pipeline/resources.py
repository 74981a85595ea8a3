"""Dagster resources: where BuildOS is, where the DuckDB file is, and how progress is shown."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import orjson

from pipeline import model_build, safety, warehouse
from pipeline.buildos.client import BuildOSError, ClientSettings
from pipeline.buildos.politeness import DeploymentLimits
from pipeline.buildos.sync import SyncOptions

SANDBOX = "sandbox"  # the base URL that means "start the embedded sandbox for this run"
DEFAULT_DB = "data/warehouse.duckdb"
ACCOUNT_FILE = "warehouse.duckdb"  # in accounts/<account_id>/ beside the shared file
LOG = logging.getLogger(__name__)

# Resource field -> environment variable. Only the ones that are set are bound (a deployment
# uses email and password, or an API key; Dagster refuses an EnvVar that is unset).
BUILDOS_ENV = {
    "base_url": "BUILDOS_BASE_URL",
    "email": "BUILDOS_EMAIL",
    "password": "BUILDOS_PASSWORD",
    "api_key": "BUILDOS_API_KEY",
    "account_id": "BUILDOS_ACCOUNT_ID",
    "accounts_json": "BUILDOS_ACCOUNTS",
}


@dataclass(frozen=True)
class UnresolvedAccount:
    """A configured account entry whose id could not be learned: its login failed, or the id
    it gave is not a UUID. It has no partition until it resolves."""

    entry: int  # its position in the configuration, from 1
    who: str  # its email, or "API key"; never a secret
    reason: str

    def __str__(self) -> str:
        return f"account entry {self.entry} ({self.who}): {self.reason}"


@dataclass(frozen=True)
class ResolvedAccounts:
    """The configured accounts that have an id, and the entries that could not get one."""

    ids: list[str]
    unresolved: list[UnresolvedAccount]
    entries: list[dict] = field(repr=False)  # the resolved entries with their ids (secrets)


class BuildOSResource(dg.ConfigurableResource):
    """How to reach BuildOS. `base_url="sandbox"` (the default) starts the embedded sandbox
    for the run and syncs every sandbox account. Secrets are bound to environment variables,
    so the UI shows the variable's name, never its value."""

    base_url: str = SANDBOX
    email: str | None = None
    password: str | None = None
    api_key: str | None = None
    account_id: str | None = None
    accounts_json: str | None = None  # JSON list of {email, password} or {api_key, account_id}
    sandbox_seed: int = 7
    # How politely, per account (defaults from ClientSettings, written once there; see its
    # comments for why there is no fixed throttle) and per deployment (DeploymentLimits).
    max_concurrency: int = ClientSettings.max_concurrency
    min_concurrency: int = ClientSettings.min_concurrency
    requests_per_second: float = ClientSettings.requests_per_second
    burst: int = ClientSettings.burst
    connect_timeout: float = ClientSettings.connect_timeout
    read_timeout: float = ClientSettings.read_timeout
    max_attempts: int = ClientSettings.max_attempts
    backoff_max: float = ClientSettings.backoff_max
    breaker_threshold: int = ClientSettings.breaker_threshold
    request_deadline: float = ClientSettings.request_deadline
    max_pages: int = ClientSettings.max_pages
    sync_deadline: float = SyncOptions.sync_deadline
    misses_to_remove: int = SyncOptions.misses_to_remove
    account_concurrency: int = SyncOptions.account_concurrency  # accounts synced at once
    deployment_max_in_flight: int = DeploymentLimits.max_in_flight
    deployment_requests_per_second: float = DeploymentLimits.requests_per_second

    def deployment_limits(self) -> DeploymentLimits:
        return DeploymentLimits(
            max_in_flight=self.deployment_max_in_flight,
            requests_per_second=self.deployment_requests_per_second,
        )

    def _settings(self, base_url: str, credentials: dict) -> ClientSettings:
        return ClientSettings(
            base_url=base_url,
            email=credentials.get("email"),
            password=credentials.get("password"),
            api_key=credentials.get("api_key"),
            max_concurrency=self.max_concurrency,
            min_concurrency=self.min_concurrency,
            requests_per_second=self.requests_per_second,
            burst=self.burst,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_attempts=self.max_attempts,
            backoff_max=self.backoff_max,
            breaker_threshold=self.breaker_threshold,
            request_deadline=self.request_deadline,
            max_pages=self.max_pages,
        )

    def sync_options(self, **fields) -> SyncOptions:
        """The sync's options: this resource's deadlines and removal rule, and `fields`."""
        return SyncOptions(
            sync_deadline=self.sync_deadline,
            misses_to_remove=self.misses_to_remove,
            account_concurrency=self.account_concurrency,
            **fields,
        )

    def account_ids(self) -> list[str]:
        """The configured accounts' ids, the keys of their partitions (see `resolve`)."""
        return self.resolve().ids

    def resolve(self) -> ResolvedAccounts:
        """The configured accounts' ids. The sandbox's are known from its seed; a configured
        entry names its own; an entry with only an email and a password is asked once (a
        login). An entry whose login fails, or whose id is not a UUID, is left out and named
        in `unresolved`: one bad entry never stops the others."""
        if self.base_url == SANDBOX:
            from pipeline.sandbox.generate import SimulationOptions, account_ids

            ids = account_ids(SimulationOptions(seed=self.sandbox_seed))
            return ResolvedAccounts(ids=ids, unresolved=[], entries=[])
        resolved, unresolved = [], []
        for position, entry in enumerate(self._entries(), start=1):
            try:
                account_id = entry.get("account_id") or _login_account_id(
                    self._settings(self.base_url, entry)
                )
                resolved.append(entry | {"account_id": safety.account_id(account_id)})
            except (BuildOSError, safety.UnsafePathError, OSError) as error:
                who = entry.get("email") or "API key"
                unresolved.append(UnresolvedAccount(position, who, str(error)))
        for entry in unresolved:
            LOG.warning("left out: %s", entry)
        return ResolvedAccounts(
            ids=[e["account_id"] for e in resolved], unresolved=unresolved, entries=resolved
        )

    @contextmanager
    def accounts(
        self, only: Sequence[str] | None = None
    ) -> Iterator[list[tuple[ClientSettings, str | None]]]:
        """(client settings, configured account id) for every account to sync, or for the
        accounts in `only` (a run's partitions) that are configured and resolve."""
        if self.base_url == SANDBOX:
            from pipeline.sandbox import SimulationOptions, start_sandbox

            with start_sandbox(SimulationOptions(seed=self.sandbox_seed)) as server:
                yield _only(
                    [
                        (
                            self._settings(
                                server.base_url, {"email": a.email, "password": a.password}
                            ),
                            a.id,
                        )
                        for a in server.app.workspace.accounts
                    ],
                    only,
                )
            return
        entries = self._entries()
        if only is not None and any(not entry.get("account_id") for entry in entries):
            entries = self.resolve().entries
        yield _only(
            [(self._settings(self.base_url, entry), entry.get("account_id")) for entry in entries],
            only,
        )

    def fleet(self):
        """The request budget every worker shares (BUILDOS_FLEET_REDIS_URL and
        BUILDOS_FLEET_REQUESTS_PER_SECOND), or None."""
        from pipeline.fleet import fleet_from_env

        return fleet_from_env()

    def _entries(self) -> list[dict]:
        from pipeline.registry import load_registry

        registry = None
        if self.accounts_json:
            # With an id in every entry, the registry's rules apply (`password_env`,
            # `api_key_env`); entries without one are asked their id by a login.
            try:
                listed = orjson.loads(self.accounts_json)
            except orjson.JSONDecodeError as exc:
                raise ValueError("BUILDOS_ACCOUNTS is not a JSON list of credentials") from exc
            if isinstance(listed, list) and all(
                isinstance(e, dict) and e.get("account_id") for e in listed
            ):
                registry = load_registry({**os.environ, "BUILDOS_ACCOUNTS": self.accounts_json})
        elif not (self.email or self.api_key):
            registry = load_registry() or None  # a registry file or table, when configured
        if registry is not None:
            return [
                {
                    "account_id": e.account_id,
                    "email": e.email,
                    "password": e.password,
                    "api_key": e.api_key,
                }
                for e in registry
            ]
        if self.accounts_json:
            try:
                entries = orjson.loads(self.accounts_json)
            except orjson.JSONDecodeError as exc:
                raise ValueError("BUILDOS_ACCOUNTS is not a JSON list of credentials") from exc
        else:
            entries = [
                {
                    "email": self.email,
                    "password": self.password,
                    "api_key": self.api_key,
                    "account_id": self.account_id,
                }
            ]
        return entries


def _only(accounts: list[tuple[ClientSettings, str | None]], only: Sequence[str] | None):
    """The accounts in `only`, in its order; an id no configured account has is left out (the
    sync names it as failed)."""
    if only is None:
        return accounts
    known = {account_id: (settings, account_id) for settings, account_id in accounts}
    return [known[account_id] for account_id in only if account_id in known]


def _login_account_id(settings: ClientSettings) -> str:
    from pipeline.buildos.client import BuildOSClient

    async def ask() -> str:
        async with BuildOSClient(settings) as client:
            return client.account_id

    return asyncio.run(ask())


def buildos_from_env() -> BuildOSResource:
    """The resource bound to whichever BUILDOS_* variables are set (checked for presence only;
    values are read by Dagster at run time)."""
    return BuildOSResource(
        **{field: dg.EnvVar(var) for field, var in BUILDOS_ENV.items() if os.environ.get(var)}
    )


class DuckDBWarehouse(dg.ConfigurableResource):
    """Where the pipeline keeps its DuckDB files. `path` (BUILDOS_ANALYTICS_DB, default
    data/warehouse.duckdb) is the shared file: every account's checked marts, which the
    publish steps read. Beside it, each account has a work file of its own,
    accounts/<account_id>/warehouse.duckdb (raw, current, history, meta and model tables),
    written only by that account's partition, so accounts never wait on one another."""

    path: str = DEFAULT_DB
    # Each account's steps hold its lease while they write its file: a PostgreSQL advisory
    # lock with `lease_url` (BUILDOS_LEASE_URL; workers on several machines), else a file lock
    # beside the account's file. A step waits this long for a lease another run holds.
    lease_url: str | None = None
    lease_wait_seconds: float = 900.0

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return warehouse.connect(self.path, read_only=read_only)

    @property
    def root(self) -> Path:
        return Path(self.path).resolve().parent

    def account_folder(self, account_id: str) -> Path:
        return safety.account_root(self.root, account_id)

    def account_path(self, account_id: str) -> Path:
        return self.account_folder(account_id) / ACCOUNT_FILE

    def connect_account(self, account_id: str, read_only: bool = False):
        return warehouse.connect(self.account_path(account_id), read_only=read_only)

    def lease(self, account_id: str):
        """The account's lease (pipeline/leases.py): no other step writes its file meanwhile."""
        from pipeline.leases import account_lease

        return account_lease(
            account_id, root=self.root, url=self.lease_url, wait_seconds=self.lease_wait_seconds
        )

    @contextmanager
    def account(self, account_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """The account's file, opened for writing under its lease."""
        with self.lease(account_id):
            con = self.connect_account(account_id)
            try:
                yield con
            finally:
                con.close()


def warehouse_from_env() -> DuckDBWarehouse:
    fields = {}
    if os.environ.get("BUILDOS_ANALYTICS_DB"):
        fields["path"] = dg.EnvVar("BUILDOS_ANALYTICS_DB")
    if os.environ.get("BUILDOS_LEASE_URL"):
        fields["lease_url"] = dg.EnvVar("BUILDOS_LEASE_URL")
    return DuckDBWarehouse(**fields)


DEFAULT_EFFORT_WEIGHTS = {"micro": 1.0, "small": 2.0, "medium": 3.0, "large": 5.0, "epic": 8.0}
# The at-risk rule's tolerance (docs/metrics.md, "Projects at risk"): behind the ideal line
# counts only beyond both this share of the scope and this many tasks.
DEFAULT_RISK_BEHIND_SHARE_OF_SCOPE = 0.10
DEFAULT_RISK_BEHIND_TASKS = 2


class ModelSettings(dg.ConfigurableResource):
    """Settings the models read: the effort weight of each facet_scale (BuildOS has no story
    points; weighted velocity and burndown use these), and how much memory a build may use.
    `memory_limit` (a DuckDB size such as "4GiB"; default an eighth of the machine's memory)
    bounds the build, which spills to `temp_directory` (default: beside the DuckDB file)
    rather than go past it. Environment: BUILDOS_MODELS_MEMORY_LIMIT, BUILDOS_MODELS_TEMP_DIR."""

    effort_weights: dict[str, float] = DEFAULT_EFFORT_WEIGHTS
    risk_behind_share_of_scope: float = DEFAULT_RISK_BEHIND_SHARE_OF_SCOPE
    risk_behind_tasks: int = DEFAULT_RISK_BEHIND_TASKS
    memory_limit: str | None = None
    temp_directory: str | None = None
    threads: int | None = None

    def configure(self, con: duckdb.DuckDBPyConnection) -> None:
        """Apply the memory limit and spill directory to a connection that builds models."""
        model_build.configure(con, self.memory_limit, self.temp_directory, self.threads)


MODELS_ENV = {
    "memory_limit": "BUILDOS_MODELS_MEMORY_LIMIT",
    "temp_directory": "BUILDOS_MODELS_TEMP_DIR",
}


def models_from_env() -> ModelSettings:
    return ModelSettings(
        **{field: dg.EnvVar(var) for field, var in MODELS_ENV.items() if os.environ.get(var)}
    )


class PublishSettings(dg.ConfigurableResource):
    """Where exports go and what they hold. BUILDOS_ANALYTICS_EXPORTS sets the folder;
    BUILDOS_ANALYTICS_POSTGRES_URL (a SQLAlchemy URL, postgresql+psycopg://...) turns on the
    PostgreSQL copy."""

    exports_dir: str = "exports"
    include_free_text: bool = False  # brain dump content, descriptions, log text: off by default
    per_account: bool = False  # also write exports/accounts/<account_id>/, one per account
    spreadsheets: bool = False  # also CSV files and an Excel workbook in the release
    keep_releases: int = 3
    postgres_url: str | None = None
    postgres_schema: str = "buildos_analytics"
    # The switch to a new release waits for readers at most this long per attempt (keep it
    # under PostgreSQL's deadlock_timeout, 1 s by default), for this many attempts.
    postgres_lock_timeout_ms: int = 500
    postgres_switch_attempts: int = 8
    # A replaced release's schema stays this long for readers that name it directly.
    postgres_grace_seconds: float = 600.0
    # All of one publish's waits (for another publish of the schema, for readers' locks).
    postgres_deadline_seconds: float = 300.0

    def switch_policy(self):
        from pipeline.publish.postgres_switch import SwitchPolicy

        return SwitchPolicy(
            lock_timeout_ms=self.postgres_lock_timeout_ms,
            attempts=self.postgres_switch_attempts,
            grace_seconds=self.postgres_grace_seconds,
            deadline_seconds=self.postgres_deadline_seconds,
        )


def publish_from_env() -> PublishSettings:
    fields = {}
    if os.environ.get("BUILDOS_ANALYTICS_EXPORTS"):
        fields["exports_dir"] = dg.EnvVar("BUILDOS_ANALYTICS_EXPORTS")
    if os.environ.get("BUILDOS_ANALYTICS_POSTGRES_URL"):
        fields["postgres_url"] = dg.EnvVar("BUILDOS_ANALYTICS_POSTGRES_URL")
    return PublishSettings(**fields)


class DeliverySettings(dg.ConfigurableResource):
    """Where the dashboard and pipeline events go; each channel is off until configured.
    Environment: BUILDOS_DASHBOARD_DIR, BUILDOS_SLACK_WEBHOOK_URL, BUILDOS_SMTP_HOST,
    BUILDOS_SMTP_PORT, BUILDOS_SMTP_USER, BUILDOS_SMTP_PASSWORD, BUILDOS_SMTP_FROM,
    BUILDOS_SMTP_TO (comma list), BUILDOS_EVENTS_WEBHOOK_URL, BUILDOS_EVENTS_WEBHOOK_SECRET,
    BUILDOS_DASHBOARD_ACCOUNTS (`summary`: the all-accounts dashboard only; `each`: also one
    per account; or a comma list of account ids, each drawn beside the summary)."""

    dashboard_dir: str = "exports/dashboards"
    dashboard_accounts: str = "summary"
    slack_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "buildos-analytics@localhost"
    smtp_to: str | None = None
    smtp_starttls: bool = True
    events_webhook_url: str | None = None
    events_webhook_secret: str | None = None
    retry_attempts: int = 5
    retry_backoff_seconds: float = 0.5


DELIVERY_ENV = {
    "dashboard_dir": "BUILDOS_DASHBOARD_DIR",
    "dashboard_accounts": "BUILDOS_DASHBOARD_ACCOUNTS",
    "slack_webhook_url": "BUILDOS_SLACK_WEBHOOK_URL",
    "smtp_host": "BUILDOS_SMTP_HOST",
    "smtp_user": "BUILDOS_SMTP_USER",
    "smtp_password": "BUILDOS_SMTP_PASSWORD",
    "smtp_from": "BUILDOS_SMTP_FROM",
    "smtp_to": "BUILDOS_SMTP_TO",
    "events_webhook_url": "BUILDOS_EVENTS_WEBHOOK_URL",
    "events_webhook_secret": "BUILDOS_EVENTS_WEBHOOK_SECRET",
}


def delivery_from_env(**overrides) -> DeliverySettings:
    """The delivery settings from the environment; `overrides` (a CLI option, say) win."""
    fields = {field: dg.EnvVar(var) for field, var in DELIVERY_ENV.items() if os.environ.get(var)}
    if os.environ.get("BUILDOS_SMTP_PORT"):
        fields["smtp_port"] = dg.EnvVar.int("BUILDOS_SMTP_PORT")
    return DeliverySettings(**(fields | {k: v for k, v in overrides.items() if v is not None}))


class ProgressReporter:
    """Where long work reports progress: nothing by default; the CLI passes a progress bar."""

    def update(self, phase: str, done: int, total: int) -> None:
        """`done` of `total` units of `phase` are finished."""

    def message(self, text: str) -> None:
        """A one-line status."""
