"""previewSync through the API: what a seller reads before money moves.

The property test beside this file holds the preview to what the run then does; these tests
pin concrete figures (monthly normalisation, unit prices, a remap), the paging and filters,
what the preview cannot know, and the refusals.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.models import LedgerState, SyncedSubscription
from gateway.services.sync.licences import licence_payload, payload_hash
from tests.conftest import assert_error_code
from tests.services.sync.test_engine import SYNC_SUBS
from tests.services.sync.test_push import FAST
from tests.support import data
from tests.support.runs import trigger, wait_for_run

MONEY = "currency costBefore costAfter costChange priceBefore priceAfter priceChange"
PREVIEW = f"""
query ($org: ID, $changesOnly: Boolean! = false, $page: Int! = 1, $pageSize: Int! = 20) {{
  previewSync(organizationId: $org, changesOnly: $changesOnly, page: $page,
              pageSize: $pageSize) {{
    unitPrices total page pageSize pageCount range
    counts {{ create update markDeleted unchanged skipped total }}
    money {{ {MONEY} unknownBefore unknownAfter }}
    organizations {{
      id name haloClientId haloClientName skipReason
      counts {{ create update markDeleted unchanged skipped total }}
      money {{ {MONEY} }}
      subscriptions {{
        id name action reason reasonText haloLicenceId currency
        changes {{ field before after }}
        monthlyCostBefore monthlyCostAfter monthlyPriceBefore monthlyPriceAfter
      }}
    }}
  }}
}}"""


@pytest.fixture
async def connected(migrated_db, halo_sim):
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    return halo_sim.instance()


@pytest.fixture
def gateway(gateway_factory, settings):
    return gateway_factory(settings.model_copy(update=FAST))


async def _preview(gateway: Any, **variables: Any) -> dict[str, Any]:
    result = await gateway.gql(PREVIEW, variables)
    assert "errors" not in result, result
    return result["data"]["previewSync"]


async def _sync(gateway: Any) -> dict[str, Any]:
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert run["state"] == "SUCCEEDED", run
    return run


def _subs(preview: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for o in preview["organizations"] for s in o["subscriptions"]}


def _changes(sub: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    return {c["field"]: (c["before"], c["after"]) for c in sub["changes"]}


async def test_preview_lists_fields_old_to_new_and_monthly_money_per_currency(
    connected, gateway
) -> None:
    # Given two synced subscriptions, one monthly in USD and one annual in EUR
    org = await data.mapped_organization(
        "seller-a", "org-a", "Acme", connected.add_client("Acme Ltd")
    )
    m365 = await data.subscription(
        org, "s1", name="M365 E3", quantity=10, cost_price="180.00", customer_price="220.00"
    )
    await data.subscription(
        org,
        "s2",
        name="Acronis",
        quantity=3,
        cost_price="360.00",
        customer_price="480.00",
        billing_cycle="Annual",
        currency="EUR",
    )
    first = await _preview(gateway)
    await _sync(gateway)
    # When the seats drop to 8 at 200.00 and the seller turns on unit prices
    m365.quantity, m365.customer_price = 8, "200.00"
    await m365.save()
    await data.seller("seller-a", unit_prices=True)

    preview = await _preview(gateway)

    # Then the first preview announced two creates from nothing …
    assert first["counts"] == {
        "create": 2,
        "update": 0,
        "markDeleted": 0,
        "unchanged": 0,
        "skipped": 0,
        "total": 2,
    }
    assert _subs(first)["s1"]["monthlyPriceBefore"] == "0.00"
    assert _changes(_subs(first)["s1"])["count"] == (None, "10")
    # … and this one the fields that change, HaloPSA's value → the new one
    subs = _subs(preview)
    assert preview["unitPrices"] is True
    assert (subs["s1"]["action"], subs["s1"]["reason"]) == ("UPDATE", None)
    assert _changes(subs["s1"]) == {
        "count": ("10", "8"),
        "purchase_price": ("180.00", "22.5000"),
        "price": ("220.00", "25.0000"),
    }
    # unit prices alone change the figures HaloPSA holds, not the money
    assert _changes(subs["s2"]) == {
        "purchase_price": ("360.00", "120.0000"),
        "price": ("480.00", "160.0000"),
    }
    assert [
        subs["s2"][f]
        for f in (
            "monthlyCostBefore",
            "monthlyCostAfter",
            "monthlyPriceBefore",
            "monthlyPriceAfter",
        )
    ] == ["30.00", "30.00", "40.00", "40.00"]  # Annual ÷ 12
    assert preview["money"] == [
        {
            "currency": "EUR",
            "costBefore": "30.00",
            "costAfter": "30.00",
            "costChange": "0.00",
            "priceBefore": "40.00",
            "priceAfter": "40.00",
            "priceChange": "0.00",
            "unknownBefore": 0,
            "unknownAfter": 0,
        },
        {
            "currency": "USD",
            "costBefore": "180.00",
            "costAfter": "180.00",
            "costChange": "0.00",
            "priceBefore": "220.00",
            "priceAfter": "200.00",
            "priceChange": "-20.00",
            "unknownBefore": 0,
            "unknownAfter": 0,
        },
    ]
    [acme] = preview["organizations"]
    assert (acme["haloClientName"], acme["counts"]["update"]) == ("Acme Ltd", 2)


async def test_a_remap_creates_in_the_new_client_and_the_old_licence_stays_in_the_money(
    connected, gateway
) -> None:
    # Given a synced subscription, whose organisation is then remapped to another client
    old, new = connected.add_client("Old Ltd"), connected.add_client("New Ltd")
    org = await data.mapped_organization("seller-a", "org-a", "Acme", old)
    await data.subscription(org, "s1", quantity=2, cost_price="10.00", customer_price="15.00")
    await _sync(gateway)
    [licence_id] = connected.licences
    await data.psa_organization("seller-a", new["id"], "New Ltd")
    remap = await gateway.gql(
        'mutation ($p: ID!) { mapOrganization(organizationId: "org-a", psaOrganizationId: $p)'
        " { id } }",
        {"p": str(new["id"])},
    )
    assert "errors" not in remap, remap

    preview = await _preview(gateway)

    # Then the preview says: a new licence in the new client, the old one goes on billing
    [sub] = _subs(preview).values()
    assert (sub["action"], sub["reason"], sub["haloLicenceId"]) == ("CREATE", "REMAPPED", None)
    assert f"licence {licence_id} in 'Old Ltd'" in sub["reasonText"]
    assert (sub["monthlyPriceBefore"], sub["monthlyPriceAfter"]) == ("15.00", "30.00")
    assert preview["organizations"][0]["haloClientId"] == new["id"]


async def test_changes_only_one_organisation_and_pages_like_the_grid(connected, gateway) -> None:
    # Given three mapped organisations with a synced subscription each, one unmapped, and a
    # change in one of them
    subs = []
    for name in ("Acme", "Globex", "Initech"):
        org = await data.mapped_organization(
            "seller-a", f"org-{name}", name, connected.add_client(name)
        )
        subs.append(await data.subscription(org, f"s-{name}", quantity=1))
    lone = await data.organization("seller-a", "org-lone", "Lone Ltd")
    await data.subscription(lone, "s-lone", quantity=1)
    await _sync(gateway)
    subs[1].quantity = 5
    await subs[1].save()

    everything = await _preview(gateway, pageSize=10)
    second_page = await _preview(gateway, page=2, pageSize=10)
    changes = await _preview(gateway, changesOnly=True)
    one = await _preview(gateway, org="org-Initech")
    unmapped = await _preview(gateway, org="org-lone")

    # Then organisations come by name, like the grid, with the seed's range text
    assert [o["id"] for o in everything["organizations"]] == [
        "org-Acme",
        "org-Globex",
        "org-Initech",
        "org-lone",
    ]
    assert (everything["range"], everything["pageCount"]) == ("1 – 4 of 4", 1)
    assert (second_page["organizations"], second_page["range"]) == ([], "0 of 4")
    assert everything["counts"] == {
        "create": 0,
        "update": 1,
        "markDeleted": 0,
        "unchanged": 2,
        "skipped": 1,
        "total": 4,
    }
    lone_row = everything["organizations"][3]
    assert (lone_row["skipReason"], lone_row["subscriptions"][0]["reason"]) == (
        "UNMAPPED",
        "UNMAPPED",
    )
    # changesOnly keeps what would be written; the counts stay those of the whole sync
    assert [(o["id"], [s["id"] for s in o["subscriptions"]]) for o in changes["organizations"]] == [
        ("org-Globex", ["s-Globex"])
    ]
    assert changes["counts"] == everything["counts"] and changes["total"] == 1
    # one organisation: its own sync
    assert [o["id"] for o in one["organizations"]] == ["org-Initech"]
    assert one["counts"]["unchanged"] == 1 and one["counts"]["total"] == 1
    assert unmapped["organizations"][0]["skipReason"] == "UNMAPPED"


async def test_a_refused_update_leaves_halopsa_values_unknown_not_guessed(
    connected, gateway
) -> None:
    # Given a synced subscription whose next update HaloPSA refuses
    org = await data.mapped_organization("seller-a", "org-a", "Acme", connected.add_client("Acme"))
    sub = await data.subscription(
        org, "s1", name="Fine", quantity=4, cost_price="40.00", customer_price="80.00"
    )
    await _sync(gateway)
    [licence_id] = connected.licences
    connected.set_faults(reject_names={"Refused"})
    sub.name, sub.quantity = "Refused", 5
    await sub.save()
    assert (await _sync(gateway))["failed"] == 1

    preview = await _preview(gateway)

    # Then the ledger no longer knows what HaloPSA holds, and the preview says so
    [row] = _subs(preview).values()
    assert (row["action"], row["reason"], row["haloLicenceId"]) == (
        "UPDATE",
        "LAST_WRITE_UNCONFIRMED",
        licence_id,
    )
    assert row["monthlyPriceBefore"] is None and row["monthlyPriceAfter"] == "80.00"
    assert ("count", None, "5") in [(c["field"], c["before"], c["after"]) for c in row["changes"]]
    [usd] = preview["money"]
    assert (usd["unknownBefore"], usd["unknownAfter"], usd["priceBefore"]) == (1, 0, "0.00")


async def test_a_refused_create_is_a_plain_create_again_not_a_licence_to_read_back(
    connected, gateway
) -> None:
    # Given a new subscription HaloPSA refuses (it answered: it stored nothing)
    org = await data.mapped_organization("seller-a", "org-a", "Acme", connected.add_client("Acme"))
    await data.subscription(org, "s1", name="Refused", quantity=2)
    connected.set_faults(reject_names={"Refused"})
    assert (await _sync(gateway))["failed"] == 1

    [row] = _subs(await _preview(gateway)).values()

    # Then the next sync creates it, with no 40-second wait to read back a licence that
    # cannot exist (a lost answer's wait, which a refusal is not)
    assert (row["action"], row["reason"]) == ("CREATE", None)
    assert connected.licences == {}


async def test_an_intent_left_by_a_dead_run_is_a_create_unless_halopsa_stored_it(
    connected, gateway
) -> None:
    # Given a run that recorded its intent and died before HaloPSA's answer was stored
    client = connected.add_client("Acme")
    org = await data.mapped_organization("seller-a", "org-a", "Acme", client)
    sub = await data.subscription(org, "s1", quantity=3)
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

    [row] = _subs(await _preview(gateway)).values()

    # Then the preview cannot know without asking HaloPSA, and says what the sync will do
    assert (row["action"], row["reason"]) == ("CREATE", "AWAITING_READBACK")
    assert "reads this organization's licences back" in row["reasonText"]
    assert connected.counters.get("requests", 0) == 0


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"pageSize": 7}, "BAD_USER_INPUT"),
        ({"page": 0}, "BAD_USER_INPUT"),
        ({"org": "no-such-org"}, "NOT_FOUND"),
    ],
)
async def test_bad_arguments_are_refused_with_a_code(migrated_db, gateway, variables, code) -> None:
    assert_error_code(await gateway.gql(PREVIEW, variables), code)


async def test_the_preview_needs_a_seller_role(migrated_db, gateway) -> None:
    assert_error_code(await gateway.gql(PREVIEW, seller=None), "UNAUTHENTICATED")
    assert_error_code(await gateway.gql(PREVIEW, role="CUSTOMER"), "FORBIDDEN")
    agent = await gateway.gql(PREVIEW, role="SELLER_AGENT_ADMIN")
    assert agent["data"]["previewSync"]["total"] == 0
