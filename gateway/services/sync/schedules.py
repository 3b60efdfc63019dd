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

The daily drift check (a seller's setting, ``Seller.daily_drift_check``) follows the seller's
18:00 push: the push's end queues it (:func:`after_scheduled_push`), and a later firing
(:func:`catch_up_drift_checks`) queues the ones no push queued (the push could not start, or
waits for approval). Its dedupe key is the push slot's day, so it runs once per day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
            await _trigger_scheduled_run(deps, run.seller_id, kind, run.dedupe_key)
            queued += 1
        except IntegrityError:
            already_queued += 1
        except DomainError as exc:
            skipped += 1
            await _skipped(run.seller_id, kind, exc)
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


async def _trigger_scheduled_run(deps: Deps, seller_id: str, kind: SyncKind, key: str) -> None:
    """The slot's run (IntegrityError: it was queued already, whoever came first)."""
    await trigger_sync(
        deps,
        seller_id,
        kind,
        trigger=SyncTrigger.SCHEDULED,
        triggered_by=TRIGGERED_BY,
        dedupe_key=key,
    )


async def _skipped(seller_id: str, kind: SyncKind, exc: DomainError) -> None:
    await product_log.record(
        seller_id,
        LogLevel.WARNING,
        scheduled_skipped(kind),
        scheduled_skipped_details(kind, exc.message, exc.code),
    )


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
            await _queue_drift_check(deps, run.seller_id, _slot_day(run), quiet_if_busy=False)
    except Exception:
        logger.exception("daily drift check after run %s not queued", run.id)


def _slot_day(run: SyncRun) -> datetime:
    """The day of the push's slot (its dedupe key says it; a push past midnight keeps it)."""
    key = run.dedupe_key or ""
    parts = key.split(":")
    if len(parts) >= 3:
        try:
            return datetime.fromisoformat(parts[2]).replace(tzinfo=UTC)
        except ValueError:
            pass
    return run.queued_at


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
    """The day's drift check of the seller, once whoever asks first (the push's end or the
    catch-up): its dedupe key is the day's."""
    kind = SyncKind.RECONCILE
    try:
        await _trigger_scheduled_run(deps, seller_id, kind, dedupe_key(kind, seller_id, day))
    except IntegrityError:
        return "already"
    except SyncInProgress as exc:
        if quiet_if_busy:
            logger.info("daily drift check of %s left to the sync in progress", seller_id)
            return "busy"
        await _skipped(seller_id, kind, exc)
        return "skipped"
    except DomainError as exc:
        await _skipped(seller_id, kind, exc)
        return "skipped"
    return "queued"
