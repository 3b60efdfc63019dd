"""drift: what the latest drift check (the ``reconcile`` mutation) found in HaloPSA.

The report is ``gateway.services.sync.drift_report``'s; this module only shapes one page of
it. Changes read ours → theirs: what this integration last wrote → what HaloPSA holds now.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from gateway.services import sync as sync_service
from gateway.services.paging import DEFAULT_PAGE_SIZE, check_page
from gateway.services.sync import DriftKind
from schema.context import Context
from schema.paging import page_totals
from schema.preview import field_text
from schema.sync import SyncRun

strawberry.enum(
    DriftKind,
    description="How a licence in HaloPSA differs from what this integration wrote: EDITED "
    "(fields changed by hand), DEACTIVATED, DELETED, or FOREIGN (under a mapped "
    "organisation, never written by this integration).",
)


@strawberry.type(description="One licence field: what this integration wrote → what HaloPSA holds.")
class DriftChange:
    field: str = strawberry.field(description="The HaloPSA licence field, e.g. count, price.")
    ours: str | None
    theirs: str | None


@strawberry.type(description="Licences of the report by kind.")
class DriftCounts:
    edited: int
    deactivated: int
    deleted: int
    foreign: int
    total: int


@strawberry.type(description="A licence in HaloPSA that differs from the ledger.")
class DriftFinding:
    kind: DriftKind
    halo_licence_id: int
    halo_client_id: int
    halo_client_name: str | None
    licence_name: str
    organization_id: strawberry.ID | None = strawberry.field(
        description="The platform organisation mapped to the licence's HaloPSA organisation."
    )
    organization_name: str | None
    subscription_id: strawberry.ID | None = strawberry.field(
        description="The platform subscription the licence was written for (null: FOREIGN)."
    )
    subscription_name: str | None
    changes: list[DriftChange] = strawberry.field(
        description="EDITED / DEACTIVATED: the fields that differ."
    )
    text: str = strawberry.field(description="The finding and what happens next, in words.")


@strawberry.type(
    description="The latest successful drift check: HaloPSA's licences read once and compared "
    "with what this integration wrote. A snapshot of that moment: a later sync does not "
    "change it, the next check does. Findings are paged like the mapping grid (by "
    "organisation); counts cover them all."
)
class DriftReport:
    run: SyncRun | None = strawberry.field(description="The check (null: none has succeeded).")
    checked_at: datetime | None
    licences_read: int
    counts: DriftCounts
    findings: list[DriftFinding]
    total: int
    page: int
    page_size: int
    page_count: int
    range: str = strawberry.field(description='e.g. "1 – 20 of 236"')


def _finding(item: sync_service.DriftItem) -> DriftFinding:
    return DriftFinding(
        kind=item.kind,
        halo_licence_id=item.halo_licence_id,
        halo_client_id=item.halo_client_id,
        halo_client_name=item.halo_client_name,
        licence_name=item.licence_name,
        organization_id=strawberry.ID(item.organization_id) if item.organization_id else None,
        organization_name=item.organization_name,
        subscription_id=strawberry.ID(item.subscription_id) if item.subscription_id else None,
        subscription_name=item.subscription_name,
        changes=[
            DriftChange(
                field=str(c["field"]), ours=field_text(c["ours"]), theirs=field_text(c["theirs"])
            )
            for c in item.changes
        ],
        text=item.text,
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="What the latest drift check found: licences edited, deactivated or "
        "deleted in HaloPSA since this integration wrote them (fields, ours → theirs), and "
        "licences under mapped organisations it never wrote. kind: only those."
    )
    async def drift(
        self,
        info: Info[Context, None],
        kind: DriftKind | None = None,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> DriftReport:
        check_page(page, page_size)
        report = await sync_service.drift_report(info.context.seller_id)
        result = report.page(page, page_size, kind)
        counts = report.counts
        return DriftReport(
            run=SyncRun.of(report.run) if report.run is not None else None,
            checked_at=report.checked_at,
            licences_read=report.licences_read,
            counts=DriftCounts(
                edited=counts.edited,
                deactivated=counts.deactivated,
                deleted=counts.deleted,
                foreign=counts.foreign,
                total=counts.total,
            ),
            findings=[_finding(i) for i in result.items],
            **page_totals(result),
        )
