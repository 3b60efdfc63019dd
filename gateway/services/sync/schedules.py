"""The daily schedule's runs: each seller's run of a kind once per day, at the seller's time.

Each seller's run is planned at the slot's hour (08:00 UTC organisations, 18:00 UTC
subscriptions) plus the seller's own offset within ``SCHEDULED_SYNC_SPREAD_MINUTES``
(:mod:`gateway.services.daily_slots`), so 10,000 sellers reach the database and the broker as
a steady stream rather than a herd at the hour. The scheduler (``workers.scheduler``) looks
every few seconds (:class:`DailySchedule`) and queues the runs that came due since it last
looked, through the same rules as the buttons (``trigger_sync``: one sync per seller at a
time; scheduled runs neither respect nor start the cooldown).

A run is created when it is due, not queued early with a delay: a run waiting in the broker
would hold the seller's lock ("Sync in progress") for up to the whole window.

Guarantees:

* **once per seller and slot**: each slot's run per (seller, kind) carries a dedupe key that
  is UNIQUE in the database, so two schedulers (a deploy overlap, one per replica by mistake)
  create it once, whoever comes first;
* **a restart loses nothing**: a scheduler that starts looks back over the misfire grace
  (``MISFIRE_GRACE``) and queues every run due in it that has no run yet; a scheduler that
  was down for longer misses those runs, and the watchdog reports them (``issues``);
* a seller whose run cannot start (a sync in progress, say) gets a WARNING entry; the next
  scheduled or manual sync catches up. A scheduler asks once per due run (it remembers up to
  when it looked); only after a restart may it ask again, and then maybe start it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from gateway.errors import DomainError
from gateway.models import (
    Connection,
    ConnectionStatus,
    LogLevel,
    SyncKind,
    SyncRun,
    SyncTrigger,
)
from gateway.services import Deps, daily_slots
from gateway.services import logs as product_log
from gateway.services.sync.journal import scheduled_skipped, scheduled_skipped_details
from gateway.services.sync.runs import now_utc
from gateway.services.sync.triggers import trigger_sync

logger = logging.getLogger(__name__)

# Who started a scheduled run, as the run history shows it.
TRIGGERED_BY = "schedule"
# A run found due this late (a scheduler restarted, or stalled) is still queued; an older one
# is missed, as a daily job's misfire would be (the watchdog reports it).
MISFIRE_GRACE = timedelta(minutes=15)
# Dedupe keys looked up per query (an IN list well under SQLite's bound-variable limit).
KEY_LOOKUP_BATCH = 1000


@dataclass(frozen=True)
class ScheduledCounts:
    """What one look at the schedule did, seller by seller."""

    queued: int = 0
    already_queued: int = 0  # another scheduler queued this slot's run first
    skipped: int = 0  # the run could not start; a WARNING entry says why

    @property
    def any(self) -> bool:
        return bool(self.queued or self.already_queued or self.skipped)


@dataclass(frozen=True)
class _Due:
    seller_id: str
    planned: datetime
    dedupe_key: str


def dedupe_key(kind: SyncKind, seller_id: str, day: datetime) -> str:
    """The slot's key: ``day`` is the slot's day (a window past midnight keeps its date)."""
    return f"scheduled:{kind.value}:{day.date().isoformat()}:{seller_id}"


async def trigger_scheduled(
    deps: Deps, kind: SyncKind, now: datetime | None = None, *, since: datetime | None = None
) -> ScheduledCounts:
    """Queue the scheduled runs of ``kind`` due at ``now``: every seller with a verified
    connection whose planned time is in (``since``, ``now``] and within the misfire grace,
    and whose slot has no run yet."""
    now = now or now_utc()
    earliest = now - MISFIRE_GRACE if since is None else max(since, now - MISFIRE_GRACE)
    if not _window_open(deps, kind, earliest, now):
        return ScheduledCounts()
    verified = await Connection.filter(status=ConnectionStatus.VERIFIED).values_list(
        "seller_id", flat=True
    )
    due = _due(deps, kind, (str(s) for s in verified), earliest, now)
    started = await _existing_keys([d.dedupe_key for d in due])
    queued = already_queued = skipped = 0
    for run in due:
        if run.dedupe_key in started:
            already_queued += 1
            continue
        try:
            await trigger_sync(
                deps,
                run.seller_id,
                kind,
                trigger=SyncTrigger.SCHEDULED,
                triggered_by=TRIGGERED_BY,
                dedupe_key=run.dedupe_key,
            )
            queued += 1
        except IntegrityError:
            already_queued += 1
        except DomainError as exc:
            skipped += 1
            await product_log.record(
                run.seller_id,
                LogLevel.WARNING,
                scheduled_skipped(kind),
                scheduled_skipped_details(kind, exc.message, exc.code),
            )
    counts = ScheduledCounts(queued, already_queued, skipped)
    if counts.any:
        logger.info("scheduled %s sync: %s", kind.value.lower(), counts)
    return counts


def _window_open(deps: Deps, kind: SyncKind, earliest: datetime, now: datetime) -> bool:
    """Could any seller's run be due in (earliest, now]? Most of the day none is: no query."""
    window = daily_slots.spread(deps.settings)
    for day in daily_slots.recent_days(now):
        start = daily_slots.slot_start(deps.settings, kind, day)
        if start <= now and earliest < start + window:
            return True
    return False


def _due(
    deps: Deps, kind: SyncKind, sellers: Iterable[str], earliest: datetime, now: datetime
) -> list[_Due]:
    """The sellers' runs planned in (earliest, now], in planned order."""
    found = []
    for seller_id in sellers:
        for day in daily_slots.recent_days(now):
            planned = daily_slots.planned_at(deps.settings, kind, seller_id, day)
            if earliest < planned <= now:
                slot = daily_slots.slot_start(deps.settings, kind, day)
                found.append(_Due(seller_id, planned, dedupe_key(kind, seller_id, slot)))
                break
    return sorted(found, key=lambda d: (d.planned, d.seller_id))


async def _existing_keys(keys: list[str]) -> set[str]:
    """The dedupe keys that already have a run (queued by this or another scheduler)."""
    found: set[str] = set()
    for i in range(0, len(keys), KEY_LOOKUP_BATCH):
        batch = keys[i : i + KEY_LOOKUP_BATCH]
        found.update(
            str(k)
            for k in await SyncRun.filter(dedupe_key__in=batch).values_list("dedupe_key", flat=True)
        )
    return found


class DailySchedule:
    """What the scheduler calls every few seconds: the runs of every kind that came due since
    it last looked (on its first look, since the misfire grace).

    It remembers up to when it looked, so that a run it could not start is not asked for
    again at the next look; that memory is all it keeps, and losing it (a restart) costs at
    most one more attempt per run, never a duplicate (the dedupe keys).
    """

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._looked_until: dict[SyncKind, datetime] = {}

    async def tick(self, now: datetime | None = None) -> dict[SyncKind, ScheduledCounts]:
        now = now or now_utc()
        done = {}
        for kind in (SyncKind.ORGANIZATIONS, SyncKind.SUBSCRIPTIONS):
            since = self._looked_until.get(kind)
            done[kind] = await trigger_scheduled(self.deps, kind, now, since=since)
            self._looked_until[kind] = now
        return done
