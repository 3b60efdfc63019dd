"""Run history as pages read it: organisations by public id and name, messages with codes."""

from __future__ import annotations

from gateway.models import RunState, SyncKind, SyncRun, SyncScope, SyncTrigger
from tests.support import data

RUNS = """{ syncRuns(first: 5) { scope organizationId organizationName message messageCode
messageParams { name value } } }"""


async def test_runs_from_before_codes_read_legacy_and_name_their_organisation(
    migrated_db, gateway
) -> None:
    # Given: a run of one organisation written before messages had codes
    for i in range(2):
        await data.organization("seller-a", f"other-{i}", f"Other {i}")
    org = await data.organization("seller-a", "acme-7", "Acme Corp")
    await SyncRun.create(
        seller_id="seller-a",
        kind=SyncKind.SUBSCRIPTIONS,
        scope=SyncScope.ORGANIZATION,
        organization=org,
        trigger=SyncTrigger.MANUAL,
        state=RunState.FAILED,
        message="HaloPSA could not be reached or kept failing after several retries.",
    )
    # When the run history is read
    (run,) = (await gateway.gql(RUNS))["data"]["syncRuns"]
    # Then the organisation is named as the grid names it, and the text stands alone
    assert run == {
        "scope": "ORGANIZATION",
        "organizationId": "acme-7",
        "organizationName": "Acme Corp",
        "message": "HaloPSA could not be reached or kept failing after several retries.",
        "messageCode": "LEGACY",
        "messageParams": [],
    }
