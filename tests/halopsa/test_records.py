"""HaloPSA JSON in and out: what a licence write sends and what a licence read gives back."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from gateway.halopsa import ClientRecord, HaloCredentials, LicenceRecord, LicenceWrite


def _write(**overrides) -> LicenceWrite:
    values = {
        "id": None,
        "client_id": 7,
        "name": "Microsoft 365 E3",
        "start_date": date(2026, 1, 1),
        "end_date": date(2026, 12, 31),
        "count": 12,
        "billing_cycle": "Monthly",
        "term_duration": "1 Year",
        "status": "ACTIVE",
        "is_active": True,
        "purchase_price": Decimal("21.4567"),
        "price": Decimal("36.0000"),
    }
    return LicenceWrite(**{**values, **overrides})


def test_a_create_sends_no_id_and_an_update_sends_its_licence_id() -> None:
    assert "id" not in _write().to_json()
    assert _write(id=501).to_json()["id"] == 501


def test_dates_are_sent_as_date_times_without_an_offset_and_absent_ones_as_null() -> None:
    body = _write(end_date=None).to_json()
    assert (body["start_date"], body["end_date"]) == ("2026-01-01T00:00:00", None)


@pytest.mark.parametrize("price", ["0.0001", "21.4567", "999999999.9999", "123456789012.34"])
def test_prices_survive_the_json_number_and_come_back_exact(price: str) -> None:
    sent = _write(id=501, purchase_price=Decimal(price), price=Decimal(price)).to_json()
    read = LicenceRecord.from_json(json.loads(json.dumps(sent)))
    assert read.purchase_price == read.price == Decimal(price)


def test_a_licence_read_back_holds_what_was_written() -> None:
    written = _write(id=501)
    read = LicenceRecord.from_json(json.loads(json.dumps(written.to_json())))
    assert (read.id, read.client_id, read.name, read.count) == (501, 7, "Microsoft 365 E3", 12)
    assert (read.start_date, read.end_date) == (written.start_date, written.end_date)
    assert (read.billing_cycle, read.term_duration, read.status, read.is_active) == (
        "Monthly",
        "1 Year",
        "ACTIVE",
        True,
    )


def test_a_licence_with_fields_left_out_reads_as_empty_not_as_an_error() -> None:
    read = LicenceRecord.from_json({"id": "9", "start_date": "2026-03-04T10:11:12.123Z"})
    assert (read.id, read.client_id, read.name, read.count) == (9, 0, "", 0)
    assert read.start_date == date(2026, 3, 4) and read.end_date is None
    assert read.purchase_price is None and read.price is None and read.is_active


def test_a_client_reads_its_name_state_and_top_level() -> None:
    record = ClientRecord.from_json(
        {"id": "3", "name": "Acme Ltd", "inactive": True, "toplevel_name": "Europe"}
    )
    assert record == ClientRecord(3, "Acme Ltd", True, "Europe", None)
    assert ClientRecord.from_json({"id": 4, "name": None}).name == ""


def test_credentials_never_show_the_secret() -> None:
    credentials = HaloCredentials("cid", "the-secret-9999", "https://h/api", "https://h/auth")
    assert "the-secret-9999" not in repr(credentials) and "the-secret-9999" not in str(credentials)
