"""What a licence in HaloPSA is worth per month: the preview's money, and its tests' oracle.

A licence holds a count and two prices, which are either the subscription's totals or unit
prices ("Sync unit prices to HaloPSA"). Its value is what the seller bills with it:

* **unit prices**: price × count; **totals**: the price itself — so turning unit prices on
  changes the figures HaloPSA holds, not the money (100.00 for 3 seats is 33.3333 × 3 =
  99.9999, which an invoice shows as 100.00);
* **nothing** for an inactive licence (deleted, cancelled, suspended…) or a count of 0 (the
  reason the push sends count 0 when a quantity drops to zero);
* **per month**: Monthly as is, Quarterly ÷ 3, Annual ÷ 12; One-time (and any cycle we do
  not know) is not a monthly amount and counts 0.

Per licence the monthly amount keeps 4 decimals (half-up); sums are rounded to cents once,
at the end, so a thousand ÷ 12s do not drift by cents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gateway.services.sync.licences import MONEY_QUANTUM, UNIT_PRICE_QUANTUM

# Months one billing period covers. Anything else (One-time) is not recurring.
MONTHS_PER_CYCLE: Mapping[str, int] = {"Monthly": 1, "Quarterly": 3, "Annual": 12}
# Precision of one licence's monthly amount (the unit prices' own), before sums are rounded.
MONTHLY_QUANTUM = UNIT_PRICE_QUANTUM
ZERO = Decimal(0)
_UNIT_DECIMALS = -int(UNIT_PRICE_QUANTUM.as_tuple().exponent)


@dataclass(slots=True)  # not frozen: 20,000 frozen inits cost a tenth of a preview
class Monthly:
    """A licence's (or a sum of licences') monthly cost and customer price. Treated as a
    value: ``+`` makes a new one, nothing changes one in place."""

    cost: Decimal = ZERO
    price: Decimal = ZERO

    def __add__(self, other: Monthly) -> Monthly:
        return Monthly(self.cost + other.cost, self.price + other.price)


NOTHING = Monthly()


def monthly_value(
    *,
    count: int,
    purchase_price: Decimal,
    price: Decimal,
    billing_cycle: str,
    is_active: bool,
    per_unit: bool,
) -> Monthly:
    months = MONTHS_PER_CYCLE.get(billing_cycle)
    if not is_active or count == 0 or months is None:
        return NOTHING
    if per_unit:
        purchase_price, price = purchase_price * count, price * count
    return Monthly(_per_month(purchase_price, months), _per_month(price, months))


def payload_monthly(payload: Mapping[str, Any]) -> Monthly:
    """The monthly value of a licence as the ledger records it (a licence payload)."""
    return monthly_value(
        count=payload["count"],
        purchase_price=Decimal(payload["purchase_price"]),
        price=Decimal(payload["price"]),
        billing_cycle=payload["billing_cycle"],
        is_active=payload["is_active"],
        per_unit=prices_per_unit(payload),
    )


def prices_per_unit(payload: Mapping[str, Any]) -> bool:
    """Were this payload's prices sent as unit prices?

    ``licence_payload`` writes unit prices with 4 decimals and totals with 2, always, so the
    payload says which it holds without a flag (a flag in the payload would change every
    ledger hash and resend every licence once).
    """
    return len(payload["price"].rpartition(".")[2]) == _UNIT_DECIMALS


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def _per_month(amount: Decimal, months: int) -> Decimal:
    return (amount / months).quantize(MONTHLY_QUANTUM, rounding=ROUND_HALF_UP)
