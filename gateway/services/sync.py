"""Sync triggers and the rules around them: one at a time per seller, cooldowns, overview.

The rules (seed "Synchronizing summary" and "Limitations"):

* **One sync per seller at a time.** Claimed atomically with a conditional UPDATE on the
  seller row (``active_run_id`` + ``lease_expires_at``), in the same transaction that creates
  the run. A run's worker renews the lease as it goes; a dead worker's lease expires, so a
  redelivered message resumes the same run (it still owns the lock) and a stuck run never
  blocks the seller forever.
* **Cooldown of 60 minutes** after a *manual* subscriptions sync *succeeds*, counted from its
  completion: seller-wide for "all organisations", per organisation for one. Scheduled runs
  neither respect nor start it. A failed or cancelled run starts no cooldown, so a seller can
  retry once HaloPSA is back (decision recorded in the README).
* Organisations syncs have no cooldown ("the button is disabled until the sync completes").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from gateway.db import current_connection_name
from gateway.errors import (
    BrokerUnavailable,
    NotFound,
    OrganizationNotMapped,
    SyncCooldown,
    SyncInProgress,
)
from gateway.events import SyncEvent
from gateway.models import (
    Organization,
    OrganizationMapping,
    RunState,
    Seller,
    SyncKind,
    SyncRun,
    SyncScope,
    SyncTrigger,
)
from gateway.services import Deps
from gateway.services.connection_state import require_verified_connection

# A queued run whose message no worker picked up within this time no longer blocks the
# seller (the broker lost it, or every worker is down); the message, if it ever runs, finds
# it has lost the lock and stands down.
QUEUED_LEASE_SECONDS = 15 * 60

ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING)
IN_PROGRESS_MESSAGE = "Sync in progress"


def now_utc() -> datetime:
    return datetime.now(UTC)


async def trigger_sync(
    deps: Deps,
    seller_id: str,
    kind: SyncKind,
    *,
    trigger: SyncTrigger,
    organization_id: int | None = None,
    triggered_by: str | None = None,
    dedupe_key: str | None = None,
) -> SyncRun:
    """Create a run, claim the seller's lock and queue it; raise the domain error otherwise."""
    await require_verified_connection(seller_id)
    scope = SyncScope.ORGANIZATION if organization_id is not None else SyncScope.ALL
    if organization_id is not None:
        await _require_mapped(seller_id, organization_id)
    now = now_utc()
    if trigger is SyncTrigger.MANUAL and kind is SyncKind.SUBSCRIPTIONS:
        remaining = await cooldown_remaining(deps, seller_id, organization_id, now=now)
        if remaining > 0:
            raise SyncCooldown(remaining)

    async with in_transaction(current_connection_name()):
        run = await SyncRun.create(
            seller_id=seller_id,
            kind=kind,
            scope=scope,
            organization_id=organization_id,
            trigger=trigger,
            triggered_by=triggered_by,
            dedupe_key=dedupe_key,
            queued_at=now,
        )
        previous = await Seller.get(id=seller_id).values_list("active_run_id", flat=True)
        claimed = await claim_lock(seller_id, run.id, now, QUEUED_LEASE_SECONDS)
        if not claimed:
            raise SyncInProgress(IN_PROGRESS_MESSAGE)
    if previous and previous != run.id:
        await _abandon_if_unfinished(previous, now)
    try:
        await deps.queue.enqueue_sync(run.id)
    except BrokerUnavailable:
        # Nothing half-written: the run never existed as far as the seller can tell.
        await release_lock(seller_id, run.id)
        await run.delete()
        raise
    await deps.bus.publish(event_for(run, "QUEUED"))
    return run


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


async def _abandon_if_unfinished(run_id: int, now: datetime) -> None:
    """A run whose lease expired without finishing: its worker is gone."""
    await SyncRun.filter(id=run_id, state__in=ACTIVE_STATES).update(
        state=RunState.FAILED,
        finished_at=now,
        message="The sync stopped unexpectedly (its worker was lost) and was abandoned.",
    )


async def _require_mapped(seller_id: str, organization_id: int) -> None:
    mapping = (
        await OrganizationMapping.filter(seller_id=seller_id, organization_id=organization_id)
        .select_related("psa_organization")
        .first()
    )
    if mapping is None or not mapping.psa_organization.present:
        raise OrganizationNotMapped()


async def organization_by_external_id(seller_id: str, external_id: str) -> Organization:
    org = await Organization.get_or_none(
        seller_id=seller_id, external_id=external_id, deleted_at__isnull=True
    )
    if org is None:
        raise NotFound("Organization not found.", field="organizationId")
    return org


async def cooldown_remaining(
    deps: Deps, seller_id: str, organization_id: int | None, *, now: datetime | None = None
) -> int:
    """Seconds until a manual subscriptions sync of this scope may start again (0 = now)."""
    now = now or now_utc()
    filters: dict[str, object] = {
        "seller_id": seller_id,
        "kind": SyncKind.SUBSCRIPTIONS,
        "trigger": SyncTrigger.MANUAL,
        "state": RunState.SUCCEEDED,
    }
    if organization_id is None:
        filters["scope"] = SyncScope.ALL
    else:
        filters["scope"] = SyncScope.ORGANIZATION
        filters["organization_id"] = organization_id
    last = (
        await SyncRun.filter(**filters)
        .order_by("-finished_at")
        .first()
        .values_list("finished_at", flat=True)
    )
    if last is None:
        return 0
    ends = last + timedelta(minutes=deps.settings.sync_cooldown_minutes)
    return max(0, math.ceil((ends - now).total_seconds()))


async def cancel_sync(deps: Deps, seller_id: str, run_id: int) -> SyncRun:
    run = await SyncRun.get_or_none(id=run_id, seller_id=seller_id)
    if run is None:
        raise NotFound("Sync run not found.", field="runId")
    if run.state.finished:
        return run
    if run.state is RunState.QUEUED:
        # Not started: cancel right away, the worker will find it finished and stand down.
        updated = await SyncRun.filter(id=run.id, state=RunState.QUEUED).update(
            state=RunState.CANCELLED,
            finished_at=now_utc(),
            cancel_requested=True,
            message="Cancelled before it started.",
        )
        if updated:
            await release_lock(seller_id, run.id)
            await run.refresh_from_db()
            await deps.bus.publish(event_for(run, "CANCELLED", message=run.message))
            return run
    await SyncRun.filter(id=run.id).update(cancel_requested=True)
    await run.refresh_from_db()
    return run


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


# --- overview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KindOverview:
    kind: SyncKind
    state: str  # IDLE, IN_PROGRESS, COOLDOWN
    message: str | None
    next_allowed_at: datetime | None
    retry_after_seconds: int
    current_run: SyncRun | None
    last_run: SyncRun | None


@dataclass(frozen=True)
class SyncOverview:
    last_sync_to_platform: datetime | None
    last_sync_to_psa: datetime | None
    organizations: KindOverview
    subscriptions: KindOverview
    now: datetime


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


async def sync_overview(deps: Deps, seller_id: str, now: datetime | None = None) -> SyncOverview:
    now = now or now_utc()
    current = await active_run(seller_id, now)

    async def last(kind: SyncKind, **extra: object) -> SyncRun | None:
        return (
            await SyncRun.filter(seller_id=seller_id, kind=kind, finished_at__isnull=False, **extra)
            .select_related("organization")
            .order_by("-finished_at")
            .first()
        )

    last_orgs_ok = await last(SyncKind.ORGANIZATIONS, state=RunState.SUCCEEDED)
    last_subs_ok = await last(SyncKind.SUBSCRIPTIONS, state=RunState.SUCCEEDED)

    async def kind_overview(kind: SyncKind) -> KindOverview:
        last_run = await last(kind)
        if current is not None:
            # One sync at a time per seller: any running sync blocks both buttons.
            running_this = current.kind is kind
            return KindOverview(
                kind=kind,
                state="IN_PROGRESS",
                message=IN_PROGRESS_MESSAGE,
                next_allowed_at=None,
                retry_after_seconds=0,
                current_run=current if running_this else None,
                last_run=last_run,
            )
        if kind is SyncKind.SUBSCRIPTIONS:
            remaining = await cooldown_remaining(deps, seller_id, None, now=now)
            if remaining > 0:
                return KindOverview(
                    kind=kind,
                    state="COOLDOWN",
                    message=SyncCooldown(remaining).message,
                    next_allowed_at=now + timedelta(seconds=remaining),
                    retry_after_seconds=remaining,
                    current_run=None,
                    last_run=last_run,
                )
        return KindOverview(kind, "IDLE", None, None, 0, None, last_run)

    return SyncOverview(
        last_sync_to_platform=last_orgs_ok.finished_at if last_orgs_ok else None,
        last_sync_to_psa=last_subs_ok.finished_at if last_subs_ok else None,
        organizations=await kind_overview(SyncKind.ORGANIZATIONS),
        subscriptions=await kind_overview(SyncKind.SUBSCRIPTIONS),
        now=now,
    )


async def sync_runs(seller_id: str, kind: SyncKind | None, first: int) -> list[SyncRun]:
    query = SyncRun.filter(seller_id=seller_id)
    if kind is not None:
        query = query.filter(kind=kind)
    return await query.select_related("organization").order_by("-queued_at", "-id").limit(first)


async def load_run(seller_id: str, run_id: int) -> SyncRun:
    run = (
        await SyncRun.filter(id=run_id, seller_id=seller_id).select_related("organization").first()
    )
    if run is None:
        raise NotFound("Sync run not found.", field="runId")
    return run


def relative_time(moment: datetime | None, now: datetime) -> str | None:
    """The seed's tile text: "Xh ago" under a day, "X days ago" from one day on."""
    if moment is None:
        return None
    seconds = max(0, (now - moment).total_seconds())
    if seconds < 86_400:
        return f"{int(seconds // 3600)}h ago"
    days = int(seconds // 86_400)
    return "1 day ago" if days == 1 else f"{days} days ago"
