"""Delivery: the dashboard to Slack and e-mail, and signed webhooks for pipeline events.

Signed webhooks follow the common timestamp-plus-HMAC scheme: each POST carries

    X-BuildOS-Analytics-Event:      run.finished | project.at_risk
    X-BuildOS-Analytics-Timestamp:  unix seconds when it was signed
    X-BuildOS-Analytics-Signature:  sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body with the shared
secret, compares in constant time, and rejects timestamps older than five minutes (replays).
`verify_signature` below does exactly that and is what docs/delivery.md shows.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import orjson

EVENT_HEADER = "X-BuildOS-Analytics-Event"
TIMESTAMP_HEADER = "X-BuildOS-Analytics-Timestamp"
SIGNATURE_HEADER = "X-BuildOS-Analytics-Signature"
TOLERANCE_SECONDS = 300


class DeliveryError(Exception):
    """A delivery that failed for good; the message names the target, never a secret."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True when `signature` is the HMAC of this body and timestamp, and the timestamp is
    recent. Use the raw request body, before any JSON parsing."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    timeout: float = 10.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def _post_with_retries(
    url: str, body: bytes, headers: dict[str, str], policy: RetryPolicy, what: str, sleep=time.sleep
) -> int:
    """POST until a 2xx; retries 5xx, 429 and connection errors with exponential backoff.
    Returns the number of attempts made."""
    last = ""
    for attempt in range(1, policy.attempts + 1):
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=policy.timeout)
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        else:
            if response.is_success:
                return attempt
            last = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                break
        if attempt < policy.attempts:
            sleep(policy.delay(attempt))
    host = httpx.URL(url).host
    raise DeliveryError(f"{what} to {host} failed after {attempt} attempt(s): {last}")


def send_event(
    url: str,
    secret: str,
    event: str,
    payload: dict,
    policy: RetryPolicy = RetryPolicy(),
    sleep=time.sleep,
) -> int:
    """POST a signed event; returns the attempts it took."""
    body = orjson.dumps({"event": event, "sent_at": int(time.time()), "data": payload})
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    return _post_with_retries(url, body, headers, policy, f"event {event}", sleep)


def send_slack(
    url: str,
    text: str,
    link: str | None = None,
    policy: RetryPolicy = RetryPolicy(),
    sleep=time.sleep,
) -> int:
    """A Slack-compatible incoming webhook message (text plus a section block)."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if link:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Dashboard: {link}"}]}
        )
    body = orjson.dumps({"text": text, "blocks": blocks})
    return _post_with_retries(
        url, body, {"Content-Type": "application/json"}, policy, "Slack message", sleep
    )


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    sender: str = "buildos-analytics@localhost"
    recipients: tuple[str, ...] = ()
    username: str | None = None
    password: str | None = None
    starttls: bool = True

    def __repr__(self) -> str:  # the password never reaches a log line
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, sender={self.sender!r}, "
            f"recipients={self.recipients!r})"
        )


def send_email(
    settings: SmtpSettings,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: tuple[Path, ...] = (),
) -> None:
    if not settings.recipients:
        raise DeliveryError("e-mail delivery has no recipients (BUILDOS_SMTP_TO)")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for path in attachments:
        subtype = "png" if path.suffix == ".png" else "octet-stream"
        maintype = "image" if subtype == "png" else "application"
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=30) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"e-mail to {settings.host}:{settings.port} failed: {type(exc).__name__}"
        ) from exc
