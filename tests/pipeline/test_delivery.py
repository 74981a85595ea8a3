"""Delivery against local receivers: signed events, retries on 5xx, Slack, SMTP."""

from __future__ import annotations

import time

import orjson
import pytest

from pipeline import delivery
from tests.pipeline.receivers import HttpReceiver, SmtpReceiver

SECRET = "documented-shared-secret"
FAST = delivery.RetryPolicy(attempts=4, backoff_base=0.01, backoff_max=0.05)


@pytest.fixture
def receiver():
    endpoint = HttpReceiver()
    yield endpoint
    endpoint.close()


def test_the_signature_verifies_with_the_documented_secret(receiver):
    attempts = delivery.send_event(
        receiver.url, SECRET, "project.at_risk", {"project_id": "p1"}, FAST
    )
    assert attempts == 1
    request = receiver.requests[0]
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["x-buildos-analytics-event"] == "project.at_risk"
    assert delivery.verify_signature(
        SECRET,
        request.body,
        headers["x-buildos-analytics-timestamp"],
        headers["x-buildos-analytics-signature"],
    )
    assert orjson.loads(request.body)["data"] == {"project_id": "p1"}
    # Any change to the body, the timestamp or the secret breaks it.
    assert not delivery.verify_signature(
        SECRET,
        request.body + b" ",
        headers["x-buildos-analytics-timestamp"],
        headers["x-buildos-analytics-signature"],
    )
    assert not delivery.verify_signature(
        "another",
        request.body,
        headers["x-buildos-analytics-timestamp"],
        headers["x-buildos-analytics-signature"],
    )


def test_old_timestamps_are_refused_as_replays():
    body = b'{"event":"run.finished"}'
    stamp = int(time.time()) - 3600
    signature = delivery.sign(SECRET, stamp, body)
    assert not delivery.verify_signature(SECRET, body, str(stamp), signature)
    assert delivery.verify_signature(SECRET, body, str(stamp), signature, now=stamp + 10)


def test_a_5xx_from_the_receiver_is_retried_with_backoff():
    endpoint = HttpReceiver(failures=2)
    sleeps = []
    try:
        attempts = delivery.send_event(
            endpoint.url, SECRET, "run.finished", {"run_id": "r"}, FAST, sleep=sleeps.append
        )
    finally:
        endpoint.close()
    assert attempts == 3
    assert len(endpoint.requests) == 3
    assert len(sleeps) == 2 and sleeps[1] >= sleeps[0] / 2  # growing, jittered
    # The request is retried as it was signed (the receiver's tolerance covers the wait).
    assert endpoint.requests[0].body == endpoint.requests[2].body


def test_delivery_gives_up_with_a_clear_error_after_the_last_attempt():
    endpoint = HttpReceiver(failures=10)
    try:
        with pytest.raises(delivery.DeliveryError, match="after 4 attempt"):
            delivery.send_event(
                endpoint.url, SECRET, "run.finished", {}, FAST, sleep=lambda _: None
            )
    finally:
        endpoint.close()
    assert len(endpoint.requests) == 4


def test_slack_message_shape(receiver):
    delivery.send_slack(receiver.url, "3 projects at risk", "/tmp/latest.html", FAST)
    payload = orjson.loads(receiver.requests[0].body)
    assert payload["text"] == "3 projects at risk"
    assert payload["blocks"][0]["text"]["text"] == "3 projects at risk"


def test_smtp_delivery_reaches_a_local_server_with_the_png(tmp_path):
    server = SmtpReceiver()
    png = tmp_path / "latest.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    try:
        settings = delivery.SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            recipients=("exec@example.com",),
            starttls=False,
            password="not-in-repr",
        )
        delivery.send_email(settings, "BuildOS weekly", "numbers", "<p>numbers</p>", (png,))
        assert "not-in-repr" not in repr(settings)
        message = server.messages[0]
    finally:
        server.close()
    assert message["Subject"] == "BuildOS weekly"
    parts = [part for part in message.walk() if part.get_filename() == "latest.png"]
    assert parts and parts[0].get_payload(decode=True) == png.read_bytes()
