"""One account's models and their checks, in the account's own DuckDB file and on one
connection: no other process opens the file while its partition builds.

A model is checked right after it is built, and only when it changed: a check of a model that
was not rebuilt would read the same rows again, so its last outcome (kept in
`meta.check_results`) stands. The release step reads those outcomes: an account with a
failing check is not released, and the shared layer keeps its previous rows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from pipeline import model_build, model_schedule
from pipeline.models import (
    LAYERS,
    Model,
    run_test,
    write_effort_weights,
    write_risk_tolerance,
)

CHECKS_DDL = (
    "create table if not exists meta.check_results (model varchar not null, "
    "test varchar not null, failing bigint not null, sample varchar, "
    "checked_at timestamptz not null, primary key (model, test))"
)


@dataclass(frozen=True)
class CheckOutcome:
    model: str
    test: str
    failing: int
    sample: str
    ran: bool  # False: the model did not change, this is the last outcome


@dataclass
class AccountBuild:
    account_id: str
    results: dict[str, model_build.BuildResult] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)

    @property
    def failing_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if c.failing]


@dataclass(frozen=True)
class Settings:
    effort_weights: dict[str, float]
    risk_tolerance: tuple[float, int]


def build_account(
    con: duckdb.DuckDBPyConnection,
    account_id: str,
    models: list[Model],
    settings: Settings,
    selected: Callable[[str], bool] = lambda _relation: True,
    checked: Callable[[Model, str], bool] = lambda _model, _test: True,
) -> AccountBuild:
    """Write the settings tables, the fingerprints, then every model in `models` (in
    dependency order, side by side where one does not read the other) and its checks, each
    check as soon as the models it reads are built. `selected(relation)` and
    `checked(model, test)` say which of them this run asked for."""
    build = AccountBuild(account_id)
    con.execute("create schema if not exists meta")
    if selected("meta.effort_weights"):
        write_effort_weights(con, settings.effort_weights)
    if selected("meta.risk_tolerance"):
        write_risk_tolerance(con, *settings.risk_tolerance)
    # Only fingerprints taken now tell what changed; without them every check runs.
    knows_changes = selected("meta.account_fingerprints")
    if knows_changes:
        model_build.write_account_fingerprints(con, model_build.account_fingerprints(con))
    con.execute(CHECKS_DDL)
    con.execute("delete from meta.check_results where model = ?", [BUILD_ERROR[0]])
    touched: set[str] = set()
    # A test that reads another model (a relationship's target) waits until that is built.
    waiting: list[tuple[Model, object, bool]] = []
    chosen = [m for m in models if selected(m.relation)]
    pending = {m.relation for m in chosen}

    def built(model: Model, result: model_build.BuildResult) -> None:
        """Record the model's build and run the checks it made ready (in the calling thread,
        while the models that do not read it go on building)."""
        nonlocal waiting
        build.results[model.relation] = result
        pending.discard(model.relation)
        reads = {f"{schema}.{table}" for schema, table in model.refs if schema in LAYERS}
        changed = (
            not knows_changes
            or result.mode in ("full", "accounts")
            or result.mode == "view"  # a view is recreated only when what it reads changed
            or bool(reads & touched)
        )
        if changed:
            touched.add(model.relation)
        waiting += [(model, t, changed) for t in model.tests if checked(model, t.name)]
        ready = [w for w in waiting if not ({".".join(r) for r in w[1].refs} & pending)]
        waiting = [w for w in waiting if w not in ready]
        for test_model, test, test_changed in ready:
            others = {".".join(r) for r in test.refs} - {test_model.relation}
            build.checks += _check(con, test_model, [test], test_changed or bool(others & touched))

    model_schedule.build_models(con, chosen, built=built)
    return build


def _check(con, model: Model, tests, changed: bool) -> list[CheckOutcome]:
    last = {
        test: (failing, sample)
        for test, failing, sample in con.execute(
            "select test, failing, sample from meta.check_results where model = ?",
            [model.relation],
        ).fetchall()
    }
    outcomes = []
    for test in tests:
        if not changed and test.name in last:
            failing, sample = last[test.name]
            outcomes.append(CheckOutcome(model.relation, test.name, failing, sample or "", False))
            continue
        failing, rows = run_test(con, test)
        sample = repr(rows)[:2000] if rows else ""
        con.execute(
            "insert or replace into meta.check_results values (?, ?, ?, ?, ?)",
            [model.relation, test.name, failing, sample, datetime.now(UTC)],
        )
        outcomes.append(CheckOutcome(model.relation, test.name, failing, sample, True))
    return outcomes


BUILD_ERROR = ("(build)", "the_models_built")  # (model, test) of a build that raised


def record_build_error(con: duckdb.DuckDBPyConnection, error: BaseException) -> None:
    """A build that raised counts as a failing check: the account is not released until a
    build succeeds (its marts may be half rebuilt)."""
    with suppress(duckdb.Error):  # no transaction may be open
        con.execute("rollback")
    con.execute(CHECKS_DDL)
    con.execute(
        "insert or replace into meta.check_results values (?, ?, 1, ?, ?)",
        [*BUILD_ERROR, f"{type(error).__name__}: {error}"[:2000], datetime.now(UTC)],
    )


def failing_checks(con: duckdb.DuckDBPyConnection, models: Collection[str] | None = None):
    """(model, test, failing rows) of the account's checks that failed when last run."""
    con.execute("create schema if not exists meta")
    con.execute(CHECKS_DDL)
    rows = con.execute(
        "select model, test, failing from meta.check_results where failing > 0 order by 1, 2"
    ).fetchall()
    return [r for r in rows if models is None or r[0] in models]
