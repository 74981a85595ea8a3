"""The executor the Definitions run with: in process (the embedded default), or Dagster's
Celery executor when BUILDOS_EXECUTOR=celery (deploy/celery.yaml says where the broker is)."""

from __future__ import annotations

import os

import dagster as dg


def from_env() -> dg.ExecutorDefinition:
    choice = os.environ.get("BUILDOS_EXECUTOR", "in_process")
    if choice == "in_process":
        return dg.in_process_executor
    if choice == "celery":
        from dagster_celery import celery_executor

        return celery_executor
    raise ValueError(f"BUILDOS_EXECUTOR must be in_process or celery, not {choice!r}")
