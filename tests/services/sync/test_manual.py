"""The seller's buttons: a sync of one organisation by its public id, a cancel before start."""

from __future__ import annotations

from gateway.models import RunState, Seller, SyncKind, SyncRun, SyncTrigger
from tests.conftest import assert_error_code
from tests.support import data

SYNC_ONE = """mutation ($id: ID!) { syncOrganizationSubscriptions(organizationId: $id) {
id scope organizationId organizationName } }"""
CANCEL = """mutation ($id: ID!) { cancelSync(runId: $id) { state message messageCode
messageParams { name } } }"""


async def test_an_organisation_is_synced_by_its_public_id_and_answered_by_it(
    connected, gateway
) -> None:
    sim = connected.instance()
    await data.organization("seller-a", "other", "Other")
    org = await data.mapped_organization("seller-a", "acme-7", "Acme Corp", sim.add_client("A"))
    await data.subscription(org, "s1")
    run = (await gateway.gql(SYNC_ONE, {"id": "acme-7"}))["data"]["syncOrganizationSubscriptions"]
    assert (run["scope"], run["organizationId"], run["organizationName"]) == (
        "ORGANIZATION",
        "acme-7",
        "Acme Corp",
    )
    # A database id is not an organisation's id
    assert_error_code(await gateway.gql(SYNC_ONE, {"id": str(org.id)}), "NOT_FOUND")


async def test_a_run_cancelled_before_it_started_says_so_with_its_code(connected, gateway) -> None:
    # Given: a queued run holding the seller's lock (no worker took it yet)
    run = await SyncRun.create(
        seller_id="seller-a", kind=SyncKind.SUBSCRIPTIONS, trigger=SyncTrigger.MANUAL
    )
    await Seller.filter(id="seller-a").update(active_run_id=run.id)
    # When the seller cancels it
    cancelled = (await gateway.gql(CANCEL, {"id": str(run.id)}))["data"]["cancelSync"]
    # Then it is cancelled with the words and the code of a run that never started
    assert cancelled == {
        "state": "CANCELLED",
        "message": "Cancelled before it started.",
        "messageCode": "CANCELLED_BEFORE_START",
        "messageParams": [],
    }
    assert (await SyncRun.get(id=run.id)).state is RunState.CANCELLED
