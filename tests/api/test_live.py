"""schema/live.py: a live subscription's two parts over the real in-memory bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gateway.events import RESYNC, SUBSCRIBER_QUEUE_SIZE, InMemoryEventBus, SyncEvent
from schema import live


def _event(n: int, phase: str = "PROGRESS") -> SyncEvent:
    return SyncEvent(
        seller_id="seller-a", run_id=1, kind="SUBSCRIPTIONS", scope="ALL", phase=phase, processed=n
    )


async def _first_part(state: live.LiveState) -> AsyncIterator[str]:
    yield f"now at {state.version[1] if state.version else 0}"


async def _each(event: SyncEvent) -> AsyncIterator[str]:
    yield f"{event.phase} {event.sequence}"


async def _take(stream: AsyncIterator[str], n: int) -> list[str]:
    return [await asyncio.wait_for(stream.__anext__(), 5) for _ in range(n)]


async def test_full_mode_reads_first_then_follows_only_newer_events() -> None:
    bus = InMemoryEventBus()
    await bus.publish(_event(1))
    stream = live.live(live.LiveState(live.LiveMode.FULL), bus, "seller-a", _first_part, _each)
    assert await _take(stream, 1) == ["now at 1"]  # the read includes event 1
    await bus.publish(_event(2))
    assert await _take(stream, 1) == ["PROGRESS 2"]
    await stream.aclose()
    assert bus.subscriber_count == 0


async def test_initial_mode_is_the_first_part_only_and_records_its_position() -> None:
    bus = InMemoryEventBus()
    await bus.publish(_event(1))
    await bus.publish(_event(2))
    state = live.LiveState(live.LiveMode.INITIAL)
    values = [v async for v in live.live(state, bus, "seller-a", _first_part, _each)]
    assert values == ["now at 2"]
    assert state.version == (0, 2)
    assert bus.subscriber_count == 0  # it never subscribed


async def test_live_mode_that_falls_behind_the_bus_replays_what_it_missed() -> None:
    bus = InMemoryEventBus()
    state = live.LiveState(live.LiveMode.LIVE, ready=asyncio.Event())
    stream = live.live(state, bus, "seller-a", _first_part, _each, first_part=False)
    waiting = asyncio.ensure_future(stream.__anext__())
    await state.ready.wait()
    assert not state.first_part and state.position is not None
    # When more events come than its queue holds before it reads one
    for n in range(SUBSCRIBER_QUEUE_SIZE + 20):
        await bus.publish(_event(n))
    # Then it still sees every event, in order, each once, with no RESYNC
    got = [await waiting, *await _take(stream, SUBSCRIBER_QUEUE_SIZE + 19)]
    assert got == [f"PROGRESS {n}" for n in range(1, SUBSCRIBER_QUEUE_SIZE + 21)]
    assert state.version == (0, SUBSCRIBER_QUEUE_SIZE + 20)
    await stream.aclose()


async def test_live_mode_that_falls_behind_further_than_the_bus_keeps_gets_resync() -> None:
    bus = InMemoryEventBus(replay_max_events=10)
    state = live.LiveState(live.LiveMode.LIVE, ready=asyncio.Event())
    stream = live.live(state, bus, "seller-a", _first_part, _each)
    waiting = asyncio.ensure_future(stream.__anext__())
    await state.ready.wait()
    for n in range(SUBSCRIBER_QUEUE_SIZE + 20):
        await bus.publish(_event(n))
    # Then, with the missed events gone, RESYNC (a page reads the state again) …
    assert await waiting == f"{RESYNC} 0"
    assert state.version == (0, SUBSCRIBER_QUEUE_SIZE + 20)
    # … and it goes on with what comes next (what waited behind the marker is older)
    await bus.publish(_event(0))
    assert await _take(stream, 1) == [f"PROGRESS {SUBSCRIBER_QUEUE_SIZE + 21}"]
    await stream.aclose()


async def test_once_per_change_computes_once_for_every_caller_of_a_position() -> None:
    bus = InMemoryEventBus()
    calls = []

    async def compute() -> str:
        calls.append(1)
        await asyncio.sleep(0)
        return f"read {len(calls)}"

    both = await asyncio.gather(
        live.once_per_change(bus, "k", (0, 1), compute),
        live.once_per_change(bus, "k", (0, 1), compute),
    )
    assert both == ["read 1", "read 1"]
    assert await live.once_per_change(bus, "k", (0, 2), compute) == "read 2"
