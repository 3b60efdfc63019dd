"""The client keeps under HaloPSA's rolling window before HaloPSA has to say so."""

from __future__ import annotations

import asyncio

from gateway.halopsa import InMemoryRateLimiter


async def test_the_in_memory_limiter_keeps_under_the_window() -> None:
    limiter = InMemoryRateLimiter(5, 0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    waits = [await limiter.acquire("h") for _ in range(11)]
    assert loop.time() - started >= 0.4  # 11 slots of 5 per 0.2 s need two full windows
    assert sum(waits) > 0
