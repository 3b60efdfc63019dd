"""The sync engine: organisations from HaloPSA, subscriptions to HaloPSA, idempotent and resumable.

``execute_run(run_id, deps)`` is what the ``run_sync`` actor calls (``workers/actors.py``). It is
safe to call twice for the same run (Dramatiq redelivers a message whose worker died):

1. it (re)claims the seller's lock for *this* run — a run that lost the lock stands down;
2. the subscriptions push records its **intent** in the ledger (``SyncedSubscription``,
   state PENDING) *before* each POST, and the licence id *after*;
3. on resume, PENDING intents are reconciled first: the mapped client's licences are listed
   and an unledgered licence matching the intent is adopted instead of creating another one
   (HaloPSA licences have no external-id field, see design/halopsa.md);
4. a payload whose hash equals the last one HaloPSA confirmed is not sent at all.

Failures are classified by reaction (style.md habit 6): a rejected record is logged as an
ERROR entry and counted, the rest go on; authentication, permission and "HaloPSA down after
retries" end the run FAILED with an entry that says why in a seller's words. A run the safety
valve holds stops in NEEDS_APPROVAL before writing, releasing the lock (``approvals.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from gateway import metrics
from gateway.halopsa import (
    HaloError,
    HaloRateLimited,
)
from gateway.logging import log_context
from gateway.messages import Message, MessageCode, merge_params
from gateway.models import (
    LogLevel,
    RunState,
    Seller,
    SyncKind,
    SyncRun,
)
from gateway.services import Deps, issues
from gateway.services import logs as product_log
from gateway.services.connection_state import require_verified_connection
from gateway.services.halo_client import credentials_for, open_client
from gateway.services.logs import Detail
from gateway.services.sync import approvals, journal
from gateway.services.sync.drift_report import DriftCounts, drift_counts, drift_found
from gateway.services.sync.journal import (
    COMPLETED_TITLES,
    STARTED_TITLES,
    drift_check_details,
    finished_title,
    seller_reason,
)
from gateway.services.sync.pull import sync_organizations
from gateway.services.sync.push import load_run_counts, sync_subscriptions
from gateway.services.sync.reconcile import give_way_slots, reconcile
from gateway.services.sync.runs import (
    MESSAGE_FIELDS,
    CannotContinue,
    LostLock,
    NeedsApproval,
    Progress,
    RunCancelled,
    RunPhase,
    claim_lock,
    event_for,
    keep_lease,
    new_lease_owner,
    now_utc,
    organization_named,
    release_lock,
    set_message,
)
from gateway.services.sync.schedules import after_scheduled_push
from gateway.services.sync.waits import come_back_later, wait_for_rate_limit

logger = logging.getLogger(__name__)


async def execute_run(run_id: int, deps: Deps, *, resend: int = 0) -> None:
    """Run (or resume) the run; ``resend`` is which sending of its message this is (0 the
    first, n the scheduler's n-th re-send of a queued run's lost message: ``requeue.py``)."""
    # With its organisation: every event of the run names it (by public id and name).
    run = await SyncRun.filter(id=run_id).select_related("organization").first()
    if run is None or run.state.finished:
        return  # deleted (enqueue failed) or already done: a duplicate delivery
    # Every process log line of the run, the HaloPSA client's included, names seller and run.
    with log_context(seller_id=run.seller_id, run_id=run.id):
        if run.state is RunState.RUNNING and run.started_by_resend != resend:
            # Another sending of the message started the run: this one is a spare (the
            # original was not lost after all, or this re-send came late). That execution's
            # own messages resume the run if its worker dies.
            logger.info(
                "run %s is under way (started by sending %d); sending %d dropped",
                run.id,
                run.started_by_resend,
                resend,
            )
            return
        # This execution's hold on the run: renewed in the background while it works.
        owner = new_lease_owner()
        lease = deps.settings.sync_lease_seconds
        async with keep_lease(run.seller_id, run.id, owner, lease):
            await _execute_run(run, deps, owner, resend)


async def _execute_run(run: SyncRun, deps: Deps, owner: str, resend: int) -> None:
    seller_id: str = run.seller_id
    lease = deps.settings.sync_lease_seconds
    if not await claim_lock(seller_id, run.id, now_utc(), lease, owner=owner):
        if await come_back_later(run, deps, resend):
            return
        await _finish(run, deps, RunState.FAILED, journal.RUN_TAKEN_OVER)
        return
    if run.cancel_requested:
        # A RUNNING run here was waiting to continue (HaloPSA's rate limit) when cancelled.
        started = run.state is RunState.RUNNING
        why = journal.CANCELLED_BY_USER if started else journal.CANCELLED_BEFORE_START
        await _finish(run, deps, RunState.CANCELLED, why)
        return
    resumed = run.state is RunState.RUNNING
    if not resumed:
        seller = await Seller.get(id=seller_id)
        run.state = RunState.RUNNING
        run.started_at = now_utc()
        run.sync_unit_prices = seller.sync_unit_prices
        run.started_by_resend = resend  # the run's own messages carry this number from now
    run.attempts += 1
    set_message(run, None)  # e.g. "Waiting for HaloPSA's rate limit" from the last attempt
    await run.save(
        update_fields=[
            "state",
            "started_at",
            "sync_unit_prices",
            "started_by_resend",
            "attempts",
            *MESSAGE_FIELDS,
        ]
    )
    if not resumed:
        await _log_started(run)
    logger.info(
        "sync run %s started: %s, %s, attempt %d",
        run.id,
        run.kind.value.lower(),
        "resumed" if resumed else run.trigger.value.lower(),
        run.attempts,
        extra={"kind": run.kind.value, "trigger": run.trigger.value, "attempt": run.attempts},
    )
    await deps.bus.publish(await event_for(run, RunPhase.STARTED, message=journal.SYNC_IN_PROGRESS))

    progress = Progress(run, deps, lease, owner=owner)
    processed_before = run.processed
    client = None
    try:
        connection = await require_verified_connection(seller_id)
        # The drift check only reads: it gives way to the pushes in the shared rate budget.
        leave = (
            give_way_slots(deps.settings.halo_rate_limit_requests)
            if run.kind is SyncKind.RECONCILE
            else 0
        )
        client = open_client(deps, credentials_for(deps, connection), leave_for_others=leave)
        progress.client = client
        client.before_write = progress.fence
        async with client:
            if run.kind is SyncKind.ORGANIZATIONS:
                await sync_organizations(run, client, progress)
            elif run.kind is SyncKind.RECONCILE:
                await reconcile(run, client, progress)
            else:
                await sync_subscriptions(run, client, progress)
    except RunCancelled:
        await _finish(run, deps, RunState.CANCELLED, journal.CANCELLED_BY_USER, progress=progress)
    except NeedsApproval as held:
        why = _hold(run, held.verdict)
        await _finish(
            run,
            deps,
            RunState.NEEDS_APPROVAL,
            journal.NEEDS_APPROVAL_MESSAGE,
            progress=progress,
            entry_reason=why,
        )
        await approvals.supersede(deps, run)
    except LostLock:
        logger.warning("run %s lost the seller lock; standing down", run.id)
        set_message(run, journal.RUN_TAKEN_OVER)
        await run.save(update_fields=MESSAGE_FIELDS)
    except HaloRateLimited as exc:
        gave_up = await wait_for_rate_limit(run, deps, exc, progress, owner, processed_before)
        if gave_up is not None:
            await _finish(run, deps, RunState.FAILED, gave_up, progress=progress, error=exc)
    except HaloError as exc:
        await _finish(run, deps, RunState.FAILED, seller_reason(exc), progress=progress, error=exc)
    except CannotContinue as exc:
        await _finish(run, deps, RunState.FAILED, exc.message, progress=progress, error=exc)
    except Exception as exc:
        logger.exception("sync run %s failed unexpectedly", run.id)
        failure = journal.internal_error(type(exc).__name__)
        await _finish(run, deps, RunState.FAILED, failure, progress=progress, error=exc)
    else:
        await _finish(run, deps, RunState.SUCCEEDED, None, progress=progress)


def _hold(run: SyncRun, verdict: Any) -> Message:
    """What the held run would have done, kept on the run and said in its ERROR entry."""
    run.plan_hash = verdict.plan_hash
    why = journal.needs_approval(
        seats=(verdict.seats_before, verdict.seats_after, verdict.seats_total),
        money=[(m.currency, m.total, m.before, m.after) for m in verdict.money],
        deactivations=verdict.deactivations,
        writes=verdict.writes,
        max_drop_percent=verdict.max_drop_percent,
        max_deactivations=verdict.max_deactivations,
    )
    run.approval = {**verdict.to_json(), "text": why.text}
    return why


async def _log_started(run: SyncRun) -> None:
    """The run's first entry: who started it and for what (an organisation by name and
    public id, never a database id)."""
    org_id, org_name = await organization_named(run)
    scope = journal.scope_text(run.scope, org_name, org_id)
    await product_log.record(
        run.seller_id,
        LogLevel.INFO,
        STARTED_TITLES[run.kind],
        product_log.details_line(
            _STARTED_CODES[run.kind],
            product_log.reseller(run.seller_id),
            product_log.provider(),
            Detail("trigger", "Trigger", run.trigger.value, shown=run.trigger.value.lower()),
            Detail("scope", "Scope", run.scope.value, shown=scope),
            extra={"organizationId": org_id, "organizationName": org_name},
        ),
        run_id=run.id,
    )


# The code of a run's first entry, by kind.
_STARTED_CODES = {
    SyncKind.ORGANIZATIONS: MessageCode.CUSTOMERS_SYNC_STARTED,
    SyncKind.SUBSCRIPTIONS: MessageCode.SUBSCRIPTIONS_SYNC_STARTED,
    SyncKind.RECONCILE: MessageCode.DRIFT_CHECK_STARTED,
}
# The code of a finished run's entry, by kind and state.
_FINISHED_CODES = {
    (SyncKind.RECONCILE, RunState.SUCCEEDED): MessageCode.DRIFT_CHECK_COMPLETED,
    (SyncKind.RECONCILE, RunState.FAILED): MessageCode.DRIFT_CHECK_FAILED,
    (SyncKind.RECONCILE, RunState.CANCELLED): MessageCode.DRIFT_CHECK_CANCELLED,
    (SyncKind.ORGANIZATIONS, RunState.SUCCEEDED): MessageCode.CUSTOMERS_SYNC_COMPLETED,
    (SyncKind.ORGANIZATIONS, RunState.FAILED): MessageCode.CUSTOMERS_SYNC_FAILED,
    (SyncKind.ORGANIZATIONS, RunState.CANCELLED): MessageCode.CUSTOMERS_SYNC_CANCELLED,
    (SyncKind.SUBSCRIPTIONS, RunState.SUCCEEDED): MessageCode.SUBSCRIPTIONS_SYNC_COMPLETED,
    (SyncKind.SUBSCRIPTIONS, RunState.FAILED): MessageCode.SUBSCRIPTIONS_SYNC_FAILED,
    (SyncKind.SUBSCRIPTIONS, RunState.CANCELLED): MessageCode.SUBSCRIPTIONS_SYNC_CANCELLED,
    (
        SyncKind.SUBSCRIPTIONS,
        RunState.NEEDS_APPROVAL,
    ): MessageCode.SUBSCRIPTIONS_SYNC_NEEDS_APPROVAL,
}


def _finished_details(
    run: SyncRun, state: RunState, message: Message | None, drift: DriftCounts | None = None
) -> Message:
    """The finished run's details line (its counts and HaloPSA budget), after the reason it
    stopped, if any; the reason's code and parameters come first among the parameters. A
    drift check counts licences read and what it found instead of records written."""
    held = state is RunState.NEEDS_APPROVAL  # approveSync / cancelSync take its id
    fields = [Detail("runId", "Run ID", run.id)] if held else []
    fields += [product_log.reseller(run.seller_id), product_log.provider()]
    if drift is not None:
        fields += drift_check_details(
            licences=run.processed,
            edited=drift.edited,
            deactivated=drift.deactivated,
            deleted=drift.deleted,
            foreign=drift.foreign,
        )
    else:
        fields += [
            Detail("created", "Created", run.created),
            Detail("updated", "Updated", run.updated),
            Detail("failed", "Failed", run.failed),
        ]
    if run.kind is SyncKind.SUBSCRIPTIONS:
        fields += [
            Detail("skipped", "Skipped", run.skipped),
            Detail("unchanged", "Unchanged", run.unchanged),
        ]
    fields += [
        Detail("durationMs", "Duration (ms)", run.duration_ms),
        Detail("haloCalls", "HaloPSA calls", run.halo_calls),
        Detail("rateLimited", "Rate limited (429)", run.halo_rate_limited),
        Detail("backoffSeconds", "Backoff (s)", round(run.halo_wait_seconds, 1)),
    ]
    line = product_log.details_line(_FINISHED_CODES[(run.kind, state)], *fields)
    if message is None:
        return line
    reason = {"reasonCode": message.code.value, "reason": message.text, **message.params}
    return Message(line.code, f"{message.text} {line.text}", merge_params(reason, line.params))


async def _finish(
    run: SyncRun,
    deps: Deps,
    state: RunState,
    message: Message | None,
    *,
    progress: Progress | None = None,
    error: BaseException | None = None,
    entry_reason: Message | None = None,
) -> None:
    """End the run: its state and message, its Logs entry (``entry_reason``: what the entry
    says instead of the run's message, e.g. a held run's whole verdict), its event."""
    seller_id: str = run.seller_id
    finished = now_utc()
    run.state = state
    set_message(run, message)
    run.finished_at = finished
    started = run.started_at or finished
    run.duration_ms = int((finished - started).total_seconds() * 1000)
    if progress is not None:
        progress.halo_totals()
    if run.kind is SyncKind.SUBSCRIPTIONS:
        # The run's counts, whatever its attempts were: what its ledger rows say it did.
        await load_run_counts(run)
    await run.save()
    await release_lock(seller_id, run.id)
    logger.log(
        logging.WARNING if state in (RunState.FAILED, RunState.NEEDS_APPROVAL) else logging.INFO,
        "sync run %s %s in %d ms%s",
        run.id,
        state.value.lower(),
        run.duration_ms,
        f": {message.text}" if message else "",
        extra={
            "kind": run.kind.value,
            "state": state.value,
            "duration_ms": run.duration_ms,
            # Nested: "created" would clash with the LogRecord attribute of that name.
            "counts": {
                "total": run.total,
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "skipped": run.skipped,
                "failed": run.failed,
            },
            "halo": {
                "calls": run.halo_calls,
                "rate_limited": run.halo_rate_limited,
                "retries": run.halo_retries,
                "wait_seconds": round(run.halo_wait_seconds, 3),
            },
        },
    )
    metrics.observe_run(
        run.kind.value,
        state.value,
        {
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "skipped": run.skipped,
            "failed": run.failed,
        },
        {
            "calls": run.halo_calls,
            "rate_limited": run.halo_rate_limited,
            "retries": run.halo_retries,
            "wait_seconds": run.halo_wait_seconds,
        },
        run.duration_ms,
    )
    drift = await drift_counts(run.id) if run.kind is SyncKind.RECONCILE else None
    details = _finished_details(run, state, entry_reason or message, drift)
    if state is RunState.SUCCEEDED:
        # A drift check that found licences we wrote changed in HaloPSA is a WARNING.
        level = LogLevel.WARNING if drift is not None and drift_found(drift) else LogLevel.INFO
        await product_log.record(
            seller_id, level, COMPLETED_TITLES[run.kind], details, run_id=run.id
        )
        phase = RunPhase.COMPLETED
    elif state is RunState.NEEDS_APPROVAL:
        await product_log.record(
            seller_id, LogLevel.ERROR, journal.SUBSCRIPTIONS_NEEDS_APPROVAL, details, run_id=run.id
        )
        phase = RunPhase.NEEDS_APPROVAL
    else:
        verb = "cancelled" if state is RunState.CANCELLED else "failed"
        level = LogLevel.INFO if state is RunState.CANCELLED else LogLevel.ERROR
        await product_log.record(
            seller_id, level, finished_title(run.kind, verb), details, run_id=run.id
        )
        phase = RunPhase.CANCELLED if state is RunState.CANCELLED else RunPhase.FAILED
    await deps.bus.publish(await event_for(run, phase))
    # Integration issues (opened from the failure's class, resolved by a success) and the
    # run's webhooks; only rows and queued ids, never a receiver's time.
    await issues.after_run(run, deps, error)
    # The daily drift check follows the daily push (when the seller turned it on).
    await after_scheduled_push(deps, run)
