"""The upserts' validators and write path (gateway.services.upserts), shared by the GraphQL
mutations (tests/api/test_imports.py) and ``halo-gateway import``
(tests/services/test_bulk_import.py).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from tortoise.exceptions import IntegrityError

from gateway.errors import BadUserInput
from gateway.models import Organization, Subscription
from gateway.services import upserts
from gateway.services.upserts import OrganizationItem, SubscriptionItem, UpsertResult


def org(i: int, **changes: str) -> OrganizationItem:
    item = OrganizationItem(id=f"org-{i}", name=f"Org {i}", reference=f"R-{i}", status="ACTIVE")
    return replace(item, **changes)


def sub(i: int, org_id: str = "org-1", **changes: str) -> SubscriptionItem:
    item = SubscriptionItem(
        id=f"sub-{i}",
        organization_id=org_id,
        name=f"Licence {i}",
        start_date="2026-01-01",
        end_date="2026-12-31",
        quantity=3,
        billing_cycle="Monthly",
        term_duration="1 Year",
        status="ACTIVE",
        cost_price="30.00",
        customer_price="36.50",
    )
    return replace(item, **changes)


def test_validation_reports_every_problem_with_its_index_and_field_without_a_database() -> None:
    checked = upserts.validate_organizations(
        [org(0), org(1, name=" ", status="GONE"), org(2, id="org-0")]
    )

    assert [(p.index, p.field, p.message) for p in checked.problems] == [
        (1, "name", "is required"),
        (1, "status", "must be one of ACTIVE, SUSPENDED, INACTIVE, PENDING"),
        (2, "id", "repeats item 0"),
    ]
    assert checked.bad_indexes == {1, 2}
    assert checked.problems[2].repeats == 0  # the CLI names the earlier line


def test_choices_are_stored_in_their_canonical_spelling() -> None:
    checked = upserts.validate_organizations([org(0, status=" suspended ")])
    assert checked.problems == [] and checked.rows[0]["status"] == "SUSPENDED"


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("12.5", Decimal("12.5")),
        (" 12.50 ", Decimal("12.50")),
        ("0", Decimal("0")),
        ("999999999.9999", Decimal("999999999.9999")),
        ("1000000000", Decimal("1000000000")),
        ("1e3", Decimal("1E+3")),
        ("٣", Decimal("3")),  # Arabic-Indic three: a digit to Decimal, as before
        ("1000000000.0001", "must be between 0 and 1,000,000,000"),
        ("-1", "must be between 0 and 1,000,000,000"),
        ("NaN", "must be between 0 and 1,000,000,000"),
        ("0.12345", "has more than 4 decimal places"),
        ("12,50", "must be a decimal amount like 12.50"),
        ("", "must be a decimal amount like 12.50"),
    ],
)
def test_an_amount_is_read_the_same_however_it_is_written(written: str, read: object) -> None:
    # No database: the checks once the organisations are known
    checked = upserts.check_subscriptions([sub(1, cost_price=written)], {"org-1": 1})

    if isinstance(read, Decimal):
        assert checked.problems == []
        value = checked.rows[0]["cost_price"]
        assert (value, str(value)) == (read, str(read))  # the same digits, not only equal
    else:
        assert [(p.field, p.message) for p in checked.problems] == [("costPrice", read)]


def test_an_option_is_accepted_in_any_case_with_blanks_around() -> None:
    spellings = ["Monthly", "monthly", "MONTHLY", " Monthly ", "\tmONTHLY"]
    items = [sub(i, billing_cycle=b) for i, b in enumerate(spellings)] + [
        sub(9, billing_cycle="Weekly")
    ]

    checked = upserts.check_subscriptions(items, {"org-1": 1})

    assert [r["billing_cycle"] for r in checked.rows[:5]] == ["Monthly"] * 5
    assert [(p.index, p.message) for p in checked.problems] == [
        (5, "must be one of Monthly, Annual, Quarterly, One-time")
    ]


async def test_money_keeps_four_decimal_places_and_refuses_a_fifth(migrated_db) -> None:
    await upserts.upsert_organizations("seller-a", [org(1)])

    checked = await upserts.validate_subscriptions(
        "seller-a", [sub(1, cost_price="0.1235"), sub(2, customer_price="0.12345")]
    )

    assert checked.rows[0]["cost_price"] == Decimal("0.1235")
    assert [(p.index, p.field) for p in checked.problems] == [(1, "customerPrice")]


async def test_a_dry_run_counts_the_same_decisions_and_writes_nothing(migrated_db) -> None:
    await upserts.upsert_organizations("seller-a", [org(1), org(2)])
    rows = upserts.validate_organizations([org(1), org(2, name="Renamed"), org(3)]).rows

    counted = await upserts.write_organizations("seller-a", rows, apply=False)

    assert counted == UpsertResult(created=1, updated=1, unchanged=1)
    assert await Organization.filter(seller_id="seller-a").count() == 2
    assert await upserts.write_organizations("seller-a", rows) == counted


async def test_a_call_with_one_bad_item_raises_and_writes_nothing(migrated_db) -> None:
    with pytest.raises(BadUserInput) as refused:
        await upserts.upsert_organizations("seller-a", [org(1), org(2, reference="")])

    assert refused.value.data["problems"] == [
        {"index": 1, "field": "reference", "message": "is required"}
    ]
    assert await Organization.filter(seller_id="seller-a").count() == 0


async def test_deleting_an_organisation_soft_deletes_its_subscriptions_and_an_upsert_revives_it(
    migrated_db,
) -> None:
    await upserts.upsert_organizations("seller-a", [org(1)])
    await upserts.upsert_subscriptions("seller-a", [sub(1), sub(2)])

    assert await upserts.delete_organizations("seller-a", ["org-1"]) == 1

    live = Subscription.filter(seller_id="seller-a", deleted_at__isnull=True)
    assert await live.count() == 0
    # A deleted organisation is not one a subscription may name...
    checked = await upserts.validate_subscriptions("seller-a", [sub(3)])
    assert [(p.field, p.message) for p in checked.problems] == [
        ("organizationId", "is not a known organization")
    ]
    # ...until it is upserted again (its subscriptions come back with their own upsert).
    revived = await upserts.upsert_organizations("seller-a", [org(1)])
    assert revived == UpsertResult(created=0, updated=1, unchanged=0)
    assert await live.count() == 0


async def test_sellers_keep_their_own_ids(migrated_db) -> None:
    await upserts.upsert_organizations("seller-a", [org(1)])
    result = await upserts.upsert_organizations("seller-b", [org(1, name="B's own")])

    assert result == UpsertResult(created=1, updated=0, unchanged=0)
    kept = await Organization.get(seller_id="seller-a", external_id="org-1")
    assert kept.name == "Org 1"


async def test_a_resent_chunk_creates_updates_revives_and_leaves_the_same_rows_untouched(
    migrated_db,
) -> None:
    # One test body for both write paths (PostgreSQL's one statement, SQLite's lookups)
    await upserts.upsert_organizations("seller-a", [org(1), org(2)])
    first = [sub(1), sub(2), sub(3, end_date=None), sub(4), sub(5)]
    assert await upserts.upsert_subscriptions("seller-a", first) == UpsertResult(5, 0, 0)
    await upserts.delete_subscriptions("seller-a", ["sub-5"])
    before = {s.external_id: s for s in await Subscription.filter(seller_id="seller-a")}

    again = [
        sub(1, customer_price="36.5000", cost_price="30"),  # the same amounts, other spelling
        sub(2, quantity=4),  # changed
        sub(3, end_date="2027-01-31"),  # no end date before
        sub(4, org_id="org-2"),  # moved to another organisation
        sub(5),  # deleted before: revived
        sub(6),  # new
    ]
    result = await upserts.upsert_subscriptions("seller-a", again)

    assert result == UpsertResult(created=1, updated=4, unchanged=1)
    after = {s.external_id: s for s in await Subscription.filter(seller_id="seller-a")}
    assert after["sub-1"].updated_at == before["sub-1"].updated_at  # not touched
    assert after["sub-2"].quantity == 4 and after["sub-2"].updated_at > before["sub-2"].updated_at
    assert str(after["sub-3"].end_date) == "2027-01-31"
    orgs = dict(await Organization.filter(seller_id="seller-a").values_list("external_id", "id"))
    assert after["sub-4"].organization_id == orgs["org-2"]
    assert after["sub-5"].deleted_at is None
    assert after["sub-6"].customer_price == Decimal("36.50")
    assert await upserts.upsert_subscriptions("seller-a", again) == UpsertResult(0, 0, 6)


async def test_a_chunk_the_database_refuses_writes_none_of_its_rows(migrated_db) -> None:
    await upserts.upsert_organizations("seller-a", [org(1)])
    checked = await upserts.validate_subscriptions("seller-a", [sub(1), sub(2)])
    rows = [*checked.rows, {**checked.rows[1], "external_id": "sub-3", "organization_id": 999}]

    # An organisation gone between the check and the write (its id no longer exists)
    with pytest.raises(IntegrityError):
        await upserts.write_subscriptions("seller-a", rows)

    assert await Subscription.filter(seller_id="seller-a").count() == 0
