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

**Resumable** (issue #15): every event of a seller carries a ``sequence`` numbered in one place
(the Redis script that stores and publishes it; the in-memory bus in embedded mode) and the
``epoch`` of that numbering. The last ``EVENT_REPLAY_MAX_EVENTS`` events of each seller are
kept (a Redis Stream per seller and epoch, for ``EVENT_REPLAY_SECONDS`` after its last event;
a deque in memory), so :meth:`EventBus.replay` gives a reconnecting page exactly what it
missed, or says the gap is gone. The epoch is the Redis server's ``run_id``: it changes at
every Redis restart (a snapshot restored after a crash may be older than what pages saw, and
reusing its numbers would replay the wrong events); in memory it is new with each process.

Inside one process, :attr:`SyncEvent.position` orders what a subscriber saw: (the listener's
connection round, sequence). A fresh read tagged with :meth:`EventBus.position` is newer than
every event at or below that position (schema/live.py relies on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from gateway.redis_clients import LoopClients

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
# What a reconnecting page can get back (bounds of the replay buffer, per seller).
DEFAULT_REPLAY_MAX_EVENTS = 1000
DEFAULT_REPLAY_SECONDS = 3600

# (listener round, sequence): the order of events and reads inside one process.
Position = tuple[int, int]


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
    # Numbered by the bus when published (0: not numbered, e.g. a local RESYNC marker).
    sequence: int = 0
    epoch: str = ""
    # Set by the bus of the receiving process; never serialised.
    position: Position = (0, 0)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "seller_id": self.seller_id,
            "run_id": self.run_id,
            "kind": self.kind,
            "scope": self.scope,
            "phase": self.phase,
            "organization_id": self.organization_id,
            "organization_name": self.organization_name,
            "processed": self.processed,
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
            "message": self.message,
            "at": self.at.isoformat(),
            "issue_id": self.issue_id,
            "code": self.code,
            "params": self.params,
            "sequence": self.sequence,
            "epoch": self.epoch,
        }

    @classmethod
    def from_json(cls, raw: str | bytes) -> SyncEvent:
        data = json.loads(raw)
        data["at"] = datetime.fromisoformat(data["at"])
        data.pop("position", None)
        return cls(**data)


@dataclass(slots=True)
class Replay:
    """What :meth:`EventBus.replay` found: the events after the page's sequence (oldest
    first), or ``events is None`` when they cannot all be given (another epoch, trimmed).
    ``sequence``/``epoch``/``position``: where the seller's events stand now."""

    events: list[SyncEvent] | None
    epoch: str
    sequence: int
    position: Position


RESYNC = "RESYNC"
ISSUE = "ISSUE"
# Bus-level, to a ``catch_up`` subscriber only: events were dropped from its queue.
GAP = "GAP"


class EventBus(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, event: SyncEvent) -> None: ...
    def subscribe(self, seller_id: str, catch_up: bool = False) -> EventStream:
        """The seller's events from now on. A subscriber that falls more than
        ``SUBSCRIBER_QUEUE_SIZE`` events behind is ended, or with ``catch_up`` given a
        ``GAP`` marker in place of what it missed."""
        ...

    def position(self, seller_id: str) -> Position: ...
    def epoch(self) -> str: ...
    async def replay(self, seller_id: str, epoch: str | None, after: int) -> Replay: ...
    @property
    def subscriber_count(self) -> int: ...


class _Subscriber:
    __slots__ = ("catch_up", "dropped", "loop", "queue", "seller_id")

    def __init__(self, seller_id: str, catch_up: bool = False) -> None:
        self.seller_id = seller_id
        self.catch_up = catch_up
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
            if self.catch_up:
                # What waits is dropped for one GAP marker: the consumer replays from the
                # last event it handled (the bus keeps them), or says RESYNC.
                while not self.queue.empty():
                    self.queue.get_nowait()
                self.queue.put_nowait(gap_marker(self.seller_id))
                return
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
    """Subscribers of this process, by seller; thread-safe delivery to each one's loop.

    It also knows where each seller's events stand in this process (:meth:`position`): the
    last sequence delivered, and the round (bumped when the listener reconnects, which
    may have skipped events)."""

    def __init__(self) -> None:
        self._by_seller: dict[str, set[_Subscriber]] = {}
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self.round = 0

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

    def position(self, seller_id: str) -> Position:
        with self._lock:
            return (self.round, self._seen.get(seller_id, 0))

    def new_round(self) -> None:
        with self._lock:
            self.round += 1

    def deliver(self, event: SyncEvent, seller_id: str | None = None) -> None:
        """Deliver to one seller's subscribers, or to all when ``seller_id`` is None."""
        with self._lock:
            if seller_id is None:
                targets = [s for subs in self._by_seller.values() for s in subs]
                event.position = (self.round, 0)
            else:
                seen = self._seen.get(seller_id, 0)
                if event.sequence > seen:
                    self._seen[seller_id] = seen = event.sequence
                event.position = (self.round, seen)
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

    def stream(self, seller_id: str, catch_up: bool = False) -> EventStream:
        return EventStream(self, _Subscriber(seller_id, catch_up))


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


class _ProcessSide:
    """What both buses do in this process: hand events to its subscribers, say where a
    seller's events stand and in which epoch."""

    def __init__(self, epoch: str) -> None:
        self._fanout = _FanOut()
        self._epoch = epoch

    def subscribe(self, seller_id: str, catch_up: bool = False) -> EventStream:
        return self._fanout.stream(seller_id, catch_up)

    def position(self, seller_id: str) -> Position:
        return self._fanout.position(seller_id)

    def epoch(self) -> str:
        return self._epoch

    @property
    def subscriber_count(self) -> int:
        return self._fanout.count


def _complete(missed: list[SyncEvent], after: int, number: int) -> bool:
    """Whether ``missed`` (kept events after ``after``, oldest first) is all there was up to
    ``number``: its first is ``after + 1`` (none, when nothing came after)."""
    return (missed[0].sequence if missed else number + 1) == after + 1


class InMemoryEventBus(_ProcessSide):
    """Embedded mode: events numbered here, the last ``replay_max_events`` of each seller
    kept for pages that reconnect; the epoch is this process's."""

    def __init__(self, replay_max_events: int = DEFAULT_REPLAY_MAX_EVENTS) -> None:
        super().__init__(uuid.uuid4().hex[:16])
        self._replay_max = replay_max_events
        self._kept: dict[str, deque[SyncEvent]] = {}
        self._numbers: dict[str, int] = {}
        # Numbering and handing over in one step: publishers run on several threads, and a
        # subscriber must see sequence 6 after 5.
        self._lock = threading.Lock()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, event: SyncEvent) -> None:
        with self._lock:
            number = self._numbers.get(event.seller_id, 0) + 1
            self._numbers[event.seller_id] = number
            event.sequence, event.epoch = number, self._epoch
            kept = self._kept.get(event.seller_id)
            if kept is None:
                kept = self._kept[event.seller_id] = deque(maxlen=self._replay_max)
            kept.append(event)
            self._fanout.deliver(event, event.seller_id)

    async def replay(self, seller_id: str, epoch: str | None, after: int) -> Replay:
        with self._lock:
            number = self._numbers.get(seller_id, 0)
            kept = list(self._kept.get(seller_id, ()))
        position = self._fanout.position(seller_id)
        now = Replay(None, self._epoch, number, position)
        if epoch != self._epoch or after > number or after < 0:
            return now
        missed = [e for e in kept if e.sequence > after]
        if not _complete(missed, after, number):
            return now  # trimmed: the gap is gone
        now.events = [_copy_at(e, position[0]) for e in missed]
        return now


def _copy_at(event: SyncEvent, round_: int) -> SyncEvent:
    """A replayed event: its own object (the kept one may be read by other threads)."""
    copy = SyncEvent.from_json(event.to_json())
    copy.position = (round_, copy.sequence)
    return copy


# Numbers, keeps and publishes an event in one step (so the order of sequences is the order
# of delivery). The epoch is the server's run_id: new at every Redis restart.
_EPOCH_LUA = """
local epoch = string.sub(string.match(redis.call('INFO', 'server'), 'run_id:(%w+)'), 1, 16)
"""
_PUBLISH_LUA = (
    _EPOCH_LUA
    + """
local prefix, seller, body = ARGV[1], ARGV[2], ARGV[3]
local numbers = prefix .. 'seq:' .. epoch
local seq = redis.call('HINCRBY', numbers, seller, 1)
redis.call('EXPIRE', numbers, ARGV[6])
local full = '{"sequence":' .. seq .. ',"epoch":"' .. epoch .. '",' .. string.sub(body, 2)
local stream = prefix .. epoch .. ':' .. seller
redis.call('XADD', stream, 'MAXLEN', ARGV[4], '0-' .. seq, 'e', full)
redis.call('EXPIRE', stream, ARGV[5])
redis.call('PUBLISH', prefix .. seller, full)
return seq
"""
)
# The events of a seller after a sequence, if the epoch is the page's: {epoch, number, e...}.
_REPLAY_LUA = (
    _EPOCH_LUA
    + """
local prefix, seller, after = ARGV[1], ARGV[2], tonumber(ARGV[3])
local number = tonumber(redis.call('HGET', prefix .. 'seq:' .. epoch, seller) or '0')
local out = {epoch, number}
if epoch ~= ARGV[5] or after > number or after < 0 then return out end
local entries = redis.call(
    'XRANGE', prefix .. epoch .. ':' .. seller, '(0-' .. after, '+', 'COUNT', ARGV[4])
for _, entry in ipairs(entries) do out[#out + 1] = entry[2][2] end
return out
"""
)
# The numbering of an epoch outlives its streams: a page that comes back after its stream
# expired must find "gap gone", never numbers started again.
_NUMBERS_TTL_SECONDS = 30 * 86400


class RedisEventBus(_ProcessSide):
    """Redis pub/sub: channel ``{namespace}:events:{seller_id}``, one listener per process;
    replay from a Stream per seller and epoch, ``{namespace}:events:{epoch}:{seller_id}``."""

    def __init__(
        self,
        redis_url: str,
        namespace: str,
        replay_max_events: int = DEFAULT_REPLAY_MAX_EVENTS,
        replay_seconds: int = DEFAULT_REPLAY_SECONDS,
    ) -> None:
        super().__init__("")  # the listener learns it from Redis
        self._url = redis_url
        self._prefix = f"{namespace}:events:"
        self._replay_max = replay_max_events
        self._replay_seconds = replay_seconds
        self._listener: asyncio.Task[None] | None = None
        # redis.asyncio clients belong to the loop that made them; publishers may live on
        # several loops (gateway + embedded worker threads). One immediate retry: enough for
        # a pooled connection that a Redis restart closed; redis-py's default (10 with
        # back-off) would hold a run for seconds.
        self._publishers = LoopClients(
            redis_url, name=f"{namespace}:events", timeout=PUBLISH_TIMEOUT_SECONDS
        )
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
        await self._publishers.aclose()

    def _publisher(self) -> Any:
        return self._publishers.get()

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
                await self._store_and_publish(client, _resync_marker(seller_id))
            await self._store_and_publish(client, event)
        except (RedisError, OSError) as exc:
            self._outage.failed(event.seller_id, exc)
            return
        if missed:
            self._outage.ended()

    async def _store_and_publish(self, client: Any, event: SyncEvent) -> None:
        body = event.to_dict()
        del body["sequence"], body["epoch"]
        await client.eval(
            _PUBLISH_LUA,
            0,
            self._prefix,
            event.seller_id,
            json.dumps(body),
            self._replay_max,
            self._replay_seconds,
            _NUMBERS_TTL_SECONDS,
        )

    async def replay(self, seller_id: str, epoch: str | None, after: int) -> Replay:
        """Asks Redis (raises RedisError/OSError when it is away: the caller says RESYNC)."""
        reply = await self._publisher().eval(
            _REPLAY_LUA, 0, self._prefix, seller_id, after, self._replay_max, epoch or ""
        )
        now_epoch, number = _text(reply[0]), int(reply[1])
        position = self._fanout.position(seller_id)
        found = Replay(None, now_epoch, number, position)
        if now_epoch != epoch or now_epoch != self._epoch or after > number or after < 0:
            return found
        missed = [SyncEvent.from_json(raw) for raw in reply[2:]]
        if not _complete(missed, after, number):
            return found  # trimmed or expired: the gap is gone
        for event in missed:
            event.position = (position[0], event.sequence)
        found.events = missed
        return found

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
                self._epoch = _text((await client.info("server"))["run_id"])[:16]
                self.connected.set()
                if had_connection:
                    # We may have missed events while Redis was away: tell pages to refresh.
                    self._fanout.new_round()
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


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def resync_event(seller_id: str) -> SyncEvent:
    """Tells a seller's pages to read the state again (events were missed or withdrawn)."""
    return SyncEvent(seller_id=seller_id, run_id=0, kind="*", scope="*", phase=RESYNC)


def gap_marker(seller_id: str) -> SyncEvent:
    return SyncEvent(seller_id=seller_id, run_id=0, kind="*", scope="*", phase=GAP)


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


def build_event_bus(
    redis_url: str | None,
    namespace: str,
    replay_max_events: int = DEFAULT_REPLAY_MAX_EVENTS,
    replay_seconds: int = DEFAULT_REPLAY_SECONDS,
) -> EventBus:
    if redis_url:
        return RedisEventBus(redis_url, namespace, replay_max_events, replay_seconds)
    return InMemoryEventBus(replay_max_events)
