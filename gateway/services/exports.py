"""Platform data out: a seller's mappings and sync ledger as CSV, for their accountant.

``halo-gateway export`` writes these. Rows are read in pages of ``PAGE_SIZE`` by primary key
(keyset, not OFFSET: the last page costs what the first does) and written as they come, so a
seller with a million ledger rows exports in flat memory.

The files are meant to be opened in a spreadsheet, so text cells that a spreadsheet would run
as a formula (``=``, ``+``, ``-``, ``@`` first — names come from integrators) get a leading
apostrophe, as OWASP's CSV-injection advice says. Times are UTC ISO 8601, money is a decimal
string.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TextIO

from gateway.errors import NotFound
from gateway.models import LedgerState, OrganizationMapping, Seller, SyncedSubscription
from gateway.services.organizations import PsaStatus
from gateway.services.spreadsheet import spreadsheet_text

# Rows per query: big enough that round trips do not dominate, small enough to stay flat.
PAGE_SIZE = 1000


class ExportKind(StrEnum):
    MAPPINGS = "mappings"
    LEDGER = "ledger"


MAPPING_COLUMNS = (
    "organization_id",
    "organization_name",
    "organization_reference",
    "psa_organization_id",
    "psa_organization_name",
    "psa_organization_status",
    "mapped_at",
    "mapped_by",
)

LEDGER_COLUMNS = (
    "subscription_id",
    "subscription_name",
    "organization_id",
    "organization_name",
    "halo_client_id",
    "halo_licence_id",
    "state",
    "last_synced_at",
    "last_run_id",
    "status",
    "quantity",
    "cost_price",
    "customer_price",
    "currency",
    "billing_cycle",
    "term_duration",
    "deleted_at",
    # What HaloPSA holds, from the last payload it confirmed (empty until one is confirmed).
    "sent_count",
    "sent_purchase_price",
    "sent_price",
)


async def export_csv(
    seller_id: str, what: ExportKind, out: TextIO, *, page_size: int = PAGE_SIZE
) -> int:
    """Write the header and every row to ``out``; returns the number of rows."""
    if not await Seller.exists(id=seller_id):
        raise NotFound(f"Seller {seller_id!r} not found.", field="seller")
    writer = csv.writer(out, lineterminator="\n")
    columns, rows = (
        (MAPPING_COLUMNS, _mapping_rows(seller_id, page_size))
        if what is ExportKind.MAPPINGS
        else (LEDGER_COLUMNS, _ledger_rows(seller_id, page_size))
    )
    writer.writerow(columns)
    count = 0
    async for row in rows:
        writer.writerow(row)
        count += 1
    return count


async def _pages(
    query: Callable[[int], Any], fields: tuple[str, ...], page_size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    last = 0
    while True:
        page = await query(last).order_by("id").limit(page_size).values("id", *fields)
        if not page:
            return
        yield page
        last = page[-1]["id"]


async def _mapping_rows(seller_id: str, page_size: int) -> AsyncIterator[list[str]]:
    """Current mappings of organisations the platform still has (as the grid shows them)."""

    def query(after: int) -> Any:
        return OrganizationMapping.filter(
            seller_id=seller_id, id__gt=after, organization__deleted_at__isnull=True
        )

    fields = (
        "organization__external_id",
        "organization__name",
        "organization__reference",
        "psa_organization__halo_id",
        "psa_organization__name",
        "psa_organization__inactive",
        "psa_organization__present",
        "mapped_at",
        "mapped_by",
    )

    async for page in _pages(query, fields, page_size):
        for r in page:
            status = (
                PsaStatus.of(r["psa_organization__inactive"])
                if r["psa_organization__present"]
                else "MISSING"
            )
            yield [
                spreadsheet_text(r["organization__external_id"]),
                spreadsheet_text(r["organization__name"]),
                spreadsheet_text(r["organization__reference"]),
                str(r["psa_organization__halo_id"]),
                spreadsheet_text(r["psa_organization__name"]),
                status,
                _time(r["mapped_at"]),
                spreadsheet_text(r["mapped_by"]),
            ]


async def _ledger_rows(seller_id: str, page_size: int) -> AsyncIterator[list[str]]:
    def query(after: int) -> Any:
        return SyncedSubscription.filter(seller_id=seller_id, id__gt=after)

    fields = (
        "subscription__external_id",
        "subscription__name",
        "subscription__organization__external_id",
        "subscription__organization__name",
        "halo_client_id",
        "halo_licence_id",
        "state",
        "written_at",
        "last_run_id",
        "subscription__status",
        "subscription__quantity",
        "subscription__cost_price",
        "subscription__customer_price",
        "subscription__currency",
        "subscription__billing_cycle",
        "subscription__term_duration",
        "subscription__deleted_at",
        "payload_hash",
        "intent_hash",
        "intent",
    )

    async for page in _pages(query, fields, page_size):
        for r in page:
            # The intent is what HaloPSA confirmed only while its hash is the confirmed one.
            confirmed = r["payload_hash"] and r["payload_hash"] == r["intent_hash"]
            sent = (r["intent"] if confirmed else None) or {}
            yield [
                spreadsheet_text(r["subscription__external_id"]),
                spreadsheet_text(r["subscription__name"]),
                spreadsheet_text(r["subscription__organization__external_id"]),
                spreadsheet_text(r["subscription__organization__name"]),
                str(r["halo_client_id"]),
                _optional(r["halo_licence_id"]),
                LedgerState(r["state"]).value,
                _time(r["written_at"]),
                _optional(r["last_run_id"]),
                spreadsheet_text(r["subscription__status"]),
                str(r["subscription__quantity"]),
                _money(r["subscription__cost_price"]),
                _money(r["subscription__customer_price"]),
                r["subscription__currency"],
                spreadsheet_text(r["subscription__billing_cycle"]),
                spreadsheet_text(r["subscription__term_duration"]),
                _time(r["subscription__deleted_at"]),
                _optional(sent.get("count")),
                _optional(sent.get("purchase_price")),
                _optional(sent.get("price")),
            ]


def _optional(value: Any) -> str:
    return "" if value is None else str(value)


def _time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _money(value: Decimal | str | None) -> str:
    """Cents when the amount has none beyond them (12.50), else its exact digits (33.3333)."""
    if value is None:
        return ""
    amount = Decimal(value)
    cents = amount.quantize(Decimal("0.01"))
    return f"{cents:f}" if cents == amount else f"{amount.normalize():f}"
