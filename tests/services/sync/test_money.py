"""What a licence in HaloPSA is worth per month (the preview's money): per billing cycle,
nothing for what is not billed, and the same money whether prices are totals or unit prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.services.sync.licences import licence_payload
from gateway.services.sync.money import (
    NOTHING,
    Monthly,
    cents,
    monthly_value,
    payload_monthly,
    prices_per_unit,
)
from tests.support.data import SubscriptionFields as Sub


def _value(**overrides) -> Monthly:
    values = {
        "count": 2,
        "purchase_price": Decimal("120.00"),
        "price": Decimal("240.00"),
        "billing_cycle": "Monthly",
        "is_active": True,
        "per_unit": False,
    }
    return monthly_value(**{**values, **overrides})


@pytest.mark.parametrize(
    ("cycle", "cost", "price"),
    [
        ("Monthly", "120.00", "240.00"),
        ("Quarterly", "40.0000", "80.0000"),
        ("Annual", "10.0000", "20.0000"),
    ],
)
def test_a_licence_is_valued_per_month_by_its_billing_cycle(
    cycle: str, cost: str, price: str
) -> None:
    assert _value(billing_cycle=cycle) == Monthly(Decimal(cost), Decimal(price))


@pytest.mark.parametrize(
    "overrides",
    [
        {"billing_cycle": "One-time"},
        {"billing_cycle": "Weekly"},
        {"is_active": False},
        {"count": 0},
    ],
    ids=["one-time", "unknown-cycle", "inactive", "count-zero"],
)
def test_what_is_not_billed_monthly_is_worth_nothing(overrides: dict) -> None:
    assert _value(**overrides) == NOTHING


def test_unit_prices_are_multiplied_by_the_count() -> None:
    assert _value(per_unit=True) == Monthly(Decimal("240.00"), Decimal("480.00"))


def test_a_monthly_amount_keeps_four_decimals_half_up() -> None:
    value = _value(price=Decimal("100.00"), billing_cycle="Annual")
    assert value.price == Decimal("8.3333")
    assert _value(price=Decimal("0.0006"), billing_cycle="Annual", count=1).price == Decimal(
        "0.0001"
    )


@pytest.mark.parametrize("cycle", ["Monthly", "Quarterly", "Annual"])
@pytest.mark.parametrize("quantity", [1, 3, 7])
def test_turning_unit_prices_on_changes_the_figures_not_the_money(
    cycle: str, quantity: int
) -> None:
    sub = Sub(quantity=quantity, billing_cycle=cycle, customer_price=Decimal("100.00"))
    totals = licence_payload(sub, 1, unit_prices=False)
    units = licence_payload(sub, 1, unit_prices=True)
    assert (prices_per_unit(totals), prices_per_unit(units)) == (False, True)
    as_totals, as_units = payload_monthly(totals), payload_monthly(units)
    assert cents(as_totals.price) == cents(as_units.price)
    assert cents(as_totals.cost) == cents(as_units.cost)


def test_monthly_amounts_add_up_as_values() -> None:
    one = Monthly(Decimal("1.5"), Decimal("2"))
    assert one + one == Monthly(Decimal("3.0"), Decimal("4"))
    assert one == Monthly(Decimal("1.5"), Decimal("2"))  # unchanged by the sum
