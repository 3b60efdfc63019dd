"""The daily schedule's runs: today's run of a kind for every seller with a verified connection.

APScheduler (``workers.scheduler``) calls :func:`trigger_scheduled` at 08:00 UTC
(organisations) and 18:00 UTC (subscriptions). The daily drift check (a seller's setting,
``Seller.daily_drift_check``) follows the 18:00 push: the push's end queues it
(:func:`after_scheduled_push`), and a later firing (:func:`catch_up_drift_checks`) queues the
ones no push queued (the push could not start, or waits for approval). The runs are queued
through the same rules as the buttons (``trigger_sync``: one sync per seller at a time;
scheduled runs neither respect nor start the cooldown). Two schedulers may fire (a deploy
overlap, or one per replica by mistake): each day's run per (seller, kind) carries a dedupe
key that is UNIQUE in the database, so it is created once whoever fires first. A seller whose
run cannot start (a sync in progress, say) gets a WARNING entry; the next scheduled or manual
sync catches up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError

from gateway.errors import DomainError, SyncInProgress
from gateway.models import (
    Connection,
    ConnectionStatus,
    LogLevel,
    RunState,
    Seller,
    SyncKind,
    SyncRun,
    SyncScope,
    SyncTrigger,
)
from gateway.services import Deps
from gateway.services import logs as product_log
from gateway.services.sync.journal import scheduled_skipped, scheduled_skipped_details
from gateway.services.sync.runs import now_utc
from gateway.services.sync.triggers import trigger_sync

logger = logging.getLogger(__name__)

# Who started a scheduled run, as the run history shows it.
TRIGGERED_BY = "schedule"


@dataclass(frozen=True)
class ScheduledCounts:
    """What one firing of the schedule did, seller by seller."""

    queued: int = 0
    already_queued: int = 0  # another scheduler queued today's run first
    skipped: int = 0  # the run could not start; a WARNING entry says why


def dedupe_key(kind: SyncKind, seller_id: str, day: datetime) -> str:
    return f"scheduled:{kind.value}:{day.date().isoformat()}:{seller_id}"


async def trigger_scheduled(
    deps: Deps, kind: SyncKind, now: datetime | None = None
) -> ScheduledCounts:
    """Queue today's run of ``kind`` for every seller with a verified connection."""
    now = now or now_utc()
    queued = already_queued = skipped = 0
    verified = await Connection.filter(status=ConnectionStatus.VERIFIED).values("seller_id")
    for seller_id in (row["seller_id"] for row in verified):
        try:
            await _trigger_daily(deps, seller_id, kind, now)
            queued += 1
        except IntegrityError:
            already_queued += 1
        except DomainError as exc:
            skipped += 1
            await _skipped(seller_id, kind, exc.message)
    counts = ScheduledCounts(queued, already_queued, skipped)
    logger.info("scheduled %s sync: %s", kind.value.lower(), counts)
    return counts


# --- the daily drift check, after the 18:00 push ----------------------------------------------


async def after_scheduled_push(deps: Deps, run: SyncRun) -> None:
    """Queue the seller's daily drift check when its scheduled subscriptions sync of all
    organisations has finished (succeeded or failed; not cancelled), if the seller asked for
    it. Never raises: it runs at the end of a finished run."""
    if (
        run.kind is not SyncKind.SUBSCRIPTIONS
        or run.trigger is not SyncTrigger.SCHEDULED
        or run.scope is not SyncScope.ALL
        or run.state is RunState.CANCELLED
    ):
        return
    try:
        if await Seller.filter(id=run.seller_id, daily_drift_check=True).exists():
            await _queue_drift_check(deps, run.seller_id, run.queued_at, quiet_if_busy=False)
    except Exception:
        logger.exception("daily drift check after run %s not queued", run.id)


async def catch_up_drift_checks(deps: Deps, now: datetime | None = None) -> ScheduledCounts:
    """Queue today's drift check for every seller who asked for it and has none queued yet:
    the ones whose 18:00 push did not queue it. A seller with a sync in progress is left to
    it (the scheduled push queues the check when it finishes)."""
    now = now or now_utc()
    queued = already_queued = skipped = 0
    sellers = await Connection.filter(
        status=ConnectionStatus.VERIFIED, seller__daily_drift_check=True
    ).values_list("seller_id", flat=True)
    for seller_id in sellers:
        outcome = await _queue_drift_check(deps, str(seller_id), now, quiet_if_busy=True)
        queued += outcome == "queued"
        already_queued += outcome == "already"
        skipped += outcome == "skipped"
    counts = ScheduledCounts(queued, already_queued, skipped)
    logger.info("daily drift checks caught up: %s", counts)
    return counts


async def _queue_drift_check(
    deps: Deps, seller_id: str, day: datetime, *, quiet_if_busy: bool
) -> str:
    """Today's drift check of the seller, once whoever asks first (the push's end or the
    catch-up): its dedupe key is the day's."""
    kind = SyncKind.RECONCILE
    try:
        await _trigger_daily(deps, seller_id, kind, day)
    except IntegrityError:
        return "already"
    except SyncInProgress as exc:
        if quiet_if_busy:
            logger.info("daily drift check of %s left to the sync in progress", seller_id)
            return "busy"
        await _skipped(seller_id, kind, exc.message)
        return "skipped"
    except DomainError as exc:
        await _skipped(seller_id, kind, exc.message)
        return "skipped"
    return "queued"


async def _trigger_daily(deps: Deps, seller_id: str, kind: SyncKind, day: datetime) -> None:
    """The day's scheduled run of ``kind`` (IntegrityError: it was queued already)."""
    await trigger_sync(
        deps,
        seller_id,
        kind,
        trigger=SyncTrigger.SCHEDULED,
        triggered_by=TRIGGERED_BY,
        dedupe_key=dedupe_key(kind, seller_id, day),
    )


async def _skipped(seller_id: str, kind: SyncKind, reason: str) -> None:
    await product_log.record(
        seller_id, LogLevel.WARNING, scheduled_skipped(kind), scheduled_skipped_details(reason)
    )
