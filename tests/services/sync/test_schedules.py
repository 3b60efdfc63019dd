"""The daily schedule's runs (gateway/services/sync/schedules.py): every verified seller once
per day, even with two schedulers; a run that cannot start leaves a warning."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from gateway.models import LogEntry, LogLevel, SyncKind, SyncRun, SyncTrigger
from gateway.services.sync import ScheduledCounts, trigger_scheduled
from tests.support import data
from tests.support.runs import wait_for_run


async def test_two_schedulers_firing_the_same_day_queue_one_run_per_seller(
    migrated_db, halo_sim, gateway
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    await data.simulator_connection(migrated_db, "seller-b", halo_sim)
    await data.seller("seller-c")  # no connection: never scheduled
    deps = gateway.app.state.halo.deps
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    first = await trigger_scheduled(deps, SyncKind.ORGANIZATIONS, now)
    second = await trigger_scheduled(deps, SyncKind.ORGANIZATIONS, now)
    assert first == ScheduledCounts(queued=2)
    assert second.queued == 0 and second.already_queued + second.skipped == 2
    runs = await SyncRun.filter(trigger=SyncTrigger.SCHEDULED).order_by("seller_id")
    assert [r.seller_id for r in runs] == ["seller-a", "seller-b"]
    for run in runs:
        assert (await wait_for_run(gateway, str(run.id), seller=run.seller_id))["state"] == (
            "SUCCEEDED"
        )
    # The next day is a new run.
    nextday = await trigger_scheduled(
        deps, SyncKind.ORGANIZATIONS, datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    )
    assert nextday.queued == 2


async def test_a_scheduled_run_meeting_a_running_sync_is_skipped_with_a_warning(
    migrated_db, halo_sim, gateway
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    halo_sim.instance().set_faults(latency_ms=400)
    halo_sim.instance().add_client("Acme")
    manual = await gateway.gql("mutation { syncOrganizations { id } }")
    deps = gateway.app.state.halo.deps
    counts = await trigger_scheduled(deps, SyncKind.SUBSCRIPTIONS)
    assert counts.skipped == 1
    warning = await LogEntry.get(seller_id="seller-a", level=LogLevel.WARNING)
    assert warning.title == "Scheduled subscriptions sync skipped"
    assert warning.details == (
        "Sync in progress. The next scheduled sync or a manual one will catch up."
    )
    await wait_for_run(gateway, manual["data"]["syncOrganizations"]["id"])


DAILY_CHECK = "mutation ($on: Boolean!) { setDailyDriftCheck(enabled: $on) { message } }"
RECONCILE_EVENTS = "subscription { syncEvents(kind: RECONCILE) { runId phase } }"


async def test_the_daily_drift_check_follows_the_scheduled_push_of_sellers_who_asked(
    migrated_db, halo_sim, gateway
) -> None:
    from gateway.services.sync.schedules import after_scheduled_push
    from tests.support.ws import open_socket, receive, subscribe

    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    await data.simulator_connection(migrated_db, "seller-b", halo_sim)
    assert "errors" not in await gateway.gql(DAILY_CHECK, {"on": True})  # seller-a only
    deps = gateway.app.state.halo.deps
    socket = await open_socket(
        gateway.base_url, {"Authorization": f"Bearer {gateway.token('seller-a')}"}
    )
    try:
        assert (await receive(socket))["type"] == "connection_ack"
        await subscribe(socket, RECONCILE_EVENTS)
        await asyncio.sleep(0.2)  # the subscription registered on the bus
        # When the 18:00 push fires
        await trigger_scheduled(deps, SyncKind.SUBSCRIPTIONS, datetime.now(UTC))
        # Then seller-a's push, once finished, queues its drift check, which runs
        phases: list[str] = []
        while "COMPLETED" not in phases:
            message = await receive(socket, timeout=30)
            phases.append(message["payload"]["data"]["syncEvents"]["phase"])
    finally:
        await socket.close()
    check = await SyncRun.get(seller_id="seller-a", kind=SyncKind.RECONCILE)
    assert (check.trigger, check.state.value) == (SyncTrigger.SCHEDULED, "SUCCEEDED")
    push = await SyncRun.get(seller_id="seller-a", kind=SyncKind.SUBSCRIPTIONS)
    assert check.queued_at >= push.finished_at
    # seller-b did not ask: its finished push queues nothing
    b_push = await SyncRun.get(seller_id="seller-b", kind=SyncKind.SUBSCRIPTIONS)
    await wait_for_run(gateway, str(b_push.id), seller="seller-b")
    await after_scheduled_push(deps, b_push)
    assert not await SyncRun.filter(seller_id="seller-b", kind=SyncKind.RECONCILE).exists()
    # and a second notice of seller-a's push (a duplicate delivery) queues no second check
    await after_scheduled_push(deps, push)
    assert await SyncRun.filter(seller_id="seller-a", kind=SyncKind.RECONCILE).count() == 1


async def test_the_catch_up_queues_the_checks_no_push_queued_once_a_day(
    migrated_db, halo_sim, gateway
) -> None:
    from gateway.services.sync import catch_up_drift_checks

    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    await data.simulator_connection(migrated_db, "seller-b", halo_sim)
    assert "errors" not in await gateway.gql(DAILY_CHECK, {"on": True}, seller="seller-a")
    assert "errors" not in await gateway.gql(DAILY_CHECK, {"on": True}, seller="seller-b")
    # seller-b has a sync in progress: its check is left to it, without a warning
    halo_sim.instance().set_faults(stall_next=[3.0])
    busy = await gateway.gql("mutation { syncOrganizations { id } }", seller="seller-b")
    deps = gateway.app.state.halo.deps
    evening = datetime.now(UTC)

    first = await catch_up_drift_checks(deps, evening)
    second = await catch_up_drift_checks(deps, evening)

    assert (first.queued, first.skipped) == (1, 0)
    assert (second.queued, second.skipped) == (0, 0)  # already queued, or running
    check = await SyncRun.get(seller_id="seller-a", kind=SyncKind.RECONCILE)
    assert check.trigger is SyncTrigger.SCHEDULED
    assert (await wait_for_run(gateway, str(check.id)))["state"] == "SUCCEEDED"
    assert not await LogEntry.filter(level=LogLevel.WARNING).exists()
    await wait_for_run(gateway, busy["data"]["syncOrganizations"]["id"], seller="seller-b")
    # Once it has run, the day's check is not queued again
    assert (await catch_up_drift_checks(deps, evening)).already_queued == 1
