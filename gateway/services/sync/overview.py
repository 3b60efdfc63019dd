"""The sync page's tiles and button states, and the run history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from gateway.errors import (
    NotFound,
    SyncCooldown,
)
from gateway.events import SyncEvent
from gateway.models import (
    RunState,
    SyncKind,
    SyncRun,
)
from gateway.services import Deps, issues
from gateway.services.sync.journal import IN_PROGRESS_MESSAGE
from gateway.services.sync.runs import RunPhase, active_run, event_for, now_utc
from gateway.services.sync.triggers import cooldown_remaining

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

    async def kind_overview(kind: SyncKind) -> KindOverview:
        last_run = await last(kind)
        if current is not None:
            # One sync at a time per seller: any running sync blocks both buttons.
            running_this = current.kind is kind
            return KindOverview(
                kind=kind,
                state=ButtonState.IN_PROGRESS,
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
                    state=ButtonState.COOLDOWN,
                    message=SyncCooldown(remaining).message,
                    next_allowed_at=now + timedelta(seconds=remaining),
                    retry_after_seconds=remaining,
                    current_run=None,
                    last_run=last_run,
                )
        return KindOverview(kind, ButtonState.IDLE, None, None, 0, None, last_run)

    return SyncOverview(
        last_sync_to_platform=last_orgs_ok.finished_at if last_orgs_ok else None,
        last_sync_to_psa=last_subs_ok.finished_at if last_subs_ok else None,
        organizations=await kind_overview(SyncKind.ORGANIZATIONS),
        subscriptions=await kind_overview(SyncKind.SUBSCRIPTIONS),
        now=now,
        open_issues=await issues.open_issue_count(seller_id, now),
    )


async def sync_runs(seller_id: str, kind: SyncKind | None, first: int) -> list[SyncRun]:
    query = SyncRun.filter(seller_id=seller_id)
    if kind is not None:
        query = query.filter(kind=kind)
    return await query.select_related("organization").order_by("-queued_at", "-id").limit(first)


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
    run = await query.order_by("-id").first()
    if run is None:
        return None
    return event_for(run, _PHASE_OF_STATE[run.state])


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
