"""A queued run whose message the broker lost: its message is sent again.

Scale-out only (``workers/scheduler.py`` calls :func:`resend_lost_runs` every few seconds;
embedded mode has no broker to lose anything). A run is created QUEUED holding the seller's
lock — a lease of ``QUEUED_LEASE_SECONDS`` with no owner — and its message goes to Redis. A
Redis restart without persistence loses the message: nothing would ever start the run, and
the seller's Sync buttons would say "Sync in progress" until the lease ran out. So:

* a run still QUEUED ``SYNC_REQUEUE_AFTER_SECONDS`` after it was queued (or last re-sent),
  whose lock is alive and taken by no execution, has its message sent again;
* **one re-send per interval**, whichever of several schedulers gets there first: a
  compare-and-set on the run row (``requeues`` as read, ``requeued_at`` older than the
  interval) decides who sends;
* **a re-send is harmless**: each sending of a run's message carries its number (0 the first
  message, n the n-th re-send). The sending that starts the run records its number
  (``started_by_resend``); any other sending that finds the run under way drops itself
  (``engine.execute_run``) instead of waiting on it. The messages of the run's own execution
  (Dramatiq's redelivery, its retries, a wait re-queued) carry that execution's number and
  behave as before, so a killed worker's run is still resumed;
* the queued run's lease stays the last resort: a run not started within 15 minutes stops
  blocking the seller, re-sent or not.

A run waits QUEUED this long only when its message was lost or every worker is busy or down;
in the latter cases the re-sent message is a spare that drops itself when it comes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from gateway.errors import BrokerUnavailable
from gateway.logging import log_context
from gateway.models import RunState, Seller, SyncRun
from gateway.services import Deps
from gateway.services.sync.runs import QUEUED_LEASE_SECONDS, now_utc

logger = logging.getLogger(__name__)


async def resend_lost_runs(deps: Deps, now: datetime | None = None) -> int:
    """Send again the message of every run QUEUED too long; returns how many were sent.

    Stops at the first message the broker cannot take (Redis is away): that run's stamp is
    taken back, so the next look, not the next interval, tries again.
    """
    now = now or now_utc()
    after = timedelta(seconds=deps.settings.sync_requeue_after_seconds)
    cutoff = now - after
    sent = 0
    for run in await _waiting_too_long(now, cutoff):
        if not await _stamp(run, cutoff, now):
            continue  # another scheduler re-sent it, or it started or was cancelled meanwhile
        resend = run.requeues + 1
        with log_context(seller_id=run.seller_id, run_id=run.run_id):
            try:
                await deps.queue.enqueue_sync(run.run_id, resend=resend)
            except BrokerUnavailable:
                # The count stays: a message the broker stored before failing to answer
                # keeps a number no later re-send reuses.
                await SyncRun.filter(id=run.run_id, requeues=resend).update(
                    requeued_at=run.requeued_at
                )
                logger.info("run %s's message not re-sent: the broker is away", run.run_id)
                return sent
            sent += 1
            logger.warning(
                "re-sent run %s's message: QUEUED for %.0fs without starting (lost by the "
                "broker, or no worker free); re-send %d",
                run.run_id,
                (now - run.since).total_seconds(),
                resend,
                extra={"resend": resend},
            )
    return sent


@dataclass(frozen=True)
class _Waiting:
    run_id: int
    seller_id: str
    requeues: int  # re-sends so far
    requeued_at: datetime | None  # the last one's
    since: datetime  # queued, or last re-sent: whichever is later


async def _waiting_too_long(now: datetime, cutoff: datetime) -> list[_Waiting]:
    """The QUEUED runs due a re-send, longest waiting first.

    Read from the seller rows: a queued run's lock has no owner, and its lease was taken for
    ``QUEUED_LEASE_SECONDS`` when it was queued (a trigger, or an approval queuing a held
    run again), so the lease says since when it waits. A lease already run out is left
    alone: the run no longer blocks the seller (the last resort), and starting it now would
    surprise them.
    """
    queued_lease = timedelta(seconds=QUEUED_LEASE_SECONDS)
    held = await Seller.filter(
        active_run_id__isnull=False,
        lease_owner__isnull=True,
        lease_expires_at__gt=now,
        lease_expires_at__lte=cutoff + queued_lease,
    ).values_list("id", "active_run_id", "lease_expires_at")
    queued_at = {int(run_id): expires - queued_lease for _, run_id, expires in held}
    seller_of = {int(run_id): str(seller_id) for seller_id, run_id, _ in held}
    if not queued_at:
        return []
    rows = (
        await SyncRun.filter(id__in=list(queued_at), state=RunState.QUEUED)
        .filter(Q(requeued_at__isnull=True) | Q(requeued_at__lte=cutoff))
        .values_list("id", "requeues", "requeued_at")
    )
    due = []
    for run_id, requeues, requeued_at in rows:
        queued = queued_at[int(run_id)]
        since = queued if requeued_at is None else max(queued, requeued_at)
        due.append(_Waiting(int(run_id), seller_of[int(run_id)], int(requeues), requeued_at, since))
    return sorted(due, key=lambda run: (run.since, run.run_id))


async def _stamp(run: _Waiting, cutoff: datetime, now: datetime) -> bool:
    """The compare-and-set that makes this scheduler the one that re-sends, this interval."""
    stamped = (
        await SyncRun.filter(id=run.run_id, state=RunState.QUEUED, requeues=run.requeues)
        .filter(Q(requeued_at__isnull=True) | Q(requeued_at__lte=cutoff))
        .update(requeues=run.requeues + 1, requeued_at=now)
    )
    return stamped == 1
