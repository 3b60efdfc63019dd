"""Mapping area: the organisations grid, the PSA organisation picker, map and unmap."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.tools import merge_types
from strawberry.types import Info

from gateway.errors import NotFound
from gateway.messages import MessageCode
from gateway.services import organizations as service
from gateway.services.organizations import MappingStatus, PsaStatus, SortField
from gateway.services.paging import DEFAULT_PAGE_SIZE
from gateway.services.sync import ButtonState
from schema.context import Context
from schema.flat_lists import served_as
from schema.ids import parse_int_id
from schema.messages import MessageParam, message_params
from schema.paging import page_totals

# The core's enums, exposed as they are (ButtonState is SyncButtonState, see schema/sync.py).
strawberry.enum(MappingStatus)
strawberry.enum(SortField, name="OrganizationSortField")
strawberry.enum(PsaStatus)


@strawberry.enum
class SortDirection(Enum):
    """The grid's sort direction (the service takes ``descending``)."""

    ASC = "ASC"
    DESC = "DESC"


@strawberry.input
class OrganizationFilter:
    status: list[str] | None = None
    psa_status: list[PsaStatus] | None = None
    mapping_status: list[MappingStatus] | None = None


@strawberry.input
class OrganizationSort:
    field: SortField = SortField.NAME
    direction: SortDirection = SortDirection.ASC


@strawberry.type(description="A HaloPSA organisation (client).")
class PsaOrganization:
    id: int
    name: str
    status: PsaStatus
    mapped: bool


def _sync_message_params(root: strawberry.Parent[service.OrganizationRow]) -> list[MessageParam]:
    # The service row holds them as a mapping; the API lists {name, value} strings.
    return message_params(root.sync_message_params)


@strawberry.type(
    description="A row of the mapping grid, with the state of its own sync button: "
    "updated live by syncEvents (organizationId is this row's id)."
)
class OrganizationRow:
    """Declared here, filled by the service: ``service.OrganizationRow`` has these names and
    is returned as it is (``served_as``)."""

    id: strawberry.ID = strawberry.field(description="The platform's organisation id.")
    name: str
    reference: str = strawberry.field(description="Organization Reference #")
    status: str
    psa_organization_id: int | None
    psa_organization_name: str | None
    psa_organization_status: PsaStatus | None
    mapping_status: MappingStatus
    mapping_status_tooltip: str | None
    can_sync_subscriptions: bool = strawberry.field(
        description="syncOrganizationSubscriptions would start now: mapped, no sync of the "
        "seller running, no cooldown for this organisation."
    )
    sync_state: ButtonState = strawberry.field(
        description="What this row's sync button shows: IN_PROGRESS while any sync of the "
        "seller runs (one at a time), COOLDOWN after this organisation's last manual sync."
    )
    sync_in_progress: bool = strawberry.field(
        description="A subscriptions sync covering this organisation is queued or running."
    )
    cooldown_minutes: int | None = strawberry.field(
        description="Minutes until this organisation's subscriptions can be synced again."
    )
    sync_message: str | None = strawberry.field(
        description='"Sync in progress" or "You can trigger the next sync in xx minutes".'
    )
    sync_message_code: MessageCode | None = strawberry.field(
        description="What this row's sync button shows, as a stable code: SYNC_IN_PROGRESS "
        "or SYNC_COOLDOWN (minutes); null when it shows nothing."
    )
    # A resolver: a page that selects it is completed by graphql-core's per-field path, not
    # schema.flat_lists' loop (the web app reads syncState and cooldownMinutes instead).
    sync_message_params: list[MessageParam] = strawberry.field(
        resolver=_sync_message_params,
        description="The sync message's parameters (see MessageCode).",
    )
    existing_licences_to_review: int = strawberry.field(
        default=0,
        description="Day one: licences its HaloPSA organization held before the first sync, "
        "still to review (claim, not ours, create new); its subscriptions wait until then.",
    )


@strawberry.type
class OrganizationPage:
    rows: list[OrganizationRow]
    total: int
    page: int
    page_size: int
    page_count: int
    range: str


def _psa_id(value: strawberry.ID | int) -> int:
    return parse_int_id(value, NotFound("PSA organization not found.", field="psaOrganizationId"))


@strawberry.type
class GridQuery:
    @strawberry.field(
        description="The mapping grid. Search matches organization name, PSA organization name, "
        "organization reference and PSA organization ID."
    )
    async def organizations(
        self,
        info: Info[Context, None],
        search: str | None = None,
        filter: OrganizationFilter | None = None,
        sort: OrganizationSort | None = None,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> OrganizationPage:
        f = filter or OrganizationFilter()
        s = sort or OrganizationSort()
        result = await service.list_organizations(
            info.context.seller_id,
            service.Filters(
                search=search,
                statuses=tuple(f.status or ()),
                psa_statuses=tuple(f.psa_status or ()),
                mapping_statuses=tuple(f.mapping_status or ()),
            ),
            sort=s.field,
            descending=s.direction is SortDirection.DESC,
            page=page,
            page_size=page_size,
            cooldown_minutes=info.context.deps.settings.sync_cooldown_minutes,
        )
        return OrganizationPage(
            rows=served_as(OrganizationRow, result.items), **page_totals(result)
        )

    @strawberry.field(description="HaloPSA organisations for the mapping drop-down.")
    async def psa_organizations(
        self,
        info: Info[Context, None],
        search: str | None = None,
        only_unmapped: bool = True,
        first: int = 50,
    ) -> list[PsaOrganization]:
        rows = await service.psa_organizations(
            info.context.seller_id, search, only_unmapped=only_unmapped, first=first
        )
        return [
            PsaOrganization(id=r.id, name=r.name, status=r.status, mapped=r.mapped) for r in rows
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Map (or remap) a platform organisation to a PSA one.")
    async def map_organization(
        self,
        info: Info[Context, None],
        organization_id: strawberry.ID,
        psa_organization_id: strawberry.ID,
    ) -> OrganizationRow:
        row = await service.map_organization(
            info.context.principal,
            str(organization_id),
            _psa_id(psa_organization_id),
            cooldown_minutes=info.context.deps.settings.sync_cooldown_minutes,
        )
        return served_as(OrganizationRow, [row])[0]

    @strawberry.mutation(description="Remove the mapping; what is in HaloPSA stays unchanged.")
    async def unmap_organization(
        self, info: Info[Context, None], organization_id: strawberry.ID
    ) -> OrganizationRow:
        row = await service.unmap_organization(
            info.context.principal,
            str(organization_id),
            cooldown_minutes=info.context.deps.settings.sync_cooldown_minutes,
        )
        return served_as(OrganizationRow, [row])[0]


@strawberry.type(description="A licence the sync wrote to HaloPSA (from the ledger).")
class WrittenLicence:
    subscription_id: strawberry.ID
    subscription_name: str
    licence_id: int
    written_at: datetime | None


@strawberry.type(description="A mapping, current or past, and what was written under it.")
class MappingRecord:
    organization_id: strawberry.ID
    organization_name: str
    psa_organization_id: int
    psa_organization_name: str
    mapped_at: datetime | None
    mapped_by: str | None
    unmapped_at: datetime | None
    unmapped_by: str | None
    current: bool
    licences: list[WrittenLicence]


@strawberry.type
class MappingQuery:
    @strawberry.field(description="Mapping records; with includeHistory, earlier mappings too.")
    async def mappings(
        self,
        info: Info[Context, None],
        organization_id: strawberry.ID | None = None,
        include_history: bool = False,
    ) -> list[MappingRecord]:
        records = await service.mapping_records(
            info.context.seller_id,
            str(organization_id) if organization_id is not None else None,
            include_history=include_history,
        )
        return [
            MappingRecord(
                organization_id=strawberry.ID(r.organization_id),
                organization_name=r.organization_name,
                psa_organization_id=r.psa_organization_id,
                psa_organization_name=r.psa_organization_name,
                mapped_at=r.mapped_at,
                mapped_by=r.mapped_by,
                unmapped_at=r.unmapped_at,
                unmapped_by=r.unmapped_by,
                current=r.current,
                licences=[
                    WrittenLicence(
                        subscription_id=strawberry.ID(w.subscription_id),
                        subscription_name=w.subscription_name,
                        licence_id=w.licence_id,
                        written_at=w.written_at,
                    )
                    for w in r.licences
                ],
            )
            for r in records
        ]


Query = merge_types("Query", (GridQuery, MappingQuery))
