"""Who may start or cancel a sync: connection, mapping, cooldown, one per seller.

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
from datetime import datetime, timedelta
from typing import cast

from tortoise.transactions import in_transaction

from gateway.db import current_connection_name
from gateway.errors import (
    BrokerUnavailable,
    NotFound,
    OrganizationNotMapped,
    SyncCooldown,
    SyncInProgress,
)
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
from gateway.services.sync.journal import IN_PROGRESS_MESSAGE
from gateway.services.sync.runs import (
    QUEUED_LEASE_SECONDS,
    RunPhase,
    abandon_if_unfinished,
    claim_lock,
    event_for,
    now_utc,
    release_lock,
)


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
        previous = cast(
            int | None, await Seller.get(id=seller_id).values_list("active_run_id", flat=True)
        )
        claimed = await claim_lock(seller_id, run.id, now, QUEUED_LEASE_SECONDS)
        if not claimed:
            raise SyncInProgress(IN_PROGRESS_MESSAGE)
    if previous and previous != run.id:
        await abandon_if_unfinished(previous, now)
    try:
        await deps.queue.enqueue_sync(run.id)
    except BrokerUnavailable:
        # Nothing half-written: the run never existed as far as the seller can tell.
        await release_lock(seller_id, run.id)
        await run.delete()
        raise
    await deps.bus.publish(event_for(run, RunPhase.QUEUED))
    return run


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
    last = cast(
        datetime | None,
        await SyncRun.filter(**filters)
        .order_by("-finished_at")
        .first()
        .values_list("finished_at", flat=True),
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
            await deps.bus.publish(event_for(run, RunPhase.CANCELLED, message=run.message))
            return run
    await SyncRun.filter(id=run.id).update(cancel_requested=True)
    await run.refresh_from_db()
    return run
