"""From a stored connection to a working HaloPSA client: the secret decrypted in memory
only; and a form's values, tested before they are saved."""

from __future__ import annotations

from types import SimpleNamespace

from gateway.models import Connection
from gateway.services import build_deps
from gateway.services.halo_client import (
    credentials_for,
    credentials_from_values,
    open_client,
)
from tests.support import data


class _NoQueue:
    async def enqueue_sync(self, run_id: int) -> None:
        raise AssertionError("nothing is enqueued here")


async def test_a_stored_connection_opens_a_client_that_reaches_halopsa(
    migrated_db, halo_sim
) -> None:
    halo_sim.instance().add_client("Acme")
    stored = await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    deps = build_deps(migrated_db, queue=_NoQueue())
    try:
        connection = await Connection.get(id=stored.id)
        assert data.SIM_CLIENT_SECRET not in connection.client_secret_encrypted
        credentials = credentials_for(deps, connection)
        assert credentials.client_secret == data.SIM_CLIENT_SECRET
        async with open_client(deps, credentials) as client:
            names = [c.name async for c in client.iter_clients()]
            assert names == ["Acme"]
            assert client.stats.calls >= 1
    finally:
        await deps.aclose()


def test_a_form_gives_the_credentials_it_holds() -> None:
    form = SimpleNamespace(
        client_id="cid",
        client_secret="s3cret",
        resource_server="https://h/api",
        authorization_server="https://h/auth",
        tenant="acme",
    )
    credentials = credentials_from_values(form)
    assert (credentials.client_id, credentials.client_secret, credentials.tenant) == (
        "cid",
        "s3cret",
        "acme",
    )
    assert (credentials.resource_server, credentials.authorization_server) == (
        "https://h/api",
        "https://h/auth",
    )
