"""The schedule's wiring (workers/scheduler.py): when the jobs fire. What they do is tested
in tests/services/sync/test_schedules.py."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from gateway import db
from gateway.models import LogEntry, LogLevel
from gateway.services import logs as product_log
from tests.support import data
from workers.scheduler import DRIFT_CHECK_CATCH_UP_HOURS, RETENTION_HOUR_UTC, build_scheduler


async def test_the_schedule_is_08_00_and_18_00_utc_the_drift_catch_up_and_the_purge_at_night(
    settings, migrated_db, gateway
) -> None:
    database = await db.open_db(settings)
    try:
        scheduler = build_scheduler(settings, gateway.app.state.halo.deps, database)
    finally:
        await db.close_db(database)
    triggers = {job.id: job.trigger for job in scheduler.get_jobs()}
    assert set(triggers) == {
        "organizations-daily",
        "subscriptions-daily",
        "drift-check-catch-up",
        "log-retention",
    }
    for job_id, hour in (
        ("organizations-daily", 8),
        ("subscriptions-daily", 18),
        ("drift-check-catch-up", 18 + DRIFT_CHECK_CATCH_UP_HOURS),
        ("log-retention", RETENTION_HOUR_UTC),
    ):
        trigger = triggers[job_id]
        assert isinstance(trigger, CronTrigger)
        fire = trigger.get_next_fire_time(None, datetime(2026, 11, 25, 0, 0, tzinfo=UTC))
        assert (fire.hour, fire.minute, fire.utcoffset().total_seconds()) == (hour, 0, 0)


async def test_a_job_runs_its_service_in_the_schedulers_own_database(
    settings, migrated_db, gateway
) -> None:
    # Given an entry past retention and one within it
    await data.seller("seller-a")
    now = datetime.now(UTC)
    await product_log.record("seller-a", LogLevel.INFO, "old", at=now - timedelta(days=31))
    await product_log.record("seller-a", LogLevel.INFO, "recent", at=now - timedelta(days=29))
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
