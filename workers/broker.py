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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

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


def build_broker(settings: Settings) -> dramatiq.Broker:
    """Redis (scale-out) or Stub (embedded) broker with the AsyncIO middleware; no actors yet."""
    broker: dramatiq.Broker
    if settings.redis_url:
        redis_broker = RedisBroker(
            url=settings.redis_url,
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


def start_embedded_worker(broker: dramatiq.Broker, threads: int) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=WORKER_TIMEOUT_MS)
    worker.start()
    return worker
