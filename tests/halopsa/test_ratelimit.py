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


async def test_a_caller_that_leaves_slots_to_others_gives_way_when_the_window_fills() -> None:
    # Given a window of 10 with 7 slots taken
    limiter = InMemoryRateLimiter(10, 300.0)
    for _ in range(7):
        await limiter.acquire("h")
    # When a reader that leaves 4 slots to others asks, it waits (only 3 are free) …
    reader = asyncio.create_task(limiter.acquire("h", leave=4))
    await asyncio.sleep(0)
    # … while the others still get the slots it left them
    assert [await limiter.acquire("h") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert not reader.done()
    reader.cancel()
    # And in a quiet window the reader goes at once
    assert await InMemoryRateLimiter(10, 300.0).acquire("h", leave=4) == 0.0
