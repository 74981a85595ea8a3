"""Which dashboards are drawn: the all-accounts summary always, one per account by setting."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assets.dashboards import write_dashboard
from tests.pipeline.dashboard.bi_tables import bi_database

NOW = datetime(2021, 3, 10, 15, tzinfo=UTC)


@pytest.fixture
def two_accounts(monkeypatch, tmp_path):
    monkeypatch.setenv("BUILDOS_CHROMIUM", str(tmp_path / "no-chromium"))  # HTML only: fast
    con = bi_database(
        dim_accounts=[
            {"account_id": "acct-1", "as_of_date": date(2021, 3, 10)},
            {"account_id": "acct-2", "as_of_date": date(2021, 3, 10)},
        ],
        dim_projects=[
            {"account_id": a, "project_id": "p", "project_name": "Launch", "is_deleted": False}
            for a in ("acct-1", "acct-2")
        ],
    )
    yield con
    con.close()


def test_summary_only_by_default(two_accounts, tmp_path):
    html, png, data = write_dashboard(two_accounts, tmp_path / "out", NOW)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "executive-2021-03-10.html",
        "latest.html",
    ]
    assert png is None and data["account_id"] is None
    page = html.read_text()
    assert "By account" in page and "acct-1" in page and "acct-2" in page


def test_each_account_gets_its_own(two_accounts, tmp_path):
    write_dashboard(two_accounts, tmp_path / "out", NOW, "each")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "executive-2021-03-10.html",
        "executive-acct-1-2021-03-10.html",
        "executive-acct-2-2021-03-10.html",
        "latest-acct-1.html",
        "latest-acct-2.html",
        "latest.html",
    ]
    one = (tmp_path / "out" / "latest-acct-2.html").read_text()
    assert "account acct-2" in one and "By account" not in one


def test_a_listed_account_must_exist_and_be_file_safe(two_accounts, tmp_path):
    write_dashboard(two_accounts, tmp_path / "out", NOW, "acct-2")
    assert (tmp_path / "out" / "latest-acct-2.html").exists()
    assert not (tmp_path / "out" / "latest-acct-1.html").exists()
    with pytest.raises(ValueError, match=r"no account '\.\./x'"):
        write_dashboard(two_accounts, tmp_path / "other", NOW, "../x")
