"""The schedule's wiring (workers/scheduler.py): when the jobs fire, and a restart of the
scheduler mid-window. Which runs a look queues is tested in
tests/services/sync/test_schedules.py. Time is travelled, never waited for."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, datetime, time, timedelta

import time_machine
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from gateway import db
from gateway.messages import Message, MessageCode
from gateway.models import LogEntry, LogLevel, SyncKind, SyncRun, SyncTrigger
from gateway.services import daily_slots
from gateway.services import logs as product_log
from tests.conftest import REDIS_URL
from tests.support import data
from tests.support.runs import wait_for_run
from workers.scheduler import (
    DRIFT_CHECK_CATCH_UP_HOURS,
    RETENTION_HOUR_UTC,
    SCHEDULE_LOOK_SECONDS,
    build_scheduler,
)


async def test_the_schedule_looks_every_15_seconds_catches_up_drift_checks_and_purges_at_night(
    settings, migrated_db, gateway
) -> None:
    database = await db.open_db(settings)
    try:
        started = datetime.now(UTC)
        scheduler = build_scheduler(settings, gateway.app.state.halo.deps, database)
    finally:
        await db.close_db(database)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"daily-syncs", "drift-check-catch-up", "log-retention"}
    looks = jobs["daily-syncs"].trigger
    assert isinstance(looks, IntervalTrigger)
    assert looks.interval == timedelta(seconds=SCHEDULE_LOOK_SECONDS)
    # The first look is at once: a restarted scheduler catches up without waiting.
    assert jobs["daily-syncs"].next_run_time - started < timedelta(seconds=5)
    purge = jobs["log-retention"].trigger
    assert isinstance(purge, CronTrigger)
    fire = purge.get_next_fire_time(None, datetime(2026, 11, 25, 0, 0, tzinfo=UTC))
    assert (fire.hour, fire.minute, fire.utcoffset().total_seconds()) == (RETENTION_HOUR_UTC, 0, 0)
    catch_up = jobs["drift-check-catch-up"].trigger
    assert isinstance(catch_up, CronTrigger)
    fire = catch_up.get_next_fire_time(None, datetime(2026, 11, 25, 0, 0, tzinfo=UTC))
    assert (fire.hour, fire.minute) == (18 + DRIFT_CHECK_CATCH_UP_HOURS, 0)


def seller_planned_between(settings, low: time, high: time) -> str:
    """The first ``seller-N`` whose subscriptions run falls in [low, high) (by its id's hash)."""
    for i in range(10_000):
        seller = f"seller-{i}"
        if low <= daily_slots.time_of_day(settings, SyncKind.SUBSCRIPTIONS, seller) < high:
            return seller
    raise AssertionError("no seller in that range")


async def look(scheduler, at: datetime, traveller) -> None:
    """One look of the scheduler's job at ``at``, in a task with no database bound (as
    APScheduler runs it)."""
    traveller.move_to(at)
    job = scheduler.get_job("daily-syncs").func
    await asyncio.get_running_loop().create_task(job(), context=contextvars.Context())


async def test_a_scheduler_restarted_mid_window_neither_loses_nor_repeats_a_run(
    settings, migrated_db, halo_sim, gateway
) -> None:
    # Given sellers due before, around and after a scheduler's restart at 18:20–18:27
    early = seller_planned_between(settings, time(18, 0), time(18, 11))
    mid = seller_planned_between(settings, time(18, 13), time(18, 20))
    gap = seller_planned_between(settings, time(18, 21), time(18, 27))
    late = seller_planned_between(settings, time(18, 28), time(18, 45))
    sellers = [early, mid, gap, late]
    for seller in sellers:
        await data.simulator_connection(migrated_db, seller, halo_sim)
    deps = gateway.app.state.halo.deps
    day = datetime(2026, 11, 25, tzinfo=UTC)
    database = await db.open_db(settings)
    try:
        with time_machine.travel(day.replace(hour=17, minute=59), tick=False) as traveller:
            # When the first scheduler looks every 15 s until 18:20, then dies
            first = build_scheduler(settings, deps, database)
            at = day.replace(hour=17, minute=59)
            while at <= day.replace(hour=18, minute=20):
                await look(first, at, traveller)
                at += timedelta(seconds=SCHEDULE_LOOK_SECONDS)
            queued_before = set(
                await SyncRun.filter(trigger=SyncTrigger.SCHEDULED).values_list(
                    "seller_id", flat=True
                )
            )
            # and a new one starts at 18:27 and looks until 19:00
            second = build_scheduler(settings, deps, database)
            at = day.replace(hour=18, minute=27)
            while at <= day.replace(hour=19):
                await look(second, at, traveller)
                at += timedelta(seconds=SCHEDULE_LOOK_SECONDS)
    finally:
        await db.close_db(database)

    # Then the runs due before the restart came from the first, the others from the second,
    # and every seller has exactly one run for the slot
    assert queued_before == {early, mid}
    runs = await SyncRun.filter(trigger=SyncTrigger.SCHEDULED)
    assert sorted(r.seller_id for r in runs) == sorted(sellers)
    assert {r.dedupe_key for r in runs} == {
        f"scheduled:SUBSCRIPTIONS:2026-11-25:{s}" for s in sellers
    }
    for run in runs:
        await wait_for_run(gateway, str(run.id), seller=run.seller_id)


async def test_a_job_runs_its_service_in_the_schedulers_own_database(
    settings, migrated_db, gateway
) -> None:
    # Given an entry past retention and one within it
    await data.seller("seller-a")
    now = datetime.now(UTC)
    said = Message(MessageCode.CONFIGURATION_UPDATED, "")
    await product_log.record("seller-a", LogLevel.INFO, "old", said, at=now - timedelta(days=31))
    await product_log.record("seller-a", LogLevel.INFO, "recent", said, at=now - timedelta(days=29))
    database = await db.open_db(settings)
    try:
        scheduler = build_scheduler(settings, gateway.app.state.halo.deps, database)
        # When the nightly job fires, in a task that has no database bound (as APScheduler's)
        job = scheduler.get_job("log-retention").func
        await asyncio.get_running_loop().create_task(job(), context=contextvars.Context())
    finally:
        await db.close_db(database)

    # Then only the old entry is gone
    assert await LogEntry.filter(seller_id="seller-a").values_list("title", flat=True) == ["recent"]


async def test_in_scale_out_the_schedule_also_looks_for_lost_messages_every_15_seconds(
    settings, migrated_db, gateway
) -> None:
    scale_out = settings.model_copy(update={"redis_url": REDIS_URL})
    scaled_down = scale_out.model_copy(update={"sync_requeue_after_seconds": 2.0})
    deps = gateway.app.state.halo.deps
    database = await db.open_db(settings)
    try:
        looks = build_scheduler(scale_out, deps, database).get_job("lost-messages").trigger
        quick = build_scheduler(scaled_down, deps, database).get_job("lost-messages").trigger
    finally:
        await db.close_db(database)
    # As often as for due runs (a lost run starts at most 15 s after its 2 minutes), and
    # four times per interval when the interval is short (tests)
    assert isinstance(looks, IntervalTrigger)
    assert looks.interval == timedelta(seconds=SCHEDULE_LOOK_SECONDS)
    assert quick.interval == timedelta(seconds=0.5)
    # Embedded mode has no broker to lose a message: the first test's jobs are all it has
