"""Who may start or cancel a sync: connection, mapping, cooldown, one per seller.

The rules (seed "Synchronizing summary" and "Limitations"):

* **One sync per seller at a time.** Claimed with a conditional UPDATE on the seller row
  (``active_run_id`` + ``lease_expires_at``), in the transaction that locks that row, checks
  the cooldown and creates the run: rules and claim are one step. A run's worker renews the
  lease as it goes; a dead worker's lease expires, so a redelivered message resumes the same
  run (it still owns the lock) and a stuck run never blocks the seller forever.
* **The throttle** ("Too many sync triggers") counts only manual triggers the rules let
  through: a refused trigger gets the rules' answer.
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
from gateway.events import resync_event
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
from gateway.services import Deps, throttle
from gateway.services.connection_state import require_verified_connection
from gateway.services.sync import approvals
from gateway.services.sync.journal import CANCELLED_BEFORE_START, IN_PROGRESS_MESSAGE
from gateway.services.sync.runs import (
    QUEUED_LEASE_SECONDS,
    RunPhase,
    abandon_if_unfinished,
    claim_lock,
    event_for,
    lock_alive,
    message_fields,
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
    """Create a run, claim the seller's lock and queue it; raise the domain error otherwise.

    The refusals come in the order a seller reads them: no connection, organisation not
    mapped, then the sync rules ("Sync in progress", "You can trigger the next sync in xx
    minutes") and only then the per-seller throttle, which counts triggers that would start
    something (a refused trigger costs no HaloPSA call, a script in a loop gets the seed's
    answer). See :func:`_claim` for why the rules and the claim are one step.
    """
    await require_verified_connection(seller_id)
    scope = SyncScope.ORGANIZATION if organization_id is not None else SyncScope.ALL
    if organization_id is not None:
        await _require_mapped(seller_id, organization_id)

    async with in_transaction(current_connection_name()):
        run, previous = await _claim(
            deps,
            seller_id,
            kind,
            scope,
            trigger=trigger,
            organization_id=organization_id,
            triggered_by=triggered_by,
            dedupe_key=dedupe_key,
        )
    if previous and previous != run.id:
        await abandon_if_unfinished(previous, run.queued_at)
    # Published before the message goes out, so that no page sees the worker's STARTED first.
    await deps.bus.publish(await event_for(run, RunPhase.QUEUED))
    try:
        await deps.queue.enqueue_sync(run.id)
    except BrokerUnavailable:
        # Nothing half-written: the run never existed as far as the seller can tell (a
        # message that did reach Redis finds no run and is dropped by ``execute_run``);
        # pages that saw it QUEUED are told to read again.
        await release_lock(seller_id, run.id)
        await run.delete()
        await deps.bus.publish(resync_event(seller_id))
        raise
    return run


async def _claim(
    deps: Deps,
    seller_id: str,
    kind: SyncKind,
    scope: SyncScope,
    *,
    trigger: SyncTrigger,
    organization_id: int | None,
    triggered_by: str | None,
    dedupe_key: str | None,
) -> tuple[SyncRun, int | None]:
    """The sync rules and the lock claim as one step, inside the caller's transaction.

    The seller row is locked first (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the
    transaction's ``BEGIN IMMEDIATE`` already makes it the only writer), then the lock and the
    cooldown are read and the lock is claimed. A run finishing meanwhile writes SUCCEEDED
    *before* it releases the lock (``engine._finish``), so whoever gets the row next sees
    either the lock still held or the success that starts the cooldown, never neither: 100
    parallel triggers start exactly one run. (Checking the cooldown before this transaction
    let a trigger read "no cooldown" just before a run finished and then find the lock free.)
    """
    now = now_utc()
    seller = await Seller.filter(id=seller_id).select_for_update().first()
    if seller is None:
        raise NotFound("Seller not found.")
    if lock_alive(seller, now):
        raise SyncInProgress(IN_PROGRESS_MESSAGE)
    if trigger is SyncTrigger.MANUAL and kind is SyncKind.SUBSCRIPTIONS:
        remaining = await cooldown_remaining(deps, seller_id, organization_id, now=now)
        if remaining > 0:
            raise SyncCooldown(remaining)
    if trigger is SyncTrigger.MANUAL:
        await throttle.check(deps.throttle, "sync_trigger", seller_id)
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
    # Under the row lock this cannot lose; it stays the one statement that takes the lock.
    if not await claim_lock(seller_id, run.id, now, QUEUED_LEASE_SECONDS):
        raise SyncInProgress(IN_PROGRESS_MESSAGE)
    return run, seller.active_run_id


async def _require_mapped(seller_id: str, organization_id: int) -> None:
    mapping = (
        await OrganizationMapping.filter(seller_id=seller_id, organization_id=organization_id)
        .select_related("psa_organization")
        .first()
    )
    if mapping is None or not mapping.psa_organization.present:
        raise OrganizationNotMapped()


async def organization_by_external_id(seller_id: str, external_id: str) -> Organization:
    """The seller's organisation by its platform id, unless deleted (``NotFound`` otherwise):
    the one look-up of the sync triggers, the preview and the grid's map and unmap."""
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


async def cancel_sync(deps: Deps, seller_id: str, run_id: int, *, by: str | None = None) -> SyncRun:
    run = await SyncRun.get_or_none(id=run_id, seller_id=seller_id)
    if run is None:
        raise NotFound("Sync run not found.", field="runId")
    if run.state is RunState.NEEDS_APPROVAL:
        # Held by the safety valve: dropped, nothing was written.
        return await approvals.cancel_held(deps, run, by=by)
    if run.state.finished:
        return run
    if run.state is RunState.QUEUED:
        # Not started: cancel right away, the worker will find it finished and stand down.
        updated = await SyncRun.filter(id=run.id, state=RunState.QUEUED).update(
            state=RunState.CANCELLED,
            finished_at=now_utc(),
            cancel_requested=True,
            **message_fields(CANCELLED_BEFORE_START),
        )
        if updated:
            await release_lock(seller_id, run.id)
            await run.refresh_from_db()
            await deps.bus.publish(await event_for(run, RunPhase.CANCELLED))
            return run
    await SyncRun.filter(id=run.id).update(cancel_requested=True)
    await run.refresh_from_db()
    return run
