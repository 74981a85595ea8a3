"""fct_braindump_topics: the topics of brain dumps, counted once per dump, and their share."""

from tests.models.harness import run_model, ts

A = "acct"


def dump(dump_id, topics, created):
    return {
        "account_id": A,
        "braindump_id": dump_id,
        "topics": topics,
        "created_at": ts(created),
    }


def topics(dumps):
    rows = run_model(
        "fct_braindump_topics",
        {"intermediate.int_braindump_outcomes": dumps},
        {"intermediate.int_braindump_outcomes": {"topics": "json"}},
        order_by="topic",
    )
    return {row["topic"]: row for row in rows}


def test_topics_are_counted_once_per_dump_and_shared_over_all_dumps():
    rows = topics(
        [
            dump("b1", '["Planning", "launch"]', "2026-03-01 09:00"),
            dump("b2", '[" planning", "planning"]', "2026-03-03 09:00"),
            dump("b3", "[]", "2026-03-04 09:00"),
            dump("b4", None, "2026-03-05 09:00"),
            dump("b5", '"not a list"', "2026-03-06 09:00"),
            dump("b6", '["", null]', "2026-03-07 09:00"),
        ]
    )
    assert {k: (r["braindumps"], r["share_of_braindumps"]) for k, r in rows.items()} == {
        "launch": (1, 1 / 6),
        "planning": (2, 2 / 6),
    }
    assert rows["planning"]["first_seen_at"] == ts("2026-03-01 09:00")
    assert rows["planning"]["last_seen_at"] == ts("2026-03-03 09:00")
