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
from gateway.models import (
    LogLevel,
    RunState,
    Seller,
    SyncKind,
    SyncRun,
    SyncScope,
)
from gateway.services import Deps, issues
from gateway.services import logs as product_log
from gateway.services.connection_state import require_verified_connection
from gateway.services.halo_client import credentials_for, open_client
from gateway.services.sync import approvals, journal
from gateway.services.sync.journal import (
    CUSTOMERS_COMPLETED,
    CUSTOMERS_STARTED,
    SUBSCRIPTIONS_COMPLETED,
    SUBSCRIPTIONS_STARTED,
    seller_reason,
)
from gateway.services.sync.pull import sync_organizations
from gateway.services.sync.push import load_run_counts, sync_subscriptions
from gateway.services.sync.runs import (
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
    release_lock,
)
from gateway.services.sync.waits import come_back_later, wait_for_rate_limit

logger = logging.getLogger(__name__)


async def execute_run(run_id: int, deps: Deps) -> None:
    run = await SyncRun.get_or_none(id=run_id)
    if run is None or run.state.finished:
        return  # deleted (enqueue failed) or already done: a duplicate delivery
    # This execution's hold on the run: renewed in the background while it works (runs.py).
    owner = new_lease_owner()
    lease = deps.settings.sync_lease_seconds
    # Every process log line of the run, the HaloPSA client's included, names seller and run.
    with log_context(seller_id=run.seller_id, run_id=run.id):
        async with keep_lease(run.seller_id, run.id, owner, lease):
            await _execute_run(run, deps, owner)


async def _execute_run(run: SyncRun, deps: Deps, owner: str) -> None:
    seller_id: str = run.seller_id
    lease = deps.settings.sync_lease_seconds
    if not await claim_lock(seller_id, run.id, now_utc(), lease, owner=owner):
        if await come_back_later(run, deps):
            return
        await _finish(run, deps, RunState.FAILED, "Another sync of this seller took over.")
        return
    if run.cancel_requested:
        # A RUNNING run here was waiting to continue (HaloPSA's rate limit) when cancelled.
        started = run.state is RunState.RUNNING
        why = "Cancelled by the user." if started else "Cancelled before it started."
        await _finish(run, deps, RunState.CANCELLED, why)
        return
    resumed = run.state is RunState.RUNNING
    if not resumed:
        seller = await Seller.get(id=seller_id)
        run.state = RunState.RUNNING
        run.started_at = now_utc()
        run.sync_unit_prices = seller.sync_unit_prices
    run.attempts += 1
    run.message = None  # e.g. "Waiting for HaloPSA's rate limit" from the last attempt
    await run.save(update_fields=["state", "started_at", "sync_unit_prices", "attempts", "message"])
    if not resumed:
        title = CUSTOMERS_STARTED if run.kind is SyncKind.ORGANIZATIONS else SUBSCRIPTIONS_STARTED
        await product_log.record(
            seller_id,
            LogLevel.INFO,
            title,
            product_log.format_details(
                **{"Reseller ID": seller_id, "Provider": product_log.PROVIDER},
                Trigger=run.trigger.value.lower(),
                Scope=_scope_text(run),
            ),
            run_id=run.id,
        )
    logger.info(
        "sync run %s started: %s, %s, attempt %d",
        run.id,
        run.kind.value.lower(),
        "resumed" if resumed else run.trigger.value.lower(),
        run.attempts,
        extra={"kind": run.kind.value, "trigger": run.trigger.value, "attempt": run.attempts},
    )
    await deps.bus.publish(event_for(run, RunPhase.STARTED, message="Sync in progress"))

    progress = Progress(run, deps, lease, owner=owner)
    processed_before = run.processed
    client = None
    try:
        connection = await require_verified_connection(seller_id)
        client = open_client(deps, credentials_for(deps, connection))
        progress.client = client
        async with client:
            if run.kind is SyncKind.ORGANIZATIONS:
                await sync_organizations(run, client, progress)
            else:
                await sync_subscriptions(run, client, progress)
    except RunCancelled:
        await _finish(run, deps, RunState.CANCELLED, "Cancelled by the user.", progress=progress)
    except NeedsApproval as held:
        _hold(run, held.verdict)
        await _finish(
            run, deps, RunState.NEEDS_APPROVAL, journal.NEEDS_APPROVAL_MESSAGE, progress=progress
        )
        await approvals.supersede(deps, run)
    except LostLock:
        logger.warning("run %s lost the seller lock; standing down", run.id)
        run.message = "Another sync of this seller took over."
        await run.save(update_fields=["message"])
    except HaloRateLimited as exc:
        gave_up = await wait_for_rate_limit(run, deps, exc, progress, owner, processed_before)
        if gave_up is not None:
            await _finish(run, deps, RunState.FAILED, gave_up, progress=progress, error=exc)
    except HaloError as exc:
        await _finish(run, deps, RunState.FAILED, seller_reason(exc), progress=progress, error=exc)
    except CannotContinue as exc:
        await _finish(run, deps, RunState.FAILED, str(exc), progress=progress, error=exc)
    except Exception as exc:
        logger.exception("sync run %s failed unexpectedly", run.id)
        await _finish(
            run,
            deps,
            RunState.FAILED,
            f"The sync stopped because of an internal error ({type(exc).__name__}). "
            "It can be started again.",
            progress=progress,
            error=exc,
        )
    else:
        await _finish(run, deps, RunState.SUCCEEDED, None, progress=progress)


def _hold(run: SyncRun, verdict: Any) -> None:
    """What the held run would have done, kept on the run (and said in its ERROR entry)."""
    run.plan_hash = verdict.plan_hash
    text = journal.needs_approval(
        seats=(verdict.seats_before, verdict.seats_after, verdict.seats_total),
        money=[(m.currency, m.total, m.before, m.after) for m in verdict.money],
        deactivations=verdict.deactivations,
        writes=verdict.writes,
        max_drop_percent=verdict.max_drop_percent,
        max_deactivations=verdict.max_deactivations,
    )
    run.approval = {**verdict.to_json(), "text": text}


def _scope_text(run: SyncRun) -> str:
    if run.scope is SyncScope.ALL:
        return "all organizations"
    return f"organization {run.organization_id}"


async def _finish(
    run: SyncRun,
    deps: Deps,
    state: RunState,
    message: str | None,
    *,
    progress: Progress | None = None,
    error: BaseException | None = None,
) -> None:
    seller_id: str = run.seller_id
    finished = now_utc()
    run.state = state
    run.message = message
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
        f": {message}" if message else "",
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
    organizations = run.kind is SyncKind.ORGANIZATIONS
    counts = {
        "Reseller ID": seller_id,
        "Provider": product_log.PROVIDER,
        "Created": run.created,
        "Updated": run.updated,
        "Failed": run.failed,
    }
    if not organizations:
        counts["Skipped"] = run.skipped
        counts["Unchanged"] = run.unchanged
    counts["Duration (ms)"] = run.duration_ms
    counts["HaloPSA calls"] = run.halo_calls
    counts["Rate limited (429)"] = run.halo_rate_limited
    counts["Backoff (s)"] = round(run.halo_wait_seconds, 1)
    if state is RunState.SUCCEEDED:
        title = CUSTOMERS_COMPLETED if organizations else SUBSCRIPTIONS_COMPLETED
        await product_log.record(
            seller_id, LogLevel.INFO, title, product_log.format_details(**counts), run_id=run.id
        )
        phase = RunPhase.COMPLETED
    elif state is RunState.NEEDS_APPROVAL:
        text = (run.approval or {}).get("text", message)
        await product_log.record(
            seller_id,
            LogLevel.ERROR,
            journal.SUBSCRIPTIONS_NEEDS_APPROVAL,
            f"{text} " + product_log.format_details(**{"Run ID": run.id}, **counts),
            run_id=run.id,
        )
        phase = RunPhase.NEEDS_APPROVAL
    else:
        kind_text = "Customers" if organizations else "Subscriptions"
        verb = "cancelled" if state is RunState.CANCELLED else "failed"
        level = LogLevel.INFO if state is RunState.CANCELLED else LogLevel.ERROR
        await product_log.record(
            seller_id,
            level,
            f"{kind_text} sync {verb}",
            f"{message} " + product_log.format_details(**counts),
            run_id=run.id,
        )
        phase = RunPhase.CANCELLED if state is RunState.CANCELLED else RunPhase.FAILED
    await deps.bus.publish(event_for(run, phase))
    # Integration issues (opened from the failure's class, resolved by a success) and the
    # run's webhooks; only rows and queued ids, never a receiver's time.
    await issues.after_run(run, deps, error)
