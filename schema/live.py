"""Live subscriptions written so one execution can serve many sockets (issue #15).

A live subscription has two parts: what a new subscriber is sent first (the overview as it
is now, the events it missed since ``afterSequence``) and what follows each event of the
seller's bus. :func:`live` runs either part or both, as the context's :class:`LiveState` asks:

* ``FULL`` (no state: HTTP streaming transports, a socket of its own): subscribe to the bus,
  read the first part, then follow events that are newer than that read;
* ``INITIAL``: the first part only, for one subscriber (``schema.fanout``), which records the
  position it read at in ``state.version``;
* ``LIVE``: the events only, once for every socket that shares the selection; each result's
  ``state.version`` is the position of the event it follows, so a socket whose first part was
  read at position P skips the shared results at or below P — nothing is sent twice and an
  older overview never follows a newer one.

The resume logic (``afterSequence``, RESYNC when the gap is gone) lives in the resolvers and
the bus, not in a transport, so every transport gets it.
"""

from __future__ import annotations

import asyncio
import enum
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.events import GAP, EventBus, Position, SyncEvent, resync_event

T = TypeVar("T")

# Root subscription fields written with :func:`live`: the websocket shares their execution.
SHARED_FIELDS: set[str] = set()


class LiveMode(enum.Enum):
    FULL = "full"
    INITIAL = "initial"
    LIVE = "live"


@dataclass(eq=False)
class LiveState:
    mode: LiveMode
    # LIVE: set once the bus subscription exists (nothing published after it is missed).
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Position of what was last yielded (INITIAL: of the read; LIVE: of the event).
    version: Position | None = None
    # INITIAL for a socket that fell behind: the position of the last result it was sent.
    resume: Position | None = None
    # LIVE, set by the resolver (same arguments as its sockets): whether a new socket has a
    # first part at all, and where the seller's events stand (for one that has none).
    first_part: bool = True
    position: Callable[[], Position] | None = None


def state_of(context: Any) -> LiveState:
    state = getattr(context, "live", None)
    return state if state is not None else LiveState(LiveMode.FULL)


async def live(
    state: LiveState,
    bus: EventBus,
    seller_id: str,
    initial: Callable[[LiveState], AsyncIterator[T]],
    on_event: Callable[[SyncEvent], AsyncIterator[T]],
    first_part: bool = True,
) -> AsyncGenerator[T, None]:
    """The subscription's values for ``state.mode`` (see the module docstring).
    ``first_part=False``: ``initial`` yields nothing unless resuming, so a socket that joins
    a shared execution need not run it (``schema.fanout``)."""
    events = None
    if state.mode is not LiveMode.INITIAL:
        events = bus.subscribe(seller_id, catch_up=True)
    try:
        # Subscribed first, then read: a change between the two is not missed.
        last = state.version = bus.position(seller_id)
        if state.mode is LiveMode.LIVE:
            state.first_part = first_part
            state.position = lambda: bus.position(seller_id)
            state.ready.set()
        else:
            async for value in initial(state):
                yield value
            last = state.version  # what the first part read includes
        if events is None:
            return
        async for event in events:
            if event.phase == GAP:  # this subscription fell behind the bus: catch up
                async for missed in _missed(bus, seller_id, last):
                    if missed.position < last:
                        continue
                    last = state.version = missed.position
                    async for value in on_event(missed):
                        yield value
                continue
            if event.position <= last:
                continue  # already in what the first part read, or in a catch-up
            last = state.version = event.position
            async for value in on_event(event):
                yield value
    finally:
        if events is not None:
            await events.aclose()


async def _missed(bus: EventBus, seller_id: str, last: Position) -> AsyncIterator[SyncEvent]:
    """The events after ``last`` that the bus still keeps, else a RESYNC."""
    now = bus.position(seller_id)
    replay = None
    if last[0] == now[0]:
        try:
            replay = await bus.replay(seller_id, bus.epoch(), last[1])
        except Exception:  # the bus cannot answer (Redis away): RESYNC below
            replay = None
    if replay is not None and replay.events is not None:
        for event in replay.events:
            yield event
        return
    marker = resync_event(seller_id)
    marker.position = max(now, last)
    yield marker


_MEMOS: weakref.WeakKeyDictionary[Any, dict[Any, tuple[Position, asyncio.Future[Any]]]] = (
    weakref.WeakKeyDictionary()
)


async def once_per_change(
    bus: EventBus, key: Any, position: Position, compute: Callable[[], Awaitable[T]]
) -> T:
    """``compute()`` once per (key, bus position): every selection of a seller that follows
    the same event shares one read (``syncOverviewChanged``: one overview per change, not
    one per socket or per document)."""
    memo = _MEMOS.setdefault(bus, {})
    hit = memo.get(key)
    if hit is None or hit[0] != position:
        future: asyncio.Future[T] = asyncio.ensure_future(compute())
        # A failed read is raised to the selections waiting for it, and retried by the next.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        hit = (position, future)
        memo[key] = hit
    return await asyncio.shield(hit[1])
