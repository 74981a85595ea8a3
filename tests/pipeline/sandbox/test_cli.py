"""The sandbox commands of the CLI: `sandbox truth` prints the truth, `sandbox dump` writes a
workspace file that loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from pipeline.sandbox import (
    SimulationOptions,
    build_truth,
    generate_workspace,
    load_workspace,
    start_sandbox,
)
from pipeline.sandbox.model import US_PER_DAY
from tests.pipeline.sandbox.sandbox_helpers import NOW, NOW_ISO, get_truth

REPO = Path(__file__).resolve().parents[3]
SIZE = ["--now", "2026-03-02T00:00:00Z", "--accounts", "1", "--projects", "2", "--tasks", "5"]
OPTIONS = SimulationOptions(accounts=1, projects_per_account=2, tasks_per_project=5, now=NOW)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "sandbox", *args],
        cwd=REPO,
        capture_output=True,
        timeout=120,
        check=False,
    )


def _expected_truth(advance_days: int = 0) -> dict:
    workspace = generate_workspace(OPTIONS)
    workspace.now += advance_days * US_PER_DAY
    return orjson.loads(orjson.dumps(build_truth(workspace)))


def test_truth_prints_the_truth_as_json():
    result = _cli("truth", *SIZE)
    assert result.returncode == 0, result.stderr.decode()
    truth = orjson.loads(result.stdout)
    assert truth["now"] == NOW_ISO
    assert [a["email"] for a in truth["accounts"]] == ["demo@sandbox.local"]
    assert truth["accounts"][0]["tasks"]
    assert truth == _expected_truth()


def test_truth_can_advance_the_clock_and_filter_an_account():
    account_id = _expected_truth()["accounts"][0]["account_id"]
    result = _cli("truth", *SIZE, "--advance-days", "3", "--account-id", account_id)
    assert result.returncode == 0, result.stderr.decode()
    assert orjson.loads(result.stdout) == _expected_truth(3)
    nobody = _cli("truth", *SIZE, "--account-id", "00000000-0000-4000-8000-000000000000")
    assert orjson.loads(nobody.stdout)["accounts"] == []


def test_truth_refuses_to_pass_the_horizon():
    result = _cli("truth", *SIZE, "--advance-days", "31")
    assert result.returncode != 0
    assert b"horizon" in result.stderr


def test_dump_writes_a_file_that_loads_and_serves(tmp_path):
    path = tmp_path / "workspace.json"
    result = _cli("dump", *SIZE, "--output", str(path))
    assert result.returncode == 0, result.stderr.decode()
    assert b"wrote" in result.stderr
    workspace = load_workspace(path)
    assert workspace.origin == "file"
    assert orjson.loads(orjson.dumps(build_truth(workspace))) == _expected_truth()
    sandbox = start_sandbox(workspace_file=path)
    try:
        assert get_truth(sandbox) == _expected_truth()
    finally:
        sandbox.stop()
    from_file = _cli("truth", "--workspace-file", str(path))
    assert orjson.loads(from_file.stdout) == _expected_truth()


@pytest.mark.parametrize("command", ["truth", "dump", "serve"])
def test_every_sandbox_command_has_help(command):
    result = _cli(command, "--help")
    assert result.returncode == 0
    assert b"--seed" in result.stdout and b"--workspace-file" in result.stdout
