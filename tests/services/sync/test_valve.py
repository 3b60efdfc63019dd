"""The safety valve (gateway/services/sync/valve.py): what holds a subscriptions run before it
writes, and what does not — seats, monthly value per currency, deactivations, the seller's
own limits, the unit-price toggle, one organisation's run, scheduled runs.

Every run is real (GraphQL trigger → embedded worker → the simulator over HTTP); "nothing
written" is what the simulator received.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.models import LogEntry, LogLevel, SyncKind, SyncRun, SyncTrigger
from gateway.services import daily_slots
from gateway.services.sync import trigger_scheduled
from tests.conftest import assert_error_code
from tests.services.sync.test_engine import SYNC_ONE, SYNC_SUBS
from tests.services.sync.test_push import FAST
from tests.support import data
from tests.support.runs import STOPPED, trigger, wait_for_run

APPROVAL = """approval { planHash summary reasons seatsTotal seatsBefore seatsAfter deactivations
  writes money { currency total before after } drops { subscriptionId seatsBefore seatsAfter } }"""
RUNS = f"{{ syncRuns(first: 5) {{ id state trigger message {APPROVAL} }} }}"
VALVE = """mutation ($enabled: Boolean, $pct: Int, $max: Int) {
  setSafetyValve(enabled: $enabled, maxDropPercent: $pct, maxDeactivations: $max) {
    message configuration { safetyValve { enabled maxDropPercent maxDeactivations } } } }"""


@pytest.fixture
def gateway(gateway_factory, settings):
    return gateway_factory(settings.model_copy(update=FAST))


async def _customer(sim: Any, ext: str, subs: int, quantity: int = 10, **fields: Any) -> list[Any]:
    client = sim.add_client(f"Customer {ext}")
    org = await data.mapped_organization("seller-a", ext, f"Customer {ext}", client)
    return [
        await data.subscription(
            org, f"{ext}-s{i}", name=f"{ext} licence {i}", quantity=quantity, **fields
        )
        for i in range(subs)
    ]


async def _sync(gateway: Any, mutation: str = SYNC_SUBS, **variables: Any) -> dict[str, Any]:
    run = await trigger(gateway, mutation, variables=variables or None)
    return await wait_for_run(gateway, run["id"], until=STOPPED)


async def _run(gateway: Any, run_id: str) -> dict[str, Any]:
    result = await gateway.gql(RUNS)
    return next(r for r in result["data"]["syncRuns"] if r["id"] == run_id)


async def test_a_run_cutting_more_than_a_fifth_of_the_seats_waits_and_writes_nothing(
    connected, gateway
) -> None:
    # Given 100 seats in HaloPSA
    sim = connected.instance()
    subs = await _customer(sim, "org-a", 10)
    assert (await _sync(gateway))["created"] == 10
    held_before = copy.deepcopy(sim.licences)
    requests = sim.counters.get("requests", 0)
    # When three subscriptions drop to 1 seat (100 → 73: 27 % of the seller's seats)
    for sub in subs[:3]:
        sub.quantity = 1
        await sub.save()
    run = await _sync(gateway)
    # Then the run stops before writing, asking for approval
    assert (run["state"], run["processed"], run["haloCalls"]) == ("NEEDS_APPROVAL", 0, 0)
    assert sim.licences == held_before and sim.counters.get("requests", 0) == requests
    held = await _run(gateway, run["id"])
    approval = held["approval"]
    assert (approval["reasons"], approval["seatsTotal"]) == (["SEATS"], 100)
    assert (approval["seatsBefore"], approval["seatsAfter"], approval["writes"]) == (100, 73, 3)
    assert {d["subscriptionId"] for d in approval["drops"]} == {s.external_id for s in subs[:3]}
    assert approval["money"] == [
        {"currency": "USD", "total": "2200.00", "before": "2200.00", "after": "2200.00"}
    ]  # totals (not unit prices): the price does not move with the count
    # and the seller reads what it would have done, as an ERROR entry of the run
    entry = await LogEntry.get(seller_id="seller-a", level=LogLevel.ERROR)
    assert entry.title == "Subscriptions sync needs approval"
    assert "lower seats from 100 to 73 (27.0% of your total)" in entry.details
    # naming only what moves: the prices stay, nothing is deactivated
    would = entry.details.split(". Your safety valve")[0]
    assert "This sync would write 3 licences" in would
    assert "price" not in would and "deactivate" not in would, would
    assert "Nothing was written" in entry.details and entry.run_id == int(run["id"])  # type: ignore[attr-defined]
    # and the lock is released: another sync can start, the button is idle
    overview = await gateway.gql("{ syncOverview { subscriptions { state lastRun { state } } } }")
    assert overview["data"]["syncOverview"]["subscriptions"] == {
        "state": "IDLE",
        "lastRun": {"state": "NEEDS_APPROVAL"},
    }
    assert (await _sync(gateway, "mutation { syncOrganizations { id } }"))["state"] == "SUCCEEDED"
    # and the preview it attached is the one previewSync shows now
    preview = await gateway.gql("{ previewSync { planHash counts { update unchanged } } }")
    assert preview["data"]["previewSync"]["planHash"] == approval["planHash"]


async def test_a_value_cut_in_one_currency_holds_the_run_when_seats_do_not_move(
    connected, gateway
) -> None:
    sim = connected.instance()
    await _customer(sim, "org-a", 8, customer_price="100.00")
    euros = await _customer(sim, "org-b", 2, customer_price="300.00", currency="EUR")
    await _sync(gateway)
    # When the EUR prices are halved (600 → 300 of the seller's 600 EUR a month)
    for sub in euros:
        sub.customer_price = "150.00"  # type: ignore[assignment]
        await sub.save()
    run = await _sync(gateway)
    assert run["state"] == "NEEDS_APPROVAL"
    approval = (await _run(gateway, run["id"]))["approval"]
    assert approval["reasons"] == ["VALUE:EUR"]
    assert approval["seatsBefore"] == approval["seatsAfter"] == 100
    assert {"currency": "EUR", "total": "600.00", "before": "600.00", "after": "300.00"} in (
        approval["money"]
    )


async def test_turning_unit_prices_on_moves_no_value_and_does_not_trip_the_valve(
    connected, gateway
) -> None:
    # Given totals in HaloPSA, monthly and annual (annual ÷ 12 either way)
    sim = connected.instance()
    await _customer(sim, "org-a", 4, quantity=3, customer_price="100.00")
    await _customer(sim, "org-b", 4, quantity=7, customer_price="1200.00", billing_cycle="Annual")
    await _sync(gateway)
    # When unit prices are turned on, every licence's price changes (100.00 → 33.3333 …)
    await gateway.gql("mutation { setSyncUnitPrices(enabled: true) { message } }")
    run = await _sync(gateway)
    # Then the run goes ahead: the money it bills is the same
    assert (run["state"], run["updated"]) == ("SUCCEEDED", 8)
    assert {lic["price"] for lic in sim.licences.values()} == {33.3333, 171.4286}


async def test_deactivating_more_licences_than_the_sellers_limit_holds_the_run(
    connected, gateway
) -> None:
    sim = connected.instance()
    subs = await _customer(sim, "org-a", 10)
    await _sync(gateway)
    # Given a seller whose valve allows any drop but at most 2 deactivations
    result = await gateway.gql(VALVE, {"pct": 100, "max": 2})
    assert result["data"]["setSafetyValve"]["configuration"]["safetyValve"] == {
        "enabled": True,
        "maxDropPercent": 100,
        "maxDeactivations": 2,
    }
    # When three subscriptions are cancelled on the platform
    for sub in subs[:3]:
        sub.status = "CANCELLED"
        await sub.save()
    run = await _sync(gateway)
    approval = (await _run(gateway, run["id"]))["approval"]
    assert (run["state"], approval["reasons"], approval["deactivations"]) == (
        "NEEDS_APPROVAL",
        ["DEACTIVATIONS"],
        3,
    )
    # And with the valve off the same run goes ahead
    await gateway.gql(VALVE, {"enabled": False})
    assert (await _sync(gateway))["updated"] == 3


async def test_one_organisations_run_is_measured_against_the_sellers_total(
    connected, gateway
) -> None:
    # Given two customers of 50 seats each
    sim = connected.instance()
    subs = await _customer(sim, "org-a", 5)
    await _customer(sim, "org-b", 5)
    await _sync(gateway)
    # When org-a loses 15 seats: 30 % of its own, 15 % of the seller's
    for sub in subs[:3]:
        sub.quantity = 5
        await sub.save()
    run = await _sync(gateway, SYNC_ONE, id="org-a")
    # Then its run goes ahead (below a fifth of the seller's seats) …
    assert (run["state"], run["updated"]) == ("SUCCEEDED", 3)
    # … and org-a down to 10 seats (25 of the seller's 85 at once) waits
    for sub in subs:
        sub.quantity = 2
        await sub.save()
    assert (await _sync(gateway, SYNC_ONE, id="org-a"))["state"] == "NEEDS_APPROVAL"


async def test_the_scheduled_run_obeys_the_valve_too(connected, gateway) -> None:
    sim = connected.instance()
    subs = await _customer(sim, "org-a", 4)
    await _sync(gateway)
    for sub in subs:  # deleted on the platform (an export that lost them)
        sub.deleted_at = datetime.now(UTC)
        await sub.save()
    await data.subscription(await subs[0].organization, "new", name="Something else", quantity=1)
    deps = gateway.app.state.halo.deps
    # at seller-a's own time in today's window
    planned = daily_slots.planned_at(
        deps.settings, SyncKind.SUBSCRIPTIONS, "seller-a", datetime.now(UTC).date()
    )
    counts = await trigger_scheduled(deps, SyncKind.SUBSCRIPTIONS, planned)
    assert counts.queued == 1
    run = await SyncRun.get(seller_id="seller-a", trigger=SyncTrigger.SCHEDULED)
    finished = await wait_for_run(gateway, str(run.id), until=STOPPED)
    assert (finished["state"], finished["trigger"]) == ("NEEDS_APPROVAL", "SCHEDULED")


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"pct": 0}, "maxDropPercent"),
        ({"pct": 101}, "maxDropPercent"),
        ({"max": -1}, "maxDeactivations"),
        ({"max": 100_001}, "maxDeactivations"),
    ],
)
async def test_valve_limits_out_of_range_are_refused_and_nothing_changes(
    migrated_db, gateway, variables, field
) -> None:
    await data.seller("seller-a")
    error = assert_error_code(await gateway.gql(VALVE, variables), "BAD_USER_INPUT")
    assert error["extensions"]["field"] == field
    config = await gateway.gql(
        "{ configuration { safetyValve { enabled maxDropPercent maxDeactivations } } }"
    )
    assert config["data"]["configuration"]["safetyValve"] == {
        "enabled": True,
        "maxDropPercent": 20,
        "maxDeactivations": 50,
    }
    assert await LogEntry.filter(seller_id="seller-a").count() == 0
