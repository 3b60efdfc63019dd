"""Integrators push organisations and subscriptions: validated, all-or-nothing, idempotent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.models import Organization, Subscription
from tests.conftest import assert_error_code

UPSERT_ORGS = """mutation ($input: [OrganizationInput!]!) { upsertOrganizations(input: $input) {
created updated unchanged } }"""
UPSERT_SUBS = """mutation ($input: [SubscriptionInput!]!) { upsertSubscriptions(input: $input) {
created updated unchanged } }"""
GRID = "{ organizations(pageSize: 100) { total rows { id name reference status } } }"


def org(i: int, **kw) -> dict:
    return {"id": f"org-{i}", "name": f"Org {i}", "reference": f"R-{i}", "status": "ACTIVE", **kw}


def sub(i: int, org_id: str = "org-1", **kw) -> dict:
    return {
        "id": f"sub-{i}",
        "organizationId": org_id,
        "name": f"Licence {i}",
        "quantity": 3,
        "billingCycle": "Monthly",
        "termDuration": "1 Year",
        "status": "ACTIVE",
        "costPrice": "30.00",
        "customerPrice": "36.50",
        "startDate": "2026-01-01",
        "endDate": "2026-12-31",
        **kw,
    }


async def test_organizations_round_trip_and_resending_changes_nothing(gateway, migrated_db) -> None:
    batch = [org(i) for i in range(1, 4)]
    first = (await gateway.gql(UPSERT_ORGS, {"input": batch}))["data"]["upsertOrganizations"]
    assert first == {"created": 3, "updated": 0, "unchanged": 0}
    stamps = await Organization.all().order_by("id").values_list("updated_at", flat=True)
    again = (await gateway.gql(UPSERT_ORGS, {"input": batch}))["data"]["upsertOrganizations"]
    assert again == {"created": 0, "updated": 0, "unchanged": 3}
    assert await Organization.all().order_by("id").values_list("updated_at", flat=True) == stamps
    batch[0]["name"] = "Org One Renamed"
    changed = (await gateway.gql(UPSERT_ORGS, {"input": batch}))["data"]["upsertOrganizations"]
    assert changed == {"created": 0, "updated": 1, "unchanged": 2}
    grid = (await gateway.gql(GRID))["data"]["organizations"]
    assert grid["total"] == 3 and "Org One Renamed" in {r["name"] for r in grid["rows"]}


async def test_subscriptions_round_trip_with_decimal_prices(gateway, migrated_db) -> None:
    await gateway.gql(UPSERT_ORGS, {"input": [org(1)]})
    result = await gateway.gql(UPSERT_SUBS, {"input": [sub(1), sub(2, quantity=0)]})
    assert result["data"]["upsertSubscriptions"] == {"created": 2, "updated": 0, "unchanged": 0}
    row = await Subscription.get(external_id="sub-1")
    assert (row.cost_price, row.quantity, row.billing_cycle) == (
        Decimal("30.00"),
        3,
        "Monthly",
    )
    again = await gateway.gql(UPSERT_SUBS, {"input": [sub(1), sub(2, quantity=0)]})
    assert again["data"]["upsertSubscriptions"]["unchanged"] == 2


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (sub(1, quantity=-1), "quantity"),
        (sub(1, costPrice="12,50"), "costPrice"),
        (sub(1, customerPrice="NaN"), "customerPrice"),
        (sub(1, startDate="31/01/2026"), "startDate"),
        (sub(1, startDate="2026-05-01", endDate="2026-04-01"), "endDate"),
        (sub(1, billingCycle="Weekly"), "billingCycle"),
        (sub(1, status="DONE"), "status"),
        (sub(1, currency="dollars"), "currency"),
        (sub(1, org_id="org-unknown"), "organizationId"),
        (sub(1, name=" "), "name"),
    ],
)
async def test_a_bad_item_names_its_index_and_field_and_nothing_is_written(
    gateway, migrated_db, item, field
) -> None:
    await gateway.gql(UPSERT_ORGS, {"input": [org(1)]})
    result = await gateway.gql(UPSERT_SUBS, {"input": [sub(7), sub(8), item]})
    error = assert_error_code(result, "BAD_USER_INPUT")
    assert (error["extensions"]["index"], error["extensions"]["field"]) == (2, field)
    assert await Subscription.all().count() == 0  # sub-7 and sub-8 were not written either


async def test_every_problem_is_listed_not_just_the_first(gateway, migrated_db) -> None:
    result = await gateway.gql(
        UPSERT_ORGS, {"input": [org(1, status="NOPE"), org(2, name=""), org(1)]}
    )
    problems = assert_error_code(result, "BAD_USER_INPUT")["extensions"]["problems"]
    assert [(p["index"], p["field"]) for p in problems] == [(0, "status"), (1, "name"), (2, "id")]


async def test_too_many_items_in_one_call_are_refused(gateway, migrated_db) -> None:
    result = await gateway.gql(UPSERT_ORGS, {"input": [org(i) for i in range(1001)]})
    assert assert_error_code(result, "BAD_USER_INPUT")["extensions"]["limit"] == 1000


async def test_deletes_are_soft_and_an_upsert_brings_a_record_back(gateway, migrated_db) -> None:
    await gateway.gql(UPSERT_ORGS, {"input": [org(1), org(2)]})
    await gateway.gql(UPSERT_SUBS, {"input": [sub(1)]})
    deleted = await gateway.gql('mutation { deleteOrganizations(ids: ["org-1"]) { deleted } }')
    assert deleted["data"]["deleteOrganizations"]["deleted"] == 1
    assert (await gateway.gql(GRID))["data"]["organizations"]["total"] == 1
    assert (await Subscription.get(external_id="sub-1")).deleted_at is not None
    back = await gateway.gql(UPSERT_ORGS, {"input": [org(1)]})
    assert back["data"]["upsertOrganizations"]["updated"] == 1
    assert (await gateway.gql(GRID))["data"]["organizations"]["total"] == 2


async def test_sellers_never_touch_each_others_records(gateway, migrated_db) -> None:
    await gateway.gql(UPSERT_ORGS, {"input": [org(1)]})
    other = await gateway.gql(UPSERT_ORGS, {"input": [org(1, name="B's org")]}, seller="seller-b")
    assert other["data"]["upsertOrganizations"]["created"] == 1  # the same id, B's own record
    mine = (await gateway.gql(GRID))["data"]["organizations"]["rows"]
    assert [r["name"] for r in mine] == ["Org 1"]
    result = await gateway.gql(UPSERT_SUBS, {"input": [sub(1)]}, seller="seller-c")
    assert assert_error_code(result, "BAD_USER_INPUT")["extensions"]["field"] == "organizationId"
    gone = await gateway.gql(
        'mutation { deleteOrganizations(ids: ["org-1"]) { deleted } }', seller="seller-c"
    )
    assert gone["data"]["deleteOrganizations"]["deleted"] == 0
