"""Faults on demand: seeded rates of the ways a real server misbehaves."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields

FAULT_KINDS = ("rate_limit", "server_error", "slow", "drop", "expire_session")


@dataclass(slots=True)
class FaultConfig:
    """Each rate is the chance that one /api/ request gets that fault (checked in this order;
    at most one fault a request). All zero by default."""

    rate_limit: float = 0.0  # 429 RATE_LIMITED with Retry-After
    server_error: float = 0.0  # 500, 502 or 503
    slow: float = 0.0  # the answer comes after `slow_seconds`
    drop: float = 0.0  # headers and half the body, then the connection is closed
    expire_session: float = 0.0  # the caller's session expires: 401 SESSION_EXPIRED
    retry_after: int = 1  # seconds, sent in Retry-After with every 429
    slow_seconds: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        for kind in FAULT_KINDS:
            rate = getattr(self, kind)
            if not 0.0 <= float(rate) <= 1.0:
                raise ValueError(f"fault rate {kind}={rate} is not between 0 and 1")
        if sum(float(getattr(self, kind)) for kind in FAULT_KINDS) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")
        if self.retry_after < 0 or self.slow_seconds < 0:
            raise ValueError("retry_after and slow_seconds cannot be negative")

    @classmethod
    def from_dict(cls, data: dict) -> FaultConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault option(s): {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)


class FaultInjector:
    """Draws the fault (or none) for each request from one seeded stream."""

    def __init__(self, config: FaultConfig | None = None):
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)

    def draw(self) -> tuple[str | None, int]:
        """(fault kind or None, HTTP status for a server_error)."""
        with self._lock:
            roll = self._rng.random()
            status = self._rng.choice((500, 502, 503))
            for kind in FAULT_KINDS:
                rate = getattr(self.config, kind)
                if roll < rate:
                    return kind, status
                roll -= rate
        return None, 0
