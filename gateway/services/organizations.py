"""The seed's "Data Mapping" page: the organisations grid, the PSA picker, map and unmap.

The grid is one hand-written SQL statement per page: the rows (LEFT JOINs to the mapping and
the PSA organisation), the total and the flags the rows depend on (HaloPSA unreachable, the
seller's running sync, each organisation's cooldown) as subqueries — one round trip, no ORM
query building. Rows are plain dataclasses named as the GraphQL type, returned as they are.
Search reads the pre-lowered ``search_text`` (migration 0010) and ``psa_search_text``
(0015: the mapped PSA organisation's name, kept on the organisation) from one index beside
the page's order.

"Response Error" (seed: "If there's an issue retrieving responses from PSA integration"):
a mapped row whose PSA organisation vanished from HaloPSA, or every mapped row while the
seller's last organisations sync failed (HaloPSA could not be reached). PSA fields are then
empty and the tooltip says "Please refresh the page in a few minutes and try again."

The 1:1 rule is two unique constraints; concurrent attempts to map one PSA organisation are
decided by the database (an IntegrityError becomes PSA_ORGANIZATION_TAKEN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from gateway.auth import Principal
from gateway.errors import BadUserInput, NotFound, PsaOrganizationTaken
from gateway.messages import Message, MessageCode, Params
from gateway.models import (
    LogLevel,
    MappingChange,
    Organization,
    OrganizationMapping,
    PsaOrganization,
    SyncKind,
    SyncScope,
)
from gateway.services import logs as product_log
from gateway.services import mapping_texts
from gateway.services.connection_state import require_verified_connection
from gateway.services.paging import DEFAULT_PAGE_SIZE, Page, check_page
from gateway.services.statements import (
    Statement,
    probed_total,
    statement_for,
    to_datetime,
)
from gateway.services.sync import (
    SYNC_IN_PROGRESS,
    ButtonState,
    cooldown_message,
    organization_by_external_id,
)

RESPONSE_ERROR_TOOLTIP = "Please refresh the page in a few minutes and try again."
# The parameters of a row whose button shows no message (shared: nothing writes to them).
_NO_PARAMS: Params = MappingProxyType({})
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


@dataclass(slots=True)
class OrganizationRow:
    """A grid row, named as the GraphQL type names its fields: the schema returns these as
    they are (no per-field resolvers, see ``schema/flat_lists.py``). Not frozen: a frozen
    dataclass sets each field through ``object.__setattr__``, 1.4× the cost of building
    100 rows per page; nothing changes a row once built.

    Its sync state is the row's own: ``sync_state`` is what its "Sync subscriptions" button
    shows (IN_PROGRESS while any sync of the seller runs: one at a time per seller; COOLDOWN
    after this organisation's last manual subscriptions sync, for ``SYNC_COOLDOWN_MINUTES``),
    ``sync_in_progress`` says a running subscriptions sync covers this organisation.
    """

    id: str
    name: str
    reference: str
    status: str
    psa_organization_id: int | None
    psa_organization_name: str | None
    psa_organization_status: PsaStatus | None
    mapping_status: MappingStatus
    mapping_status_tooltip: str | None
    can_sync_subscriptions: bool
    sync_state: ButtonState
    sync_in_progress: bool
    cooldown_minutes: int | None
    # What its sync button shows ("Sync in progress" / "You can trigger the next sync in xx
    # minutes"), with the code and parameters (SYNC_IN_PROGRESS, SYNC_COOLDOWN: minutes).
    sync_message: str | None
    sync_message_code: MessageCode | None
    sync_message_params: Params
    # Day one: licences its HaloPSA client held before the first push, still undecided.
    existing_licences_to_review: int


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


# --- the grid: one statement per page ----------------------------------------------------------

_GRID_JOINS = (
    " LEFT JOIN organization_mapping m ON m.organization_id = o.id"
    " LEFT JOIN psa_organization p ON p.id = m.psa_organization_id"
)
# The page's columns, in the order _row reads them (after the five of the head).
_ROW_COLUMNS = (
    "o.id AS row_id, o.external_id, o.name AS name, o.reference AS reference,"
    " o.status AS status, m.id AS mapping_id, p.halo_id, p.name AS psa_name, p.inactive,"
    " p.present"
)
_SORT_COLUMNS = {
    SortField.NAME: "name",
    SortField.REFERENCE: "reference",
    SortField.STATUS: "status",
}


def _unreachable(s: Statement, seller_id: str) -> str:
    """Did the seller's last finished organisations sync fail (HaloPSA unreachable)?"""
    return (
        "COALESCE((SELECT r.state = 'FAILED' FROM sync_run r"
        f" WHERE r.seller_id = {s.param(seller_id)} AND r.kind = 'ORGANIZATIONS'"
        " AND r.finished_at IS NOT NULL ORDER BY r.finished_at DESC LIMIT 1), FALSE)"
    )


def _search_match(s: Statement, seller_id: str, term: str) -> str:
    """The organisation matches ``term``: its name or reference, or its PSA organisation's
    name (``psa_search_text``, kept on the organisation by migration 0015's triggers), or —
    a number — its PSA organisation's ID.

    A test on the organisation's own columns, which the grid's index holds beside the
    page's order: the page walks that index and stops when it is full, the total reads it
    alone. The PSA ID is one lookup by key, made once for the statement.
    """
    match = s.contains_any(("o.search_text", "o.psa_search_text"), term)
    if term.isdigit() and len(term) < 10:
        by_id = (
            "(SELECT sm.organization_id FROM psa_organization sp"
            # The mapping by its unique (seller_id, psa_organization_id): one index lookup.
            " JOIN organization_mapping sm ON sm.seller_id = sp.seller_id"
            " AND sm.psa_organization_id = sp.id"
            f" WHERE sp.seller_id = {s.param(seller_id)} AND sp.halo_id = {s.param(int(term))})"
        )
        match = f"({match} OR o.id = {by_id})"
    return match


def _mapping_clause(s: Statement, statuses: tuple[MappingStatus, ...], seller_id: str) -> str:
    clauses = []
    for status in statuses:
        if status is MappingStatus.UNMAPPED:
            clauses.append("m.id IS NULL")
        elif status is MappingStatus.MAPPED:
            clauses.append(f"(m.id IS NOT NULL AND p.present AND NOT {_unreachable(s, seller_id)})")
        else:
            clauses.append(
                f"(m.id IS NOT NULL AND (NOT p.present OR {_unreachable(s, seller_id)}))"
            )
    return "(" + " OR ".join(clauses) + ")"


def _psa_clause(s: Statement, wanted: set[PsaStatus], seller_id: str) -> str:
    if wanted == {PsaStatus.ACTIVE}:
        shown = "NOT p.inactive"
    elif wanted == {PsaStatus.INACTIVE}:
        shown = "p.inactive"
    else:
        shown = "m.id IS NOT NULL"
    # A PSA status is shown only while the PSA organisation is there and HaloPSA reachable.
    return f"({shown} AND p.present AND NOT {_unreachable(s, seller_id)})"


def _grid_where(s: Statement, seller_id: str, filters: Filters) -> tuple[str, bool, bool]:
    """The WHERE clause, whether it reads the mapping and PSA columns (else the count needs
    no join: a mapping is 1:1, so the LEFT JOINs never change how many rows match), and
    whether it searches."""
    term = (filters.search or "").strip()[:MAX_SEARCH_LENGTH]
    where = [f"o.seller_id = {s.param(seller_id)}", "o.deleted_at IS NULL"]
    if term:
        where.append(_search_match(s, seller_id, term))
    if filters.statuses:
        where.append(f"o.status IN ({', '.join(s.param(v) for v in filters.statuses)})")
    if filters.psa_statuses:
        where.append(_psa_clause(s, set(filters.psa_statuses), seller_id))
    if filters.mapping_statuses:
        where.append(_mapping_clause(s, filters.mapping_statuses, seller_id))
    joined = bool(filters.psa_statuses or filters.mapping_statuses)
    return " AND ".join(where), joined, bool(term)


@dataclass(frozen=True)
class _Head:
    """What the page's rows share: HaloPSA reachable, the seller's running sync."""

    unreachable: bool
    active_kind: str | None
    active_scope: str | None
    active_organization: int | None
    now: datetime
    cooldown: timedelta


@dataclass(frozen=True)
class _Slice:
    """Which rows of the filtered grid: a sorted page, or one organisation's row."""

    sort: SortField = SortField.NAME
    descending: bool = False
    offset: int = 0
    limit: int = DEFAULT_PAGE_SIZE
    organization_id: int | None = None


def _grid_statement(
    s: Statement, seller_id: str, filters: Filters, part: _Slice, now: datetime, cooldown: timedelta
) -> str:
    """The page, its total, and the state its rows need, as one statement.

    The head (one row: the count and the seller's flags as scalar subqueries, the running
    sync by the seller's lock) is LEFT JOINed to the page, so an empty page still brings
    the totals. Each row's cooldown is a correlated subquery on (organization_id,
    finished_at): the newest successful manual sync of that organisation still inside the
    cooldown window.

    A search's page walks the grid's index in the page's order and keeps its matches up to
    the end of the page (:func:`statements.probed_total`): "Ltd", which half the
    organisations match, fills its first page after ~40 entries and counts the rest from
    the index; one organisation's name is one pass, its total what the walk found.
    """
    direction = "DESC" if part.descending else "ASC"
    column = _SORT_COLUMNS[part.sort]
    where, joined, searching = _grid_where(s, seller_id, filters)
    if part.organization_id is not None:
        where += f" AND o.id = {s.param(part.organization_id)}"
    source = "organization o" + (_GRID_JOINS if joined else "")
    order = f"ORDER BY o.{column} {direction}, o.id {direction}"
    count = f"SELECT COUNT(*) FROM {source} WHERE {where}"
    limit, offset = s.param(part.limit), s.param(part.offset)
    if searching:
        size = s.param(part.offset + part.limit)
        with_probe = (
            f"WITH probe AS MATERIALIZED (SELECT o.id, o.{column} AS sort_key FROM {source}"
            f" WHERE {where} {order} LIMIT {size}) "
        )
        head_count = probed_total("probe", size, count)
        rows = (
            f"(SELECT id FROM probe ORDER BY sort_key {direction}, id {direction}"
            f" LIMIT {limit} OFFSET {offset}) pg JOIN organization o ON o.id = pg.id{_GRID_JOINS}"
        )
        page_where, page_order = "", ""
    else:
        with_probe, head_count = "", f"({count})"
        rows = f"organization o{_GRID_JOINS}"
        page_where, page_order = f" WHERE {where}", f" {order} LIMIT {limit} OFFSET {offset}"
    head = (
        f"SELECT {head_count} AS total, {_unreachable(s, seller_id)} AS unreachable,"
        " r.kind AS active_kind, r.scope AS active_scope, r.organization_id AS active_org"
        " FROM seller s LEFT JOIN sync_run r ON r.id = s.active_run_id"
        " AND r.state IN ('QUEUED', 'RUNNING')"
        f" AND (s.lease_expires_at IS NULL OR s.lease_expires_at >= {s.param(now)})"
        f" WHERE s.id = {s.param(seller_id)}"
    )
    cooled = (
        "(SELECT MAX(c.finished_at) FROM sync_run c WHERE c.organization_id = o.id"
        " AND c.kind = 'SUBSCRIPTIONS' AND c.scope = 'ORGANIZATION' AND c.trigger = 'MANUAL'"
        f" AND c.state = 'SUCCEEDED' AND c.finished_at > {s.param(now - cooldown)})"
    )
    to_review = (
        "(SELECT COUNT(*) FROM client_review cr JOIN existing_licence el ON el.review_id = cr.id"
        " WHERE cr.seller_id = o.seller_id AND cr.halo_client_id = p.halo_id"
        " AND cr.state = 'PENDING' AND el.decision = 'UNDECIDED')"
    )
    page = (
        f"SELECT {_ROW_COLUMNS}, {cooled} AS cooled_at, {to_review} AS to_review"
        f" FROM {rows}{page_where}{page_order}"
    )
    return (
        f"{with_probe}SELECT h.total, h.unreachable, h.active_kind, h.active_scope, h.active_org,"
        " g.*"
        f" FROM ({head}) h LEFT JOIN ({page}) g ON 1 = 1"
        f" ORDER BY g.{column} {direction}, g.row_id {direction}"
    )


_MAPPED, _UNMAPPED = MappingStatus.MAPPED, MappingStatus.UNMAPPED
_ERROR = MappingStatus.RESPONSE_ERROR
_PSA_STATUS = {False: PsaStatus.ACTIVE, True: PsaStatus.INACTIVE}


def _rows(result: Sequence[Any], head: _Head) -> list[OrganizationRow]:
    """The page's rows from the statement's (positions as ``_ROW_COLUMNS``, after the five
    of the head). One loop with what the rows share worked out once: a page of 100 rows
    is built for each grid request, and building it was a tenth of the gateway's own work.
    """
    unreachable = head.unreachable
    active = head.active_kind is not None
    subscriptions_run = head.active_kind == SyncKind.SUBSCRIPTIONS
    run_covers_mapped = subscriptions_run and head.active_scope == SyncScope.ALL
    run_organization = head.active_organization if subscriptions_run else None
    cooldown, now = head.cooldown, head.now
    rows = []
    for v in result:
        if v[5] is None:  # the head alone: an empty page
            continue
        mapped = v[10] is not None
        error = mapped and (unreachable or not v[14])
        show_psa = mapped and not error
        status = _ERROR if error else _MAPPED if mapped else _UNMAPPED
        remaining = 0
        if v[15] is not None:
            left = (to_datetime(v[15]) + cooldown - now).total_seconds()
            remaining = max(0, math.ceil(left))
        message: Message | None
        if active:
            state, message = ButtonState.IN_PROGRESS, SYNC_IN_PROGRESS
        elif remaining:
            state, message = ButtonState.COOLDOWN, cooldown_message(remaining)
        else:
            state, message = ButtonState.IDLE, None
        rows.append(
            OrganizationRow(
                id=v[6],
                name=v[7],
                reference=v[8],
                status=v[9],
                psa_organization_id=v[11] if show_psa else None,
                psa_organization_name=v[12] if show_psa else None,
                psa_organization_status=_PSA_STATUS[bool(v[13])] if show_psa else None,
                mapping_status=status,
                mapping_status_tooltip=RESPONSE_ERROR_TOOLTIP if error else None,
                can_sync_subscriptions=show_psa and not active and not remaining,
                sync_state=state,
                sync_in_progress=subscriptions_run
                and (v[5] == run_organization or (run_covers_mapped and show_psa)),
                cooldown_minutes=max(1, -(-remaining // 60)) if remaining else None,
                sync_message=message.text if message else None,
                sync_message_code=message.code if message else None,
                sync_message_params=message.params if message else _NO_PARAMS,
                existing_licences_to_review=v[16] if show_psa else 0,
            )
        )
    return rows


async def _grid(
    seller_id: str, filters: Filters, part: _Slice, cooldown_minutes: int
) -> tuple[int, list[OrganizationRow]]:
    s = statement_for(Organization)
    now = datetime.now(UTC)
    cooldown = timedelta(minutes=cooldown_minutes)
    sql = _grid_statement(s, seller_id, filters, part, now, cooldown)
    result = await s.fetch(sql)
    if not result:  # no seller row: nothing of theirs either
        return 0, []
    first = result[0]
    head = _Head(bool(first[1]), first[2], first[3], first[4], now, cooldown)
    return first[0], _rows(result, head)


async def list_organizations(
    seller_id: str,
    filters: Filters,
    *,
    cooldown_minutes: int,
    sort: SortField = SortField.NAME,
    descending: bool = False,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[OrganizationRow]:
    """One page of the grid in one SQL statement (see :func:`_grid_statement`)."""
    part = _Slice(sort, descending, check_page(page, page_size), page_size)
    total, rows = await _grid(seller_id, filters, part, cooldown_minutes)
    return Page(rows, total, page, page_size)


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


async def _row_for(seller_id: str, org: Organization, cooldown_minutes: int) -> OrganizationRow:
    _, rows = await _grid(seller_id, Filters(), _Slice(organization_id=org.id), cooldown_minutes)
    return rows[0]


async def map_organization(
    principal: Principal, organization_id: str, psa_organization_id: int, *, cooldown_minutes: int
) -> OrganizationRow:
    seller_id = principal.seller_id
    await require_verified_connection(seller_id)
    org = await organization_by_external_id(seller_id, organization_id)
    psa = await PsaOrganization.get_or_none(
        seller_id=seller_id, halo_id=psa_organization_id, present=True
    )
    if psa is None:
        raise NotFound("PSA organization not found.", field="psaOrganizationId")
    current = await OrganizationMapping.get_or_none(organization_id=org.id).select_related(
        "psa_organization"
    )
    if current is not None and current.psa_organization_id == psa.id:
        return await _row_for(seller_id, org, cooldown_minutes)
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
    return await _row_for(seller_id, org, cooldown_minutes)


async def unmap_organization(
    principal: Principal, organization_id: str, *, cooldown_minutes: int
) -> OrganizationRow:
    seller_id = principal.seller_id
    await require_verified_connection(seller_id)
    org = await organization_by_external_id(seller_id, organization_id)
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
    return await _row_for(seller_id, org, cooldown_minutes)


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
        org = await organization_by_external_id(seller_id, organization_id)
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
