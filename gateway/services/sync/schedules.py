"""The daily schedule's runs: today's run of a kind for every seller with a verified connection.

APScheduler (``workers.scheduler``) calls :func:`trigger_scheduled` at 08:00 UTC
(organisations) and 18:00 UTC (subscriptions). The runs are queued through the same rules as
the buttons (``trigger_sync``: one sync per seller at a time; scheduled runs neither respect
nor start the cooldown). Two schedulers may fire (a deploy overlap, or one per replica by
mistake): each day's run per (seller, kind) carries a dedupe key that is UNIQUE in the
database, so it is created once whoever fires first. A seller whose run cannot start (a sync
in progress, say) gets a WARNING entry; the next scheduled or manual sync catches up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError

from gateway.errors import DomainError
from gateway.models import Connection, ConnectionStatus, LogLevel, SyncKind, SyncTrigger
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
            await trigger_sync(
                deps,
                seller_id,
                kind,
                trigger=SyncTrigger.SCHEDULED,
                triggered_by=TRIGGERED_BY,
                dedupe_key=dedupe_key(kind, seller_id, now),
            )
            queued += 1
        except IntegrityError:
            already_queued += 1
        except DomainError as exc:
            skipped += 1
            await product_log.record(
                seller_id,
                LogLevel.WARNING,
                scheduled_skipped(kind),
                scheduled_skipped_details(kind, exc.message, exc.code),
            )
    counts = ScheduledCounts(queued, already_queued, skipped)
    logger.info("scheduled %s sync: %s", kind.value.lower(), counts)
    return counts
