"""The drift check (gateway/services/sync/reconcile.py) end to end: the reconcile mutation →
embedded worker → the simulator over HTTP, where a person edited, deactivated, deleted and
entered licences by hand through HaloPSA's API."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import time_machine

from gateway.models import LogEntry, LogLevel, Subscription
from tests.conftest import assert_error_code
from tests.services.sync.test_engine import SYNC_SUBS
from tests.support import data
from tests.support.hands import HaloHand
from tests.support.runs import trigger, wait_for_run
from tests.support.ws import open_socket, receive, subscribe

RECONCILE = "mutation { reconcile { id kind state trigger } }"
FINDING = """kind haloLicenceId haloClientId haloClientName licenceName organizationId
organizationName subscriptionId subscriptionName changes { field ours theirs } text"""
DRIFT = f"""
query ($kind: DriftKind, $page: Int! = 1, $pageSize: Int! = 20) {{
  drift(kind: $kind, page: $page, pageSize: $pageSize) {{
    checkedAt licencesRead total page pageSize pageCount range
    run {{ id kind state haloCalls }}
    counts {{ edited deactivated deleted foreign total }}
    findings {{ {FINDING} }}
  }}
}}"""
ISSUES = "{ integrationIssues { issues { kind state detail occurrences } } }"


async def _check(gateway: Any) -> dict[str, Any]:
    run = await wait_for_run(gateway, (await trigger(gateway, RECONCILE))["id"])
    assert (run["kind"], run["state"]) == ("RECONCILE", "SUCCEEDED"), run
    return run


async def _drift(gateway: Any, **variables: Any) -> dict[str, Any]:
    result = await gateway.gql(DRIFT, variables)
    assert "errors" not in result, result
    return result["data"]["drift"]


def _licence_ids(sim: Any) -> dict[str, int]:
    return {lic["name"]: lic["id"] for lic in sim.licences.values()}


async def _synced_scene(gateway: Any, sim: Any) -> dict[str, Any]:
    """Acme (3 subscriptions) and Globex (1) mapped and synced; Other Co not mapped."""
    acme, globex, other = (
        sim.add_client("Acme Ltd"),
        sim.add_client("Globex"),
        sim.add_client("Other Co"),
    )
    org_a = await data.mapped_organization("seller-a", "org-a", "Acme", acme)
    org_b = await data.mapped_organization("seller-a", "org-b", "Globex Corp", globex)
    await data.subscription(
        org_a, "s1", name="M365 E3", quantity=10, cost_price="180.00", customer_price="220.00"
    )
    await data.subscription(org_a, "s2", name="Azure Plan", quantity=1)
    await data.subscription(org_a, "s3", name="Defender", quantity=5)
    await data.subscription(org_b, "s4", name="Acronis Backup", quantity=3)
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert (run["state"], run["created"]) == ("SUCCEEDED", 4), run
    return {"acme": acme, "globex": globex, "other": other}


async def test_drift_check_finds_hand_edits_deactivations_deletions_and_foreign_licences(
    connected, gateway
) -> None:
    sim = connected.instance()
    scene = await _synced_scene(gateway, sim)
    ids = _licence_ids(sim)
    # Given a person at HaloPSA who raised M365's seats and price, deactivated Azure Plan,
    # deleted Defender, and entered a licence under Acme and one under an unmapped client
    hand = HaloHand(connected)
    await hand.edit(ids["M365 E3"], count=12, price=250.0)
    await hand.edit(ids["Azure Plan"], is_active=False)
    await hand.delete(ids["Defender"])
    foreign = await hand.create(scene["acme"]["id"], "Teams Phone (entered by hand)")
    await hand.create(scene["other"]["id"], "Not our customer")
    posts = sim.counters["requests_post"]

    # When the drift check runs
    run = await _check(gateway)

    # Then it reports each of them, field by field (ours → theirs), and nothing else
    drift = await _drift(gateway)
    assert drift["counts"] == {
        "edited": 1,
        "deactivated": 1,
        "deleted": 1,
        "foreign": 1,
        "total": 4,
    }
    assert (drift["licencesRead"], drift["run"]["id"], drift["range"]) == (
        5,
        run["id"],
        "1 – 4 of 4",
    )
    found = {f["kind"]: f for f in drift["findings"]}
    assert found["EDITED"]["subscriptionId"] == "s1"
    assert found["EDITED"]["changes"] == [
        {"field": "count", "ours": "10", "theirs": "12"},
        {"field": "price", "ours": "220.00", "theirs": "250.00"},
    ]
    assert "count: 10 → 12; price: 220.00 → 250.00" in found["EDITED"]["text"]
    assert "platform wins" in found["EDITED"]["text"]
    assert found["DEACTIVATED"]["subscriptionId"] == "s2"
    assert found["DEACTIVATED"]["changes"] == [
        {"field": "is_active", "ours": "true", "theirs": "false"}
    ]
    assert (found["DELETED"]["subscriptionId"], found["DELETED"]["haloLicenceId"]) == (
        "s3",
        ids["Defender"],
    )
    assert found["DELETED"]["licenceName"] == "Defender"
    assert found["FOREIGN"] == {
        **found["FOREIGN"],
        "haloLicenceId": foreign["id"],
        "licenceName": "Teams Phone (entered by hand)",
        "organizationId": "org-a",
        "haloClientName": "Acme Ltd",
        "subscriptionId": None,
        "changes": [],
    }
    # The grid's order: by organisation, then licence (all four are Acme's)
    assert [f["organizationName"] for f in drift["findings"]] == ["Acme"] * 4
    only = await _drift(gateway, kind="FOREIGN")
    assert (only["total"], only["counts"]["total"]) == (1, 4)
    # Read only: not one write reached HaloPSA
    assert sim.counters["requests_post"] == posts
    assert sim.licences[ids["M365 E3"]]["count"] == 12

    # And the Logs and the integration issues say so
    entry = await LogEntry.get(seller_id="seller-a", title="Drift check completed")
    assert entry.level is LogLevel.WARNING
    for words in (
        "Licences read: 5",
        "Edited in HaloPSA: 1",
        "Deactivated in HaloPSA: 1",
        "Deleted from HaloPSA: 1",
        "Not written by this integration: 1",
    ):
        assert words in entry.details
    issues = (await gateway.gql(ISSUES))["data"]["integrationIssues"]["issues"]
    assert [(i["kind"], i["state"]) for i in issues] == [("DRIFT_FOUND", "ONGOING")]
    assert issues[0]["detail"] == (
        f"1 edited, 1 deactivated and 1 deleted in HaloPSA (drift check run {run['id']})."
    )


async def test_a_check_that_finds_no_drift_resolves_the_issue_and_logs_info(
    connected, gateway
) -> None:
    sim = connected.instance()
    await _synced_scene(gateway, sim)
    ids = _licence_ids(sim)
    hand = HaloHand(connected)
    await hand.edit(ids["Acronis Backup"], term_duration="3 Years")
    await _check(gateway)
    # When the person puts it back and the check runs again
    await hand.edit(ids["Acronis Backup"], term_duration="1 Year")
    await _check(gateway)

    drift = await _drift(gateway)
    assert drift["counts"]["total"] == 0 and drift["findings"] == []
    issues = (await gateway.gql(ISSUES))["data"]["integrationIssues"]["issues"]
    assert [(i["kind"], i["state"]) for i in issues] == [("DRIFT_FOUND", "RESOLVED")]
    entries = await LogEntry.filter(seller_id="seller-a", title="Drift check completed").order_by(
        "id"
    )
    assert [e.level for e in entries] == [LogLevel.WARNING, LogLevel.INFO]


async def test_the_check_pages_through_every_licence_at_once_within_the_lower_bound(
    connected, gateway, migrated_db
) -> None:
    sim = connected.instance()
    clients = 12
    await data.mapped_subscriptions("seller-a", sim, organizations=clients, per_org=25)
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert run["created"] == 300, run
    # … and 120 licences of unmapped clients, entered elsewhere
    for c in range(3):
        client = sim.add_client(f"Unmapped {c}")
        for i in range(40):
            sim.licences[sim.next_licence_id] = {
                "id": sim.next_licence_id,
                "client_id": client["id"],
                "name": f"Other {c}-{i}",
                "count": 1,
                "is_active": True,
            }
            sim.next_licence_id += 1
    licences = len(sim.licences)
    gets = sim.counters.get("requests_get", 0)
    socket = await open_socket(
        gateway.base_url, {"Authorization": f"Bearer {gateway.token('seller-a')}"}
    )
    try:
        assert (await receive(socket))["type"] == "connection_ack"
        await subscribe(
            socket, "subscription { syncEvents(kind: RECONCILE) { runId phase processed total } }"
        )
        await asyncio.sleep(0.2)  # the subscription registered on the bus
        run = await _check(gateway)
        events = []
        while not events or events[-1]["phase"] != "COMPLETED":
            events.append((await receive(socket, timeout=30))["payload"]["data"]["syncEvents"])
    finally:
        await socket.close()

    # One listing of every client's licences, 100 a page: ⌈420 / 100⌉ = 5 pages, not a
    # listing per client; the run's calls (the token included) within ⌈L / 100⌉ + clients
    pages = math.ceil(licences / 100)
    assert sim.counters["requests_get"] - gets == pages
    assert run["haloCalls"] <= pages + clients
    assert (run["processed"], run["total"]) == (licences, licences)
    progress = [e for e in events if e["phase"] == "PROGRESS"]
    assert progress and progress[-1]["processed"] == licences
    assert [e["phase"] for e in events][:2] == ["QUEUED", "STARTED"]
    assert (await _drift(gateway))["counts"]["total"] == 0


async def test_reconcile_follows_the_sync_rules_and_answers_their_codes(connected, gateway) -> None:
    sim = connected.instance()
    sim.add_client("Acme")
    # The run's first HaloPSA call hangs 3 s: long enough to ask twice on a loaded machine.
    sim.set_faults(stall_next=[3.0])
    first = await trigger(gateway, RECONCILE)
    assert (first["kind"], first["trigger"]) == ("RECONCILE", "MANUAL")
    assert_error_code(await gateway.gql(RECONCILE), "SYNC_IN_PROGRESS")
    assert_error_code(await gateway.gql(SYNC_SUBS), "SYNC_IN_PROGRESS")
    overview = await gateway.gql("{ syncOverview { reconcile { state currentRun { id } } } }")
    assert overview["data"]["syncOverview"]["reconcile"] == {
        "state": "IN_PROGRESS",
        "currentRun": {"id": first["id"]},
    }
    assert (await wait_for_run(gateway, first["id"]))["state"] == "SUCCEEDED"
    # No cooldown: it only reads
    again = await trigger(gateway, RECONCILE)
    await wait_for_run(gateway, again["id"])


async def test_reconcile_needs_a_verified_connection_and_drift_pages_like_the_grid(
    gateway,
) -> None:
    assert_error_code(await gateway.gql(RECONCILE), "INTEGRATION_NOT_CONFIGURED")
    empty = await _drift(gateway)
    assert (empty["run"], empty["checkedAt"], empty["range"]) == (None, None, "0 of 0")
    assert_error_code(await gateway.gql(DRIFT, {"pageSize": 7}), "BAD_USER_INPUT")


async def test_the_preview_shows_which_hand_edits_the_next_sync_overwrites(
    connected, gateway, migrated_db
) -> None:
    sim = connected.instance()
    await _synced_scene(gateway, sim)
    ids = _licence_ids(sim)
    hand = HaloHand(connected)
    await hand.edit(ids["M365 E3"], count=8, price=250.0)
    await hand.edit(ids["Acronis Backup"], term_duration="3 Years")
    await _check(gateway)
    # Given the platform changes M365's seats to the 8 someone already typed into HaloPSA
    # (Acronis stays as it is)
    m365 = await Subscription.get(external_id="s1")
    m365.quantity = 8
    await m365.save()

    preview = await gateway.gql(
        "{ previewSync { organizations { subscriptions { id action "
        "changes { field before after } overwrites { field before after } } } } }"
    )
    subs = {
        s["id"]: s
        for o in preview["data"]["previewSync"]["organizations"]
        for s in o["subscriptions"]
    }

    # Then the update of M365 sends the platform's price over the hand-edited one (the seats
    # it sends are the ones HaloPSA already holds: nothing of that edit is lost) …
    assert subs["s1"]["action"] == "UPDATE"
    assert subs["s1"]["changes"] == [{"field": "count", "before": "10", "after": "8"}]
    assert subs["s1"]["overwrites"] == [{"field": "price", "before": "250.00", "after": "220.00"}]
    # … while Acronis is not sent, so its hand edit stays
    assert (subs["s4"]["action"], subs["s4"]["overwrites"]) == ("UNCHANGED", [])

    # And the sync does what the preview said: the platform wins where it writes
    with time_machine.travel("2099-01-01", tick=True):  # past the cooldown
        run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert (run["updated"], run["unchanged"]) == (1, 3)
    licence = sim.licences[ids["M365 E3"]]
    assert (licence["count"], licence["price"]) == (8, 220.0)
    assert sim.licences[ids["Acronis Backup"]]["term_duration"] == "3 Years"
    # A licence written since the check has no known hand edit left to overwrite
    m365.quantity = 9
    await m365.save()
    after = await gateway.gql(
        "{ previewSync { organizations { subscriptions { id action overwrites { field } } } } }"
    )
    s1 = next(
        s
        for o in after["data"]["previewSync"]["organizations"]
        for s in o["subscriptions"]
        if s["id"] == "s1"
    )
    assert (s1["action"], s1["overwrites"]) == ("UPDATE", [])


async def test_licences_gone_from_halopsa_are_confirmed_with_one_request_per_client(
    connected, gateway
) -> None:
    sim = connected.instance()
    await _synced_scene(gateway, sim)
    ids = _licence_ids(sim)
    # Given two of Acme's licences and Globex's one deleted by hand
    hand = HaloHand(connected)
    for name in ("M365 E3", "Defender", "Acronis Backup"):
        await hand.delete(ids[name])
    gets = sim.counters["requests_get"]

    await _check(gateway)

    drift = await _drift(gateway, kind="DELETED")
    assert sorted(f["subscriptionId"] for f in drift["findings"]) == ["s1", "s3", "s4"]
    # One page for the whole instance, then Acme's list (two missing) and Globex's licence
    assert sim.counters["requests_get"] - gets == 1 + 2
