"""How services ask for background work without importing the workers.

``workers.queue.DramatiqJobQueue`` implements this over the configured Dramatiq broker; each
entry point (the app, the worker command, the scheduler) hands it to
:func:`gateway.services.build_deps`.
"""

from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    async def enqueue_sync(
        self, run_id: int, *, delay_seconds: float | None = None, resend: int = 0
    ) -> None:
        """Queue the sync run, to start at once or after ``delay_seconds`` (a run waiting for
        HaloPSA's rate limit, or for another execution's lease); raises ``BrokerUnavailable``
        when the broker cannot take it. ``resend``: which sending of the run's message this
        is (0 the first; n the n-th re-send of a queued run's lost message, or a message of
        the execution that n-th re-send started: ``services/sync/requeue.py``)."""
        ...

    async def enqueue_webhook(self, delivery_id: int | None, delay_seconds: float = 0) -> None:
        """Queue a webhook delivery attempt (None: the next one due) on the webhooks queue;
        raises ``BrokerUnavailable`` when the broker cannot take it."""
        ...

    async def ping(self) -> bool:
        """True when the broker is reachable (readiness)."""
        ...
