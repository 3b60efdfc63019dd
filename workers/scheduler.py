"""The daily schedule: organisations at 08:00 UTC, subscriptions at 18:00 UTC, log retention.

APScheduler's cron triggers fire the jobs; the jobs only *enqueue* runs through the same
``trigger_sync`` rules as the buttons (one sync per seller at a time; no cooldown for
scheduled runs). Two schedulers may run (a deploy overlap, or one per replica by mistake):
each day's run per (seller, kind) carries a dedupe key that is UNIQUE in the database, so it
is created once whoever fires first.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from tortoise.context import TortoiseContext
from tortoise.exceptions import IntegrityError

from gateway import db
from gateway.errors import DomainError
from gateway.models import Connection, ConnectionStatus, LogLevel, SyncKind, SyncTrigger
from gateway.services import Deps
from gateway.services import logs as product_log
from gateway.services.sync import trigger_sync
from gateway.settings import Settings

logger = logging.getLogger(__name__)

# Daily purge of seller-visible log entries past retention (any quiet hour will do).
RETENTION_HOUR_UTC = 3
# A job that fires late (a restart around 18:00) still runs if within this many seconds.
MISFIRE_GRACE_SECONDS = 15 * 60


def dedupe_key(kind: SyncKind, seller_id: str, day: datetime) -> str:
    return f"scheduled:{kind.value}:{day.date().isoformat()}:{seller_id}"


async def run_scheduled(deps: Deps, kind: SyncKind, now: datetime | None = None) -> dict[str, int]:
    """Enqueue today's run of ``kind`` for every seller with a verified connection."""
    now = now or datetime.now(UTC)
    counts = {"queued": 0, "already_queued": 0, "skipped": 0}
    sellers = await Connection.filter(status=ConnectionStatus.VERIFIED).values_list(
        "seller_id", flat=True
    )
    for seller_id in sellers:
        try:
            await trigger_sync(
                deps,
                seller_id,
                kind,
                trigger=SyncTrigger.SCHEDULED,
                triggered_by="schedule",
                dedupe_key=dedupe_key(kind, seller_id, now),
            )
            counts["queued"] += 1
        except IntegrityError:
            counts["already_queued"] += 1  # another scheduler got there first
        except DomainError as exc:
            counts["skipped"] += 1
            await product_log.record(
                seller_id,
                LogLevel.WARNING,
                f"Scheduled {'customers' if kind is SyncKind.ORGANIZATIONS else 'subscriptions'} "
                "sync skipped",
                f"{exc.message}. The next scheduled sync or a manual one will catch up.",
            )
    logger.info("scheduled %s sync: %s", kind.value.lower(), counts)
    return counts


async def purge_logs(settings: Settings) -> int:
    return await product_log.purge_expired_logs(settings.log_retention_days)


def build_scheduler(settings: Settings, deps: Deps, ctx: TortoiseContext) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)

    def job(coro_fn: Any, *args: Any) -> Any:
        async def run() -> None:
            with db.bound(ctx):
                try:
                    await coro_fn(*args)
                except Exception:
                    logger.exception("scheduled job %s failed", coro_fn.__name__)

        return run

    common = {"misfire_grace_time": MISFIRE_GRACE_SECONDS, "coalesce": True, "max_instances": 1}
    scheduler.add_job(
        job(run_scheduled, deps, SyncKind.ORGANIZATIONS),
        CronTrigger(hour=settings.organizations_sync_cron_hour, minute=0, timezone=UTC),
        id="organizations-daily",
        **common,
    )
    scheduler.add_job(
        job(run_scheduled, deps, SyncKind.SUBSCRIPTIONS),
        CronTrigger(hour=settings.subscriptions_sync_cron_hour, minute=0, timezone=UTC),
        id="subscriptions-daily",
        **common,
    )
    scheduler.add_job(
        job(purge_logs, settings),
        CronTrigger(hour=RETENTION_HOUR_UTC, minute=0, timezone=UTC),
        id="log-retention",
        **common,
    )
    return scheduler


def start_in_process_scheduler(settings: Settings, deps: Deps, ctx: TortoiseContext) -> Any:
    """Embedded mode: the schedule runs on the gateway's own loop."""
    scheduler = build_scheduler(settings, deps, ctx)
    scheduler.start()
    return scheduler


async def run_scheduler_forever(settings: Settings) -> None:
    """``halo-gateway scheduler``: its own DB context and a broker to enqueue on."""
    from gateway.services import build_deps
    from workers.broker import build_broker, register_actors
    from workers.queue import DramatiqJobQueue

    if settings.embedded:
        raise SystemExit(
            "halo-gateway scheduler needs REDIS_URL; in embedded mode `serve`/`demo` run it"
        )
    ctx = await db.open_db(settings)
    broker = build_broker(settings)
    deps = build_deps(settings, queue=DramatiqJobQueue(broker))
    register_actors(broker, deps)  # only to send their messages: no worker runs here
    scheduler = build_scheduler(settings, deps, ctx)
    scheduler.start()
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
    await db.close_db(ctx)
