"""The Dramatiq broker, chosen from settings, and the worker runtime it carries.

* ``REDIS_URL`` set → ``RedisBroker`` (scale-out: ``halo-gateway worker`` processes consume);
* unset → ``StubBroker`` plus an in-process :class:`dramatiq.Worker` (embedded mode).

Actors are ``async def`` (Dramatiq's ``AsyncIO`` middleware runs them on one event-loop
thread per process). Tortoise's connections belong to the loop that opened them, so
:class:`DatabaseOnWorkerLoop` opens the database *on that loop* when the worker boots —
also in embedded mode, where the gateway's own loop has a separate context.

Actors are declared against the broker built here (``register_actors``), never at import
time, so importing this package never creates a default broker behind our back
(pitfalls.md #6: ``get_broker()`` silently prefers RabbitMQ when pika is installed).

Every entry point wires the same three steps, in this order (the queue needs the broker, the
actors need the services' Deps, which need the queue)::

    broker = build_broker(settings)
    deps = build_deps(settings, queue=DramatiqJobQueue(broker))
    register_actors(broker, deps)

Redis may restart under a worker. Dramatiq itself re-polls (its consumer threads log
CRITICAL "Consumer encountered a connection error" and restart every 3 s; the process log
makes that one WARNING per outage, ``gateway.logging.BrokerOutageFilter``) and repeats acks
until Redis answers; the one gap is the ``Retries`` middleware, whose re-enqueue of a failed
message raised during the outage (CRITICAL "Unexpected failure in after_process_message of
Retries") and the retry was lost. :class:`RetriesThatWaitForRedis` closes it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, Retries, default_middleware
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.db import Database, close_db, open_db
from gateway.services import Deps
from gateway.settings import Settings
from workers.watchdog import Watchdog

logger = logging.getLogger(__name__)

# Redis socket timeouts for the broker: a dead Redis must fail an enqueue in seconds
# (BROKER_UNAVAILABLE), not hang a request.
REDIS_SOCKET_TIMEOUT_SECONDS = 5.0
# How long an idle worker waits for a message before polling again (pitfalls.md #6).
WORKER_TIMEOUT_MS = 100
# Back-off of a re-enqueue (Retries) while Redis is away: first try again soon (a restart
# takes seconds), then no more than every 5 s (dramatiq's own ack retry interval).
REENQUEUE_RETRY_MIN_SECONDS = 0.5
REENQUEUE_RETRY_MAX_SECONDS = 5.0


@dataclass
class WorkerRuntime:
    """What actors need in this process: settings, dependencies and the worker's DB context."""

    settings: Settings
    deps: Deps
    db: Database | None = None
    actors: dict[str, dramatiq.Actor[..., Any]] = field(default_factory=dict)

    def database(self) -> Database:
        if self.db is None:
            raise RuntimeError("the worker's database is not open (worker not booted)")
        return self.db


class DatabaseOnWorkerLoop(dramatiq.Middleware):
    """Opens the worker's Tortoise context on the AsyncIO middleware's loop; on exit closes it
    and the Redis clients the services opened on that loop (``Deps.aclose``)."""

    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:  # pragma: no cover - AsyncIO is always added first
            raise RuntimeError("AsyncIO middleware must come before DatabaseOnWorkerLoop")
        self.runtime.db = loop_thread.run_coroutine(open_db(self.runtime.settings))

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            return
        loop_thread.run_coroutine(self.runtime.deps.aclose())
        if self.runtime.db is not None:
            loop_thread.run_coroutine(close_db(self.runtime.db))
            self.runtime.db = None


class RetriesThatWaitForRedis(Retries):
    """Dramatiq's ``Retries``, whose re-enqueue of a failed message waits for Redis.

    The message is acked only after this returns (``Worker.post_process_message``), so
    waiting here loses nothing: a worker stopped meanwhile leaves the message unacked and
    Redis delivers it again — as with dramatiq's own ack, retried until Redis answers.
    """

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        # Retries.after_process_message has no annotations; it only calls ``get_actor`` and
        # ``enqueue`` on the broker it is given.
        super().after_process_message(  # type: ignore[no-untyped-call]
            _EnqueueUntilRedisAnswers(broker),
            message,
            result=result,
            exception=exception,
        )


class _EnqueueUntilRedisAnswers:
    """The broker, with ``enqueue`` repeated with back-off while Redis cannot be reached."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self._broker = broker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)

    def enqueue(self, message: dramatiq.Message[Any], *, delay: int | None = None) -> Any:
        wait = REENQUEUE_RETRY_MIN_SECONDS
        warned = False
        while True:
            try:
                return self._broker.enqueue(message, delay=delay)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if not warned:
                    warned = True
                    logger.warning(
                        "cannot re-enqueue message %s for its retry (%s); "
                        "trying again until Redis is back",
                        message.message_id,
                        exc,
                    )
                time.sleep(wait)
                wait = min(wait * 2, REENQUEUE_RETRY_MAX_SECONDS)


def build_broker(settings: Settings) -> dramatiq.Broker:
    """Redis (scale-out) or Stub (embedded) broker with the AsyncIO middleware; no actors yet."""
    broker: dramatiq.Broker
    if settings.redis_url:
        redis_broker = RedisBroker(
            url=settings.redis_url,
            middleware=[
                RetriesThatWaitForRedis() if factory is Retries else factory()
                for factory in default_middleware
            ],
            namespace=f"{settings.redis_namespace}-dramatiq",
            heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
            maintenance_chance=settings.broker_maintenance_chance,
        )
        pool = redis_broker.client.connection_pool
        pool.connection_kwargs["socket_timeout"] = REDIS_SOCKET_TIMEOUT_SECONDS
        pool.connection_kwargs["socket_connect_timeout"] = REDIS_SOCKET_TIMEOUT_SECONDS
        broker = redis_broker
    else:
        broker = StubBroker()
    broker.add_middleware(AsyncIO())
    dramatiq.set_broker(broker)
    return broker


def register_actors(broker: dramatiq.Broker, deps: Deps) -> WorkerRuntime:
    """Declare the actors on ``broker``, closing over a runtime that carries ``deps``."""
    from workers.actors import DEFINITIONS

    runtime = WorkerRuntime(settings=deps.settings, deps=deps)
    broker.add_middleware(DatabaseOnWorkerLoop(runtime))
    # Periodic upkeep (overdue syncs, lost deliveries); stops before the database closes.
    broker.add_middleware(Watchdog(runtime), before=DatabaseOnWorkerLoop)
    runtime.actors = {
        name: dramatiq.actor(actor_name=name, broker=broker, **options)(factory(runtime))
        for name, (factory, options) in DEFINITIONS.items()
    }
    return runtime


def build_worker(broker: dramatiq.Broker, threads: int, *, prefetch: int) -> dramatiq.Worker:
    """A worker process's Dramatiq worker; ``prefetch``: messages it takes from a queue ahead."""
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=WORKER_TIMEOUT_MS)
    # A sync run lasts minutes: a busy worker must not hold a message that an idle one could
    # run now (another seller's run waited behind a long one). Dramatiq prefetches twice its
    # threads by default, in-progress messages included; here no more than its sync threads.
    worker.queue_prefetch = prefetch
    return worker


def start_embedded_worker(broker: dramatiq.Broker, threads: int) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=WORKER_TIMEOUT_MS)
    worker.start()
    return worker


def stop_embedded_worker(worker: dramatiq.Worker) -> None:
    """Stop the in-process worker in one idle poll (0.1 s), not two.

    Dramatiq stops its consumers only after its workers, so that a broker's heartbeats go
    on while the last messages finish. The embedded broker is in memory: no heartbeats, and
    nothing it holds outlives the process, so both are told to stop at once."""
    for consumer in worker.consumers.values():
        consumer.stop()
    worker.stop()
