"""Integration issues: the list, muting, and a live feed of changes."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.errors import NotFound
from gateway.events import ISSUE, RESYNC
from gateway.services import issues as issues_service
from gateway.services.issues import IssueKind, IssueSeverity, IssueState
from gateway.services.paging import DEFAULT_PAGE_SIZE
from schema import live
from schema.context import Context
from schema.ids import parse_int_id
from schema.paging import page_totals
from schema.sync import SyncKind

# The core's enums, exposed as they are.
strawberry.enum(
    IssueKind, description="What went wrong (the summary and whatToDo say it in words)."
)
strawberry.enum(IssueSeverity)
strawberry.enum(
    IssueState, description="ONGOING until the cause goes away, then RESOLVED on its own."
)

# Subjects that name a sync (the other kinds' subjects are theirs, e.g. a HaloPSA client id).
_SYNC_KINDS = frozenset(k.value for k in SyncKind)


@strawberry.type(description="A subscription HaloPSA refused, and what it said.")
class RejectedRecord:
    subscription_id: strawberry.ID
    name: str
    organization_id: strawberry.ID
    message: str | None


@strawberry.type(description="One problem of the integration, however often it happened.")
class IntegrationIssue:
    id: strawberry.ID
    kind: IssueKind
    subject: SyncKind | None = strawberry.field(
        description="The sync it is about, for the kinds about one sync (overdue, failed)."
    )
    severity: IssueSeverity
    state: IssueState
    summary: str
    what_to_do: str
    detail: str | None = strawberry.field(description="The last occurrence's own words.")
    occurrences: int
    sequence: int = strawberry.field(
        description="Grows with every change: of two copies of an issue, the higher is newer."
    )
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    muted: bool
    muted_until: datetime | None
    first_run_id: strawberry.ID | None
    last_run_id: strawberry.ID | None
    rejected_records: list[RejectedRecord]
    organization_id: strawberry.ID | None = strawberry.field(
        description="The organisation it is about (existing licences to review)."
    )

    @classmethod
    def from_row(cls, issue: Any, info: Info[Context, None]) -> IntegrationIssue:
        words = issues_service.texts(issue, info.context.deps)
        records = (issue.data or {}).get("records", [])
        org_id = (issue.data or {}).get("organizationId")
        return cls(
            id=strawberry.ID(str(issue.id)),
            kind=issue.kind,
            subject=SyncKind(issue.subject) if issue.subject in _SYNC_KINDS else None,
            severity=issue.severity,
            state=issue.state,
            summary=words.summary,
            what_to_do=words.what_to_do,
            detail=issue.detail,
            occurrences=issue.occurrences,
            sequence=issue.sequence,
            first_seen_at=issue.first_seen_at,
            last_seen_at=issue.last_seen_at,
            resolved_at=issue.resolved_at,
            muted=issues_service.is_muted(issue),
            muted_until=issue.muted_until,
            first_run_id=strawberry.ID(str(issue.first_run_id)) if issue.first_run_id else None,
            last_run_id=strawberry.ID(str(issue.last_run_id)) if issue.last_run_id else None,
            rejected_records=[
                RejectedRecord(
                    subscription_id=strawberry.ID(r["subscriptionId"]),
                    name=r["name"],
                    organization_id=strawberry.ID(r["organizationId"]),
                    message=r.get("message"),
                )
                for r in records
            ],
            organization_id=strawberry.ID(org_id) if org_id else None,
        )


@strawberry.type
class IntegrationIssuePage:
    issues: list[IntegrationIssue]
    total: int
    page: int
    page_size: int
    page_count: int
    range: str = strawberry.field(description='e.g. "1 – 20 of 236"')


def _issue_id(value: strawberry.ID) -> int:
    return parse_int_id(value, NotFound("Issue not found.", field="issueId"))


@strawberry.type
class Query:
    @strawberry.field(
        description="The seller's integration issues, ongoing first, then by last seen."
    )
    async def integration_issues(
        self,
        info: Info[Context, None],
        state: IssueState | None = None,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> IntegrationIssuePage:
        result = await issues_service.list_issues(
            info.context.seller_id,
            state,
            page=page,
            page_size=page_size,
        )
        return IntegrationIssuePage(
            issues=[IntegrationIssue.from_row(i, info) for i in result.items],
            **page_totals(result),
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="No webhooks for this problem for a while (1–720 hours); it stays listed "
        "and still resolves on its own."
    )
    async def mute_issue(
        self, info: Info[Context, None], issue_id: strawberry.ID, hours: int = 24
    ) -> IntegrationIssue:
        ctx = info.context
        issue = await issues_service.mute_issue(ctx.deps, ctx.seller_id, _issue_id(issue_id), hours)
        return IntegrationIssue.from_row(issue, info)

    @strawberry.mutation(description="Webhooks for this problem again.")
    async def unmute_issue(
        self, info: Info[Context, None], issue_id: strawberry.ID
    ) -> IntegrationIssue:
        ctx = info.context
        issue = await issues_service.unmute_issue(ctx.deps, ctx.seller_id, _issue_id(issue_id))
        return IntegrationIssue.from_row(issue, info)


live.SHARED_FIELDS.add("integrationIssueChanged")


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="An issue each time one is opened, updated, muted or resolved. After a "
        "reconnect of the server's event feed, the ongoing issues are sent again."
    )
    async def integration_issue_changed(
        self, info: Info[Context, None]
    ) -> AsyncGenerator[IntegrationIssue, None]:
        ctx = info.context
        seller_id = ctx.seller_id

        async def ongoing() -> AsyncIterator[IntegrationIssue]:
            # Changes may have been missed: the ongoing ones, as they are now.
            page = await issues_service.list_issues(
                seller_id, IssueState.ONGOING, page=1, page_size=100
            )
            for issue in page.items:
                yield IntegrationIssue.from_row(issue, info)

        async def initial(state: live.LiveState) -> AsyncIterator[IntegrationIssue]:
            if state.resume is not None:  # this socket fell behind: as after a RESYNC
                async for value in ongoing():
                    yield value

        async def on_event(event: Any) -> AsyncIterator[IntegrationIssue]:
            if event.phase == ISSUE and event.issue_id is not None:
                issue = await issues_service.get_issue(seller_id, event.issue_id)
                yield IntegrationIssue.from_row(issue, info)
            elif event.phase == RESYNC:
                async for value in ongoing():
                    yield value

        state = live.state_of(ctx)
        async for value in live.live(state, ctx.deps.bus, seller_id, initial, on_event, False):
            yield value
