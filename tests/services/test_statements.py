"""Hand-written statements behave alike on SQLite and PostgreSQL (the grid and logs use them)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from gateway.db import current_connection_name
from gateway.models import LogEntry, LogLevel
from gateway.services import organizations
from gateway.services.statements import as_datetime, statement_for, to_datetime
from tests.support import data


async def _titles_matching(term: str) -> list[str]:
    s = statement_for(LogEntry)
    rows = await s.fetch(
        f"SELECT title FROM log_entry WHERE seller_id = {s.param('seller-a')}"
        f" AND {s.contains('search_text', term)} ORDER BY title"
    )
    return [r[0] for r in rows]


async def test_contains_ignores_case_and_takes_wildcards_literally(migrated_db) -> None:
    await data.seller("seller-a")
    now = datetime.now(UTC)
    for title in ("50% OFF_sale", "500 offXsale", "Other", "back\\slash", "a*b?[c]", "aXbY[c]"):
        await LogEntry.create(
            seller_id="seller-a", level=LogLevel.INFO, title=title, details="", created_at=now
        )
    assert await _titles_matching("50% off_") == ["50% OFF_sale"]
    assert await _titles_matching("OFF") == ["50% OFF_sale", "500 offXsale"]
    assert await _titles_matching("k\\s") == ["back\\slash"]
    assert await _titles_matching("%") == ["50% OFF_sale"]
    # GLOB's wildcards too (SQLite's test): each matches only itself.
    assert await _titles_matching("*b?[C]") == ["a*b?[c]"]
    assert await _titles_matching("[c") == ["a*b?[c]", "aXbY[c]"]
    assert await _titles_matching("?") == ["a*b?[c]"]


async def test_numbered_placeholders_serve_twice_and_datetimes_come_back(migrated_db) -> None:
    await data.seller("seller-a")
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    await LogEntry.create(
        seller_id="seller-a", level=LogLevel.INFO, title="t", details="", created_at=at
    )
    s = statement_for(LogEntry)
    since = s.param(at - timedelta(minutes=1))  # written once, used in two places
    rows = await s.fetch(
        f"SELECT (SELECT COUNT(*) FROM log_entry WHERE created_at >= {since}) AS n, created_at"
        f" FROM log_entry WHERE created_at >= {since}"
    )
    assert rows[0][0] == 1
    assert to_datetime(rows[0][1]) == at
    assert as_datetime(None) is None


async def test_a_term_that_looks_like_sql_is_only_searched_for(migrated_db) -> None:
    await data.seller("seller-a")
    now = datetime.now(UTC)
    for title in ("it's $q$ fine", "x'); DROP TABLE log_entry; --"):
        await LogEntry.create(
            seller_id="seller-a", level=LogLevel.INFO, title=title, details="", created_at=now
        )
    assert await _titles_matching("$q$") == ["it's $q$ fine"]
    assert await _titles_matching("'); drop table") == ["x'); DROP TABLE log_entry; --"]
    assert await LogEntry.all().count() == 2


async def test_a_page_is_read_while_another_task_holds_a_write_transaction_and_shows_only_what_is_committed(  # noqa: E501
    migrated_db,
) -> None:
    # Given one committed organisation, and a transaction of another task (an import, a sync
    # pull) that has written a second one and not committed yet
    await data.organization("seller-a", "org-1", "Committed")
    written, release = asyncio.Event(), asyncio.Event()

    async def import_in_progress() -> None:
        async with in_transaction(current_connection_name()):
            await data.organization("seller-a", "org-2", "Not yet committed")
            written.set()
            await release.wait()

    writer = asyncio.create_task(import_in_progress())
    await written.wait()

    # When the grid is read meanwhile
    grid = asyncio.create_task(
        organizations.list_organizations("seller-a", organizations.Filters(), cooldown_minutes=60)
    )
    done, _ = await asyncio.wait({grid}, timeout=30)  # bounds a hang; not a timing assertion
    release.set()
    await writer

    # Then it answered without waiting for the transaction, with the committed state only
    # (PostgreSQL's pool and SQLite's read connection alike)
    assert grid in done, "the grid waited for another task's transaction"
    assert [row.name for row in grid.result().items] == ["Committed"]
    after = await organizations.list_organizations(
        "seller-a", organizations.Filters(), cooldown_minutes=60
    )
    assert [row.name for row in after.items] == ["Committed", "Not yet committed"]
