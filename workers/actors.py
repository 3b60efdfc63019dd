"""Thin actors: take ids, load, call the engine. Safe to run twice (redelivery resumes).

Each actor is made by a factory that closes over the process's :class:`WorkerRuntime`, so
no module-level state decides which database or event bus an actor uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from gateway.db import bound
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


def make_run_sync(runtime: WorkerRuntime) -> Callable[[int], Awaitable[None]]:
    async def run_sync(run_id: int) -> None:
        with bound(runtime.database()):
            await execute_run(run_id, runtime.deps)

    return run_sync


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
}
