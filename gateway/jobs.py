"""How services ask for background work without importing the workers.

``workers.queue.DramatiqJobQueue`` implements this over the configured Dramatiq broker; the
root (``gateway.app``/``gateway.cli``) wires it into :class:`gateway.services.Deps`.
"""

from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    async def enqueue_sync(self, run_id: int, *, delay_seconds: float | None = None) -> None:
        """Queue the sync run, to start at once or after ``delay_seconds`` (a run waiting for
        HaloPSA's rate limit, or for another execution's lease); raises ``BrokerUnavailable``
        when the broker cannot take it."""
        ...

    async def ping(self) -> bool:
        """True when the broker is reachable (readiness)."""
        ...
