"""Glue between the core and the HaloPSA client: credentials from a stored connection, and
the rate limiter every HaloPSA call of this process shares.

The limiter is per HaloPSA instance (keyed by host) and, in scale-out mode, lives in Redis so
that every worker process draws from one budget of 300 requests per rolling 5 minutes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.models import Connection
from gateway.services import Deps
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.halopsa import HaloClient, HaloCredentials


def rate_limiter(deps: Deps) -> Any:
    """The process's shared HaloPSA rate limiter, made on first use."""
    if deps.halo_rate_limiter is None:
        deps.halo_rate_limiter = build_rate_limiter(deps.settings)
    return deps.halo_rate_limiter


def build_rate_limiter(settings: Settings) -> Any:
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
    from gateway.halopsa import HaloCredentials

    return HaloCredentials(
        client_id=connection.client_id,
        client_secret=deps.secret_box.decrypt(connection.client_secret_encrypted),
        resource_server=connection.resource_server,
        authorization_server=connection.authorization_server,
        tenant=connection.tenant,
    )


def open_client(deps: Deps, credentials: HaloCredentials) -> HaloClient:
    """A HaloPSA client with this process's limiter, timeouts and retry budget."""
    from gateway.halopsa import HaloClient

    settings = deps.settings
    return HaloClient(
        credentials,
        rate_limiter=rate_limiter(deps),
        timeout=settings.halo_timeout_seconds,
        max_retries=settings.halo_max_retries,
        transport=deps.halo_transport,
    )


def credentials_from_values(values: Any) -> HaloCredentials:
    """Credentials from a not-yet-saved form (``client_secret`` already resolved)."""
    from gateway.halopsa import HaloCredentials

    return HaloCredentials(
        client_id=values.client_id,
        client_secret=values.client_secret,
        resource_server=values.resource_server,
        authorization_server=values.authorization_server,
        tenant=values.tenant,
    )
