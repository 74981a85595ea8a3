"""Every exported column is described, with its type, in its mart's .yml (the single source the
manifest, the COMMENT ONs, PostgreSQL, Superset and the Dagster UI read), and that type is the
one the mart really has."""

from __future__ import annotations

from pipeline import warehouse
from pipeline.publish.contract import public_tables


def test_no_exported_column_is_undocumented(demo_db):
    con = warehouse.connect(demo_db, read_only=True)
    try:
        undocumented, untyped, wrong = [], [], []
        for table in public_tables():
            columns = con.execute(f"describe marts.{table.name}").fetchall()
            for name, kind, *_ in columns:
                label = f"{table.name}.{name}"
                if not table.comment(name):
                    undocumented.append(label)
                declared = table.data_type(name)
                if declared is None:
                    untyped.append(label)
                elif declared != kind:
                    wrong.append(f"{label}: .yml says {declared}, the mart has {kind}")
    finally:
        con.close()
    assert undocumented == [], "describe these columns in the mart's .yml"
    assert untyped == [], "give these columns a data_type in the mart's .yml"
    assert wrong == []


def test_every_published_table_states_its_grain_and_key():
    for table in public_tables():
        assert table.model.grain, table.name
        assert table.key, f"{table.name}: its .yml tests no unique key"
