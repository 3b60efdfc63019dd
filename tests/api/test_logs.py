"""Logs & Monitoring: tiles, filters, search, run filter, pagination, the 30-day window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.messages import Message, MessageCode
from gateway.models import LogEntry, LogLevel, SyncKind, SyncRun, SyncTrigger
from gateway.services import logs
from tests.conftest import assert_error_code
from tests.support import data

LOGS = """query ($level: LogLevelFilter, $page: Int, $pageSize: Int, $search: String,
$runId: ID) { logs(level: $level, page: $page, pageSize: $pageSize, search: $search,
runId: $runId) { total page pageSize pageCount range entries { level title details timestamp
runId } } }"""
OVERVIEW = "{ logOverview { total errors warnings lastUpdate lastUpdateRelative } }"


@pytest.fixture
async def entries(migrated_db):
    """236 entries for seller-a over the last 30 days, plus old ones and another seller's."""
    await data.seller("seller-a")
    await data.seller("seller-b")
    now = datetime.now(UTC)
    rows = []
    for i in range(236):
        level = (
            LogLevel.ERROR if i % 10 == 0 else LogLevel.WARNING if i % 10 == 1 else LogLevel.INFO
        )
        rows.append(
            LogEntry(
                seller_id="seller-a",
                level=level,
                title=f"Entry {i}",
                details=f"details {i}",
                created_at=now - timedelta(hours=i + 9),
            )
        )
    for i in range(5):  # older than 30 days: never shown
        rows.append(
            LogEntry(
                seller_id="seller-a",
                level=LogLevel.ERROR,
                title="Ancient",
                details="",
                created_at=now - timedelta(days=31 + i),
            )
        )
    rows.append(
        LogEntry(
            seller_id="seller-b",
            level=LogLevel.ERROR,
            title="B's secret entry",
            details="",
            created_at=now,
        )
    )
    await LogEntry.bulk_create(rows)
    return now


async def test_tiles_count_the_last_30_days(gateway, entries) -> None:
    tiles = (await gateway.gql(OVERVIEW))["data"]["logOverview"]
    assert (tiles["total"], tiles["errors"], tiles["warnings"]) == (236, 24, 24)
    assert tiles["lastUpdateRelative"] == "9h ago"
    other = (await gateway.gql(OVERVIEW, seller="seller-b"))["data"]["logOverview"]
    assert (other["total"], other["errors"]) == (1, 1)


async def test_tiles_of_a_seller_without_entries_show_zeros_and_no_last_update(
    gateway, entries
) -> None:
    tiles = (await gateway.gql(OVERVIEW, seller="seller-c"))["data"]["logOverview"]
    assert tiles == {
        "total": 0,
        "errors": 0,
        "warnings": 0,
        "lastUpdate": None,
        "lastUpdateRelative": None,
    }


async def test_the_first_page_is_the_newest_twenty_with_the_seed_range_text(
    gateway, entries
) -> None:
    page = (await gateway.gql(LOGS))["data"]["logs"]
    assert (page["total"], page["page"], page["pageSize"], page["pageCount"]) == (236, 1, 20, 12)
    assert page["range"] == "1 – 20 of 236"
    assert [e["title"] for e in page["entries"]][:3] == ["Entry 0", "Entry 1", "Entry 2"]
    assert page["entries"][0]["timestamp"].endswith("+00:00")


async def test_the_last_page_empty_results_and_out_of_range_pages(gateway, entries) -> None:
    last = (await gateway.gql(LOGS, {"page": 12}))["data"]["logs"]
    assert last["range"] == "221 – 236 of 236" and len(last["entries"]) == 16
    beyond = (await gateway.gql(LOGS, {"page": 40}))["data"]["logs"]
    assert (beyond["entries"], beyond["total"], beyond["range"]) == ([], 236, "0 of 236")
    empty = (await gateway.gql(LOGS, {"search": "no such thing"}))["data"]["logs"]
    assert (empty["total"], empty["range"], empty["pageCount"]) == (0, "0 of 0", 1)


@pytest.mark.parametrize(
    ("level", "count"), [("ERROR", 24), ("WARNING", 24), ("INFO", 188), ("ALL", 236)]
)
async def test_each_level_filter(gateway, entries, level, count) -> None:
    page = (await gateway.gql(LOGS, {"level": level, "pageSize": 100}))["data"]["logs"]
    assert page["total"] == count
    if level != "ALL":
        assert {e["level"] for e in page["entries"]} == {level}


@pytest.mark.parametrize("size", [10, 50, 100])
async def test_offered_page_sizes(gateway, entries, size) -> None:
    page = (await gateway.gql(LOGS, {"pageSize": size}))["data"]["logs"]
    assert len(page["entries"]) == size


@pytest.mark.parametrize(
    ("variables", "field"), [({"pageSize": 25}, "pageSize"), ({"page": 0}, "page")]
)
async def test_other_page_sizes_and_pages_are_bad_input(gateway, entries, variables, field) -> None:
    error = assert_error_code(await gateway.gql(LOGS, variables), "BAD_USER_INPUT")
    assert error["extensions"]["field"] == field


async def test_search_matches_title_and_details_case_insensitively(gateway, entries) -> None:
    page = (await gateway.gql(LOGS, {"search": "ENTRY 23"}))["data"]["logs"]
    assert sorted(e["title"] for e in page["entries"]) == [
        "Entry 23",
        "Entry 230",
        "Entry 231",
        "Entry 232",
        "Entry 233",
        "Entry 234",
        "Entry 235",
    ]
    by_details = (await gateway.gql(LOGS, {"search": "details 7"}))["data"]["logs"]
    assert by_details["total"] == 11  # 7, 70-79


async def test_a_search_matching_more_than_a_few_pages_counts_every_match(gateway, entries) -> None:
    # Given: all 236 entries match "entry", more than the first page and its 200 read ahead
    first = (await gateway.gql(LOGS, {"search": "entry"}))["data"]["logs"]
    assert (first["total"], first["range"]) == (236, "1 – 20 of 236")
    assert [e["title"] for e in first["entries"]][:3] == ["Entry 0", "Entry 1", "Entry 2"]
    last = (await gateway.gql(LOGS, {"search": "entry", "page": 12}))["data"]["logs"]
    assert last["range"] == "221 – 236 of 236"
    assert [e["title"] for e in last["entries"]][-2:] == ["Entry 234", "Entry 235"]
    beyond = (await gateway.gql(LOGS, {"search": "entry", "page": 40}))["data"]["logs"]
    assert (beyond["total"], beyond["entries"]) == (236, [])
    errors = (await gateway.gql(LOGS, {"search": "entry", "level": "ERROR"}))["data"]["logs"]
    assert errors["total"] == 24


async def test_entries_written_before_codes_read_as_legacy_with_their_text(
    gateway, entries
) -> None:
    query = "{ logs(pageSize: 10) { entries { title details code params { name value } } } }"
    entry = (await gateway.gql(query))["data"]["logs"]["entries"][0]
    assert entry == {"title": "Entry 0", "details": "details 0", "code": "LEGACY", "params": []}


async def test_the_run_filter_shows_one_sync_runs_entries(gateway, entries) -> None:
    run = await SyncRun.create(
        seller_id="seller-a", kind=SyncKind.SUBSCRIPTIONS, trigger=SyncTrigger.MANUAL
    )
    started = Message(MessageCode.SUBSCRIPTIONS_SYNC_STARTED, "Trigger: manual")
    skipped = Message(MessageCode.SUBSCRIPTION_SKIPPED, "Quantity is zero")
    await logs.record(
        "seller-a", LogLevel.INFO, "Subscriptions sync started", started, run_id=run.id
    )
    await logs.record("seller-a", LogLevel.WARNING, "Subscription skipped", skipped, run_id=run.id)
    page = (await gateway.gql(LOGS, {"runId": str(run.id)}))["data"]["logs"]
    assert [e["title"] for e in page["entries"]] == [
        "Subscription skipped",
        "Subscriptions sync started",
    ]
    assert {e["runId"] for e in page["entries"]} == {str(run.id)}
    # Another seller's run id shows nothing.
    other = (await gateway.gql(LOGS, {"runId": str(run.id)}, seller="seller-b"))["data"]["logs"]
    assert other["total"] == 0


async def test_entries_older_than_30_days_never_show_and_retention_deletes_them(
    gateway, entries
) -> None:
    titles = {
        e["title"]
        for e in (await gateway.gql(LOGS, {"pageSize": 100, "page": 3}))["data"]["logs"]["entries"]
    }
    assert "Ancient" not in titles
    assert await LogEntry.filter(title="Ancient").count() == 5
    assert await logs.purge_expired_logs(30) == 5
    assert await LogEntry.filter(title="Ancient").count() == 0
    assert await LogEntry.filter(seller_id="seller-a").count() == 236


async def test_another_sellers_entries_are_never_listed(gateway, entries) -> None:
    page = (await gateway.gql(LOGS, {"search": "secret"}))["data"]["logs"]
    assert page["total"] == 0
