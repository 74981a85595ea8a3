"""CSV files and one Excel workbook of the marts, for people who live in spreadsheets (opt-in:
`publish --spreadsheets`). Written into the release folder, so they swap in with it:
exports/current/spreadsheets/<table>.csv and exports/current/spreadsheets/buildos_analytics.xlsx.

Excel has no time zones and no lists: in the workbook, timestamps are shown in UTC and lists as
comma-separated text; the CSV files keep DuckDB's text forms (ISO 8601 with the offset).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import polars.selectors as cs

FOLDER = "spreadsheets"
WORKBOOK = "buildos_analytics.xlsx"
EXCEL_MAX_ROWS = 1_048_575  # a sheet's rows, less the header


def for_excel(frame: pl.DataFrame) -> pl.DataFrame:
    """Timestamps in UTC without a zone, lists as text: what a sheet can hold."""
    frame = frame.with_columns(
        cs.datetime(time_zone="*").dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    )
    lists = [name for name, kind in frame.schema.items() if isinstance(kind, pl.List)]
    return frame.with_columns(
        pl.col(name).cast(pl.List(pl.String)).list.join(", ") for name in lists
    )


def write_spreadsheets(
    con: duckdb.DuckDBPyConnection, folder: Path, selects: dict[str, tuple[str, list]]
) -> dict:
    """One CSV per table and one workbook with a sheet per table (a table too long for a sheet
    is left out of the workbook and listed). `selects`: table -> (select, parameters)."""
    target = folder / FOLDER
    target.mkdir()
    too_long = []
    import xlsxwriter  # only for this opt-in output

    with xlsxwriter.Workbook(str(target / WORKBOOK)) as workbook:
        for name, (select, params) in selects.items():
            literal = str(target / f"{name}.csv").replace("'", "''")
            rows = con.execute(
                f"copy ({select}) to '{literal}' (format csv, header true)", params
            ).fetchall()[0][0]
            if rows > EXCEL_MAX_ROWS:
                too_long.append(name)
                continue
            frame = for_excel(con.sql(select, params=params).pl())
            frame.write_excel(workbook, worksheet=name[:31], autofit=True, float_precision=2)
    return {
        "folder": FOLDER,
        "workbook": f"{FOLDER}/{WORKBOOK}",
        "csv": sorted(f"{FOLDER}/{name}.csv" for name in selects),
        "left_out_of_workbook": too_long,
    }
