"""The daily schedule's runs (gateway/services/sync/schedules.py): every verified seller once
per day at its own time in the spread window, even with two schedulers; a run that cannot
start leaves one warning. The clock is passed in: no test sleeps or waits for a time."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta

import time_machine

from gateway.models import LogEntry, LogLevel, SyncKind, SyncRun, SyncTrigger
from gateway.services import daily_slots
from gateway.services.sync import DailySchedule, ScheduledCounts, trigger_scheduled
from gateway.services.sync.schedules import MISFIRE_GRACE
from tests.support import data
from tests.support.runs import wait_for_run

DAY = date(2026, 11, 25)
LOOK = timedelta(seconds=15)


def with_settings(deps, **changes):
    return dataclasses.replace(deps, settings=deps.settings.model_copy(update=changes))


async def finish_all(gateway) -> None:
    for run in await SyncRun.all():
        await wait_for_run(gateway, str(run.id), seller=run.seller_id)


async def test_with_no_spread_two_schedulers_queue_one_run_per_seller_at_the_hour(
    migrated_db, halo_sim, gateway
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    await data.simulator_connection(migrated_db, "seller-b", halo_sim)
    await data.seller("seller-c")  # no connection: never scheduled
    deps = with_settings(gateway.app.state.halo.deps, scheduled_sync_spread_minutes=0)
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert await trigger_scheduled(deps, SyncKind.ORGANIZATIONS, now - LOOK) == (ScheduledCounts())
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
    nextday = await trigger_scheduled(deps, SyncKind.ORGANIZATIONS, now + timedelta(days=1))
    assert nextday.queued == 2


async def test_each_seller_is_queued_at_its_own_time_once_through_the_window(
    migrated_db, halo_sim, gateway
) -> None:
    # Given a dozen sellers with a verified connection, and the default 45-minute spread
    sellers = [f"seller-{i}" for i in range(12)]
    for seller in sellers:
        await data.simulator_connection(migrated_db, seller, halo_sim)
    deps = gateway.app.state.halo.deps
    settings = deps.settings
    planned = {s: daily_slots.planned_at(settings, SyncKind.SUBSCRIPTIONS, s, DAY) for s in sellers}
    slot = daily_slots.slot_start(settings, SyncKind.SUBSCRIPTIONS, DAY)
    assert all(slot <= p < slot + timedelta(minutes=45) for p in planned.values())

    # When the scheduler looks every 15 s from 17:59 to 19:00
    schedule = DailySchedule(deps)
    queued_at_look: dict[str, datetime] = {}
    now = slot - timedelta(minutes=1)
    while now <= slot + timedelta(hours=1):
        counts = await schedule.tick(now)
        assert counts[SyncKind.ORGANIZATIONS] == ScheduledCounts()
        for run in await SyncRun.filter(trigger=SyncTrigger.SCHEDULED):
            queued_at_look.setdefault(run.seller_id, now)
        now += LOOK

    # Then each seller got exactly one run, at the first look at or after its planned time
    runs = await SyncRun.filter(trigger=SyncTrigger.SCHEDULED, kind=SyncKind.SUBSCRIPTIONS)
    assert sorted(r.seller_id for r in runs) == sorted(sellers)
    assert {r.dedupe_key for r in runs} == {
        f"scheduled:SUBSCRIPTIONS:2026-11-25:{s}" for s in sellers
    }
    for seller, look in queued_at_look.items():
        assert look - LOOK < planned[seller] <= look, seller
    # spread over the window, not at the hour
    assert len({look for look in queued_at_look.values()}) > len(sellers) // 2
    await finish_all(gateway)


async def test_a_run_due_before_a_restart_is_caught_up_within_the_grace_and_not_after(
    migrated_db, halo_sim, gateway
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    deps = gateway.app.state.halo.deps
    planned = daily_slots.planned_at(deps.settings, SyncKind.SUBSCRIPTIONS, "seller-a", DAY)
    # A scheduler starting (nothing remembered) too late misses it: the watchdog's case
    late = await DailySchedule(deps).tick(planned + MISFIRE_GRACE + LOOK)
    assert late[SyncKind.SUBSCRIPTIONS] == ScheduledCounts()
    # One starting within the grace queues it
    caught_up = await DailySchedule(deps).tick(planned + MISFIRE_GRACE - LOOK)
    assert caught_up[SyncKind.SUBSCRIPTIONS] == ScheduledCounts(queued=1)
    await finish_all(gateway)


async def test_a_window_past_midnight_keeps_the_slots_day(migrated_db, halo_sim, gateway) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    deps = with_settings(
        gateway.app.state.halo.deps,
        subscriptions_sync_cron_hour=23,
        scheduled_sync_spread_minutes=23 * 60,
    )
    planned = daily_slots.planned_at(deps.settings, SyncKind.SUBSCRIPTIONS, "seller-a", DAY)
    assert planned.date() > DAY  # "seller-a" falls after midnight in a 23-hour window
    counts = await trigger_scheduled(deps, SyncKind.SUBSCRIPTIONS, planned)
    assert counts == ScheduledCounts(queued=1)
    run = await SyncRun.get(seller_id="seller-a")
    assert run.dedupe_key == "scheduled:SUBSCRIPTIONS:2026-11-25:seller-a"
    await finish_all(gateway)


async def test_a_scheduled_run_meeting_a_running_sync_is_skipped_with_one_warning(
    migrated_db, halo_sim, gateway
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    halo_sim.instance().set_faults(latency_ms=400)
    halo_sim.instance().add_client("Acme")
    manual = await gateway.gql("mutation { syncOrganizations { id } }")
    deps = gateway.app.state.halo.deps
    planned = daily_slots.planned_at(deps.settings, SyncKind.SUBSCRIPTIONS, "seller-a", DAY)
    schedule = DailySchedule(deps)
    counts = await schedule.tick(planned)
    assert counts[SyncKind.SUBSCRIPTIONS].skipped == 1
    # The next looks do not ask again (nor warn again)
    again = await schedule.tick(planned + LOOK)
    assert again[SyncKind.SUBSCRIPTIONS] == ScheduledCounts()
    warning = await LogEntry.get(seller_id="seller-a", level=LogLevel.WARNING)
    assert warning.title == "Scheduled subscriptions sync skipped"
    assert warning.details == (
        "Sync in progress. The next scheduled sync or a manual one will catch up."
    )
    await wait_for_run(gateway, manual["data"]["syncOrganizations"]["id"])


async def test_the_overview_tells_the_seller_when_its_next_scheduled_runs_are_due(
    migrated_db, halo_sim, gateway
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    settings = gateway.app.state.halo.deps.settings
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with time_machine.travel(noon, tick=True):
        overview = await gateway.gql(
            "{ syncOverview { organizations { nextScheduledAt } "
            "subscriptions { nextScheduledAt } } }"
        )
    got = overview["data"]["syncOverview"]
    # Today's 08:xx has passed: tomorrow's; today's 18:xx is still to come
    tomorrow = DAY + timedelta(days=1)
    orgs = daily_slots.planned_at(settings, SyncKind.ORGANIZATIONS, "seller-a", tomorrow)
    subs = daily_slots.planned_at(settings, SyncKind.SUBSCRIPTIONS, "seller-a", DAY)
    assert datetime.fromisoformat(got["organizations"]["nextScheduledAt"]) == orgs
    assert datetime.fromisoformat(got["subscriptions"]["nextScheduledAt"]) == subs
    assert orgs.time() == daily_slots.time_of_day(settings, SyncKind.ORGANIZATIONS, "seller-a")


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
    deps = with_settings(gateway.app.state.halo.deps, scheduled_sync_spread_minutes=0)
    socket = await open_socket(
        gateway.base_url, {"Authorization": f"Bearer {gateway.token('seller-a')}"}
    )
    try:
        assert (await receive(socket))["type"] == "connection_ack"
        await subscribe(socket, RECONCILE_EVENTS)
        await asyncio.sleep(0.2)  # the subscription registered on the bus
        # When the 18:00 push fires
        evening = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
        await trigger_scheduled(deps, SyncKind.SUBSCRIPTIONS, evening)
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
    # the day of the push's slot, whenever the push ended
    assert check.dedupe_key == "scheduled:RECONCILE:2026-11-25:seller-a"
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
