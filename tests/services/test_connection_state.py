"""The gate in front of mapping and syncing: only a verified HaloPSA connection opens it."""

from __future__ import annotations

import pytest

from gateway.models import ConnectionStatus, SyncRun
from tests.conftest import assert_error_code
from tests.support import data

MAP = """mutation ($o: ID!, $p: ID!) { mapOrganization(organizationId: $o,
psaOrganizationId: $p) { id } }"""


async def _scene(migrated_db, status: ConnectionStatus | None) -> dict[str, str]:
    if status is not None:
        await data.connection(
            migrated_db,
            "seller-a",
            resource_server="https://halo.example/api",
            authorization_server="https://halo.example/auth",
            client_id="c",
            client_secret="secret-0000",
            status=status,
        )
    org = await data.organization("seller-a", "org-1", "Acme")
    psa = await data.psa_organization("seller-a", 101, "Acme Ltd")
    return {"o": org.external_id, "p": str(psa.halo_id)}


@pytest.mark.parametrize(
    "status", [None, ConnectionStatus.NOT_CONFIGURED, ConnectionStatus.INVALID]
)
async def test_without_a_verified_connection_nothing_is_mapped_or_synced(
    migrated_db, gateway, status: ConnectionStatus | None
) -> None:
    ids = await _scene(migrated_db, status)
    assert_error_code(await gateway.gql(MAP, ids), "INTEGRATION_NOT_CONFIGURED")
    for mutation in ("syncOrganizations", "syncSubscriptions"):
        result = await gateway.gql(f"mutation {{ {mutation} {{ id }} }}")
        assert_error_code(result, "INTEGRATION_NOT_CONFIGURED")
    assert await SyncRun.all().count() == 0


async def test_a_verified_connection_lets_the_seller_map(migrated_db, gateway) -> None:
    ids = await _scene(migrated_db, ConnectionStatus.VERIFIED)
    result = await gateway.gql(MAP, ids)
    assert "errors" not in result, result
