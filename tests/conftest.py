"""Every test runs in a clean environment and never writes into the checkout.

Before any test module imports the pipeline (its Definitions read BUILDOS_* variables when
imported): every BUILDOS_* setting from the shell is removed, so no test delivers to a real
Slack, mail server or webhook, or publishes to a configured database; DAGSTER_HOME points at a
temporary instance; and the working directory is a temporary folder, so a default relative
path (exports/, data/) lands there. At the end the run fails if any file of the checkout
changed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.paths import PROJECT_ROOT

# Machine settings and the tests' own configuration, not delivery or data settings.
KEPT = {"BUILDOS_CHROMIUM", "BUILDOS_TEST_POSTGRES_URL"}
# Tool caches: they change on every run by design and hold no output of ours.
UNWATCHED = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}

for _name in [n for n in os.environ if n.startswith("BUILDOS_") and n not in KEPT]:
    del os.environ[_name]
_SCRATCH = Path(tempfile.mkdtemp(prefix="buildos-tests-"))
os.environ["DAGSTER_HOME"] = str(_SCRATCH / "dagster_home")
(_SCRATCH / "dagster_home").mkdir()
# The project's instance settings (the duckdb_writer pool), in the temporary instance.
shutil.copyfile(
    PROJECT_ROOT / "dagster_home" / "dagster.yaml", _SCRATCH / "dagster_home" / "dagster.yaml"
)
(_SCRATCH / "cwd").mkdir()


def checkout_files(root: Path = PROJECT_ROOT) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime in ns) of every file in the checkout outside tool caches."""
    found = {}
    for folder, folders, files in os.walk(root):
        folders[:] = [f for f in folders if f not in UNWATCHED and not f.endswith(".egg-info")]
        for name in files:
            path = Path(folder) / name
            try:
                status = path.lstat()
            except FileNotFoundError:
                continue
            found[str(path.relative_to(root))] = (status.st_size, status.st_mtime_ns)
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_BEFORE] = checkout_files()
    os.chdir(_SCRATCH / "cwd")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    os.chdir(PROJECT_ROOT)
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    after = checkout_files()
    changed = sorted({p for p in before.keys() | after.keys() if before.get(p) != after.get(p)})
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "FAILED: the tests changed files in the checkout: " + ", ".join(changed[:20]),
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    shutil.rmtree(_SCRATCH, ignore_errors=True)


_BEFORE = pytest.StashKey[dict]()


@pytest.fixture(scope="module", autouse=True)
def dagster_instance_per_module(tmp_path_factory):
    """A Dagster instance of each test module's own: the account partitions one module
    registers (its sandbox's accounts) are never another module's."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copyfile(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    before = os.environ["DAGSTER_HOME"]
    os.environ["DAGSTER_HOME"] = str(home)
    yield home
    os.environ["DAGSTER_HOME"] = before


@pytest.fixture
def s3_server(tmp_path_factory) -> Iterator[str]:
    """The endpoint URL of an S3-compatible server (moto) of the test's own, on loopback."""
    from tests.services import moto_s3

    with moto_s3(tmp_path_factory.mktemp("s3")) as endpoint:
        yield endpoint
