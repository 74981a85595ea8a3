"""Dagster asset modules, one per layer or source: ingest, models, publish, dashboards."""
