"""Keeping under HaloPSA's rate limit before HaloPSA has to say so.

Hosted HaloPSA allows 300 requests per *rolling* 5 minutes per instance and answers 429 past
it, without a Retry-After. A sleep of seconds cannot outlast such a window, so the client
acquires a slot before every request. ``InMemoryRateLimiter`` is exact for one process; the
Redis implementation (``gateway.ratelimit_redis``) shares the budget across processes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import Protocol

# The hosted HaloPSA limit.
DEFAULT_LIMIT = 300
DEFAULT_WINDOW_SECONDS = 300.0


def allowed_requests(limit: int, leave: int) -> int:
    """How many requests of the window a caller that leaves ``leave`` slots may take (1 at
    least: a reader that gives way still gets through a quiet window)."""
    return max(1, limit - max(0, leave))


class RateLimiter(Protocol):
    async def acquire(self, key: str, *, leave: int = 0) -> float:
        """Wait until a request may be sent; return the seconds waited.

        ``leave``: slots of the window this caller leaves to others. A background reader
        (the drift check) passes a share of the limit, so it takes a slot only while that
        many are still free and gives way to writers (the pushes), which may fill the window.
        """
        ...


class InMemoryRateLimiter:
    """A sliding log per key: at most ``limit`` acquisitions in any ``window`` seconds."""

    def __init__(self, limit: int = DEFAULT_LIMIT, window: float = DEFAULT_WINDOW_SECONDS):
        self.limit = limit
        self.window = window
        self._logs: dict[str, deque[float]] = {}
        # Threads: the gateway loop and the embedded worker's loop share this limiter.
        self._lock = threading.Lock()

    def _try(self, key: str, leave: int) -> float:
        now = time.monotonic()
        allowed = allowed_requests(self.limit, leave)
        with self._lock:
            log = self._logs.setdefault(key, deque())
            while log and log[0] <= now - self.window:
                log.popleft()
            if len(log) < allowed:
                log.append(now)
                return 0.0
            # Until enough of the oldest entries age out for this caller's share to be free.
            return log[len(log) - allowed] + self.window - now

    async def acquire(self, key: str, *, leave: int = 0) -> float:
        waited = 0.0
        while True:
            delay = self._try(key, leave)
            if delay <= 0:
                return waited
            await asyncio.sleep(delay)
            waited += delay

    async def aclose(self) -> None:
        """Nothing to close (the Redis limiter has clients; both are closed alike)."""
