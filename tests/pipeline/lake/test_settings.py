"""LakeSettings: the embedded default, the environment, and secrets kept out of repr."""

from __future__ import annotations

from pathlib import Path

from pipeline.lake import LakeSettings


def test_the_default_is_embedded_beside_the_warehouse(tmp_path):
    settings = LakeSettings.from_env({"BUILDOS_ANALYTICS_DB": str(tmp_path / "w.duckdb")})
    assert settings.catalog == str(tmp_path.resolve() / "lake.sqlite")
    assert settings.data_path == str(tmp_path.resolve() / "lake") + "/"
    assert settings.attach_target() == f"ducklake:sqlite:{tmp_path.resolve() / 'lake.sqlite'}"
    assert settings.extensions() == ["sqlite_scanner", "ducklake"]
    assert LakeSettings.from_env({}).catalog == str(Path("data").resolve() / "lake.sqlite")


def test_postgres_and_s3_from_the_environment_without_secrets_in_repr():
    settings = LakeSettings.from_env(
        {
            "BUILDOS_LAKE_CATALOG": "postgresql://lake:pg-pass-123@127.0.0.1:5432/lake",
            "BUILDOS_LAKE_DATA": "s3://bucket/lake/",
            "BUILDOS_LAKE_S3_ENDPOINT": "http://127.0.0.1:9000",
            "BUILDOS_LAKE_S3_KEY_ID": "AKIA-id",
            "BUILDOS_LAKE_S3_SECRET": "s3-secret-456",
        }
    )
    assert settings.on_postgres and settings.on_s3
    assert settings.s3_secret == "s3-secret-456"
    assert settings.extensions() == ["postgres_scanner", "httpfs", "ducklake"]
    assert settings.attach_target().startswith("ducklake:postgres:")
    assert "dbname=lake" in settings.attach_target()
    shown = repr(settings) + str(settings) + settings.catalog_label
    assert "pg-pass-123" not in shown
    assert "s3-secret-456" not in shown
    assert "127.0.0.1" in shown
