"""The preview says what the next subscriptions sync does, record by record and to the cent.

For generated platform changes — quantities (zero too), prices, billing cycles, statuses,
deletions, new subscriptions, remaps and unmaps, a HaloPSA client gone missing, the
unit-price toggle — ``previewSync`` (asked through the API) must equal what the real run that
follows then does (GraphQL trigger → embedded worker → the simulator over HTTP):

* each subscription's outcome as the run stamps it in the ledger, and the run's counts;
* each licence in the simulator: created with exactly the preview's fields, updated from
  exactly its "before" to its "after" values, and nothing else touched;
* the monthly cost and customer price before and after, per subscription and in total,
  computed here from what the simulator holds (not with the preview's code);

and asking must cost HaloPSA nothing (the simulator counts no request) and write nothing.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from gateway.models import (
    LogEntry,
    OrganizationMapping,
    PsaOrganization,
    RunOutcome,
    SyncedSubscription,
    SyncRun,
)
from tests.services.sync.test_push import FAST
from tests.support import data
from tests.support.runs import STOPPED, trigger, wait_for_run

# Examples per backend: each is a new seller with up to four syncs, ~3 s apiece.
EXAMPLES = 6

PRICES = ["0.00", "10.00", "100.00", "33.34", "1000.01", "7.5"]
CYCLES = ["Monthly", "Annual", "Quarterly", "One-time"]
STATUSES = ["ACTIVE", "SUSPENDED", "CANCELLED"]
CURRENCIES = ["USD", "EUR"]

PREVIEW = """
query { previewSync(pageSize: 100) {
  unitPrices total planHash
  counts { create update markDeleted unchanged skipped total }
  money { currency costBefore costAfter priceBefore priceAfter unknownBefore unknownAfter }
  organizations {
    id haloClientId skipReason
    money { currency costBefore costAfter priceBefore priceAfter }
    subscriptions {
      id action reason haloLicenceId currency
      changes { field before after }
      monthlyCostBefore monthlyCostAfter monthlyPriceBefore monthlyPriceAfter
    }
  }
} }"""
APPROVE = "mutation ($id: ID!) { approveSync(runId: $id) { state approval { planHash } } }"
UPSERT = "mutation ($i: [SubscriptionInput!]!) { upsertSubscriptions(input: $i) { created } }"
DELETE = "mutation ($ids: [ID!]!) { deleteSubscriptions(ids: $ids) { deleted } }"
MAP = (
    "mutation ($o: ID!, $p: ID!) { mapOrganization(organizationId: $o, psaOrganizationId: $p) "
    "{ id } }"
)
UNMAP = "mutation ($o: ID!) { unmapOrganization(organizationId: $o) { id } }"
UNIT_PRICES = "mutation ($e: Boolean!) { setSyncUnitPrices(enabled: $e) { message } }"
SYNC = "mutation { syncSubscriptions { id } }"

OUTCOME = {
    "CREATE": RunOutcome.CREATED,
    "UPDATE": RunOutcome.UPDATED,
    "MARK_DELETED": RunOutcome.UPDATED,
    "UNCHANGED": RunOutcome.UNCHANGED,
    "SKIPPED": RunOutcome.SKIPPED,
}
OUTSIDE_RUN = {"UNMAPPED", "HALO_CLIENT_MISSING"}
WRITES = {"CREATE", "UPDATE", "MARK_DELETED"}
MONTHS = {"Monthly": 1, "Quarterly": 3, "Annual": 12}

# --- what is generated --------------------------------------------------------------------

sub_specs = st.fixed_dictionaries(
    {
        "quantity": st.integers(0, 4),
        "cost": st.sampled_from(PRICES),
        "price": st.sampled_from(PRICES),
        "cycle": st.sampled_from(CYCLES),
        "status": st.sampled_from(STATUSES[:2]),
        "currency": st.sampled_from(CURRENCIES),
    }
)
index = st.integers(0, 50)
changes = st.one_of(
    st.tuples(st.just("quantity"), index, st.integers(0, 4)),
    st.tuples(st.just("quantity"), index, st.just(0)),  # a synced subscription drops to zero
    st.tuples(st.just("prices"), index, st.sampled_from(PRICES), st.sampled_from(PRICES)),
    st.tuples(st.just("cycle"), index, st.sampled_from(CYCLES)),
    st.tuples(st.just("status"), index, st.sampled_from(STATUSES)),
    st.tuples(st.just("delete"), index),
    st.tuples(st.just("add"), index, sub_specs),
    st.tuples(st.just("remap"), index, index),
    st.tuples(st.just("unmap"), index),
    st.tuples(st.just("client_missing"), index),
    st.tuples(st.just("unit_prices"), st.booleans()),
)
scenarios = st.fixed_dictionaries(
    {
        "orgs": st.lists(st.lists(sub_specs, min_size=1, max_size=4), min_size=1, max_size=3),
        "unit_prices": st.booleans(),
        "rounds": st.lists(st.lists(changes, min_size=1, max_size=5), min_size=1, max_size=3),
    }
)


def _spec(quantity: int, cost: str, price: str, cycle: str, currency: str = "USD") -> dict:
    return {
        "quantity": quantity,
        "cost": cost,
        "price": price,
        "cycle": cycle,
        "status": "ACTIVE",
        "currency": currency,
    }


# Every path at least once, whatever the generated examples happen to cover.
EVERY_PATH = {
    "orgs": [
        [_spec(2, "10.00", "12.00", "Monthly"), _spec(3, "100.00", "33.34", "Annual", "EUR")],
        [_spec(1, "7.5", "1000.01", "Quarterly"), _spec(0, "10.00", "10.00", "Monthly")],
    ],
    "unit_prices": False,
    "rounds": [
        # quantity zero in HaloPSA, unit prices on, a deletion, a remap to a spare client
        [("quantity", 0, 0), ("unit_prices", True), ("delete", 1), ("remap", 1, 1)],
        # the client goes missing, an organisation is unmapped, a subscription is added
        [("client_missing", 0), ("unmap", 1), ("add", 0, _spec(4, "33.34", "100.00", "Monthly"))],
        # the client is back, prices change and unit prices go off again
        [("client_missing", 0), ("prices", 1, "0.00", "7.5"), ("unit_prices", False)],
    ],
}


# --- the platform, as the test changes it -------------------------------------------------


@dataclass
class Platform:
    """The seller's platform data as this test wrote it, and the HaloPSA side it knows."""

    gateway: Any
    sim: Any
    seller: str
    orgs: list[str]
    clients: list[dict[str, Any]]
    subs: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    ids: itertools.count = field(default_factory=itertools.count)

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        result = await self.gateway.gql(query, variables, seller=self.seller)
        assert "errors" not in result, result
        return result["data"]

    def new_sub(self, org: str, spec: dict[str, Any]) -> None:
        sub_id = f"{self.seller}-s{next(self.ids)}"
        self.subs[sub_id] = {"organizationId": org, "name": f"Licence {sub_id[-3:]}", **spec}

    def live(self, i: int) -> str | None:
        live = [s for s in self.subs if s not in self.deleted]
        return live[i % len(live)] if live else None

    async def upsert(self, sub_ids: list[str]) -> None:
        if not sub_ids:
            return
        rows = []
        for sub_id in sub_ids:
            s = self.subs[sub_id]
            rows.append(
                {
                    "id": sub_id,
                    "organizationId": s["organizationId"],
                    "name": s["name"],
                    "quantity": s["quantity"],
                    "billingCycle": s["cycle"],
                    "termDuration": "1 Year",
                    "status": s["status"],
                    "costPrice": s["cost"],
                    "customerPrice": s["price"],
                    "currency": s["currency"],
                    "startDate": "2026-01-01",
                }
            )
        await self.gql(UPSERT, {"i": rows})

    async def mapping(self) -> dict[str, dict[str, Any]]:
        """Organisation → its HaloPSA client (halo_id, present), for the mapped ones."""
        rows = await OrganizationMapping.filter(seller_id=self.seller).values(
            "organization__external_id", "psa_organization__halo_id", "psa_organization__present"
        )
        return {
            r["organization__external_id"]: {
                "halo_id": r["psa_organization__halo_id"],
                "present": r["psa_organization__present"],
            }
            for r in rows
        }

    async def apply(self, change: tuple[Any, ...]) -> None:
        kind, *args = change
        if kind in ("quantity", "prices", "cycle", "status", "delete"):
            sub_id = self.live(args[0])
            if sub_id is None:
                return
            s = self.subs[sub_id]
            if kind == "quantity":
                s["quantity"] = args[1]
            elif kind == "prices":
                s["cost"], s["price"] = args[1], args[2]
            elif kind == "cycle":
                s["cycle"] = args[1]
            elif kind == "status":
                s["status"] = args[1]
            else:
                await self.gql(DELETE, {"ids": [sub_id]})
                self.deleted.add(sub_id)
                return
            await self.upsert([sub_id])
        elif kind == "add":
            self.new_sub(self.orgs[args[0] % len(self.orgs)], args[1])
            await self.upsert([list(self.subs)[-1]])
        elif kind == "remap":
            org = self.orgs[args[0] % len(self.orgs)]
            mapped = await self.mapping()
            taken = {m["halo_id"] for o, m in mapped.items() if o != org}
            present = set(
                await PsaOrganization.filter(seller_id=self.seller, present=True).values_list(
                    "halo_id", flat=True
                )
            )
            free = [c["id"] for c in self.clients if c["id"] not in taken and c["id"] in present]
            if free:
                await self.gql(MAP, {"o": org, "p": str(free[args[1] % len(free)])})
        elif kind == "unmap":
            await self.gql(UNMAP, {"o": self.orgs[args[0] % len(self.orgs)]})
        elif kind == "client_missing":
            # What an organisations sync records when the client vanished from HaloPSA (and
            # again when it is back).
            mapped = (await self.mapping()).get(self.orgs[args[0] % len(self.orgs)])
            if mapped is not None:
                await PsaOrganization.filter(
                    seller_id=self.seller, halo_id=mapped["halo_id"]
                ).update(present=not mapped["present"])
        elif kind == "unit_prices":
            await self.gql(UNIT_PRICES, {"e": args[0]})


# --- what the test knows independently of the preview -------------------------------------


def _norm(licence: dict[str, Any]) -> dict[str, Any]:
    """A simulator licence in the preview's terms (prices as Decimal, days, booleans)."""

    def day(value: Any) -> str | None:
        return str(value)[:10] if value else None

    return {
        "name": licence["name"],
        "count": str(licence["count"]),
        "purchase_price": Decimal(str(licence["purchase_price"])),
        "price": Decimal(str(licence["price"])),
        "billing_cycle": licence["billing_cycle"],
        "term_duration": licence["term_duration"],
        "start_date": day(licence["start_date"]),
        "end_date": day(licence["end_date"]),
        "status": licence["status"],
        "is_active": "true" if licence["is_active"] else "false",
    }


def _value(field_name: str, text: str | None) -> Any:
    if text is not None and field_name in ("purchase_price", "price"):
        return Decimal(text)
    return text


def _monthly(licence: dict[str, Any], per_unit: bool) -> tuple[Decimal, Decimal]:
    """What a licence is worth per month (README "Preview"): unit × count or the total,
    nothing when inactive or at count 0, Annual ÷ 12, Quarterly ÷ 3, One-time not at all."""
    months = MONTHS.get(licence["billing_cycle"])
    if not licence["is_active"] or licence["count"] == 0 or months is None:
        return Decimal(0), Decimal(0)
    seats = licence["count"] if per_unit else 1
    return tuple(  # type: ignore[return-value]
        (Decimal(str(licence[k])) * seats / months).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )
        for k in ("purchase_price", "price")
    )


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def _owned(seller: str) -> dict[str, list[int]]:
    """Licence ids per platform subscription, in any HaloPSA client, from the ledger."""
    owned: dict[str, list[int]] = {}
    for ext, licence in await SyncedSubscription.filter(
        seller_id=seller, halo_licence_id__isnull=False
    ).values_list("subscription__external_id", "halo_licence_id"):
        owned.setdefault(ext, []).append(licence)
    return owned


async def _ledger_snapshot(seller: str) -> list[tuple[Any, ...]]:
    return [
        tuple(r.values())
        for r in await SyncedSubscription.filter(seller_id=seller)
        .order_by("id")
        .values("id", "halo_licence_id", "state", "payload_hash", "intent_hash", "last_run_id")
    ]


def _halo_requests(sim: Any) -> dict[str, dict[str, int]]:
    return {name: dict(i.counters) for name, i in sim.state.instances.items()}


# --- the property -------------------------------------------------------------------------


@pytest.fixture
def fast_gateway(gateway_factory: Any, settings: Any) -> Any:
    """One gateway for all the examples (each example is a new seller)."""
    return gateway_factory(settings.model_copy(update=FAST))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(scenario=scenarios)
@example(scenario=EVERY_PATH)
async def test_the_preview_is_what_the_next_sync_then_does(
    scenario, migrated_db, halo_sim, fast_gateway
) -> None:
    # Given a new seller with its own HaloPSA instance, organisations mapped one to one and
    # two spare HaloPSA clients to remap to
    seller = f"seller-{uuid.uuid4().hex[:8]}"
    sim = halo_sim.state.add_instance(
        seller, client_id=data.SIM_CLIENT_ID, client_secret=data.SIM_CLIENT_SECRET
    )
    sim.set_faults(rate_limit=None)
    await data.simulator_connection(migrated_db, seller, halo_sim, instance=seller)
    orgs = [f"{seller}-o{i}" for i in range(len(scenario["orgs"]))]
    clients = [sim.add_client(f"Client {i}") for i in range(len(orgs) + 2)]
    for i, ext in enumerate(orgs):
        org = await data.organization(seller, ext, f"Customer {i}")
        await data.mapping(org, await data.psa_organization(seller, clients[i]["id"], f"C{i}"))
    for client in clients[len(orgs) :]:
        await data.psa_organization(seller, client["id"], client["name"])
    platform = Platform(fast_gateway, halo_sim, seller, orgs, clients)
    for ext, specs in zip(orgs, scenario["orgs"], strict=True):
        for spec in specs:
            platform.new_sub(ext, spec)
    await platform.upsert(list(platform.subs))
    await platform.gql(UNIT_PRICES, {"e": scenario["unit_prices"]})

    per_unit: dict[int, bool] = {}  # licence id → written with unit prices?
    for round_no, round_changes in enumerate([[], *scenario["rounds"]]):
        for change in round_changes:
            await platform.apply(change)
        await _preview_then_sync(platform, sim, per_unit, round_no)


async def _preview_then_sync(
    platform: Platform, sim: Any, per_unit: dict[int, bool], round_no: int
) -> None:
    seller = platform.seller
    before = copy.deepcopy(sim.licences)
    owned_before = await _owned(seller)
    ledger_before = await _ledger_snapshot(seller)
    logs_before = await LogEntry.filter(seller_id=seller).count()
    requests_before = _halo_requests(platform.sim)

    # When the seller asks for the preview
    preview = (await platform.gql(PREVIEW))["previewSync"]

    # Then HaloPSA was not asked anything and nothing was written
    assert _halo_requests(platform.sim) == requests_before
    assert await _ledger_snapshot(seller) == ledger_before
    assert await LogEntry.filter(seller_id=seller).count() == logs_before
    assert preview["total"] == len(platform.orgs)
    rows = {s["id"]: (o, s) for o in preview["organizations"] for s in o["subscriptions"]}
    assert set(rows) == set(platform.subs), f"round {round_no}"
    for _, s in rows.values():  # what the examples covered (--hypothesis-show-statistics)
        event(f"{s['action']} {s['reason'] or ''}".strip())

    # When the sync runs (and, if the safety valve holds it, is approved: the plan it held
    # is the one previewed, nothing was written meanwhile, and the approved run does it)
    run_id = (await trigger(platform.gateway, SYNC, seller=seller))["id"]
    run = await wait_for_run(platform.gateway, run_id, seller=seller, timeout=60, until=STOPPED)
    if run["state"] == "NEEDS_APPROVAL":
        event("held by the safety valve, then approved")
        assert sim.licences == before, f"round {round_no}: a held run wrote"
        approved = await platform.gql(APPROVE, {"id": run_id})
        assert approved["approveSync"]["approval"]["planHash"] == preview["planHash"]
        run = await wait_for_run(platform.gateway, run_id, seller=seller, timeout=60)
    assert run["state"] == "SUCCEEDED", run

    # Then every subscription got the outcome the preview announced …
    stamped = {
        ext: (RunOutcome(outcome), licence)
        for ext, outcome, licence in await SyncedSubscription.filter(
            seller_id=seller, last_run_id=int(run_id)
        ).values_list("subscription__external_id", "run_outcome", "halo_licence_id")
    }
    expected = {
        ext: OUTCOME[s["action"]] for ext, (_, s) in rows.items() if s["reason"] not in OUTSIDE_RUN
    }
    assert {ext: o for ext, (o, _) in stamped.items()} == expected, f"round {round_no}"
    counts = preview["counts"]
    outside = sum(1 for _, s in rows.values() if s["reason"] in OUTSIDE_RUN)
    assert (run["created"], run["updated"], run["unchanged"], run["skipped"], run["failed"]) == (
        counts["create"],
        counts["update"] + counts["markDeleted"],
        counts["unchanged"],
        counts["skipped"] - outside,
        0,
    )

    # … and HaloPSA now holds exactly what the preview said, field by field
    written = set()
    for ext, (org, s) in rows.items():
        if s["action"] not in WRITES:
            if ext in stamped and stamped[ext][1] is not None:
                assert s["haloLicenceId"] == stamped[ext][1]
            continue
        licence_id = stamped[ext][1]
        written.add(licence_id)
        now = _norm(sim.licences[licence_id])
        assert sim.licences[licence_id]["client_id"] == org["haloClientId"]
        change = {c["field"]: c for c in s["changes"]}
        if s["action"] == "CREATE":
            assert licence_id not in before and s["haloLicenceId"] is None
            assert {f: _value(f, c["after"]) for f, c in change.items()} == {
                f: v for f, v in now.items() if v is not None
            }
        else:
            assert licence_id == s["haloLicenceId"]
            old = _norm(before[licence_id])
            assert {f: _value(f, c["before"]) for f, c in change.items()} == {
                f: old[f] for f in change
            }
            assert now == old | {f: _value(f, c["after"]) for f, c in change.items()}
    assert set(sim.licences) - set(before) == {
        stamped[ext][1] for ext, (_, s) in rows.items() if s["action"] == "CREATE"
    }
    for licence_id, licence in before.items():
        if licence_id not in written:
            assert sim.licences[licence_id] == licence
    run_row = await SyncRun.get(id=int(run_id))
    assert run_row.sync_unit_prices == preview["unitPrices"]

    # … and the money moved as the preview said, to the cent
    owned_after = await _owned(seller)
    after_modes = dict(per_unit)
    for ext in rows:
        if ext in stamped and stamped[ext][0] in (RunOutcome.CREATED, RunOutcome.UPDATED):
            after_modes[stamped[ext][1]] = bool(run_row.sync_unit_prices)
    totals: dict[str, list[Decimal]] = {}
    for ext, (_, s) in rows.items():
        was = [_monthly(before[i], per_unit[i]) for i in owned_before.get(ext, [])]
        now_ = [_monthly(sim.licences[i], after_modes[i]) for i in owned_after.get(ext, [])]
        amounts = [sum((m[k] for m in ms), Decimal(0)) for ms in (was, now_) for k in (0, 1)]
        shown = [
            Decimal(s[f])
            for f in (
                "monthlyCostBefore",
                "monthlyPriceBefore",
                "monthlyCostAfter",
                "monthlyPriceAfter",
            )
        ]
        assert shown == [_cents(a) for a in amounts], (ext, s, round_no)
        total = totals.setdefault(s["currency"], [Decimal(0)] * 4)
        for k, amount in enumerate(amounts):
            total[k] += amount
    assert {
        m["currency"]: [
            Decimal(m[f]) for f in ("costBefore", "priceBefore", "costAfter", "priceAfter")
        ]
        for m in preview["money"]
    } == {currency: [_cents(a) for a in t] for currency, t in totals.items()}
    assert all(m["unknownBefore"] == m["unknownAfter"] == 0 for m in preview["money"])
    per_unit.clear()
    per_unit.update(after_modes)
