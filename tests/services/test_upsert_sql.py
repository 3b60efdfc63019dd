"""PostgreSQL's upsert (gateway/services/upsert_sql.py): each chunk COPYed to a staging table
and upserted from it in one statement. Its decisions are the portable path's, proven by one
test body on both databases in tests/services/test_upserts.py; here what only it does."""

from __future__ import annotations

import asyncio

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from gateway.db import current_connection_name
from gateway.models import Organization, Subscription
from gateway.services import upsert_sql, upserts
from gateway.services.upserts import UpsertResult
from tests.services.test_upserts import org, sub


@pytest.mark.databases("postgres")
async def test_two_imports_of_the_same_rows_at_once_both_finish_and_create_each_row_once(
    migrated_db,
) -> None:
    await upserts.upsert_organizations("seller-a", [org(1)])
    chunk = [sub(i) for i in range(1000)]

    first, second = await asyncio.gather(
        upserts.upsert_subscriptions("seller-a", chunk),
        upserts.upsert_subscriptions("seller-a", chunk),
    )

    # One created them; the other waited on the unique index and found them the same
    assert sorted([first, second], key=lambda r: r.created) == [
        UpsertResult(created=0, updated=0, unchanged=1000),
        UpsertResult(created=1000, updated=0, unchanged=0),
    ]
    assert await Subscription.filter(seller_id="seller-a").count() == 1000


@pytest.mark.databases("postgres")
async def test_each_chunk_writes_only_its_own_rows_for_its_own_seller(migrated_db) -> None:
    # Chunks pass through a staging table that lives as long as the pooled connection: what
    # one chunk staged must never reach the next one, committed or refused, whoever's it is.
    await upserts.upsert_organizations("seller-a", [org(1)])
    await upserts.upsert_organizations("seller-b", [org(1)])
    a_rows = (await upserts.validate_subscriptions("seller-a", [sub(i) for i in range(10)])).rows
    b_rows = (
        await upserts.validate_subscriptions("seller-b", [sub(i) for i in range(10, 40)])
    ).rows
    refused = [*b_rows[:5], {**b_rows[5], "organization_id": 999}]

    assert await upserts.write_subscriptions("seller-a", a_rows) == UpsertResult(10, 0, 0)
    with pytest.raises(IntegrityError):
        await upserts.write_subscriptions("seller-b", refused)
    results = [
        await upserts.write_subscriptions("seller-b", b_rows[i : i + 3]) for i in range(0, 30, 3)
    ]

    assert results == [UpsertResult(created=3, updated=0, unchanged=0)] * 10
    stored = await Subscription.filter(seller_id="seller-b").values_list("external_id", flat=True)
    assert sorted(stored) == sorted(f"sub-{i}" for i in range(10, 40))
    assert await Subscription.filter(seller_id="seller-a").count() == 10


@pytest.mark.databases("postgres")
async def test_an_import_brings_stale_statistics_of_what_it_looks_up_up_to_date(
    migrated_db,
) -> None:
    # Given 200 organisations just written, their counts flushed to the statistics system,
    # and no analyse since (autovacuum's would be due: it is off or behind)
    async with in_transaction(current_connection_name()) as conn:
        await conn.execute_query("SELECT pg_stat_force_next_flush()")
        await upserts.upsert_organizations("seller-a", [org(i) for i in range(200)])
    conn = connections.get(current_connection_name())

    assert await upsert_sql.analyze_if_stale(conn, Organization) is True
    assert await upsert_sql.analyze_if_stale(conn, Organization) is False  # current now
    _, rows = await conn.execute_query(
        "SELECT reltuples FROM pg_class WHERE relname = 'organization'"
    )
    assert rows[0]["reltuples"] == 200
