"""When each seller's daily runs are planned: the slot's hour plus the seller's own offset.

At 10,000 sellers a daily run due for everyone at 18:00 is a herd: 10,000 runs created,
queued and started in the same minute, then an idle database and broker for the rest of the
day. Each seller's scheduled runs are planned instead at the slot's hour
(``ORGANIZATIONS_SYNC_CRON_HOUR``, ``SUBSCRIPTIONS_SYNC_CRON_HOUR``) plus an offset within
``SCHEDULED_SYNC_SPREAD_MINUTES``, so the runs arrive as a steady stream across the window.

The offset is a hash of the seller's id, not a random draw or a rank among the sellers: the
same second every day (a seller can be told "your subscriptions go to HaloPSA at 18:23 UTC"),
the same in every process that asks (scheduler, watchdog, overview) without storing it, and
unmoved when other sellers come or go. Pure functions: no database, no clock of their own.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

from gateway.models import SyncKind
from gateway.settings import Settings

ONE_DAY = timedelta(days=1)


def slot_hour(settings: Settings, kind: SyncKind) -> int:
    if kind is SyncKind.ORGANIZATIONS:
        return settings.organizations_sync_cron_hour
    return settings.subscriptions_sync_cron_hour


def spread(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.scheduled_sync_spread_minutes)


def offset(seller_id: str, window: timedelta) -> timedelta:
    """The seller's place in a window of ``window``, to the second (0 for an empty window)."""
    seconds = int(window.total_seconds())
    if seconds <= 0:
        return timedelta(0)
    digest = hashlib.blake2b(seller_id.encode(), digest_size=8).digest()
    return timedelta(seconds=int.from_bytes(digest, "big") % seconds)


def slot_start(settings: Settings, kind: SyncKind, day: date) -> datetime:
    """The start of ``day``'s slot of ``kind`` (the hour every seller's offset counts from)."""
    return datetime.combine(day, time(slot_hour(settings, kind)), tzinfo=UTC)


def planned_at(settings: Settings, kind: SyncKind, seller_id: str, day: date) -> datetime:
    """When ``day``'s scheduled run of ``kind`` for this seller is due."""
    return slot_start(settings, kind, day) + offset(seller_id, spread(settings))


def time_of_day(settings: Settings, kind: SyncKind, seller_id: str) -> time:
    """The seller's time of day for ``kind``, the same every day (UTC)."""
    return planned_at(settings, kind, seller_id, date(2000, 1, 1)).time()


def recent_days(now: datetime) -> tuple[date, date]:
    """The slots a moment can belong to: today's, and yesterday's (a window that runs past
    midnight, or a check shortly after today's slot started)."""
    today = now.astimezone(UTC).date()
    return today, today - ONE_DAY


def next_planned_at(settings: Settings, kind: SyncKind, seller_id: str, now: datetime) -> datetime:
    """The seller's next scheduled run of ``kind`` at or after ``now``."""
    today = now.astimezone(UTC).date()
    for day in (today - ONE_DAY, today):
        planned = planned_at(settings, kind, seller_id, day)
        if planned >= now:
            return planned
    return planned_at(settings, kind, seller_id, today + ONE_DAY)
