"""A run the safety valve holds: approve it, cancel it, or let a newer run supersede it.

The engine holds a run (``NEEDS_APPROVAL``, lock released, nothing written) when its plan
would cut more than the seller's valve allows (``valve.py``). From there:

* ``approveSync`` queues **the same run** again under the seller's lock, with the hash of the
  plan the seller saw (``approved_hash``). When it executes, a plan with that hash runs as
  planned; a plan that changed meanwhile (the platform's data, a mapping, the unit-price
  setting) is checked again — and held again if it still cuts too much. The state change is
  a conditional UPDATE (NEEDS_APPROVAL → QUEUED), so two approvals queue it once.
* ``cancelSync`` drops it (CANCELLED, "Not approved").
* A newer subscriptions run of the same scope (or of all organisations) that reaches the
  valve supersedes it: the held plan is stale once another has been made.

"Sync needs approval" (an integration issue) stays open while any run of the seller is held.
"""

from __future__ import annotations

from typing import cast

from tortoise.transactions import in_transaction

from gateway.auth import Principal
from gateway.db import current_connection_name
from gateway.errors import (
    BrokerUnavailable,
    NotFound,
    SyncInProgress,
    SyncNotAwaitingApproval,
)
from gateway.events import resync_event
from gateway.messages import Message
from gateway.models import LogLevel, RunState, Seller, SyncKind, SyncRun, SyncScope
from gateway.services import Deps, issues
from gateway.services import logs as product_log
from gateway.services.sync import journal
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


async def approve_sync(deps: Deps, principal: Principal, run_id: int) -> SyncRun:
    """Queue a held run again, tied to the plan it showed (one sync per seller still holds)."""
    seller_id = principal.seller_id
    run = await SyncRun.get_or_none(id=run_id, seller_id=seller_id)
    if run is None:
        raise NotFound("Sync run not found.", field="runId")
    if run.state is not RunState.NEEDS_APPROVAL:
        raise SyncNotAwaitingApproval()
    now = now_utc()
    async with in_transaction(current_connection_name()):
        seller = await Seller.filter(id=seller_id).select_for_update().first()
        if seller is None:  # pragma: no cover - the run's seller exists
            raise NotFound("Seller not found.")
        if lock_alive(seller, now):
            raise SyncInProgress(journal.IN_PROGRESS_MESSAGE)
        queued = await SyncRun.filter(id=run.id, state=RunState.NEEDS_APPROVAL).update(
            state=RunState.QUEUED,
            approved_hash=run.plan_hash,
            approved_by=principal.display,
            approved_at=now,
            valve_passed_at=None,
            finished_at=None,
            **message_fields(None),
        )
        if not queued:  # approved (or cancelled) by another request meanwhile
            raise SyncNotAwaitingApproval()
        if not await claim_lock(seller_id, run.id, now, QUEUED_LEASE_SECONDS):
            raise SyncInProgress(journal.IN_PROGRESS_MESSAGE)  # pragma: no cover - row locked
    if seller.active_run_id and seller.active_run_id != run.id:
        await abandon_if_unfinished(seller.active_run_id, now)
    await run.refresh_from_db()
    await deps.bus.publish(await event_for(run, RunPhase.QUEUED))
    try:
        await deps.queue.enqueue_sync(run.id)
    except BrokerUnavailable:
        # Nothing changed as far as the seller can tell: the run is held again.
        await SyncRun.filter(id=run.id, state=RunState.QUEUED).update(
            state=RunState.NEEDS_APPROVAL,
            approved_hash=None,
            approved_by=None,
            approved_at=None,
            finished_at=now,
            **message_fields(journal.NEEDS_APPROVAL_MESSAGE),
        )
        await release_lock(seller_id, run.id)
        await deps.bus.publish(resync_event(seller_id))
        raise
    await product_log.record(
        seller_id,
        LogLevel.INFO,
        journal.SUBSCRIPTIONS_APPROVED,
        journal.approved(run.id, principal.display),
        run_id=run.id,
    )
    await issues.approval_settled(deps, seller_id)
    return run


async def cancel_held(deps: Deps, run: SyncRun, *, by: str | None = None) -> SyncRun:
    """Drop a held run (``cancelSync``): nothing was written, nothing will be."""
    await _cancel(deps, [run.id], journal.NOT_APPROVED, by=by)
    await run.refresh_from_db()
    return run


async def supersede(deps: Deps, run: SyncRun) -> None:
    """Older held runs that ``run`` makes stale: of its organisation, or all for a full run."""
    query = SyncRun.filter(
        seller_id=run.seller_id,
        kind=SyncKind.SUBSCRIPTIONS,
        state=RunState.NEEDS_APPROVAL,
        id__lt=run.id,
    )
    if run.scope is SyncScope.ORGANIZATION:
        query = query.filter(scope=SyncScope.ORGANIZATION, organization_id=run.organization_id)
    older = cast(list[int], await query.values_list("id", flat=True))
    if older:
        await _cancel(deps, older, journal.superseded(run.id))


async def _cancel(
    deps: Deps, run_ids: list[int], message: Message, *, by: str | None = None
) -> None:
    seller_id = None
    for run_id in run_ids:
        cancelled = await SyncRun.filter(id=run_id, state=RunState.NEEDS_APPROVAL).update(
            state=RunState.CANCELLED,
            cancel_requested=True,
            finished_at=now_utc(),
            **message_fields(message),
        )
        if not cancelled:
            continue
        run = await SyncRun.get(id=run_id)
        seller_id = run.seller_id
        await product_log.record(
            seller_id,
            LogLevel.INFO,
            journal.SUBSCRIPTIONS_CANCELLED,
            journal.held_cancelled(message, by),
            run_id=run.id,
        )
        await deps.bus.publish(await event_for(run, RunPhase.CANCELLED))
    if seller_id is not None:
        await issues.approval_settled(deps, seller_id)
