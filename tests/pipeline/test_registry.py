"""The account registry: each source, bad entries named by index and field, secrets kept out
of repr, and the partition changes a sensor makes."""

from __future__ import annotations

import orjson
import psycopg
import pytest

from pipeline.registry import (
    AccountEntry,
    RegistryError,
    load_registry,
    registry_partition_changes,
    validate_account_id,
)
from pipeline.safety import UnsafePathError
from tests.services import POSTGRES_URL, libpq_url, postgres_schema

A = "0b3c5a9e-7f1d-4c2e-9a6b-1d2e3f405162"
B = "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f"


def as_json(entries: list) -> str:
    return orjson.dumps(entries).decode()


def test_inline_json_with_passwords_api_keys_and_env_indirections():
    env = {
        "BUILDOS_ACCOUNTS": as_json(
            [
                {"account_id": A, "email": "a@example.com", "password": "pw-a"},
                {"account_id": B.upper(), "api_key_env": "KEY_B"},
            ]
        ),
        "KEY_B": "key-b",
    }
    assert load_registry(env) == [
        AccountEntry(A, "a@example.com", "pw-a", None),
        AccountEntry(B, None, None, "key-b"),
    ]


def test_a_file_of_the_same_list(tmp_path):
    path = tmp_path / "accounts.json"
    path.write_text(as_json([{"account_id": A, "email": "a@example.com", "password_env": "PW"}]))
    assert load_registry({"BUILDOS_ACCOUNTS_FILE": str(path), "PW": "pw"}) == [
        AccountEntry(A, "a@example.com", "pw", None)
    ]


def test_the_first_source_that_is_set_wins(tmp_path):
    path = tmp_path / "accounts.json"
    path.write_text(as_json([{"account_id": B, "api_key": "k"}]))
    env = {
        "BUILDOS_ACCOUNTS": as_json([{"account_id": A, "api_key": "k"}]),
        "BUILDOS_ACCOUNTS_FILE": str(path),
    }
    assert [e.account_id for e in load_registry(env)] == [A]
    assert load_registry({}) == []


@pytest.mark.postgres
def test_a_postgresql_table_of_variable_names():
    with postgres_schema() as schema, psycopg.connect(libpq_url(), autocommit=True) as con:
        con.execute(
            f'create table "{schema}".accounts (account_id text primary key, email text, '
            "password_env text, api_key_env text)"
        )
        con.execute(
            f'insert into "{schema}".accounts values (%s, %s, %s, null), (%s, null, null, %s)',
            [B, "b@example.com", "PW_B", A, "KEY_A"],
        )
        env = {
            "BUILDOS_ACCOUNTS_TABLE": f"{schema}.accounts",
            "BUILDOS_REGISTRY_URL": POSTGRES_URL,
            "PW_B": "pw-b",
            "KEY_A": "key-a",
        }
        assert load_registry(env) == [
            AccountEntry(A, None, None, "key-a"),
            AccountEntry(B, "b@example.com", "pw-b", None),
        ]
        # A name that is not an identifier never reaches SQL; a missing table is named.
        with pytest.raises(RegistryError, match="is not a table name"):
            load_registry({**env, "BUILDOS_ACCOUNTS_TABLE": "accounts; drop table x"})
        with pytest.raises(RegistryError, match=f"{schema}.missing: cannot read"):
            load_registry({**env, "BUILDOS_ACCOUNTS_TABLE": f"{schema}.missing"})


def test_a_table_without_its_database_is_refused():
    with pytest.raises(RegistryError, match="BUILDOS_REGISTRY_URL"):
        load_registry({"BUILDOS_ACCOUNTS_TABLE": "accounts"})


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"account_id": A, "api_key": "k"}, {"account_id": "../x", "api_key": "k"}],
         r"entry 1, field account_id: '\.\./x' is not a UUID"),
        ([{"api_key": "k"}], "entry 0, field account_id: None is not a UUID"),
        ([{"account_id": A, "api_key": "k"}, {"account_id": A, "api_key": "k"}],
         f"entry 1, field account_id: {A} is already entry 0"),
        ([{"account_id": A, "email": "a@example.com"}], "entry 0 .*no credentials"),
        ([{"account_id": A, "api_key_env": "UNSET"}],
         "entry 0, field api_key_env: the environment variable UNSET is not set"),
        ([{"account_id": A, "api_key": "k", "api_key_env": "K"}], "api_key or api_key_env"),
        ([{"account_id": A, "email": 3, "password": "p"}], "entry 0, field email"),
        (["x"], "entry 0: must be an object"),
        ({"account_id": A}, "must be a JSON list"),
    ],
)  # fmt: skip
def test_bad_entries_are_named_by_index_and_field(entries, message):
    with pytest.raises(RegistryError, match=message):
        load_registry({"BUILDOS_ACCOUNTS": as_json(entries)})


def test_not_json_and_a_missing_file_say_so(tmp_path):
    with pytest.raises(RegistryError, match="BUILDOS_ACCOUNTS is not JSON"):
        load_registry({"BUILDOS_ACCOUNTS": "[{"})
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry({"BUILDOS_ACCOUNTS_FILE": str(tmp_path / "none.json")})


def test_secrets_never_in_repr_str_or_errors():
    env = {
        "BUILDOS_ACCOUNTS": as_json(
            [
                {"account_id": A, "email": "a@example.com", "password": "hunter2-secret"},
                {"account_id": B, "api_key": "sk-very-secret"},
            ]
        )
    }
    entries = load_registry(env)
    shown = repr(entries) + str(entries) + "".join(map(str, entries))
    assert A in shown and "a@example.com" in shown
    assert "hunter2-secret" not in shown and "sk-very-secret" not in shown
    bad = as_json([{"account_id": "nope", "api_key": "sk-very-secret"}])
    with pytest.raises(RegistryError) as caught:
        load_registry({"BUILDOS_ACCOUNTS": bad})
    assert "sk-very-secret" not in str(caught.value)


def test_validate_account_id_gives_canonical_lower_case():
    assert validate_account_id(A.upper()) == A
    for bad in ["", "not-a-uuid", A.replace("-", ""), f"{A}/..", None, 7]:
        with pytest.raises(UnsafePathError):
            validate_account_id(bad)


def test_partition_changes_add_new_accounts_and_remove_gone_ones():
    assert registry_partition_changes([A, "c"], ["c", B, B]) == ([B], [A])
    assert registry_partition_changes([A], [A]) == ([], [])
    assert registry_partition_changes([], [B, A]) == ([B, A], [])
