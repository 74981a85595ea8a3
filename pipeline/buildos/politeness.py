"""How politely a sync asks: a hard rate ceiling (`TokenBucket`), requests in flight adapted to
how the server answers (`AdaptiveLimit`), and the ceilings every account of a deployment shares
(`DeploymentLimits`, `DeploymentGate`). docs/ingest.md says what the defaults are and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import typing
from dataclasses import dataclass

if typing.TYPE_CHECKING:
    from pipeline.fleet import FleetBudget


class TokenBucket:
    """A hard rate ceiling: `rate` requests a second on average, bursts up to `burst`
    (rate 0: no ceiling). One per account, and one shared by a deployment's accounts."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.capacity = rate, max(burst, 1)
        self.tokens = float(self.capacity)
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        if self.rate <= 0:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


class AdaptiveLimit:
    """Requests in flight, adapted to how the server answers (additive increase,
    multiplicative decrease, as TCP does): a 429 or 5xx halves the limit and a Retry-After
    holds every new request until it has passed; each `limit` healthy answers in a row give
    one more slot, up to the ceiling."""

    def __init__(self, ceiling: int, floor: int = 1):
        self.ceiling, self.floor = max(ceiling, 1), max(min(floor, ceiling), 1)
        self.limit = self.ceiling
        self.in_flight = 0
        self._healthy = 0
        self._paused_until = 0.0
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._changed:
            while True:
                wait = self._paused_until - time.monotonic()
                if wait > 0:
                    # Woken early by a release, the loop checks the pause again.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), wait)
                    continue
                if self.in_flight < self.limit:
                    self.in_flight += 1
                    return
                await self._changed.wait()

    async def release(self, healthy: bool) -> None:
        async with self._changed:
            self.in_flight -= 1
            grown = 0
            if healthy:
                self._healthy += 1
                if self._healthy >= self.limit and self.limit < self.ceiling:
                    self.limit += 1
                    self._healthy, grown = 0, 1
            # Wake only as many waiters as there are free slots (waking all of them on every
            # answer costs O(waiters) per request).
            self._changed.notify(1 + grown)

    def pushed_back(self, retry_after: float | None) -> None:
        """The server said slow down (429 or 5xx): halve, and honour Retry-After for all."""
        self.limit = max(self.floor, self.limit // 2)
        self._healthy = 0
        if retry_after:
            self._paused_until = max(self._paused_until, time.monotonic() + retry_after)


@dataclass(frozen=True)
class DeploymentLimits:
    """Ceilings shared by every account a deployment syncs at once (0: none)."""

    max_in_flight: int = 32
    requests_per_second: float = 0.0
    burst: int = 100


class DeploymentGate:
    """The shared side of `DeploymentLimits`, handed to every client of one run."""

    def __init__(self, limits: DeploymentLimits | None = None, fleet: FleetBudget | None = None):
        self.limits = limits = limits or DeploymentLimits()
        self.in_flight = asyncio.Semaphore(max(limits.max_in_flight, 1))
        self.bucket = TokenBucket(limits.requests_per_second, limits.burst)
        self.fleet = fleet  # the budget every worker of the fleet shares (pipeline.fleet)
