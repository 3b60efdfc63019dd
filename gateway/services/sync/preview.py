"""What the next subscriptions sync would do, and what it does to the money in HaloPSA.

Reads the platform's data and the ledger (a few queries; no HaloPSA call, nothing written)
and asks :func:`~gateway.services.sync.plan.plan_subscription` — the push's own decision —
what happens to every subscription: create, update (fields old → new), mark deleted,
unchanged, or skipped and why. Beside it, the money: the monthly cost and customer price
that HaloPSA holds for each subscription before and after the run (``money.py`` says how a
licence is valued), per organisation and in total, per currency.

What HaloPSA holds "before" is the payload it last confirmed (the ledger keeps it as the
intent whose hash is the confirmed hash). Where the ledger does not know it — HaloPSA refused
or never answered the last update — the licence is counted as unknown, not guessed.

The money of a subscription is that of *all* its licences this integration wrote: after a
remap the old client's licence stays in HaloPSA and goes on being billed, so it is in both
"before" and "after", and the new client's licence is added to "after".

Two things only HaloPSA can tell, so the preview says so instead of predicting them: an
intent left by a run that died (the push reads the client back first and may adopt the
licence instead of creating it: ``AWAITING_READBACK``) and a write HaloPSA refuses.

Hand edits in HaloPSA are known only from the latest drift check (``drift_report``): a
write to a licence that check found edited sends the platform's values over every edited
field ("platform wins"), and the preview lists them (``overwrites``: HaloPSA's value → the
one sent). An edit made since the check, or a licence the push wrote since, is not known.

Day one (``existing.py``): an organisation whose HaloPSA client held licences we did not
write waits for the seller's review; its subscriptions are skipped
(``EXISTING_LICENCES_TO_REVIEW``) and the review — those licences beside the subscriptions,
with suggested pairs — is attached to the organisation. A client never checked yet is not
known here (the check is HaloPSA's to answer, at the first push).

The safety valve (``valve.py``) judges the same preview, and :meth:`SyncPreview.plan_hash`
names the plan it judged.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.expressions import RawSQL

from gateway.errors import NotFound
from gateway.models import (
    LedgerState,
    Organization,
    OrganizationMapping,
    PsaOrganization,
    Seller,
    Subscription,
    SyncedSubscription,
)
from gateway.services.paging import Page, check_page
from gateway.services.sync import existing_review, journal
from gateway.services.sync.drift import same_value
from gateway.services.sync.drift_report import hand_edits
from gateway.services.sync.licences import LICENCE_FIELDS
from gateway.services.sync.money import NOTHING, Monthly, cents, payload_monthly
from gateway.services.sync.plan import Action, Decision, Reason, plan_subscription
from gateway.services.sync.runs import now_utc

# Fields of a licence payload shown as changes (client_id is the organisation's, shown there).
CHANGE_FIELDS = LICENCE_FIELDS
_SUB_FIELDS = (
    "id",
    "external_id",
    "organization_id",
    "name",
    "quantity",
    "billing_cycle",
    "term_duration",
    "status",
    "cost_price",
    "customer_price",
    "currency",
)
# Read as the database gives them: Tortoise parses every SQLite date with a general
# date-time parser (~0.2 s of CPU for 20,000 subscriptions with dates, measured), and of
# ``deleted_at`` only whether it is set matters (``licence_payload`` and the plan ask no more).
_UNCONVERTED = {
    "raw_start_date": RawSQL('"subscription"."start_date"'),
    "raw_end_date": RawSQL('"subscription"."end_date"'),
    "is_deleted": RawSQL('"subscription"."deleted_at" IS NOT NULL'),
}
# Not the intent: decoding 20,000 JSON documents was a sixth of the preview's time, and only
# the rows about to change need theirs (``_load_intents``).
_LEDGER_FIELDS = (
    "id",
    "subscription_id",
    "halo_client_id",
    "halo_licence_id",
    "state",
    "payload_hash",
    "intent_hash",
)


@dataclass(slots=True)
class _Sub:
    """A subscription's fields as ``licence_payload`` reads them (plain rows, not model
    instances: the preview reads every subscription of a seller on each request)."""

    id: int
    external_id: str
    organization_id: int
    name: str
    start_date: date | None
    end_date: date | None
    quantity: int
    billing_cycle: str
    term_duration: str
    status: str
    cost_price: Decimal
    customer_price: Decimal
    currency: str
    deleted_at: bool | None  # True when deleted (only "is it set" is read)


def _day(value: date | str | None) -> date | None:
    """A date column's value: PostgreSQL gives a date, SQLite the ISO text Tortoise stored."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


@dataclass(slots=True)
class _Ledger:
    id: int
    subscription_id: int
    halo_client_id: int
    halo_licence_id: int | None
    state: str  # a LedgerState's value (compare with ==)
    payload_hash: str | None
    intent_hash: str | None
    intent: dict[str, Any] | None = None  # loaded only where needed

    @property
    def confirmed(self) -> dict[str, Any] | None:
        """The payload HaloPSA last confirmed, if the ledger still has it."""
        if self.halo_licence_id is None or not self.payload_hash:
            return None
        return self.intent if self.payload_hash == self.intent_hash else None


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class MoneyShown:
    """Amounts to show, to the cent (of the licences whose values are known)."""

    cost_before: str
    cost_after: str
    cost_change: str
    price_before: str
    price_after: str
    price_change: str


@dataclass(slots=True)
class MoneyImpact:
    """Monthly amounts in one currency (4 decimals; round with ``money.cents`` to show).

    ``unknown_before`` / ``unknown_after``: licences left out because the ledger does not
    know what HaloPSA holds for them.
    """

    currency: str
    before: Monthly = field(default_factory=Monthly)
    after: Monthly = field(default_factory=Monthly)
    unknown_before: int = 0
    unknown_after: int = 0

    @property
    def shown(self) -> MoneyShown:
        """To the cent, as decimal strings; changes are those of the rounded amounts."""
        before, after = self.before, self.after
        cost = cents(before.cost), cents(after.cost)
        price = cents(before.price), cents(after.price)
        return MoneyShown(
            cost_before=f"{cost[0]:f}",
            cost_after=f"{cost[1]:f}",
            cost_change=f"{cost[1] - cost[0]:f}",
            price_before=f"{price[0]:f}",
            price_after=f"{price[1]:f}",
            price_change=f"{price[1] - price[0]:f}",
        )

    def add(self, other: MoneyImpact) -> None:
        self.before += other.before
        self.after += other.after
        self.unknown_before += other.unknown_before
        self.unknown_after += other.unknown_after


@dataclass(slots=True)
class SubscriptionPreview:
    id: str  # the platform's subscription id
    name: str
    action: Action
    reason: Reason | None
    reason_text: str | None
    halo_client_id: int | None
    halo_licence_id: int | None
    currency: str
    money: MoneyImpact
    # The licence payloads of the current client before and after (None: no licence, or
    # not known before — see ``before_known``).
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    before_known: bool
    # Hand edits in HaloPSA (found by the latest drift check) that this write overwrites:
    # HaloPSA's value → the one sent.
    overwrites: list[FieldChange] = field(default_factory=list)
    # The hash of what a write sends (None: nothing written): the plan's hash is made of these.
    planned_hash: str | None = None

    @property
    def changes(self) -> list[FieldChange]:
        """Fields that change (old → new); all of them for a create or an unknown before."""
        if self.action not in (Action.CREATE, Action.UPDATE, Action.MARK_DELETED):
            return []
        after = self.after or {}
        before = self.before if self.before_known else None
        if before is None:
            return [
                FieldChange(f, None, after[f]) for f in CHANGE_FIELDS if after.get(f) is not None
            ]
        return [
            FieldChange(f, before.get(f), after.get(f))
            for f in CHANGE_FIELDS
            if before.get(f) != after.get(f)
        ]

    @property
    def writes(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE, Action.MARK_DELETED)


@dataclass(slots=True)
class ActionCounts:
    create: int = 0
    update: int = 0
    mark_deleted: int = 0
    unchanged: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.create + self.update + self.mark_deleted + self.unchanged + self.skipped

    def count(self, action: Action) -> None:
        name = action.value.lower()
        setattr(self, name, getattr(self, name) + 1)

    def add(self, other: ActionCounts) -> None:
        for name in ("create", "update", "mark_deleted", "unchanged", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(slots=True)
class OrganizationPreview:
    organization_id: int
    external_id: str
    name: str
    halo_client_id: int | None
    halo_client_name: str | None
    # Why none of its subscriptions is synced (UNMAPPED, HALO_CLIENT_MISSING), or None.
    skip_reason: Reason | None
    subscriptions: list[SubscriptionPreview] = field(default_factory=list)
    counts: ActionCounts = field(default_factory=ActionCounts)
    money: dict[str, MoneyImpact] = field(default_factory=dict)
    # Day one: licences its HaloPSA client held before the first push, waiting for review.
    existing: existing_review.Review | None = None

    @property
    def waiting(self) -> bool:
        """Its push waits for the seller's review of the client's existing licences."""
        return self.existing is not None

    @property
    def has_changes(self) -> bool:
        return any(s.writes for s in self.subscriptions)


@dataclass(slots=True)
class SyncPreview:
    seller_id: str
    unit_prices: bool
    generated_at: datetime
    organizations: list[OrganizationPreview]
    counts: ActionCounts
    money: dict[str, MoneyImpact]

    def page(
        self, page: int, page_size: int, *, changes_only: bool = False
    ) -> Page[OrganizationPreview]:
        """A page of organisations, as the grid pages them. ``changes_only``: only
        organisations with something to write, and only those subscriptions."""
        offset = check_page(page, page_size)
        orgs = self.organizations
        if changes_only:
            orgs = [o for o in orgs if o.has_changes]
        items = orgs[offset : offset + page_size]
        if changes_only:
            items = [_only_changes(o) for o in items]
        return Page(items=items, total=len(orgs), page=page, page_size=page_size)

    def scope(self, organization_id: int | None) -> list[OrganizationPreview]:
        """The organisations a run of this scope pushes (one, or all)."""
        if organization_id is None:
            return self.organizations
        return [o for o in self.organizations if o.organization_id == organization_id]

    def plan_hash(self, organization_id: int | None = None) -> str:
        """What a run of this scope would do, as one hash: each subscription's action, its
        HaloPSA client and what it sends. Equal hashes, equal runs (``approveSync``)."""
        items = sorted(
            (o.organization_id, s.id, s.action.value, s.halo_client_id or 0, s.planned_hash or "")
            for o in self.scope(organization_id)
            for s in o.subscriptions
        )
        body = json.dumps([self.unit_prices, items], separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()


def _only_changes(org: OrganizationPreview) -> OrganizationPreview:
    return replace(org, subscriptions=[s for s in org.subscriptions if s.writes])


async def preview_sync(
    seller_id: str, organization_id: int | None = None, *, unit_prices: bool | None = None
) -> SyncPreview:
    """What a subscriptions sync of this seller (or of one organisation) would do now
    (``unit_prices``: a run's own setting, taken when it started; else the seller's now)."""
    seller = await Seller.get_or_none(id=seller_id)
    if seller is None:
        raise NotFound(f"Seller {seller_id!r} not found.", field="seller")
    if unit_prices is None:
        unit_prices = seller.sync_unit_prices
    scope: dict[str, Any] = {} if organization_id is None else {"id": organization_id}
    orgs = await Organization.filter(seller_id=seller_id, **scope).values(
        "id", "external_id", "name", "deleted_at"
    )
    by_org = {} if organization_id is None else {"organization_id": organization_id}
    mappings = {
        m["organization_id"]: m
        for m in await OrganizationMapping.filter(seller_id=seller_id, **by_org).values(
            "organization_id",
            "psa_organization__halo_id",
            "psa_organization__name",
            "psa_organization__present",
        )
    }
    client_names = dict(
        await PsaOrganization.filter(seller_id=seller_id).values_list("halo_id", "name")
    )
    waiting = await existing_review.reviews(seller_id)
    subs_by_org: dict[int, list[_Sub]] = defaultdict(list)
    for values in (
        await Subscription.filter(organization__seller_id=seller_id, **by_org)
        .annotate(**_UNCONVERTED)
        .order_by("id")
        .values(*_SUB_FIELDS, *_UNCONVERTED)
    ):
        values["start_date"] = _day(values.pop("raw_start_date"))
        values["end_date"] = _day(values.pop("raw_end_date"))
        values["deleted_at"] = True if values.pop("is_deleted") else None
        sub = _Sub(**values)
        subs_by_org[sub.organization_id].append(sub)
    ledger_filter = (
        {} if organization_id is None else {"subscription__organization_id": organization_id}
    )
    ledger: dict[int, list[_Ledger]] = defaultdict(list)
    for values in (
        await SyncedSubscription.filter(seller_id=seller_id, **ledger_filter)
        .annotate(state=RawSQL('"synced_subscription"."state"'))  # the text: a StrEnum equals it
        .values(*_LEDGER_FIELDS)
    ):
        row = _Ledger(**values)
        ledger[row.subscription_id].append(row)

    # First the decisions; then the confirmed payloads of the rows that need one (an
    # unchanged row's is the planned payload itself, so most rows never decode theirs).
    planned: list[tuple[OrganizationPreview, list[_Planned]]] = []
    for org in orgs:
        mapping = mappings.get(org["id"])
        if mapping is None and org["deleted_at"] is not None:
            continue  # gone from the platform and never synced again: not the grid's either
        preview = _organization(org, mapping)
        if preview.skip_reason is None and preview.halo_client_id is not None:
            preview.existing = waiting.get(preview.halo_client_id)
        subs = subs_by_org.get(org["id"], [])
        planned.append(
            (preview, [_plan(s, ledger.get(s.id, ()), preview, unit_prices) for s in subs])
        )
    await _load_intents([row for _, plans in planned for p in plans for row in p.need_intent])
    edits = await hand_edits(seller_id)

    previews: list[OrganizationPreview] = []
    for preview, plans in planned:
        for plan in plans:
            sub_preview = _subscription(plan, client_names, edits)
            preview.subscriptions.append(sub_preview)
            preview.counts.count(sub_preview.action)
            _money_in(preview.money, sub_preview.currency).add(sub_preview.money)
        previews.append(preview)
    previews.sort(key=lambda o: (o.name.casefold(), o.external_id))
    counts = ActionCounts()
    money: dict[str, MoneyImpact] = {}
    for preview in previews:
        counts.add(preview.counts)
        for currency, impact in preview.money.items():
            _money_in(money, currency).add(impact)
    return SyncPreview(
        seller_id=seller_id,
        unit_prices=unit_prices,
        generated_at=now_utc(),
        organizations=previews,
        counts=counts,
        money=dict(sorted(money.items())),
    )


def _money_in(money: dict[str, MoneyImpact], currency: str) -> MoneyImpact:
    impact = money.get(currency)
    if impact is None:
        impact = money[currency] = MoneyImpact(currency)
    return impact


def _organization(org: dict[str, Any], mapping: dict[str, Any] | None) -> OrganizationPreview:
    # The push's targets: mapped organisations whose HaloPSA client is still there.
    halo_client_id = halo_client_name = skip = None
    if mapping is None:
        skip = Reason.UNMAPPED
    else:
        halo_client_id = mapping["psa_organization__halo_id"]
        halo_client_name = mapping["psa_organization__name"]
        if not mapping["psa_organization__present"]:
            skip = Reason.HALO_CLIENT_MISSING
    return OrganizationPreview(
        organization_id=org["id"],
        external_id=org["external_id"],
        name=org["name"],
        halo_client_id=halo_client_id,
        halo_client_name=halo_client_name,
        skip_reason=skip,
    )


@dataclass(slots=True)
class _Planned:
    sub: _Sub
    decision: Decision
    halo_client_id: int | None
    current: _Ledger | None  # the ledger row of (sub, the organisation's client)
    others: list[_Ledger]  # its licences in other clients: they stay as they are

    @property
    def need_intent(self) -> list[_Ledger]:
        """Rows whose stored intent the preview reads (see ``preview_sync``)."""
        rows = list(self.others)
        current = self.current
        if current is not None and (
            current.state == LedgerState.PENDING
            or (current.halo_licence_id is not None and self.decision.writes)
        ):
            rows.append(current)
        return rows


def _plan(sub: _Sub, rows: Any, org: OrganizationPreview, unit_prices: bool) -> _Planned:
    skip, halo_client_id = org.skip_reason, org.halo_client_id
    current = None
    others = []
    for row in rows:
        if skip is None and row.halo_client_id == halo_client_id:
            current = row
        elif row.halo_licence_id is not None:
            others.append(row)
    if org.waiting:
        decision = Decision(Action.SKIPPED, Reason.EXISTING_LICENCES_TO_REVIEW)
    elif skip is None and halo_client_id is not None:  # a mapped organisation has its client
        decision = plan_subscription(sub, current, halo_client_id, unit_prices)
    else:
        decision = Decision(Action.SKIPPED, skip)
    return _Planned(sub, decision, halo_client_id, current, others)


# Ids per query when loading intents (SQLite's bound-variable limit is far above this).
_INTENTS_PER_QUERY = 500


async def _load_intents(rows: list[_Ledger]) -> None:
    by_id = {row.id: row for row in rows}
    ids = list(by_id)
    for start in range(0, len(ids), _INTENTS_PER_QUERY):
        chunk = ids[start : start + _INTENTS_PER_QUERY]
        for row_id, intent in await SyncedSubscription.filter(id__in=chunk).values_list(
            "id", "intent"
        ):
            by_id[row_id].intent = intent


def _subscription(
    plan: _Planned,
    client_names: dict[int, str],
    edits: dict[int, list[dict[str, Any]]],
) -> SubscriptionPreview:
    sub, decision, current, others = plan.sub, plan.decision, plan.current, plan.others
    before: dict[str, Any] | None = None
    before_known = True
    if current is not None and current.halo_licence_id is not None:  # in HaloPSA
        # An unchanged payload's hash is the confirmed one: it *is* what HaloPSA holds.
        before = decision.payload if decision.action is Action.UNCHANGED else current.confirmed
        before_known = before is not None
    after = decision.payload if decision.writes else before

    money = MoneyImpact(sub.currency)
    before_value = payload_monthly(before) if before else NOTHING
    if before_known:
        money.before += before_value
    else:
        money.unknown_before += 1
    # After the run HaloPSA holds what it writes, or what it held (known or not).
    if decision.writes or before_known:
        money.after += (
            before_value if after is before else payload_monthly(after) if after else NOTHING
        )
    else:
        money.unknown_after += 1
    for other in others:
        confirmed = other.confirmed
        if confirmed is None:
            money.unknown_before += 1
            money.unknown_after += 1
        else:
            value = payload_monthly(confirmed)
            money.before += value
            money.after += value

    licence_id = current.halo_licence_id if current is not None else None
    reason, text = _reason(decision, current, others, before_known, licence_id, client_names)
    return SubscriptionPreview(
        id=sub.external_id,
        name=sub.name,
        action=decision.action,
        reason=reason,
        reason_text=text,
        halo_client_id=plan.halo_client_id,
        halo_licence_id=licence_id,
        currency=sub.currency,
        money=money,
        before=before,
        after=after,
        before_known=before_known,
        overwrites=_overwrites(decision, current, after, edits),
        planned_hash=decision.hash if decision.writes else None,
    )


def _overwrites(
    decision: Decision,
    current: _Ledger | None,
    after: dict[str, Any] | None,
    edits: dict[int, list[dict[str, Any]]],
) -> list[FieldChange]:
    """The hand edits a write sends the platform's values over: every field the latest drift
    check found edited on this licence (``hand_edits`` leaves out licences written since)."""
    if not decision.writes or current is None or current.halo_licence_id is None:
        return []
    changes = edits.get(current.halo_licence_id)
    if changes is None:
        return []
    sent = after or {}
    return [
        FieldChange(c["field"], c["theirs"], sent.get(c["field"]))
        for c in changes
        if not same_value(c["field"], sent.get(c["field"]), c["theirs"])
    ]


def _reason(
    decision: Decision,
    current: _Ledger | None,
    others: list[_Ledger],
    before_known: bool,
    licence_id: int | None,
    client_names: dict[int, str],
) -> tuple[Reason | None, str | None]:
    reason = decision.reason
    if decision.action is Action.CREATE:
        if current is not None and current.state == LedgerState.PENDING and current.intent:
            reason = Reason.AWAITING_READBACK
        elif others:
            reason = Reason.REMAPPED
    elif decision.writes and not before_known and reason is None:
        reason = Reason.LAST_WRITE_UNCONFIRMED
    if reason is None:
        if decision.action is Action.MARK_DELETED:
            return None, journal.preview_mark_deleted(licence_id)
        return None, None
    text = {
        Reason.QUANTITY_ZERO: journal.PREVIEW_QUANTITY_ZERO,
        Reason.DELETED_BEFORE_SENT: journal.PREVIEW_DELETED_BEFORE_SENT,
        Reason.UNMAPPED: journal.PREVIEW_UNMAPPED,
        Reason.HALO_CLIENT_MISSING: journal.PREVIEW_HALO_CLIENT_MISSING,
        Reason.AWAITING_READBACK: journal.PREVIEW_AWAITING_READBACK,
        Reason.EXISTING_LICENCES_TO_REVIEW: journal.PREVIEW_EXISTING_LICENCES,
    }.get(reason)
    if reason is Reason.QUANTITY_ZERO_IN_HALO:
        text = journal.preview_quantity_zero_in_halo(licence_id)
    elif reason is Reason.REMAPPED:
        text = journal.preview_remapped(
            [
                (o.halo_licence_id, client_names.get(o.halo_client_id, str(o.halo_client_id)))
                for o in others
                if o.halo_licence_id is not None  # all of them: ``_plan`` keeps no other
            ]
        )
    elif reason is Reason.LAST_WRITE_UNCONFIRMED:
        text = journal.preview_last_write_unconfirmed(licence_id)
    return reason, text
