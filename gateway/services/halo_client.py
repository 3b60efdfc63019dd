"""Glue between the core and the HaloPSA client: credentials from a stored connection, and
the rate limiter every HaloPSA call of this process shares.

The limiter is per HaloPSA instance (keyed by host) and, in scale-out mode, lives in Redis so
that every worker process draws from one budget of 300 requests per rolling 5 minutes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.halopsa import HaloClient, HaloCredentials
    from gateway.models import Connection
    from gateway.services import Deps


class SharedRateLimiter(Protocol):
    """``gateway.halopsa.RateLimiter`` that the process owns: it may hold Redis clients,
    closed with the Deps."""

    async def acquire(self, key: str, *, leave: int = 0) -> float:
        """Wait until a request may be sent (leaving ``leave`` slots of the window to
        others); return the seconds waited."""
        ...

    async def aclose(self) -> None:
        """Close the clients opened on the running event loop."""
        ...


def build_rate_limiter(settings: Settings) -> SharedRateLimiter:
    """The rate limiter every HaloPSA call of this process shares (built with the Deps)."""
    from gateway.halopsa import InMemoryRateLimiter

    if settings.redis_url:
        from gateway.ratelimit_redis import RedisRateLimiter

        return RedisRateLimiter.from_url(
            settings.redis_url,
            limit=settings.halo_rate_limit_requests,
            window_seconds=settings.halo_rate_limit_window_seconds,
            prefix=f"{settings.redis_namespace}:halo-rate",
        )
    return InMemoryRateLimiter(
        settings.halo_rate_limit_requests, settings.halo_rate_limit_window_seconds
    )


def credentials_for(deps: Deps, connection: Connection) -> HaloCredentials:
    """Decrypt a stored connection into client credentials (kept in memory only)."""
    return _credentials(connection, deps.secret_box.decrypt(connection.client_secret_encrypted))


def credentials_from_values(values: Any) -> HaloCredentials:
    """Credentials from a not-yet-saved form (``client_secret`` already resolved)."""
    return _credentials(values, values.client_secret)


def _credentials(values: Any, client_secret: str) -> HaloCredentials:
    """Anything with a connection's fields (a saved row, a form), and its secret in clear."""
    from gateway.halopsa import HaloCredentials

    return HaloCredentials(
        client_id=values.client_id,
        client_secret=client_secret,
        resource_server=values.resource_server,
        authorization_server=values.authorization_server,
        tenant=values.tenant,
    )


def open_client(
    deps: Deps, credentials: HaloCredentials, *, leave_for_others: int = 0
) -> HaloClient:
    """A HaloPSA client with this process's limiter, timeouts and retry budget.

    ``leave_for_others``: slots of the rate window it leaves to the other clients (a
    background reader that gives way to the pushes)."""
    from gateway.halopsa import HaloClient

    settings = deps.settings
    return HaloClient(
        credentials,
        rate_limiter=deps.halo_rate_limiter,
        timeout=settings.halo_timeout_seconds,
        max_retries=settings.halo_max_retries,
        transport=deps.halo_transport,
        leave_for_others=leave_for_others,
    )
