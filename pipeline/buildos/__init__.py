"""The BuildOS source: API client, record specs and the sync that lands them in DuckDB."""
