"""The safety valve: a subscriptions run that would cut too much waits for the seller's approval.

A bad run — a platform export that lost half its rows, a price list loaded in the wrong
currency — would lower customers' seats, or deactivate their licences, before anyone saw it.
Before a run writes anything it asks the preview (``preview.py``, the push's own decisions)
what it is about to do, and stops in ``NEEDS_APPROVAL`` when, within the run's scope, it would

* lower the **seats** of active licences by more than ``max_drop_percent`` of the seller's
  total seats in HaloPSA, or
* lower the **monthly value** (customer price, normalised by ``money.py``: unit × count for
  unit prices, Annual ÷ 12, Quarterly ÷ 3 — so turning unit prices on moves no value) by more
  than that share of the seller's total in any currency, or
* **deactivate** more than ``max_deactivations`` licences (active → inactive).

Licences whose current values the ledger does not know are left out of both sides (never
guessed). The verdict carries the plan's hash: ``approveSync`` runs the plan it saw, and a
plan whose hash changed meanwhile is checked — and held — again.

Pure: takes a :class:`~gateway.services.sync.preview.SyncPreview`, no database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from gateway.services.sync.money import ZERO, cents
from gateway.services.sync.preview import OrganizationPreview, SubscriptionPreview, SyncPreview

# A fifth of the seller's seats or money in one run is far beyond a month's churn, and far
# below what a lost export or a wrong price list does.
DEFAULT_MAX_DROP_PERCENT = 20
# More licences than a large customer holds, deactivated by one run, is a mistake until a
# person says otherwise.
DEFAULT_MAX_DEACTIVATIONS = 50
MIN_DROP_PERCENT, MAX_DROP_PERCENT = 1, 100
MIN_DEACTIVATIONS, MAX_DEACTIVATIONS = 0, 100_000
# The largest drops a held run shows beside its totals (the full preview is one query away).
TOP_DROPS = 20


@dataclass(frozen=True, slots=True)
class ValveSettings:
    enabled: bool = True
    max_drop_percent: int = DEFAULT_MAX_DROP_PERCENT
    max_deactivations: int = DEFAULT_MAX_DEACTIVATIONS


@dataclass(slots=True)
class CurrencyValue:
    """Monthly customer price in one currency: the seller's total now, and the run's scope
    before and after (decimal strings to the cent)."""

    currency: str
    total: str
    before: str
    after: str


@dataclass(slots=True)
class Drop:
    """One subscription whose seats or monthly value the run lowers."""

    subscription_id: str
    name: str
    organization_id: str
    organization_name: str
    action: str
    seats_before: int
    seats_after: int
    currency: str
    monthly_price_before: str
    monthly_price_after: str


@dataclass(slots=True)
class Verdict:
    plan_hash: str
    tripped: bool
    # What tripped it: SEATS, VALUE (with the currencies), DEACTIVATIONS.
    reasons: list[str]
    max_drop_percent: int
    max_deactivations: int
    seats_total: int
    seats_before: int
    seats_after: int
    deactivations: int
    writes: int
    money: list[CurrencyValue] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        values = dict(data)
        values["money"] = [CurrencyValue(**m) for m in values.get("money", [])]
        values["drops"] = [Drop(**d) for d in values.get("drops", [])]
        return cls(**values)


def _seats(payload: dict[str, Any] | None) -> int:
    if not payload or not payload.get("is_active"):
        return 0
    return int(payload["count"])


def _active(payload: dict[str, Any] | None) -> bool:
    return bool(payload and payload.get("is_active"))


def _judged(sub: SubscriptionPreview) -> bool:
    """Its licence's values are known before and after (unknown ones are never guessed)."""
    return sub.money.unknown_before == 0 and sub.money.unknown_after == 0


def check(preview: SyncPreview, organization_id: int | None, settings: ValveSettings) -> Verdict:
    """The valve's verdict on the run of this scope (``tripped`` is False when disabled)."""
    seats_total = 0
    for org in preview.organizations:
        for sub in org.subscriptions:
            if _judged(sub):
                seats_total += _seats(sub.before if sub.before_known else None)
    seats_before = seats_after = deactivations = writes = 0
    value_before: dict[str, Decimal] = {}
    value_after: dict[str, Decimal] = {}
    drops: list[tuple[Decimal, int, Drop]] = []
    for org in preview.scope(organization_id):
        for sub in org.subscriptions:
            writes += sub.writes
            if not _judged(sub):
                continue
            before = sub.before if sub.before_known else None
            after = sub.after
            seats = (_seats(before), _seats(after))
            seats_before += seats[0]
            seats_after += seats[1]
            if _active(before) and not _active(after) and sub.writes:
                deactivations += 1
            price = (sub.money.before.price, sub.money.after.price)
            value_before[sub.currency] = value_before.get(sub.currency, ZERO) + price[0]
            value_after[sub.currency] = value_after.get(sub.currency, ZERO) + price[1]
            if seats[1] < seats[0] or price[1] < price[0]:
                drops.append((price[0] - price[1], seats[0] - seats[1], _drop(org, sub, seats)))
    limit = Decimal(settings.max_drop_percent) / 100
    reasons: list[str] = []
    if seats_total and seats_before - seats_after > limit * seats_total:
        reasons.append("SEATS")
    money: list[CurrencyValue] = []
    for currency in sorted(value_before):
        total = preview.money[currency].before.price if currency in preview.money else ZERO
        was, will = value_before[currency], value_after[currency]
        if total > 0 and was - will > limit * total:
            reasons.append(f"VALUE:{currency}")
        money.append(
            CurrencyValue(currency, f"{cents(total):f}", f"{cents(was):f}", f"{cents(will):f}")
        )
    if deactivations > settings.max_deactivations:
        reasons.append("DEACTIVATIONS")
    drops.sort(key=lambda d: (-d[0], -d[1], d[2].organization_name, d[2].subscription_id))
    return Verdict(
        plan_hash=preview.plan_hash(organization_id),
        tripped=settings.enabled and bool(reasons),
        reasons=reasons,
        max_drop_percent=settings.max_drop_percent,
        max_deactivations=settings.max_deactivations,
        seats_total=seats_total,
        seats_before=seats_before,
        seats_after=seats_after,
        deactivations=deactivations,
        writes=writes,
        money=money,
        drops=[d for _, _, d in drops[:TOP_DROPS]],
    )


def _drop(org: OrganizationPreview, sub: SubscriptionPreview, seats: tuple[int, int]) -> Drop:
    shown = sub.money.shown
    return Drop(
        subscription_id=sub.id,
        name=sub.name,
        organization_id=org.external_id,
        organization_name=org.name,
        action=sub.action.value,
        seats_before=seats[0],
        seats_after=seats[1],
        currency=sub.currency,
        monthly_price_before=shown.price_before,
        monthly_price_after=shown.price_after,
    )
