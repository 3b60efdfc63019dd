"""Drift of one licence: how what HaloPSA holds differs from what this integration last wrote.

Pure functions, tested without a database. "Ours" is the payload HaloPSA last confirmed for
the licence (the ledger keeps it: ``SyncedSubscription.intent`` while its hash is the confirmed
``payload_hash``); "theirs" is the licence as HaloPSA lists it now. Values are compared as the
payload holds them (money as ``Decimal``, dates as ISO days), so ``180.0`` from HaloPSA's JSON
equals the ``"180.00"`` we sent, and shown the same way on both sides.

    ours known?   theirs is_active   fields differ   →  kind
    no            —                  —               →  nothing to say (the ledger does not know)
    yes           False, ours True   any             →  DEACTIVATED (with every field that differs)
    yes           otherwise          yes             →  EDITED
    yes           otherwise          no              →  no drift
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.models import DriftKind
from gateway.services.sync.licences import LICENCE_FIELDS, as_money, iso_day

# The licence fields compared, in the order they are shown. ``client_id`` last: a licence
# moved to another HaloPSA client by hand.
DRIFT_FIELDS = (*LICENCE_FIELDS, "client_id")
_MONEY_FIELDS = frozenset({"purchase_price", "price"})
_DATE_FIELDS = frozenset({"start_date", "end_date"})


@dataclass(frozen=True, slots=True)
class DriftChange:
    """One field: what we wrote → what HaloPSA holds now (payload-style values)."""

    field: str
    ours: Any
    theirs: Any

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "ours": self.ours, "theirs": self.theirs}


def _money_text(theirs: Decimal | None, ours: Any) -> str | None:
    """HaloPSA's amount written with as many decimals as ours, when that loses nothing."""
    if theirs is None:
        return None
    mine = as_money(ours)
    if mine is not None:
        exponent = mine.as_tuple().exponent
        if isinstance(exponent, int):
            quantum = Decimal(1).scaleb(exponent)
            if theirs == theirs.quantize(quantum):
                return str(theirs.quantize(quantum))
    return str(theirs)


def theirs_value(licence: Any, field: str) -> Any:
    """A licence's field as a payload holds it (``licence``: a ``LicenceRecord``)."""
    value = getattr(licence, field)
    if field in _DATE_FIELDS:
        return iso_day(value)
    if field == "count":
        return int(value or 0)
    if field == "client_id":
        return int(value or 0)
    if field == "is_active":
        return bool(value)
    return value


def same_value(field: str, ours: Any, theirs: Any) -> bool:
    """Do two values of a licence field mean the same (``180.0`` and ``"180.00"`` do)?"""
    if field in _MONEY_FIELDS:
        return as_money(ours) == as_money(theirs)
    if field in _DATE_FIELDS:
        return iso_day(ours) == iso_day(theirs)
    if field in ("count", "client_id"):
        return ours is not None and theirs is not None and int(ours) == int(theirs)
    return bool(ours == theirs)


def licence_changes(ours: dict[str, Any], licence: Any) -> list[DriftChange]:
    """Every compared field whose value in HaloPSA is not the one we wrote."""
    changes = []
    for field in DRIFT_FIELDS:
        mine = ours.get(field)
        theirs = theirs_value(licence, field)
        if same_value(field, mine, theirs):
            continue
        shown = _money_text(theirs, mine) if field in _MONEY_FIELDS else theirs
        changes.append(DriftChange(field, mine, shown))
    return changes


def classify(
    ours: dict[str, Any] | None, licence: Any
) -> tuple[DriftKind | None, list[DriftChange]]:
    """The drift of a licence this integration wrote (see the table above)."""
    if ours is None:
        return None, []
    changes = licence_changes(ours, licence)
    if not changes:
        return None, []
    deactivated = any(c.field == "is_active" and c.ours is True and not c.theirs for c in changes)
    return (DriftKind.DEACTIVATED if deactivated else DriftKind.EDITED), changes
