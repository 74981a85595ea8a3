"""Opt-in CSV and Excel exports: one CSV per table and one workbook with a sheet per table,
holding the release's rows, inside the release folder."""

from __future__ import annotations

import re
import zipfile

import duckdb

from pipeline import warehouse
from pipeline.publish import exports
from pipeline.publish.spreadsheets import FOLDER, WORKBOOK


def test_spreadsheets_are_off_by_default_and_hold_every_table_when_asked(pipeline_db, tmp_path):
    con = warehouse.connect(pipeline_db, read_only=True)
    try:
        plain = exports.write_release(con, tmp_path / "plain", include_free_text=False)
        manifest = exports.write_release(
            con, tmp_path / "exports", include_free_text=False, spreadsheets=True
        )
    finally:
        con.close()
    assert plain["spreadsheets"] is None
    assert not (tmp_path / "plain" / "releases" / plain["release_id"] / FOLDER).exists()
    folder = tmp_path / "exports" / "releases" / manifest["release_id"] / FOLDER
    reader = duckdb.connect()
    for name, spec in manifest["tables"].items():
        csv = str(folder / f"{name}.csv").replace("'", "''")
        rows = reader.execute(f"select count(*) from read_csv('{csv}', header = true)").fetchone()
        assert rows[0] == spec["rows"], name
        header = (folder / f"{name}.csv").read_text().splitlines()[0].split(",")
        assert header == [c["name"] for c in spec["columns"]], name
    with zipfile.ZipFile(folder / WORKBOOK) as workbook:
        sheets = re.findall(r'<sheet name="([^"]+)"', workbook.read("xl/workbook.xml").decode())
        assert sheets == list(manifest["tables"])
        velocity = sheets.index("fct_velocity_weekly") + 1
        xml = workbook.read(f"xl/worksheets/sheet{velocity}.xml").decode()
        # header row + one row per mart row
        assert xml.count("<row ") == manifest["tables"]["fct_velocity_weekly"]["rows"] + 1
    assert manifest["spreadsheets"]["left_out_of_workbook"] == []
