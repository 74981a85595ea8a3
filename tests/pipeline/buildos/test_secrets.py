"""Secrets stay secret: the password and the API key appear in no table, log line, printed
output, repr or error message."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import traceback

import orjson
import pytest

from pipeline import warehouse
from pipeline.buildos.client import AuthError, ClientSettings
from pipeline.buildos.sync import SyncOptions, sync_account
from tests.pipeline.buildos.sync_helpers import rows, settings

EMAIL = "owner@example.test"
PASSWORD = "pw-Hunter2-91f3c7e0"
API_KEY = "boca_live_5e1d0c7a9b"
ACCOUNT_ID = "5b0e2f7c-8d7a-4c39-9a57-0d5e4a1c2b3f"
SECRETS = (PASSWORD, API_KEY)


@pytest.fixture
def server(sandbox_factory, tmp_path):
    workspace = {
        "format": "buildos-sandbox-workspace/1",
        "now": "2026-03-10T00:00:00Z",
        "accounts": [
            {
                "id": ACCOUNT_ID,
                "email": EMAIL,
                "password": PASSWORD,
                "api_key": API_KEY,
                "projects": [
                    {
                        "name": "Launch the podcast",
                        "created_at": "2026-03-01T09:00:00Z",
                        "tasks": [
                            {"title": "Record", "created_at": "2026-03-01T09:00:00Z"},
                            {"title": "Edit", "created_at": "2026-03-02T09:00:00Z"},
                        ],
                    }
                ],
                "braindumps": [{"created_at": "2026-03-01T08:58:00Z", "content": "podcast"}],
            }
        ],
    }
    path = tmp_path / "case.json"
    path.write_bytes(orjson.dumps(workspace))
    return sandbox_factory(workspace_file=path)


def _client_settings(base_url: str, **credentials) -> ClientSettings:
    template = settings(base_url)  # the test tuning; credentials replaced below
    return dataclasses.replace(template, **{"email": None, "password": None} | credentials)


def _meta_text(db) -> str:
    """Every meta table, every column, as text."""
    tables = ("sync_runs", "sync_state", "quarantine")
    return "\n".join(repr(rows(db, f"select * from meta.{table}")) for table in tables)


def _assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret leaked into {where}"


def test_secrets_stay_out_of_tables_logs_output_and_repr(server, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "w.duckdb"
    con = warehouse.connect(db)
    try:
        by_password = _client_settings(server.base_url, email=EMAIL, password=PASSWORD)
        by_key = _client_settings(server.base_url, api_key=API_KEY)
        first = asyncio.run(sync_account(by_password, con, SyncOptions(full=True)))
        second = asyncio.run(sync_account(by_key, con, SyncOptions(account_id=ACCOUNT_ID)))
    finally:
        con.close()

    assert first.account_id == second.account_id == ACCOUNT_ID
    assert rows(db, "select count(*) from buildos.tasks") == [(2,)]
    assert caplog.records, "the client's HTTP library logs requests at this level"
    output = capsys.readouterr()
    for text, where in [
        (_meta_text(db), "meta tables"),
        (caplog.text, "the logs"),
        (output.out + output.err, "printed output"),
        (repr(by_password) + repr(by_key) + str(by_password) + str(by_key), "repr()"),
        (repr(first) + repr(second), "the sync results"),
    ]:
        _assert_no_secret(text, where)
    assert EMAIL in repr(by_password)  # repr still says which account it is


def test_a_refused_password_is_not_in_the_error(server, tmp_path):
    wrong = "pw-Wrong-3c9d1a55"
    db = tmp_path / "w.duckdb"
    con = warehouse.connect(db)
    try:
        with pytest.raises(AuthError) as raised:
            asyncio.run(
                sync_account(_client_settings(server.base_url, email=EMAIL, password=wrong), con)
            )
    finally:
        con.close()

    text = "".join(traceback.format_exception(raised.value))
    assert "refused the configured email and password" in str(raised.value)
    assert wrong not in text and PASSWORD not in text


def test_a_refused_api_key_is_not_in_the_error_or_the_run_record(server, tmp_path):
    wrong = "boca_wrong_7a1f0e93"
    db = tmp_path / "w.duckdb"
    con = warehouse.connect(db)
    try:
        with pytest.raises(AuthError) as raised:
            asyncio.run(
                sync_account(
                    _client_settings(server.base_url, api_key=wrong),
                    con,
                    SyncOptions(account_id=ACCOUNT_ID),
                )
            )
    finally:
        con.close()

    assert "API key was refused" in str(raised.value)
    [(status, error)] = rows(db, "select status, error from meta.sync_runs")
    assert status == "failed" and error.startswith("AuthError: ")
    for text in ("".join(traceback.format_exception(raised.value)), _meta_text(db)):
        assert wrong not in text
