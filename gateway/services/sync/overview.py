"""The sync page's tiles and button states, and the run history.

Runs leave this module as :class:`RunRecord` dataclasses (the GraphQL edge reads no rows):
the organisation of a one-organisation run by its public id and name, the message with its
code and parameters. The record is the GraphQL ``SyncRun`` as well: ``schema.sync.SyncRun``
extends it with the fields' descriptions, so its fields are declared once, here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from gateway.errors import NotFound
from gateway.events import SyncEvent
from gateway.messages import Message, MessageCode, Params
from gateway.models import (
    RunState,
    SyncKind,
    SyncRun,
    SyncScope,
    SyncTrigger,
)
from gateway.services import Deps, daily_slots, issues
from gateway.services.sync import journal
from gateway.services.sync.runs import (
    RunPhase,
    active_run,
    event_for,
    now_utc,
    organization_named,
    run_message,
)
from gateway.services.sync.triggers import cooldown_remaining

# --- a run, as the pages read it ------------------------------------------------------------


# Not frozen: a dataclass cannot extend a frozen one, and the GraphQL type extends this.
@dataclass
class RunRecord:
    """One sync run with its counts and the HaloPSA budget it used, named as the API names
    it (field for field the GraphQL ``SyncRun``)."""

    id: int
    kind: SyncKind
    scope: SyncScope
    # The organisation of a one-organisation run: its public id (the grid's) and name; None
    # for a run of all organisations (or one whose organisation was deleted since).
    organization_id: str | None
    organization_name: str | None
    trigger: SyncTrigger
    state: RunState
    total: int
    processed: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    failed: int
    # The run's message (the seed's words), its code and parameters; None, None and {} when
    # it has none (runs stored before codes read LEGACY).
    message: str | None
    message_code: MessageCode | None
    message_params: Params
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    halo_calls: int
    halo_rate_limited: int
    halo_retries: int
    halo_wait_seconds: float  # to the millisecond
    # Held by the safety valve (or approved after): the verdict as stored on the run.
    approval: dict[str, Any] | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None


async def run_record(run: SyncRun) -> RunRecord:
    org_id, org_name = await organization_named(run)
    said = run_message(run)
    return RunRecord(
        id=run.id,
        kind=run.kind,
        scope=run.scope,
        organization_id=org_id,
        organization_name=org_name,
        trigger=run.trigger,
        state=run.state,
        total=run.total,
        processed=run.processed,
        created=run.created,
        updated=run.updated,
        unchanged=run.unchanged,
        skipped=run.skipped,
        failed=run.failed,
        message=said.text if said else None,
        message_code=said.code if said else None,
        message_params=said.params if said else {},
        queued_at=run.queued_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_ms=run.duration_ms,
        halo_calls=run.halo_calls,
        halo_rate_limited=run.halo_rate_limited,
        halo_retries=run.halo_retries,
        halo_wait_seconds=round(run.halo_wait_seconds, 3),
        approval=run.approval,
        approved_by=run.approved_by,
        approved_at=run.approved_at,
    )


# --- overview -----------------------------------------------------------------------------


class ButtonState(StrEnum):
    """What a sync button shows."""

    IDLE = "IDLE"
    IN_PROGRESS = "IN_PROGRESS"
    COOLDOWN = "COOLDOWN"


@dataclass(frozen=True)
class KindOverview:
    kind: SyncKind
    state: ButtonState
    # What the button shows: "Sync in progress" or "You can trigger the next sync in xx
    # minutes", with its code (SYNC_IN_PROGRESS, SYNC_COOLDOWN); None when idle.
    message: Message | None
    next_allowed_at: datetime | None
    retry_after_seconds: int
    current_run: RunRecord | None
    last_run: RunRecord | None
    # The seller's next scheduled run of this kind (daily_slots: the slot's hour plus the
    # seller's offset in the spread window); it runs if the connection is verified by then.
    next_scheduled_at: datetime | None = None


@dataclass(frozen=True)
class SyncOverview:
    last_sync_to_platform: datetime | None
    last_sync_to_psa: datetime | None
    organizations: KindOverview
    subscriptions: KindOverview
    # The drift check's button (no cooldown: it only reads).
    reconcile: KindOverview
    now: datetime
    # ONGOING integration issues that are not muted (gateway.services.issues).
    open_issues: int = 0


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

    current_record = await run_record(current) if current is not None else None

    async def kind_overview(kind: SyncKind) -> KindOverview:
        last_row = await last(kind)
        last_run = await run_record(last_row) if last_row is not None else None
        if current is not None:
            # One sync at a time per seller: any running sync blocks both buttons.
            running_this = current.kind is kind
            return KindOverview(
                kind=kind,
                state=ButtonState.IN_PROGRESS,
                message=journal.SYNC_IN_PROGRESS,
                next_allowed_at=None,
                retry_after_seconds=0,
                current_run=current_record if running_this else None,
                last_run=last_run,
            )
        if kind is SyncKind.SUBSCRIPTIONS:
            remaining = await cooldown_remaining(deps, seller_id, None, now=now)
            if remaining > 0:
                return KindOverview(
                    kind=kind,
                    state=ButtonState.COOLDOWN,
                    message=journal.cooldown_message(remaining),
                    next_allowed_at=now + timedelta(seconds=remaining),
                    retry_after_seconds=remaining,
                    current_run=None,
                    last_run=last_run,
                )
        return KindOverview(kind, ButtonState.IDLE, None, None, 0, None, last_run)

    def scheduled(overview: KindOverview) -> KindOverview:
        planned = daily_slots.next_planned_at(deps.settings, overview.kind, seller_id, now)
        return replace(overview, next_scheduled_at=planned)

    return SyncOverview(
        last_sync_to_platform=last_orgs_ok.finished_at if last_orgs_ok else None,
        last_sync_to_psa=last_subs_ok.finished_at if last_subs_ok else None,
        organizations=scheduled(await kind_overview(SyncKind.ORGANIZATIONS)),
        subscriptions=scheduled(await kind_overview(SyncKind.SUBSCRIPTIONS)),
        reconcile=await kind_overview(SyncKind.RECONCILE),
        now=now,
        open_issues=await issues.open_issue_count(seller_id, now),
    )


async def sync_runs(seller_id: str, kind: SyncKind | None, first: int) -> list[RunRecord]:
    query = SyncRun.filter(seller_id=seller_id)
    if kind is not None:
        query = query.filter(kind=kind)
    rows = await query.select_related("organization").order_by("-queued_at", "-id").limit(first)
    return [await run_record(row) for row in rows]


# The event phase that says where a run stands now.
_PHASE_OF_STATE = {
    RunState.QUEUED: RunPhase.QUEUED,
    RunState.RUNNING: RunPhase.PROGRESS,
    RunState.SUCCEEDED: RunPhase.COMPLETED,
    RunState.FAILED: RunPhase.FAILED,
    RunState.CANCELLED: RunPhase.CANCELLED,
    RunState.NEEDS_APPROVAL: RunPhase.NEEDS_APPROVAL,
}


async def latest_run_event(seller_id: str, kind: SyncKind | None = None) -> SyncEvent | None:
    """The seller's latest run as an event: what a live page shows after missing events
    (``RESYNC``), so it is right again without asking for anything."""
    query = SyncRun.filter(seller_id=seller_id)
    if kind is not None:
        query = query.filter(kind=kind)
    run = await query.select_related("organization").order_by("-id").first()
    if run is None:
        return None
    return await event_for(run, _PHASE_OF_STATE[run.state])


async def load_run(seller_id: str, run_id: int) -> RunRecord:
    run = (
        await SyncRun.filter(id=run_id, seller_id=seller_id).select_related("organization").first()
    )
    if run is None:
        raise NotFound("Sync run not found.", field="runId")
    return await run_record(run)


def relative_time(moment: datetime | None, now: datetime) -> str | None:
    """The seed's tile text: "Xh ago" under a day, "X days ago" from one day on."""
    if moment is None:
        return None
    seconds = max(0, (now - moment).total_seconds())
    if seconds < 86_400:
        return f"{int(seconds // 3600)}h ago"
    days = int(seconds // 86_400)
    return "1 day ago" if days == 1 else f"{days} days ago"
