"""Syncs end to end: GraphQL trigger → embedded Dramatiq worker → HaloPSA simulator over HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import time_machine

from gateway.models import LogEntry, LogLevel, SyncedSubscription
from tests.conftest import assert_error_code
from tests.support import data
from tests.support.runs import trigger, wait_for_run

SYNC_SUBS = "mutation { syncSubscriptions { id state } }"
SYNC_ONE = "mutation ($id: ID!) { syncOrganizationSubscriptions(organizationId: $id) { id } }"


async def test_subscriptions_sync_writes_each_subscription_once_and_skips_quantity_zero(
    connected, gateway
) -> None:
    sim = connected.instance()
    acme, globex = sim.add_client("Acme Ltd"), sim.add_client("Globex")
    org_a = await data.mapped_organization("seller-a", "org-a", "Acme", acme)
    org_b = await data.mapped_organization("seller-a", "org-b", "Globex Corp", globex)
    await data.subscription(
        org_a, "s1", name="M365 E3", quantity=10, cost_price="180.00", customer_price="220.00"
    )
    await data.subscription(org_a, "s2", name="Azure Plan", quantity=1)
    await data.subscription(org_a, "s3", name="Zero seats", quantity=0)
    await data.subscription(
        org_b,
        "s4",
        name="Acronis Backup",
        quantity=3,
        billing_cycle="Annual",
        term_duration="3 Years",
    )

    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert run["state"] == "SUCCEEDED", run
    assert (run["created"], run["updated"], run["skipped"], run["failed"]) == (3, 0, 1, 0)
    licences = {lic["name"]: lic for lic in sim.licences.values()}
    assert set(licences) == {"M365 E3", "Azure Plan", "Acronis Backup"}
    e3 = licences["M365 E3"]
    assert (e3["client_id"], e3["count"], e3["purchase_price"], e3["price"]) == (
        acme["id"],
        10,
        180.0,
        220.0,
    )
    assert e3["start_date"] == "2026-01-01T00:00:00"
    assert licences["Acronis Backup"]["client_id"] == globex["id"]
    assert licences["Acronis Backup"]["billing_cycle"] == "Annual"
    warnings = await LogEntry.filter(seller_id="seller-a", level=LogLevel.WARNING)
    assert [w.title for w in warnings] == ["Subscription skipped"]
    assert "Zero seats" in warnings[0].details and "Quantity is zero" in warnings[0].details
    completed = await LogEntry.get(seller_id="seller-a", title="Subscriptions sync completed")
    assert "Created: 3" in completed.details and "Skipped: 1" in completed.details
    assert "Reseller ID: seller-a" in completed.details and "Provider: HALO" in completed.details


async def test_a_resync_without_changes_makes_no_write_calls_and_changes_update_in_place(
    connected, gateway, migrated_db
) -> None:
    sim = connected.instance()
    org = await data.mapped_organization("seller-a", "org-a", "Acme", sim.add_client("Acme"))
    sub = await data.subscription(org, "s1", quantity=5)
    await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    posts = sim.counters["licence_posts"]

    with time_machine.travel("2099-01-01", tick=True):  # past the cooldown
        run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert (run["created"], run["updated"], run["unchanged"]) == (0, 0, 1)
    assert sim.counters["licence_posts"] == posts  # zero write calls

    sub.quantity = 7
    await sub.save()
    with time_machine.travel("2099-02-01", tick=True):
        run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert (run["created"], run["updated"]) == (0, 1)
    assert [lic["count"] for lic in sim.licences.values()] == [7]  # updated, not duplicated


async def test_unit_price_mode_divides_totals_by_quantity_with_four_decimals(
    connected, gateway
) -> None:
    sim = connected.instance()
    await data.seller("seller-a", unit_prices=True)
    org = await data.mapped_organization("seller-a", "org-a", "Acme", sim.add_client("Acme"))
    await data.subscription(org, "s1", quantity=3, cost_price="100.00", customer_price="200.00")
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert run["state"] == "SUCCEEDED"
    (licence,) = sim.licences.values()
    assert Decimal(str(licence["purchase_price"])) == Decimal("33.3333")
    assert Decimal(str(licence["price"])) == Decimal("66.6667")


async def test_a_rejected_record_is_one_error_and_the_others_are_written(
    connected, gateway
) -> None:
    sim = connected.instance()
    sim.set_faults(reject_names={"Bad Licence"})
    org = await data.mapped_organization("seller-a", "org-a", "Acme", sim.add_client("Acme"))
    for i in range(6):
        await data.subscription(org, f"s{i}", name="Bad Licence" if i == 3 else f"Licence {i}")
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert (run["state"], run["created"], run["failed"]) == ("SUCCEEDED", 5, 1)
    assert sorted(lic["name"] for lic in sim.licences.values()) == [
        f"Licence {i}" for i in (0, 1, 2, 4, 5)
    ]
    errors = await LogEntry.filter(seller_id="seller-a", level=LogLevel.ERROR)
    assert len(errors) == 1
    assert "Bad Licence" in errors[0].details and "is not allowed" in errors[0].details


async def test_haloPSA_429_5xx_and_timeouts_during_a_run_are_retried_and_it_completes(
    connected, gateway_factory, settings
) -> None:
    sim = connected.instance()
    org = await data.mapped_organization("seller-a", "org-a", "Acme", sim.add_client("Acme"))
    for i in range(3):
        await data.subscription(org, f"s{i}", name=f"Licence {i}")
    sim.set_faults(fail_next=[429, 503, 500, 502], stall_next=[2.0, 2.0])
    fast = settings.model_copy(update={"halo_timeout_seconds": 0.5})
    running = gateway_factory(fast)
    run = await wait_for_run(running, (await trigger(running, SYNC_SUBS))["id"])
    assert (run["state"], run["created"]) == ("SUCCEEDED", 3)
    # Two timeouts, then errors (a stalled request that wakes up late consumes some of them).
    assert run["haloRetries"] >= 4
    assert sim.counters["stalled"] == 2
    assert len(sim.licences) == 3


async def test_revoked_credentials_end_the_run_failed_with_a_plain_reason(
    connected, gateway
) -> None:
    sim = connected.instance()
    org = await data.mapped_organization("seller-a", "org-a", "Acme", sim.add_client("Acme"))
    await data.subscription(org, "s1")
    sim.set_faults(revoked=True)
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert run["state"] == "FAILED"
    assert "refused the credentials" in run["message"]
    assert run["messageCode"] == "HALO_CREDENTIALS_REFUSED"
    entry = await LogEntry.get(seller_id="seller-a", title="Subscriptions sync failed")
    assert entry.level is LogLevel.ERROR and "refused the credentials" in entry.details
    # The entry's code is the failure's, its reason's code a parameter beside the counts
    assert entry.code == "SUBSCRIPTIONS_SYNC_FAILED"
    params = dict(entry.params)
    assert params["reasonCode"] == "HALO_CREDENTIALS_REFUSED"
    assert params["reason"] == run["message"] and params["failed"] == run["failed"]
    # A failed run starts no cooldown: the seller can try again at once.
    sim.set_faults(revoked=False)
    again = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert again["state"] == "SUCCEEDED"


async def test_remapped_organization_gets_new_writes_and_the_old_licences_stay(
    connected, gateway
) -> None:
    from gateway.models import OrganizationMapping

    sim = connected.instance()
    first, second = sim.add_client("Acme Old"), sim.add_client("Acme New")
    org = await data.mapped_organization("seller-a", "org-a", "Acme", first)
    await data.subscription(org, "s1", name="M365")
    await wait_for_run(gateway, (await trigger(gateway, SYNC_ONE, variables={"id": "org-a"}))["id"])

    mapping = await OrganizationMapping.get(organization_id=org.id)
    mapping.psa_organization = await data.psa_organization("seller-a", second["id"], "Acme New")
    await mapping.save()
    with time_machine.travel("2099-01-01", tick=True):
        run = await wait_for_run(
            gateway, (await trigger(gateway, SYNC_ONE, variables={"id": "org-a"}))["id"]
        )
    assert run["created"] == 1
    by_client = sorted((lic["client_id"], lic["name"]) for lic in sim.licences.values())
    assert by_client == [(first["id"], "M365"), (second["id"], "M365")]
    ledger = await SyncedSubscription.filter(seller_id="seller-a").values_list(
        "halo_client_id", flat=True
    )
    assert sorted(ledger) == [first["id"], second["id"]]


async def test_a_licence_created_just_before_a_crash_is_adopted_not_duplicated(
    connected, gateway
) -> None:
    """The worker died after HaloPSA saved the licence but before the ledger recorded it."""
    from gateway.models import LedgerState
    from gateway.services.sync.licences import licence_payload, payload_hash, to_licence_write

    sim = connected.instance()
    halo_client = sim.add_client("Acme")
    org = await data.mapped_organization("seller-a", "org-a", "Acme", halo_client)
    sub = await data.subscription(org, "s1", name="M365", quantity=4)
    intent = licence_payload(sub, halo_client["id"], unit_prices=False)
    row = await SyncedSubscription.create(
        seller_id="seller-a",
        subscription=sub,
        halo_client_id=halo_client["id"],
        state=LedgerState.PENDING,
        intent=intent,
        intent_hash=payload_hash(intent),
    )
    # It died a minute ago: past any late commit of its POST (no read-back wait needed)
    await SyncedSubscription.filter(id=row.id).update(
        updated_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    orphan = {"id": 900, "is_active": True, **to_licence_write(intent, None).to_json()}
    sim.licences[900] = orphan  # what HaloPSA holds after the crash

    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert (run["state"], run["created"], run["unchanged"]) == ("SUCCEEDED", 0, 1)
    assert list(sim.licences) == [900]
    row = await SyncedSubscription.get(subscription_id=sub.id)
    assert (row.state, row.halo_licence_id) == (LedgerState.WRITTEN, 900)


async def test_cancel_sync_stops_a_running_sync_at_a_record_boundary(connected, gateway) -> None:
    sim = connected.instance()
    sim.set_faults(latency_ms=150)
    org = await data.mapped_organization("seller-a", "org-a", "Acme", sim.add_client("Acme"))
    for i in range(400):
        await data.subscription(org, f"s{i:03d}", name=f"Licence {i:03d}")
    run = await trigger(gateway, SYNC_SUBS)
    for _ in range(200):
        if sim.counters.get("licence_posts", 0) >= 1:
            break
        await asyncio.sleep(0.02)
    cancelled = await gateway.gql(
        "mutation ($id: ID!) { cancelSync(runId: $id) { id } }", {"id": run["id"]}
    )
    assert "errors" not in cancelled, cancelled
    final = await wait_for_run(gateway, run["id"])
    assert final["state"] == "CANCELLED"
    assert 0 < len(sim.licences) < 400
    written = await SyncedSubscription.filter(halo_licence_id__isnull=False).count()
    assert written == len(sim.licences)  # the ledger matches HaloPSA exactly
    entry = await LogEntry.get(seller_id="seller-a", title="Subscriptions sync cancelled")
    assert entry.run_id == int(run["id"])  # type: ignore[attr-defined]
    assert_error_code(
        await gateway.gql('mutation { cancelSync(runId: "999999") { id } }'), "NOT_FOUND"
    )


async def test_an_unmapped_organization_gets_no_writes_and_keeps_its_licences_in_halopsa(
    connected, gateway
) -> None:
    from gateway.models import OrganizationMapping

    sim = connected.instance()
    org = await data.mapped_organization("seller-a", "org-a", "Acme", sim.add_client("Acme"))
    sub = await data.subscription(org, "s1", quantity=2)
    await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    posts = sim.counters["licence_posts"]
    await OrganizationMapping.filter(organization_id=org.id).delete()
    sub.quantity = 9
    await sub.save()
    with time_machine.travel("2099-01-01", tick=True):
        run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert (run["state"], run["total"], run["created"], run["updated"]) == ("SUCCEEDED", 0, 0, 0)
    assert sim.counters["licence_posts"] == posts
    assert [lic["count"] for lic in sim.licences.values()] == [2]  # untouched, not deleted
    assert await SyncedSubscription.filter(subscription_id=sub.id).count() == 1
