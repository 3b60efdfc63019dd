"""The seller's drift report: what the latest successful drift check found, ready to page.

``reconcile.py`` writes the findings (one row per licence that differs); this module reads
them with their names (organisation, HaloPSA client, subscription) and words
(``journal.drift_*``), for the ``drift`` query, the CSV (``drift_csv.py``), the run's summary
entry in the Logs and the preview ("which hand edits the next push overwrites").

Findings are paged like the grid: by organisation name, then licence; a licence whose client
is mapped to no organisation any more comes last. The report is a snapshot of the check's
moment (``checked_at``): a sync that overwrites a hand edit afterwards does not change it,
the next check does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.functions import Count

from gateway.models import (
    DriftFinding,
    DriftKind,
    Organization,
    PsaOrganization,
    RunState,
    Subscription,
    SyncedSubscription,
    SyncKind,
    SyncRun,
)
from gateway.services.paging import Page, check_page
from gateway.services.sync import journal
from gateway.services.sync.overview import RunRecord, run_record


@dataclass(frozen=True, slots=True)
class DriftCounts:
    edited: int = 0
    deactivated: int = 0
    deleted: int = 0
    foreign: int = 0

    @property
    def total(self) -> int:
        return self.edited + self.deactivated + self.deleted + self.foreign

    @property
    def of_ours(self) -> int:
        """Licences this integration wrote that HaloPSA no longer holds as written."""
        return self.edited + self.deactivated + self.deleted


async def drift_counts(run_id: int) -> DriftCounts:
    """What a drift check found, by kind (zeros for a check that saved nothing)."""
    rows = (
        await DriftFinding.filter(run_id=run_id)
        .annotate(n=Count("id"))
        .group_by("kind")
        .values_list("kind", "n")
    )
    found = {DriftKind(kind): int(n) for kind, n in rows}
    return DriftCounts(
        edited=found.get(DriftKind.EDITED, 0),
        deactivated=found.get(DriftKind.DEACTIVATED, 0),
        deleted=found.get(DriftKind.DELETED, 0),
        foreign=found.get(DriftKind.FOREIGN, 0),
    )


def drift_found(counts: DriftCounts) -> bool:
    """Drift worth a WARNING and an integration issue: licences *we* wrote that changed.
    Foreign licences are listed, not alarmed about: most clients hold licences of other
    vendors, and they would keep the issue open for good."""
    return counts.of_ours > 0


@dataclass(frozen=True, slots=True)
class DriftItem:
    kind: DriftKind
    halo_licence_id: int
    halo_client_id: int
    halo_client_name: str | None
    licence_name: str
    organization_id: str | None  # the platform's ids
    organization_name: str | None
    subscription_id: str | None
    subscription_name: str | None
    changes: list[dict[str, Any]]
    text: str


@dataclass
class DriftReport:
    seller_id: str
    run: RunRecord | None  # the latest successful drift check (None: none yet)
    counts: DriftCounts
    items: list[DriftItem] = field(default_factory=list)

    @property
    def checked_at(self) -> datetime | None:
        return self.run.finished_at if self.run is not None else None

    @property
    def licences_read(self) -> int:
        return self.run.processed if self.run is not None else 0

    def page(self, page: int, page_size: int, kind: DriftKind | None = None) -> Page[DriftItem]:
        offset = check_page(page, page_size)
        items = self.items if kind is None else [i for i in self.items if i.kind is kind]
        return Page(
            items=items[offset : offset + page_size],
            total=len(items),
            page=page,
            page_size=page_size,
        )


async def latest_check(seller_id: str) -> SyncRun | None:
    return (
        await SyncRun.filter(seller_id=seller_id, kind=SyncKind.RECONCILE, state=RunState.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .first()
    )


async def drift_report(seller_id: str) -> DriftReport:
    """The latest successful drift check's findings, named and worded, in grid order."""
    run = await latest_check(seller_id)
    if run is None:
        return DriftReport(seller_id, None, DriftCounts())
    record = await run_record(run)
    rows = await DriftFinding.filter(seller_id=seller_id, run_id=run.id).values(
        "kind",
        "halo_licence_id",
        "halo_client_id",
        "licence_name",
        "subscription_id",
        "organization_id",
        "changes",
    )
    org_ids = {r["organization_id"] for r in rows if r["organization_id"] is not None}
    sub_ids = {r["subscription_id"] for r in rows if r["subscription_id"] is not None}
    orgs = {
        o["id"]: o
        for o in await Organization.filter(id__in=org_ids or [0]).values(
            "id", "external_id", "name"
        )
    }
    subs = {
        s["id"]: s
        for s in await Subscription.filter(id__in=sub_ids or [0]).values(
            "id", "external_id", "name"
        )
    }
    client_names = dict(
        await PsaOrganization.filter(seller_id=seller_id).values_list("halo_id", "name")
    )
    items = []
    for row in rows:
        org = orgs.get(row["organization_id"])
        sub = subs.get(row["subscription_id"])
        kind = DriftKind(row["kind"])
        client_name = client_names.get(row["halo_client_id"])
        items.append(
            DriftItem(
                kind=kind,
                halo_licence_id=row["halo_licence_id"],
                halo_client_id=row["halo_client_id"],
                halo_client_name=client_name,
                licence_name=row["licence_name"],
                organization_id=org["external_id"] if org else None,
                organization_name=org["name"] if org else None,
                subscription_id=sub["external_id"] if sub else None,
                subscription_name=sub["name"] if sub else None,
                changes=list(row["changes"] or []),
                text=_text(kind, row, client_name),
            )
        )
    items.sort(
        key=lambda i: (
            i.organization_name is None,
            (i.organization_name or "").casefold(),
            i.organization_id or "",
            i.halo_licence_id,
        )
    )
    counts = DriftCounts(
        edited=sum(i.kind is DriftKind.EDITED for i in items),
        deactivated=sum(i.kind is DriftKind.DEACTIVATED for i in items),
        deleted=sum(i.kind is DriftKind.DELETED for i in items),
        foreign=sum(i.kind is DriftKind.FOREIGN for i in items),
    )
    return DriftReport(seller_id, record, counts, items)


def _text(kind: DriftKind, row: dict[str, Any], client_name: str | None) -> str:
    if kind is DriftKind.EDITED:
        return journal.drift_edited(row["changes"])
    if kind is DriftKind.DEACTIVATED:
        return journal.drift_deactivated(row["changes"])
    if kind is DriftKind.DELETED:
        return journal.drift_deleted(row["halo_licence_id"])
    return journal.drift_foreign(client_name or str(row["halo_client_id"]))


async def hand_edits(seller_id: str) -> dict[int, list[dict[str, Any]]]:
    """Licence id → its hand edits, for the licences the latest drift check found edited or
    deactivated and no sync has written since: what the preview says a push overwrites."""
    run = await latest_check(seller_id)
    if run is None:
        return {}
    rows = await DriftFinding.filter(
        seller_id=seller_id,
        run_id=run.id,
        kind__in=[DriftKind.EDITED, DriftKind.DEACTIVATED],
    ).values_list("halo_licence_id", "found_at", "changes")
    if not rows:
        return {}
    written = dict(
        await SyncedSubscription.filter(
            seller_id=seller_id, halo_licence_id__in=[r[0] for r in rows]
        ).values_list("halo_licence_id", "written_at")
    )
    return {
        licence_id: list(changes or [])
        for licence_id, found_at, changes in rows
        if written.get(licence_id) is None or written[licence_id] <= found_at
    }
