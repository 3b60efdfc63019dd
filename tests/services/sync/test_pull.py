"""Organisations in: an organisations sync mirrors HaloPSA's clients as PSA organisations,
creating, updating and flagging the ones HaloPSA no longer has."""

from __future__ import annotations

from gateway.models import LogEntry, PsaOrganization
from tests.support.runs import trigger, wait_for_run

SYNC_ORGS = "mutation { syncOrganizations { id state } }"


async def test_organizations_sync_creates_updates_and_flags_vanished_clients(
    connected, gateway
) -> None:
    sim = connected.instance()
    clients = [sim.add_client(f"Customer {i:03d}", inactive=i % 10 == 0) for i in range(250)]

    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])
    assert (run["state"], run["created"], run["updated"], run["failed"]) == ("SUCCEEDED", 250, 0, 0)
    assert await PsaOrganization.filter(seller_id="seller-a").count() == 250
    assert await PsaOrganization.filter(seller_id="seller-a", inactive=True).count() == 25

    # Given a rename, a deactivation and a client deleted in HaloPSA
    clients[1]["name"] = "Customer 001 (renamed)"
    clients[2]["inactive"] = True
    del sim.clients[clients[3]["id"]]
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])
    assert (run["created"], run["updated"], run["unchanged"]) == (0, 2, 247)
    vanished = await PsaOrganization.get(seller_id="seller-a", halo_id=clients[3]["id"])
    assert vanished.present is False  # kept, flagged: its mapping shows Response Error
    titles = await LogEntry.filter(seller_id="seller-a").values_list("title", flat=True)
    assert titles.count("Customers sync started") == 2
    assert titles.count("Customers sync completed") == 2
    assert "Customers missing from HaloPSA" in titles
