"""Fixtures for the MCP tests: the session's demo warehouse (the publish tests' own, built once
against the sandbox) published to serving files in the session's temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.publish.publish_helpers import demo_warehouse, publish_db


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    return demo_warehouse(tmp_path_factory)


@pytest.fixture(scope="session")
def exports(demo_db, tmp_path_factory) -> Path:
    """An exports folder published without free text (the default)."""
    root = tmp_path_factory.mktemp("mcp-exports")
    publish_db(demo_db, root)
    return root


@pytest.fixture(scope="session")
def exports_with_text(demo_db, tmp_path_factory) -> Path:
    """An exports folder published with --include-free-text."""
    root = tmp_path_factory.mktemp("mcp-exports-text")
    publish_db(demo_db, root, include_free_text=True)
    return root
