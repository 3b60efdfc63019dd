"""The seed's "Data Mapping" page: the organisations grid, the PSA picker, map and unmap.

The grid is one SQL query per page (LEFT JOINs to the mapping and the PSA organisation) plus
one count; rows are plain dataclasses, so the GraphQL layer resolves no field lazily.

"Response Error" (seed: "If there's an issue retrieving responses from PSA integration"):
a mapped row whose PSA organisation vanished from HaloPSA, or every mapped row while the
seller's last organisations sync failed (HaloPSA could not be reached). PSA fields are then
empty and the tooltip says "Please refresh the page in a few minutes and try again."

The 1:1 rule is two unique constraints; concurrent attempts to map one PSA organisation are
decided by the database (an IntegrityError becomes PSA_ORGANIZATION_TAKEN).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from gateway.auth import Principal
from gateway.errors import BadUserInput, NotFound, PsaOrganizationTaken
from gateway.models import (
    LogLevel,
    MappingChange,
    Organization,
    OrganizationMapping,
    PsaOrganization,
    RunState,
    SyncKind,
    SyncRun,
)
from gateway.services import logs as product_log
from gateway.services import mapping_texts
from gateway.services.connection_state import require_verified_connection
from gateway.services.paging import DEFAULT_PAGE_SIZE, Page, check_page

RESPONSE_ERROR_TOOLTIP = "Please refresh the page in a few minutes and try again."
MAX_SEARCH_LENGTH = 200
MAX_PICKER_ROWS = 100


class MappingStatus(StrEnum):
    MAPPED = "MAPPED"
    UNMAPPED = "UNMAPPED"
    RESPONSE_ERROR = "RESPONSE_ERROR"


class PsaStatus(StrEnum):
    """A HaloPSA organisation's status, as the grid and the picker show it."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"

    @classmethod
    def of(cls, inactive: bool) -> PsaStatus:
        return cls.INACTIVE if inactive else cls.ACTIVE


class SortField(StrEnum):
    NAME = "name"
    REFERENCE = "reference"
    STATUS = "status"


@dataclass(frozen=True)
class OrganizationRow:
    id: str
    name: str
    reference: str
    status: str
    psa_id: int | None
    psa_name: str | None
    psa_status: PsaStatus | None
    mapping_status: MappingStatus
    tooltip: str | None

    @property
    def can_sync_subscriptions(self) -> bool:
        return self.mapping_status is MappingStatus.MAPPED


@dataclass(frozen=True)
class PsaOrganizationRow:
    id: int
    name: str
    status: PsaStatus
    mapped: bool


@dataclass(frozen=True)
class Filters:
    search: str | None = None
    statuses: tuple[str, ...] = ()
    psa_statuses: tuple[PsaStatus, ...] = ()
    mapping_statuses: tuple[MappingStatus, ...] = ()


_FIELDS = (
    "external_id",
    "name",
    "reference",
    "status",
    "mapping__id",
    "mapping__psa_organization__halo_id",
    "mapping__psa_organization__name",
    "mapping__psa_organization__inactive",
    "mapping__psa_organization__present",
)


async def _psa_unreachable(seller_id: str) -> bool:
    """Did the seller's last finished organisations sync fail (HaloPSA unreachable)?"""
    last = (
        await SyncRun.filter(
            seller_id=seller_id, kind=SyncKind.ORGANIZATIONS, finished_at__isnull=False
        )
        .order_by("-finished_at")
        .first()
        .values_list("state", flat=True)
    )
    return last == RunState.FAILED


def _row(values: dict[str, Any], unreachable: bool) -> OrganizationRow:
    mapped = values["mapping__id"] is not None
    error = mapped and (unreachable or not values["mapping__psa_organization__present"])
    if not mapped:
        status = MappingStatus.UNMAPPED
    elif error:
        status = MappingStatus.RESPONSE_ERROR
    else:
        status = MappingStatus.MAPPED
    show_psa = mapped and not error
    return OrganizationRow(
        id=values["external_id"],
        name=values["name"],
        reference=values["reference"],
        status=values["status"],
        psa_id=values["mapping__psa_organization__halo_id"] if show_psa else None,
        psa_name=values["mapping__psa_organization__name"] if show_psa else None,
        psa_status=(
            PsaStatus.of(values["mapping__psa_organization__inactive"]) if show_psa else None
        ),
        mapping_status=status,
        tooltip=RESPONSE_ERROR_TOOLTIP if error else None,
    )


def _search_filter(term: str) -> Q:
    q = (
        Q(name__icontains=term)
        | Q(reference__icontains=term)
        | Q(mapping__psa_organization__name__icontains=term)
    )
    if term.isdigit() and len(term) < 10:
        q |= Q(mapping__psa_organization__halo_id=int(term))
    return q


def _mapping_filter(statuses: tuple[MappingStatus, ...], unreachable: bool) -> Q:
    clauses = []
    for status in statuses:
        if status is MappingStatus.UNMAPPED:
            clauses.append(Q(mapping__id__isnull=True))
        elif status is MappingStatus.MAPPED:
            if not unreachable:
                clauses.append(
                    Q(mapping__id__isnull=False, mapping__psa_organization__present=True)
                )
        elif unreachable:
            clauses.append(Q(mapping__id__isnull=False))
        else:
            clauses.append(Q(mapping__id__isnull=False, mapping__psa_organization__present=False))
    if not clauses:
        return Q(id__in=[])  # nothing can match
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return combined


async def list_organizations(
    seller_id: str,
    filters: Filters,
    *,
    sort: SortField = SortField.NAME,
    descending: bool = False,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[OrganizationRow]:
    offset = check_page(page, page_size)
    unreachable = await _psa_unreachable(seller_id)
    query = Organization.filter(seller_id=seller_id, deleted_at__isnull=True)
    if filters.search and filters.search.strip():
        query = query.filter(_search_filter(filters.search.strip()[:MAX_SEARCH_LENGTH]))
    if filters.statuses:
        query = query.filter(status__in=list(filters.statuses))
    if filters.psa_statuses:
        wanted = set(filters.psa_statuses)
        if wanted == {PsaStatus.ACTIVE}:
            query = query.filter(mapping__psa_organization__inactive=False)
        elif wanted == {PsaStatus.INACTIVE}:
            query = query.filter(mapping__psa_organization__inactive=True)
        else:
            query = query.filter(mapping__id__isnull=False)
        if unreachable:
            query = query.filter(id__in=[])  # no PSA status can be shown
        else:
            query = query.filter(mapping__psa_organization__present=True)
    if filters.mapping_statuses:
        query = query.filter(_mapping_filter(filters.mapping_statuses, unreachable))
    total = await query.count()
    order = ("-" if descending else "") + sort.value
    tie = "-id" if descending else "id"
    values = await query.order_by(order, tie).offset(offset).limit(page_size).values(*_FIELDS)
    return Page([_row(v, unreachable) for v in values], total, page, page_size)


async def psa_organizations(
    seller_id: str, search: str | None, *, only_unmapped: bool = True, first: int = 50
) -> list[PsaOrganizationRow]:
    if not 1 <= first <= MAX_PICKER_ROWS:
        raise BadUserInput(f"first must be between 1 and {MAX_PICKER_ROWS}.", field="first")
    query = PsaOrganization.filter(seller_id=seller_id, present=True)
    if only_unmapped:
        query = query.filter(mappings__id__isnull=True)
    term = (search or "").strip()[:MAX_SEARCH_LENGTH]
    if term:
        q = Q(name__icontains=term)
        if term.isdigit() and len(term) < 10:
            q |= Q(halo_id=int(term))
        query = query.filter(q)
    rows = (
        await query.order_by("name", "halo_id")
        .limit(first)
        .values("halo_id", "name", "inactive", "mappings__id")
    )
    return [
        PsaOrganizationRow(
            id=r["halo_id"],
            name=r["name"],
            status=PsaStatus.of(r["inactive"]),
            mapped=r["mappings__id"] is not None,
        )
        for r in rows
    ]


async def _organization(seller_id: str, external_id: str) -> Organization:
    org = await Organization.get_or_none(
        seller_id=seller_id, external_id=external_id, deleted_at__isnull=True
    )
    if org is None:
        raise NotFound("Organization not found.", field="organizationId")
    return org


async def _row_for(seller_id: str, org: Organization) -> OrganizationRow:
    values = await Organization.filter(id=org.id).values(*_FIELDS)
    return _row(values[0], await _psa_unreachable(seller_id))


async def map_organization(
    principal: Principal, organization_id: str, psa_organization_id: int
) -> OrganizationRow:
    seller_id = principal.seller_id
    await require_verified_connection(seller_id)
    org = await _organization(seller_id, organization_id)
    psa = await PsaOrganization.get_or_none(
        seller_id=seller_id, halo_id=psa_organization_id, present=True
    )
    if psa is None:
        raise NotFound("PSA organization not found.", field="psaOrganizationId")
    current = await OrganizationMapping.get_or_none(organization_id=org.id).select_related(
        "psa_organization"
    )
    if current is not None and current.psa_organization_id == psa.id:
        return await _row_for(seller_id, org)
    now = datetime.now(UTC)
    try:
        if current is None:
            await OrganizationMapping.create(
                seller_id=seller_id,
                organization=org,
                psa_organization=psa,
                mapped_by=principal.subject,
                mapped_at=now,
            )
        else:
            await OrganizationMapping.filter(id=current.id).update(
                psa_organization_id=psa.id, mapped_by=principal.subject, mapped_at=now
            )
    except IntegrityError as exc:
        raise PsaOrganizationTaken(psaOrganizationId=psa_organization_id) from exc
    if current is not None:
        await MappingChange.filter(organization_id=org.id, unmapped_at__isnull=True).update(
            unmapped_at=now, unmapped_by=principal.subject
        )
    await MappingChange.create(
        seller_id=seller_id,
        organization=org,
        halo_id=psa.halo_id,
        psa_name=psa.name,
        mapped_at=now,
        mapped_by=principal.subject,
    )
    previous = current.psa_organization if current is not None else None
    title, details = mapping_texts.mapped(
        mapping_texts.Side(org.external_id, org.name, org.reference, psa.halo_id, psa.name),
        principal.subject,
        (previous.halo_id, previous.name) if previous is not None else None,
    )
    await product_log.record(seller_id, LogLevel.INFO, title, details)
    return await _row_for(seller_id, org)


async def unmap_organization(principal: Principal, organization_id: str) -> OrganizationRow:
    seller_id = principal.seller_id
    await require_verified_connection(seller_id)
    org = await _organization(seller_id, organization_id)
    current = await OrganizationMapping.get_or_none(organization_id=org.id).select_related(
        "psa_organization"
    )
    if current is not None:
        now = datetime.now(UTC)
        await current.delete()
        await MappingChange.filter(organization_id=org.id, unmapped_at__isnull=True).update(
            unmapped_at=now, unmapped_by=principal.subject
        )
        psa = current.psa_organization
        side = mapping_texts.Side(org.external_id, org.name, org.reference, psa.halo_id, psa.name)
        await product_log.record(
            seller_id,
            LogLevel.INFO,
            mapping_texts.UNMAPPED_TITLE,
            mapping_texts.unmapped(side, principal.subject),
        )
    return await _row_for(seller_id, org)


# --- mapping records and their history ---------------------------------------------------------


@dataclass(frozen=True)
class WrittenLicence:
    subscription_id: str
    subscription_name: str
    licence_id: int
    written_at: datetime | None


@dataclass(frozen=True)
class MappingRecord:
    organization_id: str
    organization_name: str
    psa_organization_id: int
    psa_organization_name: str
    mapped_at: datetime | None
    mapped_by: str | None
    unmapped_at: datetime | None
    unmapped_by: str | None
    current: bool
    licences: list[WrittenLicence]


async def mapping_records(
    seller_id: str, organization_id: str | None, *, include_history: bool
) -> list[MappingRecord]:
    """Current mappings (and, with history, earlier ones) with the licences the ledger holds
    for each: where last month's subscriptions went after a remap."""
    current = OrganizationMapping.filter(seller_id=seller_id).select_related(
        "organization", "psa_organization"
    )
    past = MappingChange.filter(seller_id=seller_id, unmapped_at__isnull=False).select_related(
        "organization"
    )
    if organization_id is not None:
        org = await _organization(seller_id, organization_id)
        current = current.filter(organization_id=org.id)
        past = past.filter(organization_id=org.id)
    records: list[tuple[int, MappingRecord]] = []
    for m in await current:
        records.append(
            (
                m.organization.id,
                MappingRecord(
                    m.organization.external_id,
                    m.organization.name,
                    m.psa_organization.halo_id,
                    m.psa_organization.name,
                    m.mapped_at,
                    m.mapped_by,
                    None,
                    None,
                    True,
                    [],
                ),
            )
        )
    if include_history:
        for h in await past.order_by("-unmapped_at"):
            records.append(
                (
                    h.organization.id,
                    MappingRecord(
                        h.organization.external_id,
                        h.organization.name,
                        h.halo_id,
                        h.psa_name,
                        h.mapped_at,
                        h.mapped_by,
                        h.unmapped_at,
                        h.unmapped_by,
                        False,
                        [],
                    ),
                )
            )
    if not records:
        return []
    from gateway.models import SyncedSubscription

    rows = await SyncedSubscription.filter(
        seller_id=seller_id,
        halo_licence_id__isnull=False,
        subscription__organization_id__in=list({org_id for org_id, _ in records}),
    ).values(
        "subscription__organization_id",
        "halo_client_id",
        "subscription__external_id",
        "subscription__name",
        "halo_licence_id",
        "written_at",
    )
    by_target: dict[tuple[int, int], list[WrittenLicence]] = {}
    for r in rows:
        by_target.setdefault((r["subscription__organization_id"], r["halo_client_id"]), []).append(
            WrittenLicence(
                r["subscription__external_id"],
                r["subscription__name"],
                r["halo_licence_id"],
                r["written_at"],
            )
        )
    return [
        MappingRecord(
            **{
                **record.__dict__,
                "licences": sorted(
                    by_target.get((org_id, record.psa_organization_id), []),
                    key=lambda w: w.licence_id,
                ),
            }
        )
        for org_id, record in records
    ]
