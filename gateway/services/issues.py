"""Integration issues: one deduplicated record per problem of a seller, ONGOING → RESOLVED.

A failed daily sync used to be an ERROR line the seller had to go and find, and a sync that
stopped running said nothing at all. An issue is the problem itself: opened by the first run
(or overdue check) that meets it, updated — never duplicated — by the next ones (occurrences,
last seen, the last run), and RESOLVED on its own once the condition is gone. Each change is
pushed to the seller's sockets (``integrationIssueChanged``) and, for opened / resolved, to
their webhooks.

Where issues come from:

* :func:`after_run` — the end of every sync run (``engine._finish``): the failure's kind from
  its exception (HaloAuthError → connection rejected, HaloUnavailable → unreachable,
  HaloRateLimited → rate limit exhausted, anything else → sync failed), rejected records from
  the run's counts; a success resolves what it proves fixed.
* :func:`check_overdue` — the watchdog in every worker process, apart from the scheduler it
  watches: no successful scheduled run for 26 h, or the 08:00 / 18:00 slot passed with no run.
* a run held by the safety valve (``NEEDS_APPROVAL``) opens "sync needs approval", closed by
  :func:`approval_settled` once no run of the seller waits (approved, cancelled, superseded);
  a newly mapped HaloPSA client holding licences we did not write opens "existing licences to
  review" (subject: the client's id), closed by :func:`review_settled` when all are decided.

One open issue per (seller, kind, subject) is the database's job: ``open_key`` is UNIQUE and
set only while ONGOING, and every change is a conditional UPDATE, never a read-then-write.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.functions import Count, Max

from gateway import metrics
from gateway.errors import BadUserInput, NotFound
from gateway.events import ISSUE, SyncEvent
from gateway.halopsa import (
    HaloAuthError,
    HaloOutcomeUnknown,
    HaloPermissionError,
    HaloRateLimited,
    HaloUnavailable,
)
from gateway.models import (
    ClientReview,
    Connection,
    ConnectionStatus,
    ExistingLicence,
    IntegrationIssue,
    IssueKind,
    IssueSeverity,
    IssueState,
    LicenceDecision,
    LogEntry,
    LogLevel,
    PsaOrganization,
    ReviewState,
    RunOutcome,
    RunState,
    SyncedSubscription,
    SyncKind,
    SyncRun,
    SyncScope,
    SyncTrigger,
)
from gateway.services import Deps, daily_slots, webhooks
from gateway.services.issue_texts import (
    SYNC_NAMES,
    IssueText,
    drift_detail,
    existing_licences_detail,
    issue_text,
    overdue_detail,
)
from gateway.services.paging import DEFAULT_PAGE_SIZE, Page, check_page

logger = logging.getLogger(__name__)

SEVERITY = {
    IssueKind.CONNECTION_REJECTED: IssueSeverity.CRITICAL,
    IssueKind.SYNC_OVERDUE: IssueSeverity.CRITICAL,
    IssueKind.HALO_UNREACHABLE: IssueSeverity.ERROR,
    IssueKind.SYNC_FAILED: IssueSeverity.ERROR,
    IssueKind.RATE_LIMIT_EXHAUSTED: IssueSeverity.WARNING,
    IssueKind.RECORDS_REJECTED: IssueSeverity.WARNING,
    IssueKind.DRIFT_FOUND: IssueSeverity.WARNING,
    # Customers' billing stops moving until the seller approves or cancels.
    IssueKind.SYNC_NEEDS_APPROVAL: IssueSeverity.ERROR,
    IssueKind.EXISTING_LICENCES_TO_REVIEW: IssueSeverity.WARNING,
}
# Any successful run shows these are gone: HaloPSA answered, accepted the credentials and
# left enough of its rate-limit budget for a whole run.
CLEARED_BY_ANY_SUCCESS = (
    IssueKind.CONNECTION_REJECTED,
    IssueKind.HALO_UNREACHABLE,
    IssueKind.RATE_LIMIT_EXHAUSTED,
)

# The seed's rule: a daily sync that has not succeeded for more than a day and a bit is overdue
# (26 h: a day plus room for a slow run, without waiting for a second missed day).
OVERDUE_AFTER = timedelta(hours=26)
# A seller's slot (08:00 / 18:00 plus its offset in the spread window) counts as missed once
# this has passed since its planned time without a scheduled run: the scheduler's misfire
# grace (15 min) plus slack for a slow enqueue.
SLOT_GRACE = timedelta(minutes=30)
# A run queued this much before its slot (clock skew between scheduler and database) counts.
SLOT_EARLY = timedelta(minutes=5)
# Muting is "for a while": an hour at least, 30 days at most.
MIN_MUTE_HOURS = 1
MAX_MUTE_HOURS = 30 * 24
# Rejected records kept on an issue (the run's Logs entries have them all).
MAX_REJECTED_RECORDS = 100
# Attempts to open-or-update against concurrent writers before giving up on one occurrence.
OPEN_ATTEMPTS = 3


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IssueChange:
    issue: IntegrationIssue
    change: str  # OPENED, UPDATED, RESOLVED, MUTED, UNMUTED


def open_key(seller_id: str, kind: IssueKind, subject: str) -> str:
    return f"{seller_id}:{kind.value}:{subject}"


def failure_kind(error: BaseException | None) -> IssueKind | None:
    """The issue a failed run's exception stands for; None when the failure is not a problem
    of the integration (the run lost its seller's lock to another run)."""
    if error is None:
        return None
    if isinstance(error, HaloAuthError | HaloPermissionError):
        return IssueKind.CONNECTION_REJECTED
    if isinstance(error, HaloRateLimited):
        return IssueKind.RATE_LIMIT_EXHAUSTED
    if isinstance(error, HaloUnavailable | HaloOutcomeUnknown):
        return IssueKind.HALO_UNREACHABLE
    # Any other HaloPSA answer, a run that cannot continue, or a fault of ours.
    return IssueKind.SYNC_FAILED


def texts(issue: IntegrationIssue, deps: Deps) -> IssueText:
    at = None
    if issue.kind is IssueKind.SYNC_OVERDUE:
        # The seller's own time of day: the slot's hour plus its offset in the spread window.
        kind = SyncKind(issue.subject)
        at = daily_slots.time_of_day(deps.settings, kind, issue.seller_id)
    return issue_text(issue.kind, issue.subject, at=at)


def is_muted(issue: IntegrationIssue, now: datetime | None = None) -> bool:
    return issue.muted_until is not None and issue.muted_until > (now or now_utc())


# --- open, update, resolve ------------------------------------------------------------------


async def open_issue(
    deps: Deps,
    seller_id: str,
    kind: IssueKind,
    *,
    ref: str,
    subject: str = "",
    run_id: int | None = None,
    detail: str | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> IssueChange | None:
    """Open the issue, or count this occurrence on the one already open.

    ``ref`` names the occurrence (``run:41``, ``slot:2026-11-25T18:00``): the same one seen
    again changes nothing. Returns what changed, or None.
    """
    now = now or now_utc()
    key = open_key(seller_id, kind, subject)
    for _ in range(OPEN_ATTEMPTS):
        # 1. The open one, if any, takes the occurrence (a conditional UPDATE).
        changes: dict[str, Any] = {
            "occurrences": F("occurrences") + 1,
            "sequence": F("sequence") + 1,
            "last_seen_at": now,
            "last_ref": ref,
            "detail": detail,
            "data": data,
        }
        if run_id is not None:
            changes["last_run_id"] = run_id
        updated = (
            await IntegrationIssue.filter(open_key=key)
            .filter(Q(last_ref__isnull=True) | ~Q(last_ref=ref))
            .update(**changes)
        )
        if updated:
            issue = await IntegrationIssue.get_or_none(open_key=key)
            return IssueChange(issue, "UPDATED") if issue is not None else None
        # 2. None open: open one. The UNIQUE open_key turns a concurrent opener away.
        inherited = (
            await IntegrationIssue.filter(
                seller_id=seller_id, kind=kind, subject=subject, muted_until__gt=now
            )
            .order_by("-muted_until")
            .first()
        )
        try:
            issue = await IntegrationIssue.create(
                seller_id=seller_id,
                kind=kind,
                subject=subject,
                severity=SEVERITY[kind],
                state=IssueState.ONGOING,
                open_key=key,
                last_ref=ref,
                first_seen_at=now,
                last_seen_at=now,
                first_run_id=run_id,
                last_run_id=run_id,
                detail=detail,
                data=data,
                # Muting is of the problem, not of one record of it: a problem that comes
                # back while muted stays quiet.
                muted_until=inherited.muted_until if inherited is not None else None,
            )
        except IntegrityError:
            # Opened meanwhile: count on it, unless it already has this very occurrence.
            if await IntegrationIssue.filter(open_key=key, last_ref=ref).exists():
                return None
            continue
        return IssueChange(issue, "OPENED")
    logger.warning("issue %s: gave up counting occurrence %s under contention", key, ref)
    return None


async def resolve_issues(
    seller_id: str,
    kinds: Iterable[IssueKind],
    *,
    subject: str | None = None,
    now: datetime | None = None,
) -> list[IssueChange]:
    """Resolve the seller's open issues of ``kinds`` (of ``subject`` when given)."""
    now = now or now_utc()
    query = IntegrationIssue.filter(
        seller_id=seller_id, state=IssueState.ONGOING, kind__in=list(kinds)
    )
    if subject is not None:
        query = query.filter(subject=subject)
    changes = []
    for issue_id in await query.values_list("id", flat=True):
        resolved = await IntegrationIssue.filter(id=issue_id, state=IssueState.ONGOING).update(
            state=IssueState.RESOLVED,
            open_key=None,
            resolved_at=now,
            sequence=F("sequence") + 1,
        )
        if resolved:  # this call resolved it (a concurrent one would have found it RESOLVED)
            changes.append(IssueChange(await IntegrationIssue.get(id=issue_id), "RESOLVED"))
    return changes


async def announce(deps: Deps, changes: Iterable[IssueChange | None]) -> None:
    """Push each change to the seller's sockets, and opened / resolved to their webhooks."""
    for item in changes:
        if item is None:
            continue
        issue = item.issue
        seller_id = issue.seller_id
        logger.info(
            "issue %s %s: %s %s (occurrences %d)",
            issue.id,
            item.change.lower(),
            issue.kind.value,
            issue.subject or "-",
            issue.occurrences,
            extra={"seller_id": seller_id, "issue_id": issue.id},
        )
        await deps.bus.publish(
            SyncEvent(
                seller_id=seller_id,
                run_id=0,
                kind="ISSUE",
                scope=issue.kind.value,
                phase=ISSUE,
                message=item.change,
                issue_id=issue.id,
            )
        )
        event_type = {"OPENED": webhooks.ISSUE_OPENED, "RESOLVED": webhooks.ISSUE_RESOLVED}.get(
            item.change
        )
        if event_type is not None and not is_muted(issue):
            await webhooks.emit(
                deps,
                seller_id,
                event_type,
                {"sellerId": seller_id, "issue": issue_payload(issue, deps)},
                key=f"issue:{issue.id}:{issue.sequence}",
            )


def issue_payload(issue: IntegrationIssue, deps: Deps) -> dict[str, Any]:
    """An issue as webhooks carry it: its state and ``sequence`` (retries can reorder "opened"
    and "resolved"; the higher sequence is the newer state)."""
    words = texts(issue, deps)

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat().replace("+00:00", "Z") if moment else None

    return {
        "id": str(issue.id),
        "kind": issue.kind.value,
        "subject": issue.subject or None,
        "severity": issue.severity.value,
        "state": issue.state.value,
        "sequence": issue.sequence,
        "summary": words.summary,
        "whatToDo": words.what_to_do,
        "detail": issue.detail,
        "occurrences": issue.occurrences,
        "firstSeenAt": iso(issue.first_seen_at),
        "lastSeenAt": iso(issue.last_seen_at),
        "resolvedAt": iso(issue.resolved_at),
        "firstRunId": str(issue.first_run_id) if issue.first_run_id else None,
        "lastRunId": str(issue.last_run_id) if issue.last_run_id else None,
        "rejectedRecords": (issue.data or {}).get("records", []),
    }


# --- after a sync run -------------------------------------------------------------------------


async def after_run(run: SyncRun, deps: Deps, error: BaseException | None = None) -> None:
    """Issues and webhooks for a finished run (the last step of ``engine._finish``).

    Never raises: a fault here must not turn a finished run into a failed one.
    """
    try:
        await _after_run(run, deps, error)
    except Exception:
        logger.exception("issues and webhooks of sync run %s could not be recorded", run.id)


async def _after_run(run: SyncRun, deps: Deps, error: BaseException | None) -> None:
    seller_id: str = run.seller_id
    state = run.state
    if state is RunState.CANCELLED:
        return
    run_ref = f"run:{run.id}"
    changes: list[IssueChange | None] = []
    if run.kind is SyncKind.SUBSCRIPTIONS:
        changes += await _reviews_found(deps, run)
    if state is RunState.NEEDS_APPROVAL:
        # Held before writing: no sync.* webhook (it neither completed nor failed); the
        # issue is the notice, with what the run would have done.
        changes.append(
            await open_issue(
                deps,
                seller_id,
                IssueKind.SYNC_NEEDS_APPROVAL,
                ref=run_ref,
                run_id=run.id,
                detail=(run.approval or {}).get("text") or run.message,
                data={"runId": str(run.id)},
            )
        )
        await announce(deps, changes)
        return
    await webhooks.emit(
        deps,
        seller_id,
        webhooks.SYNC_COMPLETED if state is RunState.SUCCEEDED else webhooks.SYNC_FAILED,
        {"sellerId": seller_id, "run": run_payload(run)},
        key=f"sync:{run.id}:{state.value}",
    )
    if state is RunState.FAILED:
        kind = failure_kind(error)
        if kind is not None:
            changes.append(
                await open_issue(
                    deps,
                    seller_id,
                    kind,
                    ref=run_ref,
                    subject=run.kind.value if kind is IssueKind.SYNC_FAILED else "",
                    run_id=run.id,
                    detail=run.message,
                )
            )
    else:
        changes += await resolve_issues(seller_id, CLEARED_BY_ANY_SUCCESS)
        changes += await resolve_issues(seller_id, [IssueKind.SYNC_FAILED], subject=run.kind.value)
        if run.trigger is SyncTrigger.SCHEDULED:
            changes += await resolve_issues(
                seller_id, [IssueKind.SYNC_OVERDUE], subject=run.kind.value
            )
    if run.kind is SyncKind.SUBSCRIPTIONS and run.failed > 0:
        records = await rejected_records(run)
        changes.append(
            await open_issue(
                deps,
                seller_id,
                IssueKind.RECORDS_REJECTED,
                ref=run_ref,
                run_id=run.id,
                detail=f"{run.failed} of {run.processed} subscriptions were rejected in run "
                f"{run.id}.",
                data={"records": records, "total": run.failed},
            )
        )
    elif (
        state is RunState.SUCCEEDED
        and run.kind is SyncKind.SUBSCRIPTIONS
        and run.scope is SyncScope.ALL
    ):
        # Only a full run shows no record is rejected any more (one organisation's is not).
        changes += await resolve_issues(seller_id, [IssueKind.RECORDS_REJECTED])
    if state is RunState.SUCCEEDED and run.kind is SyncKind.RECONCILE:
        changes += await _drift_issue(deps, run, run_ref)
    await announce(deps, changes)


async def _drift_issue(deps: Deps, run: SyncRun, run_ref: str) -> list[IssueChange | None]:
    """A drift check that found licences we wrote edited, deactivated or deleted in HaloPSA
    opens (or counts on) DRIFT_FOUND; one that found none resolves it."""
    from gateway.services.sync.drift_report import drift_counts, drift_found

    seller_id: str = run.seller_id
    counts = await drift_counts(run.id)
    if not drift_found(counts):
        return list(await resolve_issues(seller_id, [IssueKind.DRIFT_FOUND]))
    return [
        await open_issue(
            deps,
            seller_id,
            IssueKind.DRIFT_FOUND,
            ref=run_ref,
            run_id=run.id,
            detail=drift_detail(
                edited=counts.edited,
                deactivated=counts.deactivated,
                deleted=counts.deleted,
                run_id=run.id,
            ),
            data={
                "edited": counts.edited,
                "deactivated": counts.deactivated,
                "deleted": counts.deleted,
                "foreign": counts.foreign,
            },
        )
    ]


async def _reviews_found(deps: Deps, run: SyncRun) -> list[IssueChange | None]:
    """An issue per HaloPSA client this run found holding licences we did not write."""
    reviews = await ClientReview.filter(
        found_run_id=run.id, state=ReviewState.PENDING
    ).select_related("organization")
    changes: list[IssueChange | None] = []
    for review in reviews:
        undecided = await ExistingLicence.filter(
            review_id=review.id, decision=LicenceDecision.UNDECIDED
        ).count()
        client = await PsaOrganization.get_or_none(
            seller_id=review.seller_id, halo_id=review.halo_client_id
        )
        org = review.organization
        changes.append(
            await open_issue(
                deps,
                review.seller_id,
                IssueKind.EXISTING_LICENCES_TO_REVIEW,
                ref=f"review:{review.id}",
                subject=str(review.halo_client_id),
                run_id=run.id,
                detail=existing_licences_detail(
                    org.name if org is not None else "?",
                    client.name if client is not None else str(review.halo_client_id),
                    review.halo_client_id,
                    undecided,
                ),
                data={
                    "organizationId": org.external_id if org is not None else None,
                    "haloClientId": review.halo_client_id,
                    "licences": undecided,
                },
            )
        )
    return changes


async def approval_settled(deps: Deps, seller_id: str) -> None:
    """Close "sync needs approval" once no run of the seller is held any more."""
    if await SyncRun.filter(seller_id=seller_id, state=RunState.NEEDS_APPROVAL).exists():
        return
    await announce(deps, await resolve_issues(seller_id, [IssueKind.SYNC_NEEDS_APPROVAL]))


async def review_settled(deps: Deps, seller_id: str, halo_client_id: int) -> None:
    """Close "existing licences to review" of a client whose licences are all decided."""
    await announce(
        deps,
        await resolve_issues(
            seller_id, [IssueKind.EXISTING_LICENCES_TO_REVIEW], subject=str(halo_client_id)
        ),
    )


def run_payload(run: SyncRun) -> dict[str, Any]:
    """A finished run as ``sync.completed`` / ``sync.failed`` carry it: the message with its
    code and parameters, named as on the GraphQL ``SyncRun``."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat().replace("+00:00", "Z") if moment else None

    # Imported here: the sync package imports this module (a run's end calls after_run).
    from gateway.services.sync.runs import run_message

    return {
        "id": str(run.id),
        "kind": run.kind.value,
        "scope": run.scope.value,
        "trigger": run.trigger.value,
        "state": run.state.value,
        **webhooks.coded_message(run_message(run)),
        "total": run.total,
        "processed": run.processed,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "skipped": run.skipped,
        "failed": run.failed,
        "startedAt": iso(run.started_at),
        "finishedAt": iso(run.finished_at),
        "durationMs": run.duration_ms,
    }


async def rejected_records(run: SyncRun) -> list[dict[str, Any]]:
    """The subscriptions HaloPSA rejected in ``run``, with what it said (from the run's ERROR
    entries in the Logs, which name the subscription's id in brackets)."""
    rows = (
        await SyncedSubscription.filter(last_run_id=run.id, run_outcome=RunOutcome.FAILED)
        .select_related("subscription__organization")
        .order_by("id")
        .limit(MAX_REJECTED_RECORDS)
    )
    messages = await LogEntry.filter(run_id=run.id, level=LogLevel.ERROR).values_list(
        "details", flat=True
    )
    records = []
    for row in rows:
        sub = row.subscription
        marker = f"({sub.external_id})"
        records.append(
            {
                "subscriptionId": sub.external_id,
                "name": sub.name,
                "organizationId": sub.organization.external_id,
                "message": next((m for m in messages if marker in m), None),
            }
        )
    return records


# --- overdue (the watchdog) -------------------------------------------------------------------


def seller_slot(
    deps: Deps, kind: SyncKind, seller_id: str, now: datetime
) -> tuple[datetime, datetime]:
    """(slot start, planned time) of the seller's last daily run of ``kind`` that should
    have come by ``now``: planned (the slot's hour plus the seller's offset in the spread
    window) at least the grace ago."""
    today = now.astimezone(UTC).date()
    slots = [
        (
            daily_slots.slot_start(deps.settings, kind, day),
            daily_slots.planned_at(deps.settings, kind, seller_id, day),
        )
        for day in (today, today - daily_slots.ONE_DAY, today - 2 * daily_slots.ONE_DAY)
    ]
    # Two days back is always old enough: the spread is shorter than a day.
    return next((slot for slot in slots if now >= slot[1] + SLOT_GRACE), slots[-1])


async def check_overdue(deps: Deps, now: datetime | None = None) -> list[IssueChange]:
    """Open or resolve the SYNC_OVERDUE issues of every seller with a verified connection.

    Overdue means: the seller's last slot (08:00 organisations, 18:00 subscriptions, UTC, at
    the seller's offset in the spread window) passed with no scheduled run, or no scheduled
    run has succeeded for 26 h. Sellers whose connection was verified after the slot (or less
    than 26 h ago) are not held to it yet.
    """
    now = now or now_utc()
    eligible = {
        row["seller_id"]: row["verified_at"]
        for row in await Connection.filter(status=ConnectionStatus.VERIFIED).values(
            "seller_id", "verified_at"
        )
    }
    changes: list[IssueChange] = []
    for kind in (SyncKind.ORGANIZATIONS, SyncKind.SUBSCRIPTIONS):
        # The earliest slot start any seller's last slot can have (see seller_slot).
        earliest = daily_slots.slot_start(
            deps.settings, kind, now.astimezone(UTC).date() - 2 * daily_slots.ONE_DAY
        )
        last_queued = {
            row["seller_id"]: row["last"]
            for row in await SyncRun.filter(
                kind=kind, trigger=SyncTrigger.SCHEDULED, queued_at__gte=earliest - SLOT_EARLY
            )
            .annotate(last=Max("queued_at"))
            .group_by("seller_id")
            .values("seller_id", "last")
        }
        last_ok = {
            row["seller_id"]: row["last"]
            for row in await SyncRun.filter(
                kind=kind, trigger=SyncTrigger.SCHEDULED, state=RunState.SUCCEEDED
            )
            .annotate(last=Max("finished_at"))
            .group_by("seller_id")
            .values("seller_id", "last")
        }
        overdue: set[str] = set()
        name = SYNC_NAMES[kind.value]
        for seller_id, verified_at in eligible.items():
            since = verified_at or datetime.min.replace(tzinfo=UTC)
            slot, planned = seller_slot(deps, kind, seller_id, now)
            queued = last_queued.get(seller_id)
            missed = since <= planned and (queued is None or queued < slot - SLOT_EARLY)
            last = last_ok.get(seller_id)
            stale = since <= now - OVERDUE_AFTER and (last is None or last < now - OVERDUE_AFTER)
            if not (missed or stale):
                continue
            overdue.add(seller_id)
            ref = (
                f"slot:{planned.isoformat()}"
                if missed
                else f"stale:{last.isoformat() if last else '-'}"
            )
            change = await open_issue(
                deps,
                seller_id,
                IssueKind.SYNC_OVERDUE,
                ref=ref,
                subject=kind.value,
                detail=overdue_detail(
                    name,
                    missed_at=f"{planned:%Y-%m-%d %H:%M} UTC" if missed else None,
                    last_success=f"{last:%Y-%m-%d %H:%M} UTC" if last else None,
                ),
                now=now,
            )
            if change is not None:
                changes.append(change)
        # The others are not overdue (any more): resolve theirs.
        cleared = (
            await IntegrationIssue.filter(
                kind=IssueKind.SYNC_OVERDUE, subject=kind.value, state=IssueState.ONGOING
            )
            .exclude(seller_id__in=list(overdue) or [""])
            .values_list("seller_id", flat=True)
        )
        for seller_id in set(cleared):
            changes += await resolve_issues(
                cast(str, seller_id), [IssueKind.SYNC_OVERDUE], subject=kind.value, now=now
            )
    await announce(deps, changes)
    return changes


# --- reading and muting -------------------------------------------------------------------------


async def list_issues(
    seller_id: str,
    state: IssueState | None,
    *,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[IntegrationIssue]:
    """The seller's issues, open ones first, then by when they were last seen."""
    offset = check_page(page, page_size)
    query = IntegrationIssue.filter(seller_id=seller_id)
    if state is not None:
        query = query.filter(state=state)
    total = await query.count()
    rows = await query.order_by("state", "-last_seen_at", "-id").offset(offset).limit(page_size)
    return Page(items=list(rows), total=total, page=page, page_size=page_size)


async def get_issue(seller_id: str, issue_id: int) -> IntegrationIssue:
    issue = await IntegrationIssue.get_or_none(id=issue_id, seller_id=seller_id)
    if issue is None:
        raise NotFound("Issue not found.", field="issueId")
    return issue


async def open_issue_count(seller_id: str, now: datetime | None = None) -> int:
    """ONGOING issues that are not muted: the number the sync overview shows."""
    now = now or now_utc()
    return (
        await IntegrationIssue.filter(seller_id=seller_id, state=IssueState.ONGOING)
        .filter(Q(muted_until__isnull=True) | Q(muted_until__lte=now))
        .count()
    )


async def mute_issue(
    deps: Deps, seller_id: str, issue_id: int, hours: int, now: datetime | None = None
) -> IntegrationIssue:
    """No webhooks for this problem (this issue and its returns) until the time is up; it
    stays listed, and still resolves on its own."""
    if not MIN_MUTE_HOURS <= hours <= MAX_MUTE_HOURS:
        raise BadUserInput(
            f"hours must be between {MIN_MUTE_HOURS} and {MAX_MUTE_HOURS}.", field="hours"
        )
    now = now or now_utc()
    return await _set_mute(deps, seller_id, issue_id, now + timedelta(hours=hours), "MUTED")


async def unmute_issue(deps: Deps, seller_id: str, issue_id: int) -> IntegrationIssue:
    return await _set_mute(deps, seller_id, issue_id, None, "UNMUTED")


async def _set_mute(
    deps: Deps, seller_id: str, issue_id: int, until: datetime | None, change: str
) -> IntegrationIssue:
    updated = await IntegrationIssue.filter(id=issue_id, seller_id=seller_id).update(
        muted_until=until, sequence=F("sequence") + 1
    )
    if not updated:
        raise NotFound("Issue not found.", field="issueId")
    issue = await IntegrationIssue.get(id=issue_id)
    await announce(deps, [IssueChange(issue, change)])
    return issue


async def refresh_metrics() -> None:
    """``halo_gateway_open_issues{kind}`` from the database (called at scrape time)."""
    counts = dict.fromkeys((k.value for k in IssueKind), 0)
    rows = (
        await IntegrationIssue.filter(state=IssueState.ONGOING)
        .annotate(n=Count("id"))
        .group_by("kind")
        .values("kind", "n")
    )
    for row in rows:
        kind = row["kind"]
        counts[kind.value if isinstance(kind, IssueKind) else str(kind)] = row["n"]
    metrics.set_open_issues(counts)
