"""Thin actors: take ids and call the services (``execute_run``, ``webhooks.deliver``). Safe to
run twice (a redelivered sync resumes; a delivery is sent until one attempt succeeds).

Each actor is made by a factory that closes over the process's :class:`WorkerRuntime`, so
no module-level state decides which database or event bus an actor uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from gateway.db import bound
from gateway.services import webhooks
from gateway.services.sync import execute_run

if TYPE_CHECKING:
    from workers.broker import WorkerRuntime

# A long subscriptions sync at the real HaloPSA rate limit (300 calls / 5 min) takes minutes;
# two hours is the point where something is wrong rather than slow.
SYNC_TIME_LIMIT_MS = 2 * 60 * 60 * 1000
# Unexpected errors (DB hiccup) are retried a few times; HaloPSA back-off lives in the client
# and domain failures end the run FAILED without raising.
SYNC_MAX_RETRIES = 3
SYNC_MIN_BACKOFF_MS = 1_000

# A delivery turn is at most BACKLOG_TURN_SECONDS plus one attempt's timeout; past this
# something hangs that the attempt's own timeout did not stop.
WEBHOOK_TIME_LIMIT_MS = 5 * 60 * 1000
# Retrying a receiver's failure is the service's job (back-off over 24 h, in the database);
# Dramatiq retries only our own faults (database briefly away).
WEBHOOK_MAX_RETRIES = 3
# Sync messages go first when both wait for a thread (Dramatiq: lower runs first).
WEBHOOK_PRIORITY = 10


def make_run_sync(runtime: WorkerRuntime) -> Callable[..., Awaitable[None]]:
    async def run_sync(run_id: int, resend: int = 0) -> None:
        # ``resend``: which sending of the run's message this is (services/sync/requeue.py).
        with bound(runtime.database()):
            await execute_run(run_id, runtime.deps, resend=resend)

    return run_sync


class DeliverySlots:
    """At most ``size`` deliveries at once in this process (all on the worker's one event loop,
    so a plain counter is enough). The worker has this many threads more than it has for
    syncs, so deliveries, however slow, never hold a thread a sync needs."""

    def __init__(self, size: int) -> None:
        self.free = size
        # A message was dropped while every slot was busy: the slot that finds no due row
        # left looks once more, in case that row was written while it was looking.
        self.missed = False

    def take(self) -> bool:
        if self.free <= 0:
            self.missed = True
            return False
        self.free -= 1
        return True

    def give_back(self) -> None:
        self.free += 1


def make_deliver_webhook(runtime: WorkerRuntime) -> Callable[[int | None], Awaitable[None]]:
    slots = DeliverySlots(runtime.settings.webhook_delivery_concurrency)

    async def deliver_webhook(delivery_id: int | None) -> None:
        # All slots busy: drop the message. The row stays due in the database and a busy
        # slot takes it when it frees up, so a backlog costs no memory and no broker churn.
        if not slots.take():
            return
        try:
            with bound(runtime.database()):
                drained = await webhooks.deliver(runtime.deps, delivery_id)
                while drained and slots.missed:
                    slots.missed = False
                    drained = await webhooks.deliver(runtime.deps, None)
        finally:
            slots.give_back()

    return deliver_webhook


ActorFactory = Callable[["WorkerRuntime"], Callable[..., Awaitable[None]]]

DEFINITIONS: dict[str, tuple[ActorFactory, dict[str, Any]]] = {
    "run_sync": (
        make_run_sync,
        {
            "queue_name": "sync",
            "max_retries": SYNC_MAX_RETRIES,
            "min_backoff": SYNC_MIN_BACKOFF_MS,
            "time_limit": SYNC_TIME_LIMIT_MS,
        },
    ),
    "deliver_webhook": (
        make_deliver_webhook,
        {
            "queue_name": "webhooks",
            "priority": WEBHOOK_PRIORITY,
            "max_retries": WEBHOOK_MAX_RETRIES,
            "min_backoff": SYNC_MIN_BACKOFF_MS,
            "time_limit": WEBHOOK_TIME_LIMIT_MS,
        },
    ),
}


def worker_threads(sync_threads: int, webhook_concurrency: int) -> int:
    """Threads of a worker process: its syncs' plus one per delivery slot (see DeliverySlots)."""
    return sync_threads + webhook_concurrency
