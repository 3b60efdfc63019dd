"""The sync page's tiles and buttons: "Xh ago" from the last successful syncs, one sync at a
time across both buttons, and the cooldown after a manual subscriptions sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.models import RunState, SyncKind, SyncRun, SyncScope, SyncTrigger
from gateway.services.sync import relative_time
from gateway.services.sync.runs import claim_lock, now_utc
from tests.support import data

OVERVIEW = """{ syncOverview {
  lastSyncToPlatform { relative } lastSyncToPsa { at relative }
  organizations { ...Button }
  subscriptions { ...Button }
} }
fragment Button on SyncKindStatus {
  state message messageCode messageParams { name value } retryAfterSeconds
  currentRun { id } lastRun { id state }
}"""
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "said"),
    [
        (None, None),
        (timedelta(0), "0h ago"),
        (timedelta(hours=3, minutes=59), "3h ago"),
        (timedelta(hours=23, minutes=59), "23h ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=3, hours=23), "3 days ago"),
        (timedelta(minutes=-5), "0h ago"),  # another process's clock a little ahead
    ],
)
def test_a_tile_says_how_long_ago_in_hours_then_days(ago: timedelta | None, said: str | None):
    assert relative_time(None if ago is None else NOW - ago, NOW) == said


async def _finished(kind: SyncKind, state: RunState, ago: timedelta, **fields: object) -> SyncRun:
    now = now_utc()
    values = {"trigger": SyncTrigger.MANUAL, "scope": SyncScope.ALL, **fields}
    return await SyncRun.create(
        seller_id="seller-a", kind=kind, state=state, finished_at=now - ago, **values
    )


async def test_tiles_show_the_last_successful_syncs_each_way(migrated_db, gateway) -> None:
    await data.seller("seller-a")
    await _finished(SyncKind.ORGANIZATIONS, RunState.SUCCEEDED, timedelta(days=2))
    await _finished(
        SyncKind.SUBSCRIPTIONS,
        RunState.SUCCEEDED,
        timedelta(hours=3),
        trigger=SyncTrigger.SCHEDULED,
    )
    failed = await _finished(SyncKind.SUBSCRIPTIONS, RunState.FAILED, timedelta(hours=1))

    overview = (await gateway.gql(OVERVIEW))["data"]["syncOverview"]

    assert overview["lastSyncToPlatform"]["relative"] == "2 days ago"
    assert overview["lastSyncToPsa"]["relative"] == "3h ago"  # the failed run does not count
    assert overview["subscriptions"]["lastRun"] == {"id": str(failed.id), "state": "FAILED"}
    assert overview["subscriptions"]["state"] == "IDLE"  # a scheduled run starts no cooldown


async def test_a_sync_in_progress_holds_both_buttons(migrated_db, gateway) -> None:
    await data.seller("seller-a")
    run = await SyncRun.create(
        seller_id="seller-a", kind=SyncKind.ORGANIZATIONS, trigger=SyncTrigger.MANUAL
    )
    assert await claim_lock("seller-a", run.id, now_utc(), 60)

    overview = (await gateway.gql(OVERVIEW))["data"]["syncOverview"]

    for kind in ("organizations", "subscriptions"):
        button = overview[kind]
        assert (button["state"], button["message"], button["messageCode"]) == (
            "IN_PROGRESS",
            "Sync in progress",
            "SYNC_IN_PROGRESS",
        )
        assert button["messageParams"] == []
    assert overview["organizations"]["currentRun"] == {"id": str(run.id)}
    assert overview["subscriptions"]["currentRun"] is None


async def test_a_manual_subscriptions_sync_starts_the_cooldown_of_its_button_only(
    migrated_db, gateway
) -> None:
    await data.seller("seller-a")
    await _finished(SyncKind.SUBSCRIPTIONS, RunState.SUCCEEDED, timedelta(minutes=10, seconds=30))

    overview = (await gateway.gql(OVERVIEW))["data"]["syncOverview"]

    subscriptions = overview["subscriptions"]
    assert subscriptions["state"] == "COOLDOWN"
    assert subscriptions["message"] == "You can trigger the next sync in 50 minutes"
    assert subscriptions["messageCode"] == "SYNC_COOLDOWN"
    assert subscriptions["messageParams"] == [{"name": "minutes", "value": "50"}]
    assert 49 * 60 < subscriptions["retryAfterSeconds"] <= 50 * 60
    idle = overview["organizations"]
    assert (idle["state"], idle["message"], idle["messageCode"], idle["messageParams"]) == (
        "IDLE",
        None,
        None,
        [],
    )


@pytest.mark.parametrize(
    ("state", "trigger", "ago"),
    [
        (RunState.FAILED, SyncTrigger.MANUAL, timedelta(minutes=5)),
        (RunState.CANCELLED, SyncTrigger.MANUAL, timedelta(minutes=5)),
        (RunState.SUCCEEDED, SyncTrigger.SCHEDULED, timedelta(minutes=5)),
        (RunState.SUCCEEDED, SyncTrigger.MANUAL, timedelta(minutes=61)),
    ],
    ids=["failed", "cancelled", "scheduled", "an-hour-ago"],
)
async def test_no_cooldown_after_a_run_that_should_not_hold_the_seller_back(
    migrated_db, gateway, state: RunState, trigger: SyncTrigger, ago: timedelta
) -> None:
    await data.seller("seller-a")
    await _finished(SyncKind.SUBSCRIPTIONS, state, ago, trigger=trigger)

    overview = (await gateway.gql(OVERVIEW))["data"]["syncOverview"]

    assert overview["subscriptions"]["state"] == "IDLE"


RUNS = """{ syncRuns(first: 5) { scope organizationId organizationName message messageCode
messageParams { name value } } }"""


async def test_runs_from_before_codes_read_legacy_and_name_their_organisation(
    migrated_db, gateway
) -> None:
    # Given: a run of one organisation written before messages had codes
    for i in range(2):
        await data.organization("seller-a", f"other-{i}", f"Other {i}")
    org = await data.organization("seller-a", "acme-7", "Acme Corp")
    await SyncRun.create(
        seller_id="seller-a",
        kind=SyncKind.SUBSCRIPTIONS,
        scope=SyncScope.ORGANIZATION,
        organization=org,
        trigger=SyncTrigger.MANUAL,
        state=RunState.FAILED,
        message="HaloPSA could not be reached or kept failing after several retries.",
    )
    # When the run history is read
    (run,) = (await gateway.gql(RUNS))["data"]["syncRuns"]
    # Then the organisation is named as the grid names it, and the text stands alone
    assert run == {
        "scope": "ORGANIZATION",
        "organizationId": "acme-7",
        "organizationName": "Acme Corp",
        "message": "HaloPSA could not be reached or kept failing after several retries.",
        "messageCode": "LEGACY",
        "messageParams": [],
    }
