"""What HaloPSA should hold for a subscription: payload, hash, unit price, match. Pure: no
database, no HaloPSA."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from gateway.halopsa import LicenceRecord
from gateway.services.sync.licences import (
    licence_matches,
    licence_payload,
    payload_hash,
    to_licence_write,
    unit_price,
)
from gateway.services.sync.money import cents
from tests.support.data import SubscriptionFields as Sub


@pytest.mark.parametrize("total", ["100.00", "0.01", "999.99", "12345.67", "33.33"])
@pytest.mark.parametrize("quantity", range(1, 13))
def test_unit_prices_times_the_quantity_give_back_the_total_to_the_cent(
    total: str, quantity: int
) -> None:
    assert cents(unit_price(Decimal(total), quantity) * quantity) == Decimal(total)


def test_totals_are_sent_with_two_decimals_and_unit_prices_with_four() -> None:
    totals = licence_payload(Sub(), 7, unit_prices=False)
    units = licence_payload(Sub(), 7, unit_prices=True)
    assert (totals["purchase_price"], totals["price"]) == ("90.00", "100.00")
    assert (units["purchase_price"], units["price"]) == ("30.0000", "33.3333")
    assert totals["client_id"] == units["client_id"] == 7


def test_a_quantity_of_zero_sends_the_totals_even_with_unit_prices_on() -> None:
    payload = licence_payload(Sub(quantity=0), 7, unit_prices=True)
    assert (payload["count"], payload["price"]) == (0, "100.00")


def test_a_deleted_subscription_is_sent_deleted_and_inactive() -> None:
    payload = licence_payload(Sub(deleted_at=datetime(2026, 5, 1, tzinfo=UTC)), 7, False)
    assert (payload["status"], payload["is_active"]) == ("DELETED", False)


@pytest.mark.parametrize(
    ("status", "active"), [("ACTIVE", True), ("active", True), ("SUSPENDED", False)]
)
def test_only_an_active_subscription_is_an_active_licence(status: str, active: bool) -> None:
    assert licence_payload(Sub(status=status), 7, False)["is_active"] is active


def test_the_hash_changes_with_any_field_and_not_with_the_order_of_the_keys() -> None:
    payload = licence_payload(Sub(), 7, False)
    assert payload_hash(dict(reversed(payload.items()))) == payload_hash(payload)
    for changed in (Sub(quantity=4), Sub(name="E5"), Sub(end_date=None), Sub(status="PENDING")):
        assert payload_hash(licence_payload(changed, 7, False)) != payload_hash(payload)
    assert payload_hash(licence_payload(Sub(), 8, False)) != payload_hash(payload)


def test_a_write_holds_the_payload_and_an_update_its_licence_id() -> None:
    payload = licence_payload(Sub(), 7, True)
    write = to_licence_write(payload, 501)
    assert (write.id, write.client_id, write.count) == (501, 7, 3)
    assert (write.start_date, write.end_date) == (date(2026, 1, 1), date(2026, 12, 31))
    assert (write.purchase_price, write.price) == (Decimal("30.0000"), Decimal("33.3333"))
    assert to_licence_write(payload, None).id is None


def _read_back(payload: dict, **changes) -> LicenceRecord:
    """The licence as HaloPSA lists it after storing ``payload`` (its own id, date-times)."""
    stored = {**to_licence_write(payload, None).to_json(), "id": 9001, **changes}
    return LicenceRecord.from_json(stored)


def test_a_licence_holding_exactly_an_intent_matches_it() -> None:
    payload = licence_payload(Sub(), 7, True)
    assert licence_matches(_read_back(payload), payload)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Microsoft 365 E3 (typed by hand)"},
        {"count": 4},
        {"start_date": "2026-01-02T00:00:00"},
        {"end_date": None},
        {"purchase_price": 30.0001},
        {"price": 33.33},
    ],
)
def test_a_licence_differing_in_any_sent_value_does_not_match(changes: dict) -> None:
    payload = licence_payload(Sub(), 7, True)
    assert not licence_matches(_read_back(payload, **changes), payload)
