"""Use cases of halo-gateway: plain async functions ``(principal, args, deps) -> result``.

The GraphQL edge (``schema``) and the workers call these; they raise
:mod:`gateway.errors` exceptions and never know about GraphQL or Dramatiq.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.crypto import SecretBox
from gateway.events import EventBus
from gateway.jobs import JobQueue
from gateway.settings import Settings


@dataclass
class Deps:
    """What the services need from the outside world, built once by the root."""

    settings: Settings
    bus: EventBus
    queue: JobQueue
    secret_box: SecretBox
    # Optional httpx transport for HaloPSA calls (an in-process simulator in tests/bench).
    halo_transport: Any = None
    # Shared rate limiter for HaloPSA requests (in memory or Redis): built on first use by
    # services.halo_client.rate_limiter(), so processes that never call HaloPSA never make one.
    halo_rate_limiter: Any = None
    # Per-seller throttle of the mutations that reach HaloPSA (services.throttle).
    throttle: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
