"""The test services helper: a service that is down fails the test with a message saying how
to start it, and the S3-compatible server the tests start answers as S3 does."""

from __future__ import annotations

import boto3
import pytest

from tests import services


def test_s3_server_stores_and_returns_an_object(s3_server):
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.create_bucket(Bucket="releases")
    s3.put_object(Bucket="releases", Key="a/b.parquet", Body=b"PAR1")
    assert s3.get_object(Bucket="releases", Key="a/b.parquet")["Body"].read() == b"PAR1"
    assert s3_server.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("name", "check", "setting", "url"),
    [
        ("Redis", services.require_redis, "REDIS_URL", "redis://127.0.0.1:{port}/0"),
        ("RabbitMQ", services.require_rabbitmq, "AMQP_URL", "amqp://guest:guest@127.0.0.1:{port}//"),
        ("PostgreSQL", services.require_postgres, "POSTGRES_URL",
         "postgresql+psycopg://postgres@127.0.0.1:{port}/test"),
    ],
)  # fmt: skip
def test_a_service_that_is_down_fails_the_test_naming_how_to_start_it(
    monkeypatch, name, check, setting, url
):
    monkeypatch.setattr(services, setting, url.format(port=services.free_port()))
    with pytest.raises(pytest.fail.Exception) as failed:
        check()
    assert f"{name} is required at" in str(failed.value)
    assert services.STARTS[name] in str(failed.value)
    assert "guest:guest" not in str(failed.value)


def test_the_services_of_this_machine_answer():
    assert services.require_postgres() and services.require_redis()
    assert services.require_rabbitmq()
