"""The watchdog: periodic upkeep in every worker process, apart from the scheduler it watches.

Every ``WATCHDOG_INTERVAL_SECONDS`` (5 minutes) on the worker's event loop:

* ``issues.check_overdue`` — a daily sync that did not run or has not succeeded for 26 h
  opens an issue. It runs here and not in the scheduler so that a dead scheduler is itself
  reported;
* ``webhooks.requeue_lost`` — deliveries whose message was lost are queued again;
* ``webhooks.purge_expired`` — the delivery log keeps 30 days.

Every worker process runs it; the checks are idempotent (conditional writes), so two of
them at once change nothing twice. The first round waits one interval after boot.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import TYPE_CHECKING

import dramatiq
from dramatiq.asyncio import get_event_loop_thread

from gateway.db import bound
from gateway.services import issues, webhooks

if TYPE_CHECKING:
    from workers.broker import WorkerRuntime

logger = logging.getLogger(__name__)


class Watchdog(dramatiq.Middleware):
    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime
        self._task: concurrent.futures.Future[None] | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:  # pragma: no cover - AsyncIO is always added first
            raise RuntimeError("AsyncIO middleware must come before Watchdog")
        self._task = asyncio.run_coroutine_threadsafe(self._every_interval(), loop_thread.loop)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Before the database closes (this middleware is added ahead of it).
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _every_interval(self) -> None:
        interval = self.runtime.settings.watchdog_interval_seconds
        while True:
            await asyncio.sleep(interval)
            await self.round()

    async def round(self) -> None:
        """One round of checks; each is independent, and a failing one is logged, not fatal."""
        deps = self.runtime.deps
        with bound(self.runtime.database()):
            for name, check in (
                ("overdue check", issues.check_overdue),
                ("lost deliveries", webhooks.requeue_lost),
                ("delivery log retention", webhooks.purge_expired),
            ):
                try:
                    await check(deps)
                except Exception:
                    logger.exception("watchdog: %s failed", name)
