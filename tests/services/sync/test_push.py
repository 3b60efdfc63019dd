"""Subscriptions out, exactly once: lost answers, late commits and partly stored arrays.

Every test drives a real run (GraphQL trigger → embedded worker → the simulator over HTTP)
and then checks what HaloPSA holds: each subscription once, nothing entered by hand taken
over, and counts that add up.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from gateway.models import LedgerState, LogEntry, LogLevel, SyncedSubscription
from gateway.services.sync import journal
from gateway.services.sync.licences import licence_payload, payload_hash, to_licence_write
from tests.services.sync.test_engine import SYNC_SUBS
from tests.support import data
from tests.support.runs import trigger, wait_for_run

# Time scaled down: HaloPSA "times out" after 0.5 s and is read back 0.6 s later.
# No cooldown: these tests run the same seller's sync several times in a row.
FAST = {"halo_timeout_seconds": 0.5, "halo_readback_delay_seconds": 0.6, "sync_cooldown_minutes": 0}


async def _subscriptions(sim: Any, orgs: int, per_org: int) -> list[Any]:
    subs = []
    for o in range(orgs):
        client = sim.add_client(f"Customer {o}")
        org = await data.mapped_organization("seller-a", f"org-{o}", f"Customer {o}", client)
        for i in range(per_org):
            subs.append(await data.subscription(org, f"s{o}-{i}", name=f"Licence {o}-{i}"))
    return subs


def _assert_exactly_once(sim: Any, subs: list[Any], *, by_hand: tuple[int, ...] = ()) -> None:
    names = Counter(lic["name"] for lic in sim.licences.values() if lic["id"] not in by_hand)
    assert {sub.name: names[sub.name] for sub in subs} == {sub.name: 1 for sub in subs}
    assert len(sim.licences) == len(subs) + len(by_hand)


def _assert_counts_add_up(run: dict[str, Any]) -> None:
    parts = ("created", "updated", "unchanged", "skipped", "failed")
    assert sum(run[p] for p in parts) == run["processed"] <= run["total"], run


async def _run(gateway_factory: Any, settings: Any) -> dict[str, Any]:
    running = gateway_factory(settings.model_copy(update=FAST))
    return await wait_for_run(running, (await trigger(running, SYNC_SUBS))["id"], timeout=120)


async def test_every_kind_of_lost_answer_leaves_each_subscription_once_in_halopsa(
    connected, gateway_factory, settings
) -> None:
    # Given 320 subscriptions (7 POSTs of up to 50, plus resends) and a licence a person
    # entered by hand that looks exactly like one of them
    sim = connected.instance()
    subs = await _subscriptions(sim, orgs=8, per_org=40)
    twin = licence_payload(subs[0], 1, unit_prices=False)
    sim.licences[sim.next_licence_id] = {
        "id": sim.next_licence_id,
        "is_active": True,
        **to_licence_write(twin, None).to_json(),
    }
    sim.next_licence_id += 1
    await data.reviewed_client("seller-a", 1, not_ours=(1,))  # the seller's own, reviewed
    # When HaloPSA stores writes and then loses the answer in every way it can
    sim.set_faults(
        write_faults={1: "reset", 2: "timeout", 3: "502", 4: "late", 5: "partial", 6: "500"},
        late_commit_seconds=0.3,
    )
    run = await _run(gateway_factory, settings)
    # Then the run succeeds, each subscription is in HaloPSA once, the hand-entered licence
    # stays the person's, and the counts are the run's
    assert run["state"] == "SUCCEEDED", run
    assert sim.writes >= 6 and not sim.faults.write_faults
    _assert_exactly_once(sim, subs, by_hand=(1,))
    assert (run["created"], run["total"], run["processed"]) == (320, 320, 320)
    _assert_counts_add_up(run)
    ledger = await SyncedSubscription.filter(seller_id="seller-a").values_list(
        "halo_licence_id", flat=True
    )
    assert 1 not in ledger and len(set(ledger)) == 320


async def test_lost_answers_at_a_rate_still_write_each_subscription_once(
    connected, gateway_factory, settings
) -> None:
    sim = connected.instance()
    subs = await _subscriptions(sim, orgs=4, per_org=100)
    sim.set_faults(
        write_fault_rate=0.2,
        write_fault_kinds=["reset", "timeout", "502", "late", "partial"],
        late_commit_seconds=0.3,
        seed=13,
    )
    run = await _run(gateway_factory, settings)
    assert run["state"] == "SUCCEEDED", run
    assert sum(v for k, v in sim.counters.items() if k.startswith("write_fault_")) >= 2
    _assert_exactly_once(sim, subs)
    assert (run["created"], run["processed"]) == (400, 400)
    # And a second run finds nothing to do
    again = await _run(gateway_factory, settings)
    assert (again["unchanged"], again["created"], again["updated"]) == (400, 0, 0)
    _assert_exactly_once(sim, subs)


async def test_a_synced_subscription_whose_quantity_drops_to_zero_is_set_to_zero_in_halopsa(
    connected, gateway_factory, settings
) -> None:
    sim = connected.instance()
    await data.seller("seller-a", valve=False)  # all of its seats go: the valve would hold it
    [sub] = await _subscriptions(sim, orgs=1, per_org=1)
    await _run(gateway_factory, settings)
    sub.quantity = 0
    await sub.save()

    run = await _run(gateway_factory, settings)

    assert (run["state"], run["updated"], run["skipped"]) == ("SUCCEEDED", 1, 0)
    [licence] = sim.licences.values()
    assert licence["count"] == 0
    warnings = await LogEntry.filter(
        seller_id="seller-a", level=LogLevel.WARNING, title=journal.SUBSCRIPTION_QUANTITY_ZERO
    )
    assert len(warnings) == 1 and "count of 0" in warnings[0].details
    # The next run has nothing to say about it
    assert (await _run(gateway_factory, settings))["unchanged"] == 1
    assert await LogEntry.filter(title=journal.SUBSCRIPTION_QUANTITY_ZERO).count() == 1


async def test_adoption_is_scoped_to_the_seller_whose_halopsa_ids_overlap_anothers(
    connected, gateway_factory, settings
) -> None:
    # Given seller-b, whose own HaloPSA also numbers clients and licences from 1, owns
    # licence 1 of its client 1
    sim = connected.instance()
    client = sim.add_client("Acme")
    org = await data.mapped_organization("seller-a", "org-a", "Acme", client)
    sub = await data.subscription(org, "s1", name="M365", quantity=4)
    org_b = await data.organization("seller-b", "org-b", "Other")
    sub_b = await data.subscription(org_b, "b1", name="Other")
    await SyncedSubscription.create(
        seller_id="seller-b",
        subscription=sub_b,
        halo_client_id=client["id"],
        halo_licence_id=1,
        state=LedgerState.WRITTEN,
    )
    # and seller-a's worker died after its HaloPSA stored licence 1 for seller-a's intent
    intent = licence_payload(sub, client["id"], unit_prices=False)
    await SyncedSubscription.create(
        seller_id="seller-a",
        subscription=sub,
        halo_client_id=client["id"],
        state=LedgerState.PENDING,
        intent=intent,
        intent_hash=payload_hash(intent),
        intent_mark=0,
    )
    sim.licences[1] = {"id": 1, "is_active": True, **to_licence_write(intent, None).to_json()}
    sim.next_licence_id = 2
    # When seller-a's next run resumes
    run = await _run(gateway_factory, settings)
    # Then it adopts its licence 1 rather than creating a second one
    assert (run["state"], run["created"], run["unchanged"]) == ("SUCCEEDED", 0, 1)
    assert list(sim.licences) == [1]
    row = await SyncedSubscription.get(seller_id="seller-a", subscription_id=sub.id)
    assert (row.state, row.halo_licence_id) == (LedgerState.WRITTEN, 1)
