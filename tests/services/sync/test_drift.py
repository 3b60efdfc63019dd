"""How one licence differs from what we wrote (gateway/services/sync/drift.py): pure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from gateway.halopsa import LicenceRecord
from gateway.models import DriftKind
from gateway.services.sync.drift import classify
from gateway.services.sync.licences import licence_payload

# A subscription's fields, as licence_payload reads them.
OURS_SUB = SimpleNamespace(
    id=1,
    external_id="s1",
    organization_id=1,
    name="M365 E3",
    quantity=10,
    billing_cycle="Monthly",
    term_duration="1 Year",
    status="ACTIVE",
    cost_price=Decimal("180.00"),
    customer_price=Decimal("220.00"),
    currency="USD",
    start_date=date(2026, 1, 1),
    end_date=date(2026, 12, 31),
    deleted_at=None,
)


def as_halopsa_lists_it(payload: dict, **changed) -> LicenceRecord:
    """The licence as HaloPSA's JSON gives it back: date-times, numbers as floats."""
    body = {
        "id": 7,
        **payload,
        "start_date": f"{payload['start_date']}T00:00:00",
        "end_date": f"{payload['end_date']}T00:00:00",
        "purchase_price": float(payload["purchase_price"]),
        "price": float(payload["price"]),
        **changed,
    }
    return LicenceRecord.from_json(body)


def test_a_licence_holding_what_we_wrote_has_no_drift_whatever_the_json_shapes() -> None:
    ours = licence_payload(OURS_SUB, 101, unit_prices=False)
    assert classify(ours, as_halopsa_lists_it(ours)) == (None, [])
    unit = licence_payload(OURS_SUB, 101, unit_prices=True)  # 4 decimals: 22.0000
    assert classify(unit, as_halopsa_lists_it(unit)) == (None, [])


def test_edited_fields_are_listed_ours_to_theirs_in_our_notation() -> None:
    ours = licence_payload(OURS_SUB, 101, unit_prices=False)
    kind, changes = classify(
        ours,
        as_halopsa_lists_it(
            ours, count=12, price=250.5, end_date="2027-06-30T00:00:00", client_id=102
        ),
    )
    assert kind is DriftKind.EDITED
    assert [(c.field, c.ours, c.theirs) for c in changes] == [
        ("count", 10, 12),
        ("price", "220.00", "250.50"),
        ("end_date", "2026-12-31", "2027-06-30"),
        ("client_id", 101, 102),
    ]


def test_a_deactivated_licence_is_its_own_kind_with_every_other_change() -> None:
    ours = licence_payload(OURS_SUB, 101, unit_prices=False)
    kind, changes = classify(ours, as_halopsa_lists_it(ours, is_active=False, status="Cancelled"))
    assert kind is DriftKind.DEACTIVATED
    assert [c.field for c in changes] == ["status", "is_active"]


def test_a_licence_we_wrote_inactive_and_someone_reactivated_is_an_edit() -> None:
    ours = {**licence_payload(OURS_SUB, 101, unit_prices=False), "is_active": False}
    kind, changes = classify(ours, as_halopsa_lists_it(ours, is_active=True))
    assert (kind, [c.field for c in changes]) == (DriftKind.EDITED, ["is_active"])


def test_a_price_with_more_decimals_than_ours_is_shown_as_halopsa_holds_it() -> None:
    ours = licence_payload(OURS_SUB, 101, unit_prices=False)
    _, changes = classify(ours, as_halopsa_lists_it(ours, price=219.995))
    assert [(c.field, c.theirs) for c in changes] == [("price", "219.995")]


def test_nothing_is_said_when_the_ledger_does_not_know_what_halopsa_should_hold() -> None:
    ours = licence_payload(OURS_SUB, 101, unit_prices=False)
    assert classify(None, as_halopsa_lists_it(ours, count=99)) == (None, [])
