"""The HaloPSA rate limiter shared by every process through Redis (scale-out mode).

An exact rolling window: a sorted set of request timestamps per HaloPSA host, trimmed and
counted by one Lua script, so two workers can never both take the last slot. When the window
is full the script answers how long until the oldest entry leaves it, and the caller sleeps
that long (plus a little jitter so that waiters do not stampede).

While Redis cannot be reached, each process falls back to a cautious budget of its own (a
share of the limit, never no limit) and goes back to Redis as soon as it answers again; a sync
in progress keeps going either way.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid

from redis.exceptions import RedisError

from gateway.halopsa import InMemoryRateLimiter, allowed_requests
from gateway.redis_clients import LoopClients

logger = logging.getLogger(__name__)

# Without Redis no process knows what the others take: each keeps to this share of the limit,
# which stays under HaloPSA's budget with up to this many processes calling it at once.
FALLBACK_SHARE = 4
# A Redis that does not answer must not stall a HaloPSA request for long.
REDIS_TIMEOUT_SECONDS = 2.0

_ACQUIRE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if used < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return '0'
end
local oldest = redis.call('ZRANGE', key, used - limit, used - limit, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisRateLimiter:
    def __init__(self, redis_url: str, *, limit: int, window_seconds: float, prefix: str) -> None:
        self.redis_url = redis_url
        self.limit = limit
        self.window = window_seconds
        self.prefix = prefix
        # One immediate retry, not redis-py's several with back-off: an unreachable Redis
        # sends the caller to its fallback budget at once.
        self._clients = LoopClients(redis_url, name=prefix, timeout=REDIS_TIMEOUT_SECONDS)
        self._fallback = InMemoryRateLimiter(max(1, limit // FALLBACK_SHARE), window_seconds)
        self._degraded = False

    @classmethod
    def from_url(
        cls, redis_url: str, *, limit: int, window_seconds: float, prefix: str
    ) -> RedisRateLimiter:
        return cls(redis_url, limit=limit, window_seconds=window_seconds, prefix=prefix)

    async def acquire(self, key: str, *, leave: int = 0) -> float:
        """A slot of the shared window (``leave``: slots left to others, see
        ``gateway.halopsa.RateLimiter``)."""
        try:
            waited = await self._acquire_shared(key, allowed_requests(self.limit, leave))
        except (RedisError, OSError) as exc:
            if not self._degraded:
                logger.warning(
                    "HaloPSA rate limiter: Redis unreachable (%s); using a local budget of "
                    "%d requests per %.0fs until it is back",
                    type(exc).__name__,
                    self._fallback.limit,
                    self.window,
                )
                self._degraded = True
            return await self._fallback.acquire(key, leave=leave // FALLBACK_SHARE)
        if self._degraded:
            logger.info("HaloPSA rate limiter: Redis is back; sharing the budget again")
            self._degraded = False
        return waited

    async def aclose(self) -> None:
        """Close this loop's Redis client (the loop that made it must still run)."""
        await self._clients.aclose()

    async def _acquire_shared(self, key: str, allowed: int) -> float:
        waited = 0.0
        client = self._clients.get()
        while True:
            # Redis server time would be better across machines; the entries only need a
            # common clock, and the workers' clocks are NTP-synchronised.
            now = time.time()
            delay = float(
                await client.eval(
                    _ACQUIRE,
                    1,
                    f"{self.prefix}:{key}",
                    now,
                    self.window,
                    allowed,
                    f"{now}:{uuid.uuid4().hex[:8]}",
                )
            )
            if delay <= 0:
                return waited
            delay += random.uniform(0, 0.05)
            await asyncio.sleep(delay)
            waited += delay
