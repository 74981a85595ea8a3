"""The run summary's plain functions, called without the CLI: checks, step errors, outputs, the
sandbox options' defaults."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pipeline.summary import (
    check_lines,
    dashboard_file_lines,
    output_lines,
    step_errors,
    unsettled_lines,
)


def _evaluation(key: str, check: str, passed: bool, failing_rows=None):
    return SimpleNamespace(
        asset_key=SimpleNamespace(to_user_string=lambda: key),
        check_name=check,
        passed=passed,
        metadata={"failing_rows": failing_rows} if failing_rows is not None else {},
    )


def _failure(step: str, chain: list[tuple[str, str]]):
    error = None
    for cls_name, message in reversed(chain):
        error = SimpleNamespace(cls_name=cls_name, message=message, cause=error)
    return SimpleNamespace(
        is_step_failure=True, step_key=step, step_failure_data=SimpleNamespace(error=error)
    )


def test_check_lines_count_and_name_the_failed_checks():
    result = SimpleNamespace(
        get_asset_check_evaluations=lambda: [
            _evaluation("marts/dim_projects", "unique_project_id", True),
            _evaluation("marts/fct_velocity_weekly", "not_null_week", False, 3),
        ]
    )
    assert check_lines(result) == [
        "  checks: 1 passed, 1 failed",
        "    FAILED marts/fct_velocity_weekly not_null_week: 3",
    ]


def test_step_errors_unwrap_dagster_but_not_the_steps_own_causes():
    result = SimpleNamespace(
        all_events=[
            _failure(
                "exports_pg",
                [
                    ("DagsterExecutionStepExecutionError", "Error occurred while executing"),
                    ("LockNotAvailable", " lock held by pid 42 \n"),
                    ("OSError", "the cause of the lock error"),
                ],
            ),
            SimpleNamespace(is_step_failure=False, step_key="other"),
        ]
    )
    assert step_errors(result) == ["exports_pg: lock held by pid 42"]


def test_output_lines_name_postgresql_only_when_configured(tmp_path):
    without = output_lines(tmp_path / "w.duckdb", tmp_path / "exports", None)
    assert without[0] == "Outputs:"
    assert str(tmp_path / "exports" / "analytics.duckdb") in without[-1]
    with_pg = output_lines(tmp_path / "w.duckdb", tmp_path / "exports", "postgresql://x")
    assert with_pg[-1].endswith("schema buildos_analytics")
    assert len(with_pg) == len(without) + 1


def test_dashboard_file_lines_name_the_png_only_when_it_exists(tmp_path):
    assert len(dashboard_file_lines(tmp_path)) == 1
    (tmp_path / "latest.png").write_bytes(b"png")
    lines = dashboard_file_lines(tmp_path)
    assert len(lines) == 2 and lines[1].endswith(str(tmp_path / "latest.png"))


def test_no_database_file_means_no_unsettled_accounts(tmp_path):
    assert unsettled_lines(tmp_path / "absent.duckdb") == []


def test_the_sandbox_options_default_to_the_dataclasses_fields():
    from pipeline.sandbox import SimulationOptions
    from pipeline.sandbox.cli import simulation_options

    params = {
        p.name: p.default for p in simulation_options(lambda workspace: None).__click_params__
    }
    defaults = SimulationOptions()
    for name in ("seed", "accounts", "projects_per_account", "days", "silent_change_rate"):
        assert params[name] == getattr(defaults, name), name


@pytest.mark.parametrize("name", ["rate_limit", "slow_seconds", "retry_after"])
def test_the_fault_options_default_to_fault_config(name):
    from pipeline.sandbox import FaultConfig
    from pipeline.sandbox.cli import fault_options

    params = {p.name: p.default for p in fault_options(lambda faults: None).__click_params__}
    option = f"fault_{name}" if name == "rate_limit" else name
    assert params[option] == getattr(FaultConfig(), name)
