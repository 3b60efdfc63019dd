"""Use cases of halo-gateway: plain async functions ``(principal, args, deps) -> result``.

The GraphQL edge (``schema``) and the workers call these; they raise
:mod:`gateway.errors` exceptions and never know about GraphQL or Dramatiq.

:func:`build_deps` is the one place their outside world is made, by each entry point (the
app, the worker command, the scheduler) with the job queue it wired; whoever built a
:class:`Deps` closes it (:meth:`Deps.aclose`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.crypto import SecretBox, secret_box_from_settings
from gateway.events import EventBus, build_event_bus
from gateway.jobs import JobQueue
from gateway.services.halo_client import SharedRateLimiter, build_rate_limiter
from gateway.services.throttle import Throttle, build_throttle
from gateway.settings import Settings

if TYPE_CHECKING:
    import httpx


@dataclass
class Deps:
    """What the services need from the outside world, built once per process by the root."""

    settings: Settings
    bus: EventBus
    queue: JobQueue
    secret_box: SecretBox
    # The budget of HaloPSA requests every client of this process draws from (in memory, or
    # shared with every process through Redis).
    halo_rate_limiter: SharedRateLimiter
    # Per-seller throttle of the mutations that reach HaloPSA (services.throttle).
    throttle: Throttle
    # Optional httpx transport for HaloPSA calls (an in-process simulator in tests/bench).
    halo_transport: httpx.AsyncBaseTransport | None = None

    async def aclose(self) -> None:
        """Close the Redis clients the limiter and the throttle opened on the running loop.

        redis.asyncio clients belong to the loop that made them, so each loop that used these
        closes its own: the entry point that built the Deps on its loop, and the Dramatiq
        worker's loop when the worker shuts down (``workers.broker``). The event bus has a
        life of its own (``start``/``close``), run by the same entry points.
        """
        await self.halo_rate_limiter.aclose()
        await self.throttle.aclose()


def build_deps(
    settings: Settings,
    *,
    queue: JobQueue,
    halo_transport: httpx.AsyncBaseTransport | None = None,
) -> Deps:
    """The services' dependencies from settings, with the job queue the caller wired.

    Nothing here connects yet (Redis clients are made on first use, per event loop), so
    building Deps is cheap and cannot fail on a service that is down.
    """
    return Deps(
        settings=settings,
        bus=build_event_bus(
            settings.redis_url,
            settings.redis_namespace,
            settings.event_replay_max_events,
            settings.event_replay_seconds,
        ),
        queue=queue,
        secret_box=secret_box_from_settings(settings),
        halo_rate_limiter=build_rate_limiter(settings),
        throttle=build_throttle(settings.redis_url, settings.redis_namespace),
        halo_transport=halo_transport,
    )
