"""PostgreSQL's one-statement upsert (gateway/services/upsert_sql.py). Its decisions are the
portable path's, proven by one test body on both databases in tests/services/test_upserts.py;
here what only the statement does."""

from __future__ import annotations

import asyncio

import pytest

from gateway.models import Subscription
from gateway.services import upserts
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
