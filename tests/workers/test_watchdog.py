"""The watchdog reports overdue syncs from the workers, so a dead scheduler is itself reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from gateway.models import (
    Connection,
    IntegrationIssue,
    IssueKind,
    IssueState,
    RunState,
    SyncKind,
    SyncRun,
    SyncTrigger,
)
from gateway.services import daily_slots, issues
from gateway.services.sync import trigger_scheduled
from tests.support import data
from tests.support.runs import wait_for_run
from tests.support.ws import open_socket, receive, subscribe

DAY = datetime(2026, 11, 25, tzinfo=UTC)


async def scheduled_run(seller_id: str, kind: SyncKind, at: datetime, state: RunState) -> SyncRun:
    """A past scheduled run, as the scheduler and a worker would have left it."""
    run = await SyncRun.create(
        seller_id=seller_id, kind=kind, trigger=SyncTrigger.SCHEDULED, state=state
    )
    await SyncRun.filter(id=run.id).update(
        queued_at=at, started_at=at, finished_at=at + timedelta(minutes=2)
    )
    return run


async def long_connected(settings, sim, seller_id: str = "seller-a") -> None:
    await data.simulator_connection(settings, seller_id, sim)
    await Connection.filter(seller_id=seller_id).update(verified_at=DAY - timedelta(days=30))


async def test_a_missed_evening_run_opens_an_overdue_issue_with_no_scheduler_running(
    migrated_db, halo_sim, gateway_factory, settings
) -> None:
    # Given yesterday's 18:00 and today's 08:00 runs succeeded, and no scheduler runs at all
    await long_connected(migrated_db, halo_sim)
    await scheduled_run(
        "seller-a",
        SyncKind.SUBSCRIPTIONS,
        DAY.replace(hour=18) - timedelta(days=1),
        RunState.SUCCEEDED,
    )
    await scheduled_run("seller-a", SyncKind.ORGANIZATIONS, DAY.replace(hour=8), RunState.SUCCEEDED)
    watched = settings.model_copy(
        update={"watchdog_interval_seconds": 0.1, "in_process_scheduler": False}
    )
    # When it is 45 minutes past seller-a's time in today's 18:00 window and its run never
    # happened
    planned = daily_slots.planned_at(settings, SyncKind.SUBSCRIPTIONS, "seller-a", DAY.date())
    with time_machine.travel(planned + timedelta(minutes=45), tick=True):
        gateway = gateway_factory(watched)
        socket = await open_socket(
            gateway.base_url, {"Authorization": f"Bearer {gateway.token('seller-a')}"}
        )
        try:
            assert (await receive(socket))["type"] == "connection_ack"
            await subscribe(
                socket,
                "subscription { integrationIssueChanged { id kind subject state summary detail } }",
            )
            message = await receive(socket, timeout=30)
            opened = message["payload"]["data"]["integrationIssueChanged"]
            # Then the workers' watchdog opened exactly one issue, for the subscriptions sync
            assert (opened["kind"], opened["subject"], opened["state"]) == (
                "SYNC_OVERDUE",
                "SUBSCRIPTIONS",
                "ONGOING",
            )
            assert f"did not run at {planned:%H:%M} UTC" in opened["summary"]
            assert f"of 2026-11-25 {planned:%H:%M} UTC did not run" in opened["detail"]
            result = await gateway.gql("{ syncOverview { openIssues } }")
            assert result["data"]["syncOverview"]["openIssues"] == 1

            # And the next scheduled run that succeeds resolves it
            deps = gateway.app.state.halo.deps
            await trigger_scheduled(deps, SyncKind.SUBSCRIPTIONS, planned)
            run = await SyncRun.filter(
                seller_id="seller-a", trigger=SyncTrigger.SCHEDULED, state=RunState.QUEUED
            ).first()
            if run is not None:
                await wait_for_run(gateway, str(run.id))
            while True:
                changed = (await receive(socket, timeout=30))["payload"]["data"]
                if changed["integrationIssueChanged"]["state"] == "RESOLVED":
                    break
            assert changed["integrationIssueChanged"]["id"] == opened["id"]
        finally:
            await socket.close()
    assert await IntegrationIssue.filter(kind=IssueKind.SYNC_OVERDUE).count() == 1


async def test_overdue_waits_for_the_slots_grace_and_counts_26_hours_of_failures(
    migrated_db, halo_sim, gateway
) -> None:
    deps = gateway.app.state.halo.deps
    await long_connected(migrated_db, halo_sim)
    await data.seller("seller-new")
    await data.simulator_connection(migrated_db, "seller-new", halo_sim)
    await Connection.filter(seller_id="seller-new").update(verified_at=DAY.replace(hour=12))
    await scheduled_run("seller-a", SyncKind.ORGANIZATIONS, DAY.replace(hour=8), RunState.SUCCEEDED)
    await scheduled_run(
        "seller-new", SyncKind.ORGANIZATIONS, DAY.replace(hour=8), RunState.SUCCEEDED
    )
    # Yesterday's 18:00 subscriptions run succeeded (finished 18:02).
    for seller in ("seller-a", "seller-new"):
        await scheduled_run(
            seller,
            SyncKind.SUBSCRIPTIONS,
            DAY.replace(hour=18) - timedelta(days=1),
            RunState.SUCCEEDED,
        )

    def overdue(seller: str = "seller-a") -> object:
        return IntegrationIssue.filter(
            seller_id=seller, kind=IssueKind.SYNC_OVERDUE, state=IssueState.ONGOING
        )

    # 18:15: today's 18:00 run has not come yet, but the scheduler's grace is not over, and
    # the last success (yesterday 18:02) is 24 h 13 min old: not overdue.
    with time_machine.travel(DAY.replace(hour=18, minute=15), tick=False):
        assert await issues.check_overdue(deps) == []
    # Today's 18:00 run came, and failed; at 20:30 the last success is 26 h 28 min old.
    await scheduled_run("seller-a", SyncKind.SUBSCRIPTIONS, DAY.replace(hour=18), RunState.FAILED)
    await scheduled_run(
        "seller-new", SyncKind.SUBSCRIPTIONS, DAY.replace(hour=18), RunState.SUCCEEDED
    )
    with time_machine.travel(DAY.replace(hour=20, minute=30), tick=False):
        (change,) = await issues.check_overdue(deps)
        assert change.change == "OPENED"
        assert change.issue.subject == "SUBSCRIPTIONS"
        assert "Last successful scheduled subscriptions sync: 2026-11-24 18:02" in (
            change.issue.detail or ""
        )
        # Checking again changes nothing: the same occurrence is not counted twice.
        assert await issues.check_overdue(deps) == []
    assert (await overdue().first()).occurrences == 1  # type: ignore[attr-defined]
    # seller-new connected at 12:00 today: not held to 26 h yet (its runs succeeded anyway).
    assert await overdue("seller-new").count() == 0

    # The next day at 18:00 the scheduled run succeeds: the check resolves the issue too.
    for seller in ("seller-a", "seller-new"):
        for kind, hour in ((SyncKind.ORGANIZATIONS, 8), (SyncKind.SUBSCRIPTIONS, 18)):
            await scheduled_run(
                seller, kind, DAY.replace(hour=hour) + timedelta(days=1), RunState.SUCCEEDED
            )
    with time_machine.travel(DAY.replace(hour=19) + timedelta(days=1), tick=False):
        changes = await issues.check_overdue(deps)
    assert [c.change for c in changes] == ["RESOLVED"]
    assert await overdue().count() == 0


async def test_a_seller_late_in_the_window_is_not_overdue_before_its_own_time(
    migrated_db, halo_sim, gateway
) -> None:
    # Given a seller whose subscriptions run falls late in the 18:00–18:45 window, and
    # yesterday's run that succeeded
    deps = gateway.app.state.halo.deps
    seller = next(
        f"seller-{i}"
        for i in range(1000)
        if daily_slots.time_of_day(deps.settings, SyncKind.SUBSCRIPTIONS, f"seller-{i}").minute
        >= 40
    )
    await long_connected(migrated_db, halo_sim, seller)
    planned = daily_slots.planned_at(deps.settings, SyncKind.SUBSCRIPTIONS, seller, DAY.date())
    await scheduled_run(seller, SyncKind.ORGANIZATIONS, DAY.replace(hour=8), RunState.SUCCEEDED)
    await scheduled_run(
        seller, SyncKind.SUBSCRIPTIONS, planned - timedelta(days=1), RunState.SUCCEEDED
    )
    # When the watchdog looks a minute before the seller's own time plus the grace (long past
    # 18:00 plus the grace), then at it, with no run today
    with time_machine.travel(planned + issues.SLOT_GRACE - timedelta(minutes=1), tick=False):
        assert await issues.check_overdue(deps) == []
    with time_machine.travel(planned + issues.SLOT_GRACE, tick=False):
        (change,) = await issues.check_overdue(deps)
    # Then only the second one reports it, naming the seller's time
    assert (change.change, change.issue.subject) == ("OPENED", "SUBSCRIPTIONS")
    assert f"2026-11-25 {planned:%H:%M} UTC did not run" in (change.issue.detail or "")
