"""The pieces under the tools, without a server: account labels, binding, a missing file, and
the metric definitions cut into sections."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from pipeline.mcp.metrics import metric_sections
from pipeline.mcp.source import AnswerError, NotFound, Source

AS_OF = datetime(2026, 3, 10, tzinfo=UTC)


def _accounts_file(path, label_column: str | None):
    con = duckdb.connect(str(path))
    label = f", ['ana@example.com', 'bo@example.com'][i] as {label_column}" if label_column else ""
    con.execute("create schema marts")
    con.execute(
        "create table marts.dim_accounts as select ['a1', 'a2'][i] as account_id, "
        f"cast(? as timestamptz) as as_of_at, date '2026-03-09' as as_of_date{label} "
        "from range(1, 3) as r(i)",
        [AS_OF],
    )
    con.close()
    return path


def test_accounts_carry_their_label_and_are_chosen_by_it(tmp_path):
    path = _accounts_file(tmp_path / "labelled.duckdb", "account_label")
    with Source(path, accounts=("a2",)).open() as reader:
        assert list(reader.accounts) == ["a2"]
        assert reader.accounts["a2"]["account_label"] == "bo@example.com"
        assert reader.account("BO@example.com") == ["a2"]
        assert datetime.fromisoformat(reader.as_of(["a2"])[0]["as_of_at"]) == AS_OF
        with pytest.raises(NotFound, match=r"no account 'ana@example\.com'"):
            reader.account("ana@example.com")  # exists, but not served here


def test_without_a_label_the_account_id_stands_in(tmp_path):
    path = _accounts_file(tmp_path / "plain.duckdb", None)
    with Source(path).open() as reader:
        assert [a["account_label"] for a in reader.accounts.values()] == ["a1", "a2"]
        assert reader.release() is None


def test_a_missing_or_empty_file_is_said_in_words(tmp_path):
    absent = Source(tmp_path / "absent.duckdb")
    with pytest.raises(AnswerError, match="run `python -m pipeline publish` first"), absent.open():
        pass
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    empty = Source(tmp_path / "empty.duckdb")
    with pytest.raises(AnswerError, match="has no marts"), empty.open() as reader:
        reader.accounts  # noqa: B018


def test_metric_sections_follow_the_headings():
    text = (
        "# Metrics\n\nintro\n\n## Velocity (`marts.fct_velocity_weekly`)\n\nweekly\n\n"
        "## Flow\n\nx\n"
    )
    sections = metric_sections(text)
    assert [(s.slug, s.tables) for s in sections] == [
        ("velocity", ["fct_velocity_weekly"]),
        ("flow", []),
    ]
    assert sections[0].uri == "buildos://metrics/velocity"
    assert sections[0].text.startswith("## Velocity") and "weekly" in sections[0].text
    real = metric_sections()
    assert len({s.slug for s in real}) == len(real) > 10
