"""The gate in front of mapping and syncing: a verified HaloPSA connection."""

from __future__ import annotations

from gateway.errors import IntegrationNotConfigured
from gateway.models import Connection, ConnectionStatus


async def require_verified_connection(seller_id: str) -> Connection:
    connection = await Connection.get_or_none(seller_id=seller_id)
    if connection is None or connection.status is not ConnectionStatus.VERIFIED:
        raise IntegrationNotConfigured()
    return connection
