"""A request budget shared by every worker of a deployment: one token bucket in Redis, so
adding workers never sends BuildOS more than the deployment is allowed.

The bucket lives in one Redis hash and is refilled and spent by one Lua script, which Redis runs
atomically, on the Redis server's clock: workers on machines whose clocks disagree still share
one budget. A worker that finds the bucket empty sleeps for as long as the script says the next
token takes, then asks again.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections.abc import Mapping

import redis
import redis.asyncio

# KEYS[1] the bucket; ARGV rate (tokens a second), burst (capacity). Returns "0" when a token
# was taken, else the seconds until one will be there (as text: Redis truncates Lua numbers).
TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then
    tokens = tokens - 1
else
    wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 60000)
return tostring(wait)
"""

URL_VAR = "BUILDOS_FLEET_REDIS_URL"
RATE_VAR = "BUILDOS_FLEET_REQUESTS_PER_SECOND"
BURST_VAR = "BUILDOS_FLEET_BURST"


class FleetBudget:
    """`requests_per_second` on average across the fleet, bursts up to `burst`."""

    def __init__(
        self, url: str, requests_per_second: float, burst: int, key: str = "buildos:fleet"
    ):
        if requests_per_second <= 0 or burst < 1:
            raise ValueError("a fleet budget needs requests_per_second > 0 and burst >= 1")
        self.url, self.key = url, key
        self.rate, self.burst = float(requests_per_second), int(burst)
        self._sync = redis.Redis.from_url(url, socket_timeout=10)
        self._take_sync = self._sync.register_script(TAKE)
        # one asyncio client per event loop: a client's connections belong to the loop they
        # were opened on, and a sync step may run several loops one after another
        self._async: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return (
            f"FleetBudget(key={self.key!r}, requests_per_second={self.rate:g}, burst={self.burst})"
        )

    async def acquire(self, deadline: float) -> None:
        """Take one request's token; TimeoutError if none will be there by `deadline`
        (a time.monotonic() value)."""
        loop = asyncio.get_running_loop()
        if loop not in self._async:
            client = redis.asyncio.Redis.from_url(self.url, socket_timeout=10)
            self._async[loop] = (client.register_script(TAKE), asyncio.Lock())
        take, one_at_a_time = self._async[loop]
        while True:
            # A sync has hundreds of requests waiting here at once: they ask Redis in turn
            # (each call takes a fraction of a millisecond) rather than each on a connection
            # of its own, which would exhaust the client's pool (MaxConnectionsError).
            async with one_at_a_time:
                wait = float(await take(keys=[self.key], args=[self.rate, self.burst]))
            if wait == 0:
                return
            self._check(wait, deadline)
            await asyncio.sleep(wait)

    def acquire_blocking(self, deadline: float) -> None:
        """acquire() for code without an event loop."""
        while True:
            wait = float(self._take_sync(keys=[self.key], args=[self.rate, self.burst]))
            if wait == 0:
                return
            self._check(wait, deadline)
            time.sleep(wait)

    def _check(self, wait: float, deadline: float) -> None:
        if time.monotonic() + wait > deadline:
            raise TimeoutError(
                f"the fleet request budget ({self.rate:g}/s, burst {self.burst}, key "
                f"{self.key}) has no token before the deadline"
            )


def fleet_from_env(env: Mapping[str, str] = os.environ) -> FleetBudget | None:
    """The budget BUILDOS_FLEET_REDIS_URL and BUILDOS_FLEET_REQUESTS_PER_SECOND describe
    (burst: BUILDOS_FLEET_BURST, default one second's worth); None when they are not set."""
    if not env.get(URL_VAR) or not env.get(RATE_VAR):
        return None
    rate = float(env[RATE_VAR])
    burst = int(env.get(BURST_VAR) or max(1, round(rate)))
    return FleetBudget(env[URL_VAR], rate, burst)
