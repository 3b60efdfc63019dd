"""A run that waits to continue: re-queued with a delay instead of holding a worker.

Two reasons, both ending with the run's message sent again later (``JobQueue.enqueue_sync``
with ``delay_seconds``):

* HaloPSA's rate limit outlasted the client's patience (``HaloRateLimited``): the run keeps
  its lock and state (RUNNING, "Waiting for HaloPSA's rate limit") and continues once the
  rolling window admits again, up to a deadline of ``RATE_LIMIT_DEADLINE_WINDOWS`` windows
  from the first 429 of the wait; past it, the run fails with a reason that gives the
  numbers;
* another live execution of the same run holds its lease (a second delivery of the message):
  look again when that lease would have run out, in case its worker died.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from gateway.errors import BrokerUnavailable
from gateway.halopsa import HaloRateLimited
from gateway.messages import Message
from gateway.models import LogLevel, SyncRun
from gateway.services import Deps
from gateway.services import logs as product_log
from gateway.services.sync.journal import (
    RATE_LIMIT_WAITING,
    rate_limit_gave_up,
    rate_limit_waiting,
    rate_limit_waiting_message,
    seller_reason,
)
from gateway.services.sync.runs import (
    MESSAGE_FIELDS,
    Progress,
    RunPhase,
    event_for,
    lease_held_elsewhere,
    now_utc,
    park_lease,
    set_message,
)

logger = logging.getLogger(__name__)

# How long a run waits for HaloPSA's rate limit, in HaloPSA windows from the first 429 of
# the wait: the client already waited one (its patience); a second covers another integration
# that keeps the instance's shared budget busy for a while (issue #13: a 6-minute 429 spell
# with 5-minute windows). Longer than that, something is wrong and the seller should know.
RATE_LIMIT_DEADLINE_WINDOWS = 2
# The shortest delay before a re-queued run tries again: HaloPSA's window frees as requests
# age out of it, so trying again sooner only earns another 429.
REQUEUE_MIN_DELAY_SECONDS = 1.0
# Looking again this long after another execution's lease would have run out: that
# execution's last renewal may still be on its way.
LEASE_TAKEOVER_MARGIN_SECONDS = 1.0


async def come_back_later(run: SyncRun, deps: Deps, resend: int = 0) -> bool:
    """Another live execution holds this run's lease (this is a second delivery of its
    message): come back when that lease would have run out, in case its worker died. The
    message comes back as the same sending (``resend``, see ``requeue.py``)."""
    left = await lease_held_elsewhere(run.seller_id, run.id, now_utc())
    if left is None:
        return False
    delay = left + LEASE_TAKEOVER_MARGIN_SECONDS
    logger.info("run %s is being executed elsewhere; looking again in %.0fs", run.id, delay)
    await deps.queue.enqueue_sync(run.id, delay_seconds=delay, resend=resend)
    return True


async def wait_for_rate_limit(
    run: SyncRun,
    deps: Deps,
    exc: HaloRateLimited,
    progress: Progress,
    owner: str,
    processed_before: int,
) -> Message | None:
    """HaloPSA's rate limit outlasted the client's patience: re-queue the run to continue
    once the window admits again, rather than hold a worker asleep; past the deadline, the
    seller-worded reason the run fails (returned; None when re-queued).

    The deadline counts from the first 429 of the wait: the client waited its patience
    before giving up, and a run that got records through since the last wait starts a new
    one (a long run may meet the limit more than once).
    """
    seller_id: str = run.seller_id
    now = now_utc()
    window = deps.settings.halo_rate_limit_window_seconds
    patience = float(getattr(progress.client, "rate_limit_patience", window))
    since = run.rate_limited_since
    if since is None or run.processed > processed_before:  # a new wait
        since = now - timedelta(seconds=patience)
    limit = RATE_LIMIT_DEADLINE_WINDOWS * window
    delay = max(REQUEUE_MIN_DELAY_SECONDS, exc.retry_after or 0.0)
    progress.halo_totals()
    waited = (now - since).total_seconds()
    if waited + delay > limit:
        return rate_limit_gave_up(
            waited=waited,
            limit=limit,
            refused=run.halo_rate_limited,
            processed=run.processed,
            total=run.total,
            kind=run.kind,
        )
    run.rate_limited_since = since
    set_message(run, rate_limit_waiting_message(run.kind, delay, limit))
    await run.save(
        update_fields=[
            "rate_limited_since",
            *MESSAGE_FIELDS,
            "total",
            "processed",
            "created",
            "updated",
            "unchanged",
            "skipped",
            "failed",
            "halo_calls",
            "halo_rate_limited",
            "halo_retries",
            "halo_wait_seconds",
        ]
    )
    # The lock stays the run's while it waits, for the next execution (no owner), and frees
    # itself if that execution never comes (its message lost with Redis).
    until = now + timedelta(seconds=delay + deps.settings.sync_lease_seconds)
    if not await park_lease(seller_id, run.id, owner, until):
        logger.warning("run %s lost the seller lock while HaloPSA rate-limited it", run.id)
        return None
    try:
        # The run's own next attempt: the sending that started it (``requeue.py``).
        await deps.queue.enqueue_sync(run.id, delay_seconds=delay, resend=run.started_by_resend)
    except BrokerUnavailable:
        return seller_reason(exc)
    logger.info(
        "sync run %s: HaloPSA rate limit; re-queued to continue in %.1fs (waited %.0fs of %.0fs)",
        run.id,
        delay,
        waited,
        limit,
        extra={"delay_seconds": delay, "waited_seconds": waited, "limit_seconds": limit},
    )
    await product_log.record(
        seller_id,
        LogLevel.WARNING,
        RATE_LIMIT_WAITING,
        rate_limit_waiting(run.kind, delay, limit),
        run_id=run.id,
    )
    await deps.bus.publish(await event_for(run, RunPhase.PROGRESS))
    return None
