"""syncActivity: the Logs & Monitoring chart's runs per day by outcome and records written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.models import RunState, SyncKind, SyncRun, SyncTrigger
from tests.conftest import assert_error_code
from tests.support import data

ACTIVITY = """query ($days: Int!, $offset: Int!) { syncActivity(days: $days,
utcOffsetMinutes: $offset) { day succeeded failed cancelled recordsWritten } }"""


async def _run(seller: str, state: RunState, finished: datetime | None, written: int = 0) -> None:
    await SyncRun.create(
        seller_id=seller,
        kind=SyncKind.SUBSCRIPTIONS,
        trigger=SyncTrigger.MANUAL,
        state=state,
        created=written,
        updated=1 if written else 0,
        unchanged=50,
        finished_at=finished,
    )


async def test_runs_are_counted_per_day_by_outcome_with_the_records_they_wrote(
    migrated_db, gateway
) -> None:
    # Given runs today, three days ago, 40 days ago, a running one and another seller's
    await data.seller("seller-a")
    await data.seller("seller-b")
    now = datetime.now(UTC)
    await _run("seller-a", RunState.SUCCEEDED, now - timedelta(minutes=5), written=10)
    await _run("seller-a", RunState.FAILED, now - timedelta(minutes=3))
    await _run("seller-a", RunState.SUCCEEDED, now - timedelta(days=3), written=4)
    await _run("seller-a", RunState.CANCELLED, now - timedelta(days=3))
    await _run("seller-a", RunState.SUCCEEDED, now - timedelta(days=40), written=99)
    await _run("seller-a", RunState.RUNNING, None)
    await _run("seller-b", RunState.FAILED, now - timedelta(minutes=1))

    days = (await gateway.gql(ACTIVITY, {"days": 30, "offset": 0}))["data"]["syncActivity"]

    assert len(days) == 30
    assert days[-1]["day"] == now.date().isoformat()
    assert days[-1] == {
        "day": now.date().isoformat(),
        "succeeded": 1,
        "failed": 1,
        "cancelled": 0,
        "recordsWritten": 11,  # created + updated; unchanged records are not writes
    }
    assert days[-4]["succeeded"] == 1 and days[-4]["cancelled"] == 1
    assert days[-4]["recordsWritten"] == 5
    assert sum(d["succeeded"] + d["failed"] + d["cancelled"] for d in days) == 4


async def test_days_out_of_range_and_unreal_offsets_are_refused(gateway) -> None:
    error = assert_error_code(
        await gateway.gql(ACTIVITY, {"days": 0, "offset": 0}), "BAD_USER_INPUT"
    )
    assert error["extensions"]["field"] == "days"
    error = assert_error_code(
        await gateway.gql(ACTIVITY, {"days": 30, "offset": 15 * 60}), "BAD_USER_INPUT"
    )
    assert error["extensions"]["field"] == "utcOffsetMinutes"
