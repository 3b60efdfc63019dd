"""Plain records parsed from (or sent as) HaloPSA JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gateway.halopsa.errors import HaloRecordRejected


@dataclass(frozen=True, slots=True)
class HaloCredentials:
    client_id: str
    client_secret: str
    resource_server: str
    authorization_server: str
    tenant: str | None = None

    def __repr__(self) -> str:  # never show the secret
        return (
            f"HaloCredentials(client_id={self.client_id!r}, resource_server="
            f"{self.resource_server!r}, tenant={self.tenant!r})"
        )


@dataclass(frozen=True, slots=True)
class ClientRecord:
    id: int
    name: str
    inactive: bool
    toplevel_name: str | None = None
    ref: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientRecord:
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or ""),
            inactive=bool(data.get("inactive", False)),
            toplevel_name=data.get("toplevel_name"),
            ref=data.get("ref"),
        )


def _day(value: Any) -> date | None:
    if not value:
        return None
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)[:19]).date()


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True, slots=True)
class LicenceRecord:
    id: int
    client_id: int
    name: str
    start_date: date | None
    end_date: date | None
    count: int
    billing_cycle: str | None
    term_duration: str | None
    status: str | None
    is_active: bool
    purchase_price: Decimal | None
    price: Decimal | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LicenceRecord:
        return cls(
            id=int(data["id"]),
            client_id=int(data.get("client_id") or 0),
            name=str(data.get("name") or ""),
            start_date=_day(data.get("start_date")),
            end_date=_day(data.get("end_date")),
            count=int(data.get("count") or 0),
            billing_cycle=data.get("billing_cycle"),
            term_duration=data.get("term_duration"),
            status=data.get("status"),
            is_active=bool(data.get("is_active", True)),
            purchase_price=_money(data.get("purchase_price")),
            price=_money(data.get("price")),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class LicencePage:
    """One page of the instance's licence list, with the total HaloPSA gave on it (a total
    that moves between pages means licences were added or deleted during the read)."""

    page_no: int
    record_count: int | None  # None: HaloPSA did not say
    licences: list[LicenceRecord]


@dataclass(frozen=True, slots=True)
class LicenceWrite:
    """One element of a SoftwareLicence POST array: no ``id`` creates, an ``id`` updates."""

    id: int | None
    client_id: int
    name: str
    start_date: date | None
    end_date: date | None
    count: int
    billing_cycle: str
    term_duration: str
    status: str
    is_active: bool
    purchase_price: Decimal
    price: Decimal

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "client_id": self.client_id,
            "name": self.name,
            # HaloPSA takes ISO date-times without an offset.
            "start_date": f"{self.start_date.isoformat()}T00:00:00" if self.start_date else None,
            "end_date": f"{self.end_date.isoformat()}T00:00:00" if self.end_date else None,
            "count": self.count,
            "billing_cycle": self.billing_cycle,
            "term_duration": self.term_duration,
            "status": self.status,
            "is_active": self.is_active,
            # Arithmetic stays in Decimal; a JSON number is only the transport. Prices have
            # at most 4 decimals and 15 significant digits, which float repr keeps exactly.
            "purchase_price": float(self.purchase_price),
            "price": float(self.price),
        }
        if self.id is not None:
            body["id"] = self.id
        return body


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    index: int
    licence_id: int | None
    error: HaloRecordRejected | None = None


@dataclass(slots=True)
class CallStats:
    calls: int = 0
    rate_limited: int = 0
    retries: int = 0
    wait_seconds: float = 0.0
