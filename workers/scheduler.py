"""The daily schedule's wiring: APScheduler jobs that call the services.

Every ``SCHEDULE_LOOK_SECONDS`` the daily syncs that came due
(``gateway.services.sync.DailySchedule``: organisations from 08:00 UTC, subscriptions from
18:00 UTC, each seller at its own offset in the spread window, once per seller and day,
whoever fires), at 21:00 UTC the daily drift checks the 18:00 pushes did not queue
(``catch_up_drift_checks``), and at night the purge of seller-visible log entries past
retention (``gateway.services.logs``). In scale-out it also sends again the message of a run
left QUEUED too long (``resend_lost_runs``: Redis lost it). The rules live in the services;
this module only says when, in which database, and logs a job that fails.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from gateway import db
from gateway.services import Deps, build_deps
from gateway.services import logs as product_log
from gateway.services.sync import DailySchedule, catch_up_drift_checks, resend_lost_runs
from gateway.settings import Settings
from workers.broker import build_broker, register_actors
from workers.queue import DramatiqJobQueue

logger = logging.getLogger(__name__)

# Daily purge of seller-visible log entries past retention (any quiet hour will do).
RETENTION_HOUR_UTC = 3
# A job that fires late (the process was busy or restarting) still runs if within this many
# seconds. The daily syncs have their own grace (``schedules.MISFIRE_GRACE``) per seller.
MISFIRE_GRACE_SECONDS = 15 * 60
# The daily drift check follows each 18:00 push (its end queues it); this many hours after
# the push slot, the checks no push queued are queued (a push that could not start, or that
# waits for approval). Kept within the same UTC day: the check's dedupe key is the day's.
DRIFT_CHECK_CATCH_UP_HOURS = 3
# How often the scheduler looks for sellers whose daily run came due: a run starts at most
# this late, and each look queues the runs of this many seconds (at 10,000 sellers and a
# 45-minute window, about 55).
SCHEDULE_LOOK_SECONDS = 15
# How many looks for lost messages per SYNC_REQUEUE_AFTER_SECONDS at least, when that is
# short (tests): a lost run is re-sent at most a quarter of the interval late.
LOST_MESSAGE_LOOKS_PER_INTERVAL = 4


def lost_message_look_seconds(settings: Settings) -> float:
    """How often to look for queued runs whose message was lost: as often as for due runs
    (15 s against the 2-minute default), more often when the interval is shorter."""
    return min(
        SCHEDULE_LOOK_SECONDS, settings.sync_requeue_after_seconds / LOST_MESSAGE_LOOKS_PER_INTERVAL
    )


def build_scheduler(settings: Settings, deps: Deps, database: db.Database) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)

    def job(work: Callable[..., Awaitable[object]], *args: object) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            with db.bound(database):
                try:
                    await work(*args)
                except Exception:
                    logger.exception("scheduled job %s failed", work.__name__)

        return run

    common = {"misfire_grace_time": MISFIRE_GRACE_SECONDS, "coalesce": True, "max_instances": 1}
    schedule = DailySchedule(deps)
    scheduler.add_job(
        job(schedule.tick),
        IntervalTrigger(seconds=SCHEDULE_LOOK_SECONDS, timezone=UTC),
        id="daily-syncs",
        # At once on start: a restart catches up the runs that came due meanwhile.
        next_run_time=datetime.now(UTC),
        **common,
    )
    if not settings.embedded:
        # Scale-out only: the in-process broker of embedded mode loses no message.
        scheduler.add_job(
            job(resend_lost_runs, deps),
            IntervalTrigger(seconds=lost_message_look_seconds(settings), timezone=UTC),
            id="lost-messages",
            **common,
        )
    scheduler.add_job(
        job(catch_up_drift_checks, deps),
        CronTrigger(
            hour=min(23, settings.subscriptions_sync_cron_hour + DRIFT_CHECK_CATCH_UP_HOURS),
            minute=0,
            timezone=UTC,
        ),
        id="drift-check-catch-up",
        **common,
    )
    scheduler.add_job(
        job(product_log.purge_expired_logs, settings.log_retention_days),
        CronTrigger(hour=RETENTION_HOUR_UTC, minute=0, timezone=UTC),
        id="log-retention",
        **common,
    )
    return scheduler


def start_in_process_scheduler(
    settings: Settings, deps: Deps, database: db.Database
) -> AsyncIOScheduler:
    """Build and start the schedule on the running loop (in embedded mode, the gateway's)."""
    scheduler = build_scheduler(settings, deps, database)
    scheduler.start()
    return scheduler


async def run_scheduler_forever(settings: Settings) -> None:
    """``halo-gateway scheduler``: its own database, and a broker to enqueue on."""
    if settings.embedded:
        raise SystemExit(
            "halo-gateway scheduler needs REDIS_URL; in embedded mode `serve`/`demo` run it"
        )
    database = await db.open_db(settings)
    broker = build_broker(settings)
    deps = build_deps(settings, queue=DramatiqJobQueue(broker))
    register_actors(broker, deps)  # only to send their messages: no worker runs here
    scheduler = start_in_process_scheduler(settings, deps, database)
    logger.info("scheduler started: %s", [str(j.trigger) for j in scheduler.get_jobs()])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    scheduler.shutdown(wait=False)
    broker.close()
    await deps.bus.close()
    await deps.aclose()
    await db.close_db(database)
