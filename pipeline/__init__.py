"""BuildOS analytics: Dagster assets that sync BuildOS into DuckDB, model it and publish it."""
