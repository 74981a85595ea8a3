"""The sandbox's commands: `pipeline sandbox serve|truth|dump`, registered into the main CLI."""

from __future__ import annotations

import functools
import sys
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import click
import orjson

from pipeline.sandbox import (
    SESSION_TTL_SECONDS,
    FaultConfig,
    SandboxApp,
    SandboxServer,
    SimulationOptions,
    build_truth,
    build_workspace,
    dump_workspace,
)
from pipeline.sandbox.model import US_PER_DAY, Workspace

# The dataclasses are slotted, so their defaults are read from their fields.
SIMULATION = {field.name: field.default for field in fields(SimulationOptions)}
FAULTS = {field.name: field.default for field in fields(FaultConfig)}


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def simulation_options(command):
    """The options that choose a simulated workspace, shared by every sandbox command; the
    command gets the workspace they choose as its `workspace` argument."""

    @functools.wraps(command)
    def with_workspace(*args, now_text, workspace_file, **kwargs):
        chosen = {name: kwargs.pop(name) for name in SIMULATION if name in kwargs}
        options = SimulationOptions(now=_parse_now(now_text), **chosen)
        return command(*args, workspace=build_workspace(options, workspace_file), **kwargs)

    options = [
        click.option("--seed", type=int, default=SIMULATION["seed"], show_default=True),
        click.option(
            "--accounts", type=click.IntRange(1), default=SIMULATION["accounts"], show_default=True
        ),
        click.option(
            "--projects",
            "projects_per_account",
            type=click.IntRange(0),
            default=SIMULATION["projects_per_account"],
            show_default=True,
            help="Projects per account (at the simulated now).",
        ),
        click.option(
            "--tasks",
            "tasks_per_project",
            type=click.IntRange(1),
            default=SIMULATION["tasks_per_project"],
            show_default=True,
            help="Mean tasks per project over its life.",
        ),
        click.option(
            "--days",
            type=click.IntRange(1),
            default=SIMULATION["days"],
            show_default=True,
            help="Days of history before now.",
        ),
        click.option(
            "--horizon-days",
            type=click.IntRange(0),
            default=SIMULATION["horizon_days"],
            show_default=True,
            help="Days of activity simulated after now (how far the clock can go).",
        ),
        click.option(
            "--now",
            "now_text",
            default=None,
            help="The simulated now, ISO 8601 (default: today 00:00 UTC).",
        ),
        click.option(
            "--silent-rate",
            "silent_change_rate",
            type=click.FloatRange(0, 1),
            default=SIMULATION["silent_change_rate"],
            show_default=True,
            help="Share of changes that leave no activity log.",
        ),
        click.option(
            "--workspace-file",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="Load this workspace file instead of simulating.",
        ),
    ]
    for option in reversed(options):
        with_workspace = option(with_workspace)
    return with_workspace


def fault_options(command):
    """The fault injector's options; the command gets the `FaultConfig` they make as `faults`."""
    rates = {
        "rate_limit": "Share of /api/ requests answered 429.",
        "server_error": "Share answered 500/502/503.",
        "slow": "Share answered after --slow-seconds.",
        "drop": "Share whose connection drops mid-body.",
        "expire_session": "Share that expire the caller's session.",
    }

    @functools.wraps(command)
    def with_faults(*args, **kwargs):
        chosen = {name: kwargs.pop(f"fault_{name}") for name in rates}
        chosen.update({name: kwargs.pop(name) for name in ("retry_after", "slow_seconds")})
        faults = FaultConfig(seed=kwargs.pop("fault_seed"), **chosen)
        return command(*args, faults=faults, **kwargs)

    options = [
        click.option(
            f"--fault-{name.replace('_', '-')}",
            type=click.FloatRange(0, 1),
            default=FAULTS[name],
            help=text,
        )
        for name, text in rates.items()
    ] + [
        click.option("--retry-after", type=int, default=FAULTS["retry_after"], show_default=True),
        click.option(
            "--slow-seconds", type=float, default=FAULTS["slow_seconds"], show_default=True
        ),
        click.option("--fault-seed", type=int, default=FAULTS["seed"], show_default=True),
    ]
    for option in reversed(options):
        with_faults = option(with_faults)
    return with_faults


@click.group(help="The BuildOS sandbox: a local server with a simulated workspace.")
def sandbox() -> None:
    pass


@sandbox.command(help="Serve the sandbox over HTTP until interrupted.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8787, show_default=True)
@simulation_options
@click.option(
    "--session-ttl",
    type=float,
    default=SESSION_TTL_SECONDS,
    show_default=True,
    help="Seconds a login session lasts.",
)
@fault_options
@click.option("--verbose", is_flag=True, help="Log every request.")
def serve(
    host: str,
    port: int,
    workspace: Workspace,
    session_ttl: float,
    faults: FaultConfig,
    verbose: bool,
) -> None:
    app = SandboxApp(workspace, session_ttl=session_ttl, faults=faults)
    server = SandboxServer(app, host=host, port=port, verbose=verbose)
    tasks = sum(
        1
        for a in workspace.accounts
        for c in a.children.values()
        for e in c
        if e.kind == "task" and e.created_at <= workspace.now
    )
    click.echo(
        f"BuildOS sandbox on {server.base_url} (now {app.now_iso}, "
        f"{len(workspace.accounts)} accounts, {tasks} tasks)"
    )
    for account in workspace.accounts:
        click.echo(f"  {account.email} / {account.password}   Bearer {account.api_key}")
    click.echo("Admin routes under /__sandbox/ (clock, truth, faults, stats). Ctrl-C stops.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")


@sandbox.command(help="Print the ground truth (every entity's history up to now) as JSON.")
@simulation_options
@click.option("--account-id", default=None, help="Only this account.")
@click.option(
    "--advance-days", type=float, default=0.0, help="Advance the clock by this many days first."
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def truth(
    workspace: Workspace, account_id: str | None, advance_days: float, output: Path | None
) -> None:
    if advance_days:
        workspace.now += int(advance_days * US_PER_DAY)
        if workspace.now > workspace.horizon:
            raise click.UsageError("--advance-days passes the simulated horizon")
    _write(orjson.dumps(build_truth(workspace, account_id)), output)


@sandbox.command(help="Write the simulated workspace as a workspace file (JSON).")
@simulation_options
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def dump(workspace: Workspace, output: Path | None) -> None:
    _write(orjson.dumps(dump_workspace(workspace), option=orjson.OPT_INDENT_2), output)


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data + b"\n")
    else:
        output.write_bytes(data + b"\n")
        click.echo(f"wrote {output} ({len(data):,} bytes)", err=True)
