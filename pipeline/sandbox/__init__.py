"""The BuildOS sandbox: a real HTTP server with BuildOS's routes over a simulated workspace.

from pipeline.sandbox import SimulationOptions, start_sandbox

with start_sandbox(SimulationOptions(seed=3)) as sandbox:
    httpx.get(f"{sandbox.base_url}/api/projects", headers={"Authorization": ...})
"""

from __future__ import annotations

from pathlib import Path

from pipeline.sandbox.app import SESSION_TTL_SECONDS, SandboxApp
from pipeline.sandbox.faults import FaultConfig
from pipeline.sandbox.generate import SimulationOptions, account_credentials, generate_workspace
from pipeline.sandbox.model import Workspace
from pipeline.sandbox.server import SandboxServer
from pipeline.sandbox.truth import build_truth
from pipeline.sandbox.workfile import dump_workspace, load_workspace

__all__ = [
    "SESSION_TTL_SECONDS",
    "FaultConfig",
    "SandboxApp",
    "SandboxServer",
    "SimulationOptions",
    "Workspace",
    "account_credentials",
    "build_truth",
    "build_workspace",
    "dump_workspace",
    "generate_workspace",
    "load_workspace",
    "start_sandbox",
]


def build_workspace(
    options: SimulationOptions | None = None, workspace_file: str | Path | None = None
) -> Workspace:
    """A workspace from a file when one is given, else simulated from the options."""
    if workspace_file is not None:
        return load_workspace(workspace_file)
    return generate_workspace(options or SimulationOptions())


def start_sandbox(
    options: SimulationOptions | None = None,
    *,
    workspace_file: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    session_ttl: float = SESSION_TTL_SECONDS,
    faults: FaultConfig | None = None,
    verbose: bool = False,
) -> SandboxServer:
    """Start a sandbox in this process (a background thread); port 0 picks a free port."""
    app = SandboxApp(
        build_workspace(options, workspace_file), session_ttl=session_ttl, faults=faults
    )
    return SandboxServer(app, host=host, port=port, verbose=verbose).start()
