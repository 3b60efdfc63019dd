"""A sync run's life: the seller's lock and its lease, events, progress, the run's exceptions.

The lock is claimed atomically with a conditional UPDATE on the seller row (``active_run_id``
+ ``lease_expires_at``). A stuck run never blocks the seller forever: its lease expires.

Each execution of a run holds the lease under an owner token of its own (``lease_owner``) and
keeps it alive while it works (:func:`keep_lease`, whether or not records move: a HaloPSA
rate-limit wait can last minutes). A second delivery of the same run's message (Dramatiq
redelivers when a worker's heartbeat went stale, which a Redis outage longer than the
heartbeat timeout also causes while that worker is alive) therefore never runs beside a live
first one: it finds the lease held and comes back when it would have expired. A killed
worker's lease expires, and the redelivered message resumes the run. A run that waits to
continue (re-queued with a delay) leaves the lease without an owner, for the next execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q

from gateway.events import RESYNC, SyncEvent
from gateway.messages import Message, MessageCode, read_params, stored_params
from gateway.models import (
    Organization,
    RunState,
    Seller,
    SyncKind,
    SyncRun,
    SyncScope,
)
from gateway.services import Deps
from gateway.services.sync import journal

logger = logging.getLogger(__name__)

# A queued run whose message no worker picked up within this time no longer blocks the
# seller (the broker lost it, or every worker is down); the message, if it ever runs, finds
# it has lost the lock and stands down.
QUEUED_LEASE_SECONDS = 15 * 60
# An execution renews its lease every this share of the lease: two renewals may fail (a
# database hiccup) before the lease runs out under a live run.
LEASE_RENEW_FRACTION = 1 / 3

ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING)


class RunPhase(StrEnum):
    """The step of a run an event tells (``SyncEvent.phase``); RESYNC is the bus's own
    "events were missed, read again" marker."""

    QUEUED = "QUEUED"
    STARTED = "STARTED"
    PROGRESS = "PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    NEEDS_APPROVAL = "NEEDS_APPROVAL"  # held by the safety valve before writing
    RESYNC = RESYNC


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_lease_owner() -> str:
    """The token of one execution of a run."""
    return uuid.uuid4().hex


async def claim_lock(
    seller_id: str,
    run_id: int,
    now: datetime,
    lease_seconds: float,
    *,
    owner: str | None = None,
) -> bool:
    """The conditional UPDATE: free, expired, or this run's and held by no other live
    execution (no owner: queued or waiting to continue; or ``owner`` itself) → ours."""
    this_run = Q(active_run_id=run_id, lease_owner__isnull=True)
    if owner is not None:
        this_run |= Q(active_run_id=run_id, lease_owner=owner)
    updated = (
        await Seller.filter(id=seller_id)
        .filter(Q(active_run_id__isnull=True) | Q(lease_expires_at__lt=now) | this_run)
        .update(
            active_run_id=run_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            lease_owner=owner,
        )
    )
    return updated == 1


def lock_alive(seller: Seller, now: datetime) -> bool:
    """The seller's lock is held by a run whose lease has not expired (``claim_lock``'s rule)."""
    if seller.active_run_id is None:
        return False
    return seller.lease_expires_at is None or seller.lease_expires_at >= now


async def lease_held_elsewhere(seller_id: str, run_id: int, now: datetime) -> float | None:
    """Seconds left on the lease when another live execution of this run holds it, else None."""
    seller = await Seller.get_or_none(id=seller_id)
    if seller is None or seller.active_run_id != run_id or seller.lease_expires_at is None:
        return None
    left = (seller.lease_expires_at - now).total_seconds()
    return left if left > 0 and seller.lease_owner is not None else None


async def renew_lease(
    seller_id: str, run_id: int, lease_seconds: float, owner: str | None = None
) -> bool:
    held = {"lease_owner__isnull": True} if owner is None else {"lease_owner": owner}
    updated = await Seller.filter(id=seller_id, active_run_id=run_id, **held).update(
        lease_expires_at=now_utc() + timedelta(seconds=lease_seconds)
    )
    return updated == 1


async def park_lease(seller_id: str, run_id: int, owner: str, until: datetime) -> bool:
    """The run waits to continue (re-queued with a delay): its lock is kept until ``until``
    with no owner, so the next execution of the run, and only it, takes it on."""
    updated = await Seller.filter(id=seller_id, active_run_id=run_id, lease_owner=owner).update(
        lease_expires_at=until, lease_owner=None
    )
    return updated == 1


@contextlib.asynccontextmanager
async def keep_lease(
    seller_id: str, run_id: int, owner: str, lease_seconds: float
) -> AsyncIterator[None]:
    """Renew the execution's lease in the background for as long as the block runs.

    A renewal that finds the lease gone (cancelled run, another execution took over after it
    expired) stops the keeper; ``Progress.step`` then raises :class:`LostLock`.
    """

    async def keep() -> None:
        while True:
            await asyncio.sleep(lease_seconds * LEASE_RENEW_FRACTION)
            try:
                if not await renew_lease(seller_id, run_id, lease_seconds, owner):
                    return
            except Exception as exc:  # a database hiccup: the next tick tries again
                logger.warning("run %s: could not renew its lease (%s)", run_id, exc)

    task = asyncio.create_task(keep(), name=f"lease-{run_id}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def release_lock(seller_id: str, run_id: int) -> None:
    await Seller.filter(id=seller_id, active_run_id=run_id).update(
        active_run_id=None, lease_expires_at=None, lease_owner=None
    )


async def abandon_if_unfinished(run_id: int, now: datetime) -> None:
    """A run whose lease expired without finishing: its worker is gone."""
    await SyncRun.filter(id=run_id, state__in=ACTIVE_STATES).update(
        state=RunState.FAILED, finished_at=now, **message_fields(journal.RUN_ABANDONED)
    )


# --- what a run says: its message (text, code, parameters) and its events -----------------

# The columns of a run's message, for ``save(update_fields=…)``.
MESSAGE_FIELDS = ["message", "message_code", "message_params"]


def message_fields(message: Message | None) -> dict[str, Any]:
    """A run's message as its columns (for ``update(**…)``)."""
    if message is None:
        return {"message": None, "message_code": None, "message_params": None}
    return {
        "message": message.text,
        "message_code": message.code.value,
        "message_params": stored_params(message.params),
    }


def set_message(run: SyncRun, message: Message | None) -> None:
    for name, value in message_fields(message).items():
        setattr(run, name, value)


def run_message(run: SyncRun) -> Message | None:
    """The run's message as stored (runs from before codes read as LEGACY)."""
    if run.message is None:
        return None
    return Message(
        MessageCode.of_stored(run.message_code), run.message, read_params(run.message_params)
    )


async def run_organization(run: SyncRun) -> Organization | None:
    """The organisation a one-organisation run is about, read once per run object (the
    engine's progress events must not cost a query each)."""
    if run.organization_id is None:
        return None
    related = run.organization  # the row when fetched, else a query for it
    org = await related if related is not None else None
    if org is not None:
        run.organization = org  # fetched from now on
    return org


async def organization_named(run: SyncRun) -> tuple[str | None, str | None]:
    """The run's organisation as pages name it: its public id (the grid's) and its name."""
    org = await run_organization(run)
    return (org.external_id, org.name) if org is not None else (None, None)


# The code of an event that says nothing more than its phase.
_PHASE_CODES: dict[str, MessageCode] = {
    RunPhase.QUEUED: MessageCode.SYNC_QUEUED,
    RunPhase.STARTED: MessageCode.SYNC_IN_PROGRESS,
    RunPhase.PROGRESS: MessageCode.SYNC_PROGRESS,
    RunPhase.COMPLETED: MessageCode.SYNC_COMPLETED,
    RunPhase.FAILED: MessageCode.SYNC_FAILED,
    RunPhase.CANCELLED: MessageCode.SYNC_CANCELLED,
    RunPhase.NEEDS_APPROVAL: MessageCode.NEEDS_APPROVAL,
    RunPhase.RESYNC: MessageCode.EVENTS_MISSED,
}


def phase_code(phase: str) -> MessageCode:
    return _PHASE_CODES.get(phase, MessageCode.LEGACY)


def event_code(event: SyncEvent) -> MessageCode:
    """An event's code; the bus's own events (RESYNC) have their phase's."""
    return MessageCode.of_stored(event.code) if event.code else phase_code(event.phase)


def event_run_kind(event: SyncEvent) -> tuple[SyncKind | None, SyncScope | None]:
    """The kind and scope of the run an event is about, as the enums pages read them; None
    for the bus's own events (RESYNC is about every kind and scope: ``*`` on the bus)."""
    try:
        return SyncKind(event.kind), SyncScope(event.scope)
    except ValueError:
        return None, None


async def event_for(run: SyncRun, phase: RunPhase, *, message: Message | None = None) -> SyncEvent:
    """The run's state as an event: organisations by public id and name, the message (the
    run's own unless given) with its code, or the phase's code when it has none."""
    said = message if message is not None else run_message(run)
    org_id, org_name = await organization_named(run)
    return SyncEvent(
        seller_id=run.seller_id,
        run_id=run.id,
        kind=run.kind.value,
        scope=run.scope.value,
        phase=phase,
        organization_id=org_id,
        organization_name=org_name,
        processed=run.processed,
        total=run.total,
        created=run.created,
        updated=run.updated,
        skipped=run.skipped,
        failed=run.failed,
        message=said.text if said is not None else None,
        code=(said.code if said is not None else phase_code(phase)).value,
        params=dict(said.params) if said is not None else {},
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
    """A run that cannot proceed for a reason of ours (not HaloPSA's), said to sellers."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.text)
        self.message = message


class NeedsApproval(Exception):
    """The safety valve holds the run before it writes anything (``valve.Verdict``)."""

    def __init__(self, verdict: Any) -> None:
        super().__init__("held by the safety valve")
        self.verdict = verdict


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
    # The execution holding the lease (runs.new_lease_owner), None for callers without one.
    owner: str | None = None

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

    async def fence(self) -> None:
        """Is the run still this execution's? Asked right before each write leaves for
        HaloPSA (``HaloClient.before_write``); :class:`LostLock` if another execution took
        it over (this one was frozen past its lease), so the write is never sent: the
        successor reads back the intents recorded before it and writes what HaloPSA lacks."""
        if self.owner is None:
            return
        if not await renew_lease(self.run.seller_id, self.run.id, self.lease_seconds, self.owner):
            raise LostLock()

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
        if not await renew_lease(run.seller_id, run.id, self.lease_seconds, self.owner):
            raise LostLock()
        cancel = await SyncRun.filter(id=run.id).values_list("cancel_requested", flat=True)
        if cancel and cancel[0]:
            raise RunCancelled()
        await self.deps.bus.publish(await event_for(run, RunPhase.PROGRESS))
