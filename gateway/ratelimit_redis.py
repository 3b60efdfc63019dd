"""The HaloPSA rate limiter shared by every process through Redis (scale-out mode).

An exact rolling window: a sorted set of request timestamps per HaloPSA host, trimmed and
counted by one Lua script, so two workers can never both take the last slot. When the window
is full the script answers how long until the oldest entry leaves it, and the caller sleeps
that long (plus a little jitter so that waiters do not stampede).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

_ACQUIRE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return '0'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisRateLimiter:
    def __init__(self, redis_url: str, *, limit: int, window_seconds: float, prefix: str) -> None:
        self.redis_url = redis_url
        self.limit = limit
        self.window = window_seconds
        self.prefix = prefix
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}

    @classmethod
    def from_url(
        cls, redis_url: str, *, limit: int, window_seconds: float, prefix: str
    ) -> RedisRateLimiter:
        return cls(redis_url, limit=limit, window_seconds=window_seconds, prefix=prefix)

    def _client(self) -> Any:
        import redis.asyncio as aioredis

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(self.redis_url)
            self._clients[loop] = client
        return client

    async def acquire(self, key: str) -> float:
        waited = 0.0
        client = self._client()
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
                    self.limit,
                    f"{now}:{uuid.uuid4().hex[:8]}",
                )
            )
            if delay <= 0:
                return waited
            delay += random.uniform(0, 0.05)
            await asyncio.sleep(delay)
            waited += delay
