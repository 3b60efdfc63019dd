"""Sync events and the bus that carries them from workers to websocket clients.

Workers publish; every gateway process fans events out in memory to its subscribers, filtered
by seller. Two implementations behind one interface:

* :class:`InMemoryEventBus` (embedded mode): publishers may run on another thread's loop
  (the in-process Dramatiq worker), so delivery goes through ``call_soon_threadsafe``.
* :class:`RedisEventBus` (scale-out): one ``PSUBSCRIBE`` connection per process, whatever the
  number of sockets; it resubscribes after Redis restarts and then tells every subscriber to
  refresh (a ``RESYNC`` marker), so no missed event leaves a page wrong.

Events are best-effort: a publish that Redis cannot take is dropped (one WARNING per outage)
and never fails the sync run or the mutation that published it. Whoever missed events is
told so: subscribers of a listener that lost Redis get ``RESYNC`` when it is back, and the
sellers whose events a publisher dropped get a ``RESYNC`` of their own once publishing works
again (a publisher can fail while the listeners stay connected, e.g. on a timeout).

A subscriber has a bounded queue: a client that cannot keep up is dropped (its iterator ends)
instead of slowing the others down or growing memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# Events a socket may have pending before it is considered dead and dropped. A burst of a
# sync's progress is a few dozen events; 256 leaves room for a slow browser tab.
SUBSCRIBER_QUEUE_SIZE = 256
# Back-off between attempts to re-establish the Redis subscription.
REDIS_RECONNECT_MIN_SECONDS = 0.2
REDIS_RECONNECT_MAX_SECONDS = 5.0
# A publish waits at most this long for Redis: an event is not worth holding a sync run up.
PUBLISH_TIMEOUT_SECONDS = 2.0
# After a failed publish, events are dropped without trying for this long: a run publishes
# progress several times a second and must not pay a connection attempt for each one while
# Redis is away.
PUBLISH_PAUSE_AFTER_FAILURE_SECONDS = 1.0


@dataclass(slots=True)
class SyncEvent:
    seller_id: str
    run_id: int
    kind: str
    scope: str
    # QUEUED, STARTED, PROGRESS, COMPLETED, FAILED, CANCELLED; RESYNC (bus-level); ISSUE (an
    # integration issue of the seller changed: ``issue_id``, no run).
    phase: str
    # The organisation of a one-organisation run: its public id (the grid's) and its name.
    organization_id: str | None = None
    organization_name: str | None = None
    processed: int = 0
    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    message: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    issue_id: int | None = None
    # What the event says, as a stable code (gateway.messages.MessageCode) and parameters;
    # None: only the phase says it (RESYNC, ISSUE).
    code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> SyncEvent:
        data = json.loads(raw)
        data["at"] = datetime.fromisoformat(data["at"])
        return cls(**data)


RESYNC = "RESYNC"
ISSUE = "ISSUE"


class EventBus(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, event: SyncEvent) -> None: ...
    def subscribe(self, seller_id: str) -> EventStream: ...
    @property
    def subscriber_count(self) -> int: ...


class _Subscriber:
    __slots__ = ("dropped", "loop", "queue", "seller_id")

    def __init__(self, seller_id: str) -> None:
        self.seller_id = seller_id
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[SyncEvent | None] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        self.dropped = False

    def offer(self, event: SyncEvent | None) -> None:
        """Runs on the subscriber's loop."""
        if self.dropped:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            logger.warning(
                "dropping slow event subscriber of seller %s",
                self.seller_id,
                extra={"seller_id": self.seller_id},
            )
            # Make room for the end-of-stream marker so the iterator finishes.
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class _FanOut:
    """Subscribers of this process, by seller; thread-safe delivery to each one's loop."""

    def __init__(self) -> None:
        self._by_seller: dict[str, set[_Subscriber]] = {}
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._by_seller.values())

    def add(self, sub: _Subscriber) -> None:
        with self._lock:
            self._by_seller.setdefault(sub.seller_id, set()).add(sub)

    def remove(self, sub: _Subscriber) -> None:
        with self._lock:
            subs = self._by_seller.get(sub.seller_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_seller[sub.seller_id]

    def deliver(self, event: SyncEvent, seller_id: str | None = None) -> None:
        """Deliver to one seller's subscribers, or to all when ``seller_id`` is None."""
        with self._lock:
            if seller_id is None:
                targets = [s for subs in self._by_seller.values() for s in subs]
            else:
                targets = list(self._by_seller.get(seller_id, ()))
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for sub in targets:
            if sub.loop is current:
                sub.offer(event)
            else:
                with contextlib.suppress(RuntimeError):  # subscriber's loop already closed
                    sub.loop.call_soon_threadsafe(sub.offer, event)

    def stream(self, seller_id: str) -> EventStream:
        return EventStream(self, _Subscriber(seller_id))


class EventStream:
    """A seller's events, registered from the moment it is created (nothing is missed between
    subscribing and starting to iterate); ``aclose()`` unregisters it."""

    def __init__(self, fanout: _FanOut, sub: _Subscriber) -> None:
        self._fanout = fanout
        self._sub = sub
        fanout.add(sub)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> SyncEvent:
        event = await self._sub.queue.get()
        if event is None:
            await self.aclose()
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        self._fanout.remove(self._sub)


class InMemoryEventBus:
    def __init__(self) -> None:
        self._fanout = _FanOut()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, event: SyncEvent) -> None:
        self._fanout.deliver(event, event.seller_id)

    def subscribe(self, seller_id: str) -> EventStream:
        return self._fanout.stream(seller_id)

    @property
    def subscriber_count(self) -> int:
        return self._fanout.count


class RedisEventBus:
    """Redis pub/sub: channel ``{namespace}:events:{seller_id}``, one listener per process."""

    def __init__(self, redis_url: str, namespace: str) -> None:
        self._url = redis_url
        self._prefix = f"{namespace}:events:"
        self._fanout = _FanOut()
        self._listener: asyncio.Task[None] | None = None
        # redis.asyncio clients belong to the loop that made them; publishers may live on
        # several loops (gateway + embedded worker threads).
        self._publishers: dict[asyncio.AbstractEventLoop, Any] = {}
        self._publishers_lock = threading.Lock()
        self._outage = _PublishOutage()
        self.connected = asyncio.Event()

    async def start(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="redis-event-listener")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        with self._publishers_lock:
            publishers = list(self._publishers.items())
            self._publishers.clear()
        current = asyncio.get_running_loop()
        for loop, client in publishers:
            if loop is current:
                await client.aclose()

    def _publisher(self) -> Any:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        loop = asyncio.get_running_loop()
        with self._publishers_lock:
            client = self._publishers.get(loop)
            if client is None:
                client = aioredis.Redis.from_url(
                    self._url,
                    socket_timeout=PUBLISH_TIMEOUT_SECONDS,
                    socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS,
                    # One immediate retry: enough for a pooled connection that a Redis restart
                    # closed; redis-py's default (10 with back-off) would hold a run for seconds.
                    retry=Retry(NoBackoff(), 1),
                )
                self._publishers[loop] = client
            return client

    async def publish(self, event: SyncEvent) -> None:
        """Best-effort: an event Redis cannot take is dropped, never raised (see module doc)."""
        from redis.exceptions import RedisError

        if self._outage.paused():
            self._outage.dropped(event.seller_id)
            return
        try:
            client = self._publisher()
            missed = self._outage.missed()
            for seller_id in missed:
                await client.publish(self._prefix + seller_id, _resync_marker(seller_id).to_json())
            await client.publish(self._prefix + event.seller_id, event.to_json())
        except (RedisError, OSError) as exc:
            self._outage.failed(event.seller_id, exc)
            return
        if missed:
            self._outage.ended()

    def subscribe(self, seller_id: str) -> EventStream:
        return self._fanout.stream(seller_id)

    @property
    def subscriber_count(self) -> int:
        return self._fanout.count

    async def _listen(self) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        delay = REDIS_RECONNECT_MIN_SECONDS
        had_connection = False
        lost_at: float | None = None
        while True:
            client = aioredis.Redis.from_url(
                self._url, socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS, socket_keepalive=True
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self._prefix + "*")
                self.connected.set()
                if had_connection:
                    # We may have missed events while Redis was away: tell pages to refresh.
                    self._fanout.deliver(_resync_marker())
                if lost_at is not None:
                    logger.info(
                        "event bus: Redis is back after %.1fs; subscribers told to refresh",
                        time.monotonic() - lost_at,
                    )
                    lost_at = None
                had_connection = True
                delay = REDIS_RECONNECT_MIN_SECONDS
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    try:
                        event = SyncEvent.from_json(message["data"])
                    except (ValueError, TypeError, KeyError):
                        logger.warning("ignoring malformed event on %s", message.get("channel"))
                        continue
                    self._fanout.deliver(event, event.seller_id)
            except (RedisError, OSError) as exc:
                self.connected.clear()
                if lost_at is None:  # once per outage, not once per attempt
                    lost_at = time.monotonic()
                    logger.warning(
                        "event bus lost Redis (%s); reconnecting with back-off up to %.0fs",
                        exc,
                        REDIS_RECONNECT_MAX_SECONDS,
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, REDIS_RECONNECT_MAX_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()


def resync_event(seller_id: str) -> SyncEvent:
    """Tells a seller's pages to read the state again (events were missed or withdrawn)."""
    return SyncEvent(seller_id=seller_id, run_id=0, kind="*", scope="*", phase=RESYNC)


def _resync_marker(seller_id: str = "*") -> SyncEvent:
    return resync_event(seller_id)


class _PublishOutage:
    """What the publishers of a process know about Redis being away (thread-safe: publishers
    run on several loops): whether to try at all, whose events were dropped, and that the
    outage was reported once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None
        self._retry_at = 0.0
        self._sellers: set[str] = set()
        self._count = 0

    def paused(self) -> bool:
        with self._lock:
            return self._since is not None and time.monotonic() < self._retry_at

    def dropped(self, seller_id: str) -> None:
        with self._lock:
            self._sellers.add(seller_id)
            self._count += 1

    def failed(self, seller_id: str, exc: BaseException) -> None:
        with self._lock:
            first = self._since is None
            if first:
                self._since = time.monotonic()
            self._retry_at = time.monotonic() + PUBLISH_PAUSE_AFTER_FAILURE_SECONDS
            self._sellers.add(seller_id)
            self._count += 1
        if first:
            logger.warning(
                "event bus cannot publish to Redis (%s): sync events are dropped until it is "
                "back, then the sellers concerned are told to refresh",
                exc,
            )

    def missed(self) -> list[str]:
        """The sellers whose events were dropped since the last publish that worked."""
        with self._lock:
            return sorted(self._sellers) if self._since is not None else []

    def ended(self) -> None:
        """Publishing works again and the sellers concerned were told to refresh."""
        with self._lock:
            if self._since is None:
                return
            since, sellers, count = self._since, len(self._sellers), self._count
            self._since, self._sellers, self._count = None, set(), 0
        logger.info(
            "event bus publishes again after %.1fs (%d events dropped, %d sellers to refresh)",
            time.monotonic() - since,
            count,
            sellers,
        )


def build_event_bus(redis_url: str | None, namespace: str) -> EventBus:
    if redis_url:
        return RedisEventBus(redis_url, namespace)
    return InMemoryEventBus()
