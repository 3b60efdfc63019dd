"""Day one (gateway/services/sync/existing.py; its GraphQL is schema/existing_licences.py): a
newly mapped HaloPSA client that already holds licences this integration did not write gets no
duplicate on its first sync — its organisation's push waits for the seller's review, the rest
of the run goes on — and claimed licences are updated in place from then on.

The licences "entered by hand" are made through the simulator's admin API over HTTP, as a
person would type them into HaloPSA (no API request of the gateway's).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from gateway.models import LogEntry, LogLevel, SyncedSubscription
from tests.services.sync.test_engine import SYNC_SUBS
from tests.services.sync.test_push import FAST
from tests.support import data
from tests.support.runs import trigger, wait_for_run

REVIEW = """{ existingLicences(organizationId: "org-a") { state undecided haloClientId
  licences { id name count decision subscriptionId
    suggestion { subscriptionId score reasons } }
  subscriptions { id claimedLicenceId } } }"""
CLAIM = """mutation ($org: ID!, $pairs: [LicenceClaimInput!]!) {
  claimExistingLicences(organizationId: $org, pairs: $pairs) { state undecided } }"""
NOT_OURS = """mutation ($org: ID!, $ids: [Int!]!) {
  markExistingLicencesNotOurs(organizationId: $org, licenceIds: $ids) { state undecided } }"""
CREATE_NEW = """mutation ($org: ID!) { createNewLicences(organizationId: $org) { state } }"""


@pytest.fixture
def gateway(gateway_factory, settings):
    return gateway_factory(settings.model_copy(update=FAST))


async def by_hand(sim_url: str, client_id: int, name: str, **fields: Any) -> int:
    """A licence typed into HaloPSA by a person (the simulator's admin API)."""
    async with httpx.AsyncClient(base_url=sim_url) as http:
        answer = await http.post(
            "/_sim/licences", json={"licences": [{"client_id": client_id, "name": name, **fields}]}
        )
    answer.raise_for_status()
    [licence_id] = answer.json()["created"]
    return int(licence_id)


async def acme_with_licences(connected: Any) -> dict[str, Any]:
    """Acme's HaloPSA client holds two licences typed in by hand before the integration; its
    platform organisation has two subscriptions; Globex is a client holding nothing."""
    sim = connected.instance()
    acme, globex = sim.add_client("Acme Ltd"), sim.add_client("Globex")
    e3 = await by_hand(
        connected.base_url,
        acme["id"],
        "Microsoft 365 E3",
        count=10,
        start_date="2026-01-01T00:00:00",
        end_date="2026-12-31T00:00:00",
        price=200.0,  # below the platform's 220.00: claiming it cuts nothing (the valve)
        purchase_price=150.0,
    )
    backup = await by_hand(connected.base_url, acme["id"], "Old backup", count=2, price=40.0)
    org_a = await data.mapped_organization("seller-a", "org-a", "Acme", acme)
    org_b = await data.mapped_organization("seller-a", "org-b", "Globex", globex)
    s1 = await data.subscription(
        org_a,
        "s1",
        name="Microsoft 365 E3",
        quantity=10,
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
    )
    s2 = await data.subscription(org_a, "s2", name="Defender for Business", quantity=5)
    await data.subscription(org_b, "b1", name="Azure Plan", quantity=1)
    return {"sim": sim, "acme": acme["id"], "e3": e3, "backup": backup, "s1": s1, "s2": s2}


async def _sync(gateway: Any) -> dict[str, Any]:
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert run["state"] == "SUCCEEDED", run
    return run


def _in_client(sim: Any, client_id: int) -> dict[int, dict[str, Any]]:
    return {i: lic for i, lic in sim.licences.items() if lic["client_id"] == client_id}


async def test_a_client_with_hand_entered_licences_waits_while_the_rest_of_the_run_goes_on(
    connected, gateway
) -> None:
    given = await acme_with_licences(connected)
    sim = given["sim"]
    # When the first subscriptions sync runs
    run = await _sync(gateway)
    # Then Acme gets nothing beside its own licences; Globex gets its licence
    assert (run["created"], run["skipped"]) == (1, 2)
    assert set(_in_client(sim, given["acme"])) == {given["e3"], given["backup"]}
    assert len(sim.licences) == 3
    # and the seller is told: in the logs, as an issue, in the grid row
    warning = await LogEntry.get(seller_id="seller-a", level=LogLevel.WARNING)
    assert warning.title == "Existing licences to review"
    assert "already holds 2 licences this integration did not write" in warning.details
    issues = await gateway.gql(
        "{ integrationIssues { issues { kind state organizationId summary } } }"
    )
    [issue] = issues["data"]["integrationIssues"]["issues"]
    assert (issue["kind"], issue["state"], issue["organizationId"]) == (
        "EXISTING_LICENCES_TO_REVIEW",
        "ONGOING",
        "org-a",
    )
    grid = await gateway.gql("{ organizations { rows { id existingLicencesToReview } } }")
    assert {
        r["id"]: r["existingLicencesToReview"] for r in grid["data"]["organizations"]["rows"]
    } == {
        "org-a": 2,
        "org-b": 0,
    }
    # and the preview shows the licences beside the subscriptions, with the likely pair
    preview = await gateway.gql(
        """{ previewSync { organizations { id subscriptions { id action reason }
             existingLicences { state licences { id suggestion { subscriptionId reasons } } }
        } } }"""
    )
    orgs = {o["id"]: o for o in preview["data"]["previewSync"]["organizations"]}
    assert {s["reason"] for s in orgs["org-a"]["subscriptions"]} == {"EXISTING_LICENCES_TO_REVIEW"}
    assert orgs["org-b"]["existingLicences"] is None
    licences = {lic["id"]: lic for lic in orgs["org-a"]["existingLicences"]["licences"]}
    assert licences[given["e3"]]["suggestion"] == {
        "subscriptionId": "s1",
        "reasons": ["exact name after normalisation", "same count", "same dates"],
    }
    assert licences[given["backup"]]["suggestion"] is None
    # When the sync runs again before the review, it still waits, without asking HaloPSA
    again = await _sync(gateway)
    assert (again["skipped"], again["unchanged"], again["haloCalls"]) == (2, 1, 0)
    assert len(sim.licences) == 3


async def test_claimed_licences_are_updated_in_place_and_never_duplicated(
    connected, gateway
) -> None:
    given = await acme_with_licences(connected)
    sim = given["sim"]
    await _sync(gateway)
    # When the seller claims the E3 licence for s1 and marks the old backup as not theirs
    claimed = await gateway.gql(
        CLAIM, {"org": "org-a", "pairs": [{"licenceId": given["e3"], "subscriptionId": "s1"}]}
    )
    assert claimed["data"]["claimExistingLicences"] == {"state": "PENDING", "undecided": 1}
    done = await gateway.gql(NOT_OURS, {"org": "org-a", "ids": [given["backup"]]})
    assert done["data"]["markExistingLicencesNotOurs"] == {"state": "RESOLVED", "undecided": 0}
    backup_before = dict(sim.licences[given["backup"]])
    # Then the next sync updates the claimed licence in place and creates the other one
    run = await _sync(gateway)
    assert (run["updated"], run["created"], run["unchanged"]) == (1, 1, 1)
    acme = _in_client(sim, given["acme"])
    assert len(acme) == 3 and given["e3"] in acme
    assert (acme[given["e3"]]["price"], acme[given["e3"]]["count"]) == (220.0, 10)
    assert sim.licences[given["backup"]] == backup_before  # not ours: untouched
    row = await SyncedSubscription.get(subscription_id=given["s1"].id)
    assert row.halo_licence_id == given["e3"]
    # and from then on it is ours like any other: changes update it, nothing is duplicated
    given["s1"].quantity = 12
    await given["s1"].save()
    run = await _sync(gateway)
    assert (run["updated"], run["created"]) == (1, 0)
    assert sim.licences[given["e3"]]["count"] == 12 and len(sim.licences) == 4
    # and the issue closed itself when the review was done
    issues = await gateway.gql("{ integrationIssues { issues { kind state } } }")
    assert issues["data"]["integrationIssues"]["issues"] == [
        {"kind": "EXISTING_LICENCES_TO_REVIEW", "state": "RESOLVED"}
    ]
    titles = await LogEntry.filter(seller_id="seller-a").values_list("title", flat=True)
    assert {"Existing licences claimed", "Existing licences reviewed"} <= set(titles)


async def test_create_new_leaves_every_existing_licence_alone(connected, gateway) -> None:
    given = await acme_with_licences(connected)
    sim = given["sim"]
    await _sync(gateway)
    hand = {i: dict(lic) for i, lic in _in_client(sim, given["acme"]).items()}
    result = await gateway.gql(CREATE_NEW, {"org": "org-a"})
    assert result["data"]["createNewLicences"] == {"state": "RESOLVED"}
    run = await _sync(gateway)
    assert run["created"] == 2
    acme = _in_client(sim, given["acme"])
    assert len(acme) == 4 and all(acme[i] == lic for i, lic in hand.items())


async def test_inactive_licences_do_not_hold_a_client_back(connected, gateway) -> None:
    sim = connected.instance()
    client = sim.add_client("Initech")
    await by_hand(connected.base_url, client["id"], "Cancelled long ago", is_active=False)
    org = await data.mapped_organization("seller-a", "org-i", "Initech", client)
    await data.subscription(org, "i1", name="Cancelled long ago")
    assert (await _sync(gateway))["created"] == 1


async def test_the_first_sync_of_many_new_clients_reads_the_instance_once(
    connected, gateway
) -> None:
    # Given eight newly mapped clients and an instance with one licence (a 1-page read)
    sim = connected.instance()
    for o in range(8):
        client = sim.add_client(f"Customer {o}")
        org = await data.mapped_organization("seller-a", f"org-{o}", f"Customer {o}", client)
        await data.subscription(org, f"s{o}", name=f"Licence {o}")
    elsewhere = sim.add_client("Not mapped")
    await by_hand(connected.base_url, elsewhere["id"], "Someone else's")
    # When the first sync runs
    run = await _sync(gateway)
    # Then it checked them all with two reads (the count, one page), not one per client:
    # those two, the mark before creating, and one POST of eight
    assert run["created"] == 8
    assert sim.counters["requests"] == 4
