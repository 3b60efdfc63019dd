"""Per-seller request throttling for the mutations that reach HaloPSA.

``testConnection`` and the sync triggers each cost HaloPSA calls from the seller's own budget
(300 requests per 5 minutes); a script in a loop must not burn it. Fixed windows are enough
here (the aim is to stop loops, not to shape traffic): in memory in embedded mode, in Redis
(INCR + EXPIRE, shared by every replica) in scale-out.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Protocol

from gateway.errors import RateLimited
from gateway.redis_clients import LoopClients

# (requests, window seconds) per seller and action.
LIMITS: dict[str, tuple[int, float]] = {
    # A person clicks "Test Connection" a few times; a loop clicks it hundreds of times.
    "test_connection": (10, 60.0),
    # Counted only for sync triggers the rules would let through (one at a time, cooldown):
    # refused ones get the seed's answer, not this. It stops a script starting run after run
    # (organisations syncs have no cooldown).
    "sync_trigger": (30, 60.0),
    # "Test endpoint" makes an outbound request each time: a few to check, not a prober.
    "webhook_test": (10, 60.0),
}

# A Redis that does not answer must not hold up the mutation it guards (the throttle fails open).
REDIS_TIMEOUT_SECONDS = 2.0


class Throttle(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> float:
        """Count one request; return 0 if allowed, else seconds until the window resets."""
        ...

    async def spend(self, key: str, amount: int, limit: int, window: float) -> float:
        """Spend ``amount`` of a budget of ``limit`` per window: 0 if it fitted, else
        seconds until the window resets, and nothing spent (the GraphQL query cost)."""
        ...

    async def aclose(self) -> None:
        """Close the clients opened on the running event loop."""
        ...


class InMemoryThrottle:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    async def hit(self, key: str, limit: int, window: float) -> float:
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= window:
                start, count = now, 0
            count += 1
            self._windows[key] = (start, count)
        if count > limit:
            return window - (now - start)
        return 0.0

    async def spend(self, key: str, amount: int, limit: int, window: float) -> float:
        now = time.monotonic()
        with self._lock:
            start, spent = self._windows.get(key, (now, 0))
            if now - start >= window:
                start, spent = now, 0
            if spent + amount > limit:
                self._windows[key] = (start, spent)
                return window - (now - start)
            self._windows[key] = (start, spent + amount)
        return 0.0

    async def aclose(self) -> None:
        """Nothing to close."""


class RedisThrottle:
    def __init__(self, redis_url: str, namespace: str) -> None:
        self._prefix = f"{namespace}:throttle:"
        self._redis = LoopClients(
            redis_url, name=self._prefix.rstrip(":"), timeout=REDIS_TIMEOUT_SECONDS
        )

    def _client(self) -> Any:
        return self._redis.get()

    async def hit(self, key: str, limit: int, window: float) -> float:
        from redis.exceptions import RedisError

        full = self._prefix + key
        try:
            pipe = self._client().pipeline()
            pipe.incr(full)
            pipe.pttl(full)
            count, ttl = await pipe.execute()
            if ttl < 0:
                await self._client().pexpire(full, int(window * 1000))
                ttl = int(window * 1000)
        except (RedisError, OSError):
            return 0.0  # fail open: throttling must not take the API down with Redis
        return ttl / 1000 if count > limit else 0.0

    async def spend(self, key: str, amount: int, limit: int, window: float) -> float:
        from redis.exceptions import RedisError

        full = self._prefix + key
        try:
            pipe = self._client().pipeline()
            pipe.incrby(full, amount)
            pipe.pttl(full)
            spent, ttl = await pipe.execute()
            if ttl < 0:
                await self._client().pexpire(full, int(window * 1000))
                ttl = int(window * 1000)
            if spent <= limit:
                return 0.0
            await self._client().decrby(full, amount)  # refused: nothing spent
        except (RedisError, OSError):
            return 0.0  # fail open, as hit() does
        return max(ttl, 1) / 1000

    async def aclose(self) -> None:
        """Close this loop's Redis client (the loop that made it must still run)."""
        await self._redis.aclose()


def build_throttle(redis_url: str | None, namespace: str) -> Throttle:
    return RedisThrottle(redis_url, namespace) if redis_url else InMemoryThrottle()


async def check(throttle: Throttle, action: str, seller_id: str) -> None:
    limit, window = LIMITS[action]
    retry_after = await throttle.hit(f"{action}:{seller_id}", limit, window)
    if retry_after > 0:
        raise RateLimited(max(1, math.ceil(retry_after)), what=action.replace("_", " ") + "s")
