"""Platform data in: bulk, idempotent upserts and soft deletes of organisations and subscriptions.

Integrators (and the platform) push their records keyed by their own ids. Every call is
validated field by field first — all problems are reported, each naming the item's index and
field — and written in one transaction, so a call with one bad item writes nothing. Sending
the same batch twice changes nothing (unchanged rows are not touched). Deletes are soft
(``deleted_at``) so the next sync knows; upserting a deleted id brings it back.

The validators (``validate_*``) and the write path (``write_*``) are public because
``halo-gateway import`` (:mod:`gateway.services.bulk_import`) streams files through the very
same checks and transactions, one chunk of ``MAX_ITEMS_PER_CALL`` at a time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from gateway.db import current_connection_name
from gateway.errors import BadUserInput
from gateway.models import Organization, Seller, Subscription
from gateway.services import upsert_sql

# Items per call: a page of the platform's export; bigger batches go through the CLI import.
MAX_ITEMS_PER_CALL = 1000
# Rows per INSERT statement: 12 columns x 200 rows stays far below SQLite's 32,766 bound
# parameters and PostgreSQL's 32,767.
BULK_INSERT_BATCH = 200
ORGANIZATION_STATUSES = ("ACTIVE", "SUSPENDED", "INACTIVE", "PENDING")
SUBSCRIPTION_STATUSES = ("ACTIVE", "SUSPENDED", "CANCELLED", "PENDING", "EXPIRED")
BILLING_CYCLES = ("Monthly", "Annual", "Quarterly", "One-time")
TERM_DURATIONS = ("1 Month", "1 Year", "2 Years", "3 Years", "None")
MAX_PRICE = Decimal("1000000000")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# An amount that needs no further check: digits, at most 4 decimals, below MAX_PRICE, no
# blanks. Nearly every amount looks like this; the rest goes through Decimal's full checks.
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,4})?")


# The items are what a mutation's input (or an import's row) says, before any check. Not
# frozen: a frozen dataclass sets each field through object.__setattr__, and building one
# cost ~6 µs where these take ~0.5 (``halo-gateway import`` builds one per row). Nothing
# changes an item after it is built.
@dataclass(slots=True)
class OrganizationItem:
    id: str
    name: str
    reference: str
    status: str


@dataclass(slots=True)
class SubscriptionItem:
    id: str
    organization_id: str
    name: str
    start_date: str | None
    end_date: str | None
    quantity: int
    billing_cycle: str
    term_duration: str
    status: str
    cost_price: str
    customer_price: str
    currency: str = "USD"


@dataclass(frozen=True)
class UpsertResult:
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class Problem:
    """One invalid field of one item (``index`` counts from 0 within the call or chunk)."""

    index: int
    field: str
    message: str
    # The earlier item an id repeats: the CLI names it by line number, GraphQL by index.
    repeats: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Validated:
    """The validators' output: storable values aligned with the items, and every problem.

    ``rows[i]`` is only meaningful when no problem names index ``i``.
    """

    rows: list[dict[str, Any]]
    problems: list[Problem]

    @property
    def bad_indexes(self) -> set[int]:
        return {p.index for p in self.problems}


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, index: int, field: str, message: str, repeats: int | None = None) -> None:
        self.items.append(Problem(index, field, message, repeats))


def _raise_if_any(problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        raise BadUserInput(
            f"Item {first.index}, {first.field}: {first.message}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            field=first.field,
            index=first.index,
            problems=[p.as_dict() for p in problems[:100]],
        )


def _check_size(items: Sequence[Any]) -> None:
    if not items:
        raise BadUserInput("Send at least one item.", field="input")
    if len(items) > MAX_ITEMS_PER_CALL:
        raise BadUserInput(
            f"At most {MAX_ITEMS_PER_CALL} items per call.", field="input", limit=MAX_ITEMS_PER_CALL
        )


def _text(problems: _Problems, i: int, field: str, value: str, maximum: int) -> str:
    value = (value or "").strip()
    if not value:
        problems.add(i, field, "is required")
    elif len(value) > maximum:
        problems.add(i, field, f"is longer than {maximum} characters")
    return value


class _Choices:
    """An enum's options by the spellings the validators accept (any case, blanks around).

    One dict lookup for the usual value (the option as written, or lower case); only other
    values are stripped and lowered first. Imports check millions of them.
    """

    def __init__(self, options: tuple[str, ...]) -> None:
        self.options = options
        self._by_spelling = {o.lower(): o for o in options} | {o: o for o in options}

    def canonical(self, value: str) -> str | None:
        by_spelling = self._by_spelling
        return by_spelling.get(value) or by_spelling.get(value.strip().lower())


_ORGANIZATION_STATUS = _Choices(ORGANIZATION_STATUSES)
_SUBSCRIPTION_STATUS = _Choices(SUBSCRIPTION_STATUSES)
_BILLING_CYCLE = _Choices(BILLING_CYCLES)
_TERM_DURATION = _Choices(TERM_DURATIONS)


def _choice(problems: _Problems, i: int, field: str, value: str, allowed: _Choices) -> str:
    option = allowed.canonical(value)
    if option is None:
        problems.add(i, field, f"must be one of {', '.join(allowed.options)}")
        return value
    return option


def _date(problems: _Problems, i: int, field: str, value: str | None) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.add(i, field, "must be an ISO date (YYYY-MM-DD)")
        return None


def _money(problems: _Problems, i: int, field: str, value: str) -> Decimal:
    if type(value) is str and _PLAIN_AMOUNT.fullmatch(value):
        return Decimal(value)
    try:
        amount = Decimal(value.strip())
    except (InvalidOperation, AttributeError):
        problems.add(i, field, "must be a decimal amount like 12.50")
        return Decimal(0)
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        problems.add(i, field, "must be between 0 and 1,000,000,000")
        return Decimal(0)
    exponent = amount.as_tuple().exponent  # an int for a finite amount ("n"/"F" otherwise)
    if isinstance(exponent, int) and exponent < -4:
        problems.add(i, field, "has more than 4 decimal places")
    return amount


def _duplicates(problems: _Problems, ids: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, item_id in enumerate(ids):
        if item_id in seen:
            problems.add(i, "id", f"repeats item {seen[item_id]}", repeats=seen[item_id])
        seen.setdefault(item_id, i)


async def upsert_organizations(seller_id: str, items: Sequence[OrganizationItem]) -> UpsertResult:
    _check_size(items)
    checked = validate_organizations(items)
    _raise_if_any(checked.problems)
    return await write_organizations(seller_id, checked.rows)


async def upsert_subscriptions(seller_id: str, items: Sequence[SubscriptionItem]) -> UpsertResult:
    _check_size(items)
    checked = await validate_subscriptions(seller_id, items)
    _raise_if_any(checked.problems)
    return await write_subscriptions(seller_id, checked.rows)


def validate_organizations(items: Sequence[OrganizationItem]) -> Validated:
    """Field-by-field checks shared by ``upsertOrganizations`` and ``halo-gateway import``."""
    problems = _Problems()
    clean: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        clean.append(
            {
                "external_id": _text(problems, i, "id", item.id, 128),
                "name": _text(problems, i, "name", item.name, 255),
                "reference": _text(problems, i, "reference", item.reference, 128),
                "status": _choice(problems, i, "status", item.status, _ORGANIZATION_STATUS),
            }
        )
    _duplicates(problems, [c["external_id"] for c in clean])
    return Validated(clean, problems.items)


async def validate_subscriptions(seller_id: str, items: Sequence[SubscriptionItem]) -> Validated:
    """Field-by-field checks shared by ``upsertSubscriptions`` and ``halo-gateway import``;
    one query resolves the organisations the items name."""
    named = list({item.organization_id for item in items})
    async with in_transaction(current_connection_name()) as conn:
        await _plan_for_these_values(conn)
        if conn.capabilities.dialect == "postgres":
            orgs = await upsert_sql.live_ids(conn, Organization, seller_id, named)
        else:
            orgs = dict(
                await Organization.filter(
                    seller_id=seller_id, deleted_at__isnull=True, external_id__in=named
                ).values_list("external_id", "id")
            )
    return check_subscriptions(items, orgs)


def check_subscriptions(items: Sequence[SubscriptionItem], orgs: dict[str, int]) -> Validated:
    """The checks of ``validate_subscriptions`` once the organisations are known (their
    platform id -> our id): pure, and what an import spends most of its time on."""
    problems = _Problems()
    clean: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        org_id = orgs.get(item.organization_id)
        if org_id is None:
            problems.add(i, "organizationId", "is not a known organization")
        start = _date(problems, i, "startDate", item.start_date)
        end = _date(problems, i, "endDate", item.end_date)
        if start and end and end < start:
            problems.add(i, "endDate", "is before startDate")
        if item.quantity < 0:
            problems.add(i, "quantity", "must not be negative")
        currency = (item.currency or "").strip().upper()
        if not _CURRENCY.match(currency):
            problems.add(i, "currency", "must be a 3-letter ISO 4217 code")
        clean.append(
            {
                "external_id": _text(problems, i, "id", item.id, 128),
                "organization_id": org_id,
                "name": _text(problems, i, "name", item.name, 255),
                "start_date": start,
                "end_date": end,
                "quantity": item.quantity,
                "billing_cycle": _choice(
                    problems, i, "billingCycle", item.billing_cycle, _BILLING_CYCLE
                ),
                "term_duration": _choice(
                    problems, i, "termDuration", item.term_duration, _TERM_DURATION
                ),
                "status": _choice(problems, i, "status", item.status, _SUBSCRIPTION_STATUS),
                "cost_price": _money(problems, i, "costPrice", item.cost_price),
                "customer_price": _money(problems, i, "customerPrice", item.customer_price),
                "currency": currency,
            }
        )
    _duplicates(problems, [c["external_id"] for c in clean])
    return Validated(clean, problems.items)


async def prepare_subscription_checks() -> None:
    """Before many chunks of subscriptions are checked (an import): on PostgreSQL, current
    statistics for the organisations they are looked up in (``upsert_sql.analyze_if_stale``)."""
    conn = connections.get(current_connection_name())
    if conn.capabilities.dialect == "postgres":
        await upsert_sql.analyze_if_stale(conn, Organization)


async def write_organizations(
    seller_id: str, rows: list[dict[str, Any]], *, apply: bool = True
) -> UpsertResult:
    """Store validated rows in one transaction (``apply=False`` only counts, for a dry run)."""
    if apply:
        await Seller.get_or_create(id=seller_id)
    return await _write(Organization, seller_id, rows, apply=apply)


async def write_subscriptions(
    seller_id: str, rows: list[dict[str, Any]], *, apply: bool = True
) -> UpsertResult:
    """Store validated rows in one transaction (``apply=False`` only counts, for a dry run)."""
    return await _write(Subscription, seller_id, rows, apply=apply)


async def delete_organizations(seller_id: str, ids: Sequence[str]) -> int:
    _check_size(ids)
    now = datetime.now(UTC)
    async with in_transaction(current_connection_name()):
        org_ids = await Organization.filter(
            seller_id=seller_id, external_id__in=list(ids), deleted_at__isnull=True
        ).values_list("id", flat=True)
        await Subscription.filter(
            organization_id__in=list(org_ids), deleted_at__isnull=True
        ).update(deleted_at=now)
        return await Organization.filter(id__in=list(org_ids)).update(deleted_at=now)


async def delete_subscriptions(seller_id: str, ids: Sequence[str]) -> int:
    _check_size(ids)
    return await Subscription.filter(
        seller_id=seller_id, external_id__in=list(ids), deleted_at__isnull=True
    ).update(deleted_at=datetime.now(UTC))


async def _write(
    model: Any, seller_id: str, clean: list[dict[str, Any]], *, apply: bool = True
) -> UpsertResult:
    """One transaction: create the new, update the changed (reviving deleted), skip the same.

    With ``apply=False`` the same decisions are counted and nothing is written.
    """
    created = updated = unchanged = 0
    if not clean:
        return UpsertResult(0, 0, 0)
    new = []
    async with in_transaction(current_connection_name()) as conn:
        if apply and conn.capabilities.dialect == "postgres":
            # The same decisions in one statement (upsert_sql.py): ~6x the rows per second.
            return UpsertResult(*await upsert_sql.upsert(conn, model, seller_id, clean))
        await _plan_for_these_values(conn)
        existing = {
            row.external_id: row
            for row in await model.filter(
                seller_id=seller_id, external_id__in=[c["external_id"] for c in clean]
            )
        }
        for values in clean:
            row = existing.get(values["external_id"])
            if row is None:
                new.append(model(seller_id=seller_id, **values))
                created += 1
            elif _differs(row, values) or row.deleted_at is not None:
                if apply:
                    for key, value in values.items():
                        setattr(row, key, value)
                    row.deleted_at = None
                    await row.save()
                updated += 1
            else:
                unchanged += 1
        if new and apply:
            # One multi-row INSERT instead of a round trip per row (ids are validated unique).
            await model.bulk_create(new, batch_size=BULK_INSERT_BATCH)
    return UpsertResult(created, updated, unchanged)


async def _plan_for_these_values(conn: Any) -> None:
    """PostgreSQL: plan this transaction's lookups for the ids they carry.

    ``external_id IN ($2 … $1001)`` is a prepared statement; from its 6th run PostgreSQL may
    switch to a generic plan, which cannot hash the list: every row of the seller is then
    compared with each of the 1,000 ids. While the planner's statistics still think a new
    seller is small (autovacuum has not analysed a table that grew by 100,000 rows in
    minutes) that plan scans all of the seller's rows: measured 5 ms with a custom plan,
    700 ms with the generic one at 20,000 rows, and a 100,000-row import went quadratic
    (216 s instead of 8). ``SET LOCAL`` ends with the transaction.
    """
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script("SET LOCAL plan_cache_mode = force_custom_plan")


def _differs(row: Any, values: dict[str, Any]) -> bool:
    for key, value in values.items():
        current = getattr(row, key)
        if isinstance(value, Decimal) and current is not None:
            if Decimal(current) != value:
                return True
        elif current != value:
            return True
    return False
