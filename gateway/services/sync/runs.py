"""A sync run's life: the seller's lock and its lease, events, progress, the run's exceptions.

The lock is claimed atomically with a conditional UPDATE on the seller row (``active_run_id``
+ ``lease_expires_at``). A run's worker renews the lease as it goes; a dead worker's lease
expires, so a redelivered message resumes the same run (it still owns the lock) and a stuck
run never blocks the seller forever.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from gateway.events import SyncEvent
from gateway.models import (
    RunState,
    Seller,
    SyncRun,
)
from gateway.services import Deps

# A queued run whose message no worker picked up within this time no longer blocks the
# seller (the broker lost it, or every worker is down); the message, if it ever runs, finds
# it has lost the lock and stands down.
QUEUED_LEASE_SECONDS = 15 * 60

ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING)


def now_utc() -> datetime:
    return datetime.now(UTC)


async def claim_lock(seller_id: str, run_id: int, now: datetime, lease_seconds: float) -> bool:
    """The conditional UPDATE: free, expired, or already ours → ours. One winner."""
    updated = (
        await Seller.filter(id=seller_id)
        .filter(
            Q(active_run_id__isnull=True) | Q(lease_expires_at__lt=now) | Q(active_run_id=run_id)
        )
        .update(active_run_id=run_id, lease_expires_at=now + timedelta(seconds=lease_seconds))
    )
    return updated == 1


async def renew_lease(seller_id: str, run_id: int, lease_seconds: float) -> bool:
    updated = await Seller.filter(id=seller_id, active_run_id=run_id).update(
        lease_expires_at=now_utc() + timedelta(seconds=lease_seconds)
    )
    return updated == 1


async def release_lock(seller_id: str, run_id: int) -> None:
    await Seller.filter(id=seller_id, active_run_id=run_id).update(
        active_run_id=None, lease_expires_at=None
    )


async def abandon_if_unfinished(run_id: int, now: datetime) -> None:
    """A run whose lease expired without finishing: its worker is gone."""
    await SyncRun.filter(id=run_id, state__in=ACTIVE_STATES).update(
        state=RunState.FAILED,
        finished_at=now,
        message="The sync stopped unexpectedly (its worker was lost) and was abandoned.",
    )


def event_for(run: SyncRun, phase: str, *, message: str | None = None) -> SyncEvent:
    return SyncEvent(
        seller_id=run.seller_id,  # type: ignore[attr-defined]
        run_id=run.id,
        kind=run.kind.value,
        scope=run.scope.value,
        phase=phase,
        organization_id=str(run.organization_id) if run.organization_id else None,  # type: ignore[attr-defined]
        processed=run.processed,
        total=run.total,
        created=run.created,
        updated=run.updated,
        skipped=run.skipped,
        failed=run.failed,
        message=message if message is not None else run.message,
    )


async def active_run(seller_id: str, now: datetime | None = None) -> SyncRun | None:
    """The run holding the seller's lock, if its lease is alive."""
    now = now or now_utc()
    seller = await Seller.get_or_none(id=seller_id)
    if seller is None or seller.active_run_id is None:
        return None
    if seller.lease_expires_at is not None and seller.lease_expires_at < now:
        return None
    run = await SyncRun.filter(id=seller.active_run_id).select_related("organization").first()
    if run is None or run.state.finished:
        return None
    return run


# Progress events: at most one per this many seconds (and always at the end).
PROGRESS_INTERVAL_SECONDS = 0.25
# Unit prices keep 4 decimal places, half-up: 100.00 / 3 = 33.3333, so unit × quantity


class RunCancelled(Exception):
    pass


class LostLock(Exception):
    pass


class CannotContinue(Exception):
    """A run that cannot proceed for a reason of ours (not HaloPSA's); the text is for sellers."""


@dataclass
class Progress:
    """Counts of the run, flushed to the database and published as events."""

    run: SyncRun
    deps: Deps
    lease_seconds: float
    last_flush: float = 0.0
    # The attempt's HaloPSA client: its calls, 429s and waits are added to what earlier
    # attempts of the run recorded (kept on the run row as the attempt goes).
    client: Any = None
    halo_before: tuple[int, int, int, float] = (0, 0, 0, 0.0)

    def __post_init__(self) -> None:
        run = self.run
        self.halo_before = (
            run.halo_calls,
            run.halo_rate_limited,
            run.halo_retries,
            run.halo_wait_seconds,
        )

    def halo_totals(self) -> None:
        """The run's HaloPSA figures: earlier attempts plus this one so far."""
        if self.client is None:
            return
        calls, limited, retries, waited = self.halo_before
        stats = self.client.stats
        self.run.halo_calls = calls + stats.calls
        self.run.halo_rate_limited = limited + stats.rate_limited
        self.run.halo_retries = retries + stats.retries
        self.run.halo_wait_seconds = waited + stats.wait_seconds

    async def step(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self.last_flush < PROGRESS_INTERVAL_SECONDS:
            return
        self.last_flush = time.monotonic()
        run = self.run
        self.halo_totals()
        await SyncRun.filter(id=run.id).update(
            total=run.total,
            processed=run.processed,
            created=run.created,
            updated=run.updated,
            unchanged=run.unchanged,
            skipped=run.skipped,
            failed=run.failed,
            halo_calls=run.halo_calls,
            halo_rate_limited=run.halo_rate_limited,
            halo_retries=run.halo_retries,
            halo_wait_seconds=run.halo_wait_seconds,
        )
        if not await renew_lease(run.seller_id, run.id, self.lease_seconds):  # type: ignore[attr-defined]
            raise LostLock()
        cancel = await SyncRun.filter(id=run.id).values_list("cancel_requested", flat=True)
        if cancel and cancel[0]:
            raise RunCancelled()
        await self.deps.bus.publish(event_for(run, "PROGRESS"))
