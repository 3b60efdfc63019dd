"""The event bus: per-seller fan-out, slow subscribers dropped, Redis across processes."""

from __future__ import annotations

import asyncio
import sys
import threading

from gateway.events import (
    GAP,
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


async def _publish_n(bus, seller: str, n: int) -> None:
    for i in range(n):
        await bus.publish(_event(seller, processed=i))


async def test_events_are_numbered_per_seller_and_replayed_after_a_sequence() -> None:
    bus = InMemoryEventBus(replay_max_events=3)
    stream = bus.subscribe("seller-a")
    await _publish_n(bus, "seller-a", 5)
    await _publish_n(bus, "seller-b", 1)
    got = [await _next(stream) for _ in range(5)]
    assert [e.sequence for e in got] == [1, 2, 3, 4, 5]
    assert {e.epoch for e in got} == {bus.epoch()}
    # What a page that saw sequence 2 missed: 3, 4, 5 (kept), in order
    replay = await bus.replay("seller-a", bus.epoch(), 2)
    assert [e.processed for e in replay.events] == [2, 3, 4]
    # Nothing missed: an empty replay, not a RESYNC
    assert (await bus.replay("seller-a", bus.epoch(), 5)).events == []
    # Trimmed (only 3 kept), another epoch, or a number never given: the gap is gone
    assert (await bus.replay("seller-a", bus.epoch(), 1)).events is None
    assert (await bus.replay("seller-a", "other", 4)).events is None
    assert (await bus.replay("seller-a", bus.epoch(), 6)).events is None
    await stream.aclose()


async def test_a_catch_up_subscriber_gets_a_gap_marker_instead_of_being_dropped() -> None:
    bus = InMemoryEventBus()
    slow = bus.subscribe("seller-a", catch_up=True)
    await _publish_n(bus, "seller-a", SUBSCRIBER_QUEUE_SIZE + 3)
    # What waited was dropped for one marker; what came after it follows
    assert (await _next(slow)).phase == GAP
    assert [(await _next(slow)).sequence for _ in range(2)] == [
        SUBSCRIBER_QUEUE_SIZE + 2,
        SUBSCRIBER_QUEUE_SIZE + 3,
    ]
    assert bus.subscriber_count == 1
    await slow.aclose()


async def test_redis_numbers_keeps_and_replays_events_of_each_seller(redis_namespace) -> None:
    bus = RedisEventBus(REDIS_URL, redis_namespace, replay_max_events=3)
    await bus.start()
    try:
        await asyncio.wait_for(bus.connected.wait(), 5)
        stream = bus.subscribe("seller-a")
        await _publish_n(bus, "seller-a", 5)
        got = [await _next(stream) for _ in range(5)]
        assert [e.sequence for e in got] == [1, 2, 3, 4, 5]
        assert {e.epoch for e in got} == {bus.epoch()} and bus.epoch()
        assert bus.position("seller-a")[1] == 5
        replay = await bus.replay("seller-a", bus.epoch(), 2)
        assert [e.processed for e in replay.events] == [2, 3, 4]
        assert (await bus.replay("seller-a", bus.epoch(), 5)).events == []
        assert (await bus.replay("seller-a", bus.epoch(), 1)).events is None  # trimmed
        assert (await bus.replay("seller-a", "other", 4)).events is None
        assert (await bus.replay("seller-b", bus.epoch(), 0)).events == []
        await stream.aclose()
    finally:
        await bus.close()


async def test_the_epoch_changes_when_redis_restarts_even_from_its_snapshot(tmp_path) -> None:
    from tests.support.redis_server import RedisServer

    server = RedisServer(tmp_path / "redis")
    server.start()
    bus = RedisEventBus(server.url, "epoch-test")
    try:
        await bus.start()
        await asyncio.wait_for(bus.connected.wait(), 5)
        stream = bus.subscribe("seller-a")
        await _publish_n(bus, "seller-a", 2)
        assert [(await _next(stream)).sequence for _ in range(2)] == [1, 2]
        before = bus.epoch()
        assert (await bus.replay("seller-a", before, 0)).events is not None
        # A restart that loads its snapshot (the stream is there, but a snapshot taken before
        # a crash could be older than what pages saw): a new numbering, the old one refused
        server.stop()
        server.start()
        # (the listener reconnects, learns the new epoch, and tells its pages to refresh)
        marker = await _next(stream, timeout=30)
        assert marker.phase == RESYNC and bus.epoch() != before
        await _publish_n(bus, "seller-a", 1)
        assert (await bus.replay("seller-a", before, 0)).events is None
        again = await bus.replay("seller-a", bus.epoch(), 0)
        assert [e.sequence for e in again.events] == [1]
        await stream.aclose()
    finally:
        await bus.close()
        server.stop()
