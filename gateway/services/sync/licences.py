"""What HaloPSA should hold for a subscription: payload, hash, unit price, match.

Pure functions, tested without a database.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from gateway.halopsa import (
    LicenceWrite,
)
from gateway.models import (
    Subscription,
)

# reproduces the total to the cent on an invoice (README "Unit prices").
UNIT_PRICE_QUANTUM = Decimal("0.0001")
MONEY_QUANTUM = Decimal("0.01")
# The fields of a licence payload a person reads as changes, in the order shown (client_id is
# the organisation's, shown with it).
LICENCE_FIELDS = (
    "name",
    "count",
    "purchase_price",
    "price",
    "billing_cycle",
    "term_duration",
    "start_date",
    "end_date",
    "status",
    "is_active",
)


def iso_day(value: Any) -> str | None:
    """A date as a payload holds it (``2026-01-01``), from a date, a date-time or HaloPSA's
    ``2026-01-01T00:00:00``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def as_money(value: Any) -> Decimal | None:
    """An amount from a payload's string or HaloPSA's JSON number (None if not one)."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def unit_price(total: Decimal, quantity: int) -> Decimal:
    return (total / quantity).quantize(UNIT_PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def licence_payload(sub: Subscription, halo_client_id: int, unit_prices: bool) -> dict[str, Any]:
    """What HaloPSA should hold for this subscription (also what the hash is taken of)."""
    cost, price = Decimal(sub.cost_price), Decimal(sub.customer_price)
    if unit_prices and sub.quantity > 0:
        cost, price = unit_price(cost, sub.quantity), unit_price(price, sub.quantity)
    else:
        cost, price = cost.quantize(MONEY_QUANTUM), price.quantize(MONEY_QUANTUM)
    deleted = sub.deleted_at is not None
    status = "DELETED" if deleted else sub.status
    return {
        "client_id": halo_client_id,
        "name": sub.name,
        "start_date": sub.start_date.isoformat() if sub.start_date else None,
        "end_date": sub.end_date.isoformat() if sub.end_date else None,
        "count": sub.quantity,
        "billing_cycle": sub.billing_cycle,
        "term_duration": sub.term_duration,
        "status": status,
        "is_active": not deleted and status.upper() == "ACTIVE",
        "purchase_price": str(cost),
        "price": str(price),
    }


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def to_licence_write(payload: dict[str, Any], licence_id: int | None) -> LicenceWrite:
    return LicenceWrite(
        id=licence_id,
        client_id=payload["client_id"],
        name=payload["name"],
        start_date=date.fromisoformat(payload["start_date"]) if payload["start_date"] else None,
        end_date=date.fromisoformat(payload["end_date"]) if payload["end_date"] else None,
        count=payload["count"],
        billing_cycle=payload["billing_cycle"],
        term_duration=payload["term_duration"],
        status=payload["status"],
        is_active=payload["is_active"],
        purchase_price=Decimal(payload["purchase_price"]),
        price=Decimal(payload["price"]),
    )


def licence_matches(licence: Any, payload: dict[str, Any]) -> bool:
    """Does a licence found in HaloPSA hold exactly what an intent was about to send?"""
    return (
        licence.name == payload["name"]
        and int(licence.count) == payload["count"]
        and iso_day(licence.start_date) == payload["start_date"]
        and iso_day(licence.end_date) == payload["end_date"]
        and as_money(licence.purchase_price) == Decimal(payload["purchase_price"])
        and as_money(licence.price) == Decimal(payload["price"])
    )
