"""Configured account entries that cannot be resolved (issue 10, cases 4 and 9, end to end): an
entry whose login fails, or whose login gives an id that is not a UUID, is left out and named;
the other accounts sync, build and publish, per account too, and nothing is written outside
the data and exports folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import orjson

from pipeline.automation import registry_changes
from pipeline.paths import PROJECT_ROOT
from pipeline.resources import BuildOSResource
from pipeline.sandbox import account_credentials
from tests.accounts import account_files, account_rows
from tests.pipeline.buildos.hostile import Exchange, HostileServer
from tests.pipeline.buildos.sync_helpers import simulation

HOSTILE_ID = "../../x"


def _pipeline(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _entries(bad_password: bool = True) -> list[dict]:
    """Entry 1: a wrong password; entry 2: good; entry 3: good, but its login is rewritten."""
    credentials = [account_credentials(index) for index in range(3)]
    entries = [{"email": email, "password": password} for email, password, _ in credentials]
    if bad_password:
        entries[0]["password"] = "not-the-password"
    return entries


def _login_gives(account_id: str, replacement: str):
    def rule(exchange: Exchange) -> None:
        if exchange.path == "/api/auth/login" and exchange.status == 200:
            data = exchange.data
            if data["user"]["id"] == account_id:
                data["user"]["id"] = replacement
                exchange.set_data(data)

    return rule


def test_entries_that_do_not_resolve_are_named_and_the_others_sync_and_publish(
    sandbox_factory, tmp_path
):
    server = sandbox_factory(simulation(21, accounts=3, projects=2, tasks=6, days=20))
    first, good, third = (a.id for a in server.app.workspace.accounts)
    work = tmp_path / "work"  # the commands' folder: nothing may appear beside it
    work.mkdir()
    db, exports = work / "data" / "warehouse.duckdb", work / "exports"
    with HostileServer(server.base_url, _login_gives(third, HOSTILE_ID)) as hostile:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BUILDOS_")},
            "BUILDOS_BASE_URL": hostile.base_url,
            "BUILDOS_ACCOUNTS": orjson.dumps(_entries()).decode(),
            "BUILDOS_ANALYTICS_DB": str(db),
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        synced = _pipeline("sync", env=env, cwd=work)

        # The sync lands the good account, then fails, naming both entries and why.
        assert synced.returncode == 1, synced.stderr[-3000:]
        assert "sync: 1 account(s)" in synced.stdout
        message = " ".join(synced.stderr.split())  # rich and click may wrap long lines
        assert "these configured accounts were not synced" in message
        assert "account entry 1 (demo@sandbox.local): BuildOS refused the configured" in message
        assert "account entry 3 (user3@sandbox.local): " in message
        assert f"'{HOSTILE_ID}' is not a UUID" in message
        assert "not-the-password" not in synced.stdout + synced.stderr
        assert list(account_files(db)) == [good]
        assert account_rows(db, "select account_id, status from meta.sync_runs") == [
            (good, "succeeded")
        ]

        built = _pipeline("build", "--db", str(db), env=env, cwd=work)
        assert built.returncode == 0, built.stderr[-3000:]
        published = _pipeline(
            "publish",
            "--db",
            str(db),
            "--exports",
            str(exports),
            "--per-account",
            env=env,
            cwd=work,
        )
        assert published.returncode == 0, published.stderr[-3000:]

    assert sorted(p.name for p in (exports / "accounts").iterdir()) == [good]
    assert (exports / "accounts" / good / "current").is_dir()
    assert first not in {p.name for p in exports.rglob("*")}
    # `../../x` from exports/accounts/ would be tmp_path/x; from data/accounts/, work/x.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert not (work / "x").exists()


def test_the_registry_sensor_adds_what_resolves_and_removes_nothing_while_an_entry_fails(
    sandbox_factory,
):
    server = sandbox_factory(simulation(22, accounts=3, projects=1, tasks=3, days=10))
    first, second, third = (a.id for a in server.app.workspace.accounts)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("accounts", [first])
        context = dg.build_sensor_context(instance=instance)
        # The first entry's password is wrong now: it may be the registered account, so the
        # sensor keeps it, and adds the two that resolve.
        failing = BuildOSResource(
            base_url=server.base_url, accounts_json=orjson.dumps(_entries()).decode()
        )
        resolved = failing.resolve()
        assert resolved.ids == [second, third]
        [entry] = resolved.unresolved
        assert (entry.entry, entry.who) == (1, "demo@sandbox.local")
        assert "not-the-password" not in repr(resolved)
        result = registry_changes(context, resolved.ids, remove=not resolved.unresolved)
        [added] = result.dynamic_partitions_requests
        assert sorted(added.partition_keys) == sorted([second, third])

        # With every entry resolving, an account no longer configured is removed.
        instance.add_dynamic_partitions("accounts", [second, third])
        healthy = BuildOSResource(
            base_url=server.base_url,
            accounts_json=orjson.dumps(_entries(bad_password=False)[1:]).decode(),
        )
        resolved = healthy.resolve()
        assert resolved.unresolved == []
        result = registry_changes(context, resolved.ids, remove=True)
        [removed] = result.dynamic_partitions_requests
        assert list(removed.partition_keys) == [first]


def test_a_registered_account_whose_entry_no_longer_resolves_fails_alone(sandbox_factory, tmp_path):
    """The partition stays; its sync fails with a reason and the other account lands."""
    from pipeline.resources import DuckDBWarehouse
    from tests.accounts import materialize

    server = sandbox_factory(simulation(23, accounts=2, projects=1, tasks=3, days=10))
    first, second = (a.id for a in server.app.workspace.accounts)
    db = tmp_path / "warehouse.duckdb"
    entries = _entries()[:2]  # the first's password is wrong, and it has no account_id
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("accounts", [first, second])
        result = materialize(
            dg.AssetSelection.groups("buildos"),
            {
                "buildos": BuildOSResource(
                    base_url=server.base_url, accounts_json=orjson.dumps(entries).decode()
                ),
                "warehouse": DuckDBWarehouse(path=str(db)),
            },
            instance=instance,
        )
        logs = " ".join(r.user_message for r in instance.all_logs(result.run_id))
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    assert check.metadata["unsettled_accounts"].value == f"{first}: failed"
    assert f"account {first}: the sync failed and kept its rows" in logs
    assert "no configured BuildOS account resolves to this id" in logs
    assert list(account_files(db)) == [second]
