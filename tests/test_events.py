"""The event bus: per-seller fan-out, slow subscribers dropped, Redis across processes."""

from __future__ import annotations

import asyncio
import sys
import threading

from gateway.events import (
    RESYNC,
    SUBSCRIBER_QUEUE_SIZE,
    InMemoryEventBus,
    RedisEventBus,
    SyncEvent,
)
from tests.conftest import REDIS_URL


def _event(seller: str, run_id: int = 1, phase: str = "PROGRESS", processed: int = 0) -> SyncEvent:
    return SyncEvent(
        seller_id=seller,
        run_id=run_id,
        kind="SUBSCRIPTIONS",
        scope="ALL",
        phase=phase,
        processed=processed,
    )


async def _next(stream, timeout: float = 5.0) -> SyncEvent:
    return await asyncio.wait_for(stream.__anext__(), timeout)


async def test_a_subscriber_receives_only_its_own_sellers_events() -> None:
    bus = InMemoryEventBus()
    a, b = bus.subscribe("seller-a"), bus.subscribe("seller-b")
    await bus.publish(_event("seller-a", processed=1))
    await bus.publish(_event("seller-b", processed=2))
    assert (await _next(a)).processed == 1
    assert (await _next(b)).processed == 2
    assert a._sub.queue.empty() and b._sub.queue.empty()
    await a.aclose()
    await b.aclose()
    assert bus.subscriber_count == 0


async def test_events_published_from_another_thread_reach_the_subscribers_loop() -> None:
    bus = InMemoryEventBus()
    stream = bus.subscribe("seller-a")

    def publish_from_worker_thread() -> None:
        asyncio.run(bus.publish(_event("seller-a", processed=7)))

    thread = threading.Thread(target=publish_from_worker_thread)
    thread.start()
    thread.join()
    assert (await _next(stream)).processed == 7
    await stream.aclose()


async def test_a_slow_subscriber_is_dropped_without_blocking_the_others() -> None:
    bus = InMemoryEventBus()
    slow, fast = bus.subscribe("seller-a"), bus.subscribe("seller-a")
    received = []
    for i in range(SUBSCRIBER_QUEUE_SIZE + 10):
        await bus.publish(_event("seller-a", processed=i))
        received.append((await _next(fast)).processed)
    assert received == list(range(SUBSCRIBER_QUEUE_SIZE + 10))
    # The slow one ends (its page will reconnect and read the current state first).
    drained = [e async for e in slow]
    assert len(drained) < SUBSCRIBER_QUEUE_SIZE
    assert bus.subscriber_count == 1
    await fast.aclose()


PUBLISHER = """
import asyncio, sys
from gateway.events import RedisEventBus, SyncEvent
async def main():
    bus = RedisEventBus(sys.argv[1], sys.argv[2])
    for seller, n in (("seller-b", 1), ("seller-a", 2), ("seller-a", 3)):
        await bus.publish(SyncEvent(seller_id=seller, run_id=9, kind="ORGANIZATIONS",
                                    scope="ALL", phase="PROGRESS", processed=n))
    await bus.close()
asyncio.run(main())
"""


async def test_redis_bus_delivers_events_published_by_another_process(redis_namespace) -> None:
    bus = RedisEventBus(REDIS_URL, redis_namespace)
    await bus.start()
    try:
        await asyncio.wait_for(bus.connected.wait(), 5)
        stream = bus.subscribe("seller-a")
        publisher = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PUBLISHER, REDIS_URL, redis_namespace
        )
        assert await asyncio.wait_for(publisher.wait(), 30) == 0
        got = [(await _next(stream)).processed, (await _next(stream)).processed]
        assert got == [2, 3]
        await stream.aclose()
    finally:
        await bus.close()


async def test_redis_bus_resubscribes_after_the_connection_drops_and_asks_pages_to_refresh(
    redis_namespace,
) -> None:
    import redis.asyncio as aioredis

    bus = RedisEventBus(REDIS_URL, redis_namespace)
    await bus.start()
    try:
        await asyncio.wait_for(bus.connected.wait(), 5)
        stream = bus.subscribe("seller-a")
        admin = aioredis.Redis.from_url(REDIS_URL)
        # Kill the bus's pub/sub connection, as a Redis restart would.
        clients = await admin.client_list(_type="pubsub")
        for client in clients:
            await admin.client_kill_filter(_id=client["id"])
        await admin.aclose()
        marker = await _next(stream, timeout=10)
        assert marker.phase == RESYNC
        await asyncio.wait_for(bus.connected.wait(), 5)
        await bus.publish(_event("seller-a", processed=42))
        assert (await _next(stream)).processed == 42
        await stream.aclose()
    finally:
        await bus.close()
