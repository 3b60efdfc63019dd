"""previewSync: what the next subscriptions sync would do, and the money it moves in HaloPSA.

The plan is ``gateway.services.sync.preview``'s (the push's own decisions, from the ledger and
the platform's data, no HaloPSA call); this module only shapes one page of it. Money is
shown to the cent as decimal strings; totals are rounded once, after summing.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.services import sync as sync_service
from gateway.services.paging import DEFAULT_PAGE_SIZE, check_page
from gateway.services.sync import Action, Reason
from schema.context import Context
from schema.enums import described
from schema.existing_licences import ExistingLicenceReview
from schema.paging import page_totals

# The push's own enums (gateway.services.sync.plan), with a word on the values that need one.
described(
    Action,
    name="PreviewAction",
    description="What the next subscriptions sync does with a subscription.",
    values={"MARK_DELETED": "Sent once more with status DELETED, deactivated."},
)
described(
    Reason,
    name="PreviewReason",
    description="Why a subscription gets its action, where the action alone does not say.",
    values={
        "QUANTITY_ZERO": "Skipped: never sent to HaloPSA while its quantity is zero.",
        "QUANTITY_ZERO_IN_HALO": "Update: its licence is set to a count of 0.",
        "DELETED_BEFORE_SENT": "Unchanged: deleted before it ever reached HaloPSA.",
        "UNMAPPED": "Skipped: the organisation is not mapped (not part of the sync).",
        "HALO_CLIENT_MISSING": "Skipped: the mapped HaloPSA organisation is gone (Response Error).",
        "REMAPPED": "Create in the new HaloPSA organisation; the old one's licence stays.",
        "AWAITING_READBACK": "Create, unless HaloPSA stored it when an earlier sync's answer "
        "was lost (the sync checks first; only HaloPSA can tell).",
        "LAST_WRITE_UNCONFIRMED": "Update; HaloPSA did not confirm the last write, so its "
        "current values are unknown here.",
        "EXISTING_LICENCES_TO_REVIEW": "Skipped: its HaloPSA organization held licences this "
        "integration did not write; nothing is sent until you review them "
        "(existingLicences).",
    },
)


@strawberry.type(description="One licence field the sync changes: HaloPSA's value → the new one.")
class FieldChange:
    field: str = strawberry.field(description="The HaloPSA licence field, e.g. count, price.")
    before: str | None = strawberry.field(description="Null for a create or an unknown value.")
    after: str | None


@strawberry.type(
    description="Monthly cost and customer price in HaloPSA before and after the sync, in "
    "one currency (Annual ÷ 12, Quarterly ÷ 3; One-time and inactive licences count 0)."
)
class MoneyImpact:
    currency: str
    cost_before: str
    cost_after: str
    cost_change: str
    price_before: str
    price_after: str
    price_change: str
    unknown_before: int = strawberry.field(
        description="Licences left out of the 'before' amounts: HaloPSA did not confirm "
        "their last write, so their values are not known here."
    )
    unknown_after: int = strawberry.field(
        description="Licences left out of the 'after' amounts for the same reason."
    )


@strawberry.type(description="Subscriptions by what the sync does with them.")
class PreviewCounts:
    create: int
    update: int
    mark_deleted: int
    unchanged: int
    skipped: int
    total: int


@strawberry.type(description="What the next subscriptions sync does with one subscription.")
class SubscriptionPreview:
    id: strawberry.ID = strawberry.field(description="The platform's subscription id.")
    name: str
    action: Action
    reason: Reason | None
    reason_text: str | None = strawberry.field(description="The reason, in a sentence.")
    halo_licence_id: int | None = strawberry.field(
        description="The licence in the organisation's HaloPSA client (null: none yet)."
    )
    changes: list[FieldChange] = strawberry.field(
        description="For a create, update or mark-deleted: the fields that change."
    )
    overwrites: list[FieldChange] = strawberry.field(
        description="Hand edits in HaloPSA (found by the latest drift check) that this write "
        "overwrites, HaloPSA's value → the one sent: the platform wins. Empty when nothing is "
        "written, or no drift check found the licence edited."
    )
    currency: str
    monthly_cost_before: str | None = strawberry.field(
        description="Monthly amounts of every licence this integration wrote for it, in any "
        "HaloPSA client (after a remap the old licence stays). Null: not known."
    )
    monthly_cost_after: str | None
    monthly_price_before: str | None
    monthly_price_after: str | None


@strawberry.type(description="One organisation of the preview, with all its subscriptions.")
class OrganizationPreview:
    id: strawberry.ID = strawberry.field(description="The platform's organisation id.")
    name: str
    halo_client_id: int | None
    halo_client_name: str | None
    skip_reason: Reason | None = strawberry.field(
        description="UNMAPPED or HALO_CLIENT_MISSING: none of its subscriptions is synced."
    )
    counts: PreviewCounts
    money: list[MoneyImpact]
    subscriptions: list[SubscriptionPreview]
    existing_licences: ExistingLicenceReview | None = strawberry.field(
        description="Day one: licences its HaloPSA organization held before the first sync, "
        "beside these subscriptions with suggested pairs; its push waits for your review."
    )


@strawberry.type(
    description="What the next subscriptions sync would do, computed from the ledger and the "
    "platform's data: nothing is written and HaloPSA is not called. Organisations are paged "
    "like the mapping grid; counts and money cover them all."
)
class SyncPreview:
    unit_prices: bool = strawberry.field(
        description="The 'Sync unit prices to HaloPSA' setting the preview assumes (now's)."
    )
    generated_at: datetime
    plan_hash: str = strawberry.field(
        description="The plan of this scope as one hash (a held run's approval.planHash equal "
        "to it: the same plan)."
    )
    counts: PreviewCounts
    money: list[MoneyImpact] = strawberry.field(description="Totals, one per currency.")
    organizations: list[OrganizationPreview]
    total: int
    page: int
    page_size: int
    page_count: int
    range: str = strawberry.field(description='e.g. "1 – 20 of 236"')


def field_text(value: Any) -> str | None:
    """A licence field's value as the API shows it (booleans as true / false)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _money(impact: Any) -> MoneyImpact:
    return MoneyImpact(
        currency=impact.currency,
        **asdict(impact.shown),  # cost and price before, after, change: the same names
        unknown_before=impact.unknown_before,
        unknown_after=impact.unknown_after,
    )


def _counts(counts: Any) -> PreviewCounts:
    return PreviewCounts(**asdict(counts), total=counts.total)  # one field per action


def _subscription(s: Any) -> SubscriptionPreview:
    shown = s.money.shown
    known_before, known_after = s.money.unknown_before == 0, s.money.unknown_after == 0
    return SubscriptionPreview(
        id=strawberry.ID(s.id),
        name=s.name,
        action=s.action,
        reason=s.reason,
        reason_text=s.reason_text,
        halo_licence_id=s.halo_licence_id,
        changes=[
            FieldChange(field=c.field, before=field_text(c.before), after=field_text(c.after))
            for c in s.changes
        ],
        overwrites=[
            FieldChange(field=c.field, before=field_text(c.before), after=field_text(c.after))
            for c in s.overwrites
        ],
        currency=s.currency,
        monthly_cost_before=shown.cost_before if known_before else None,
        monthly_cost_after=shown.cost_after if known_after else None,
        monthly_price_before=shown.price_before if known_before else None,
        monthly_price_after=shown.price_after if known_after else None,
    )


def _organization(o: Any) -> OrganizationPreview:
    return OrganizationPreview(
        id=strawberry.ID(o.external_id),
        name=o.name,
        halo_client_id=o.halo_client_id,
        halo_client_name=o.halo_client_name,
        skip_reason=o.skip_reason,
        counts=_counts(o.counts),
        money=[_money(m) for m in o.money.values()],
        subscriptions=[_subscription(s) for s in o.subscriptions],
        existing_licences=(
            ExistingLicenceReview.from_service(o.existing) if o.existing is not None else None
        ),
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="What the next subscriptions sync (of all organisations, or of one) would "
        "do: per organisation and subscription create, update (fields old → new), mark "
        "deleted, unchanged or skipped (and why), and the monthly cost and customer price in "
        "HaloPSA before and after, per currency. Writes nothing; makes no HaloPSA call. "
        "changesOnly: only organisations and subscriptions with something to write."
    )
    async def preview_sync(
        self,
        info: Info[Context, None],
        organization_id: strawberry.ID | None = None,
        changes_only: bool = False,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> SyncPreview:
        seller_id = info.context.seller_id
        check_page(page, page_size)  # refused before the plan is computed
        org_pk = None
        if organization_id is not None:
            org_pk = (await sync_service.organization_by_external_id(seller_id, organization_id)).id
        preview = await sync_service.preview_sync(seller_id, org_pk)
        result = preview.page(page, page_size, changes_only=changes_only)
        return SyncPreview(
            unit_prices=preview.unit_prices,
            generated_at=preview.generated_at,
            plan_hash=preview.plan_hash(org_pk),
            counts=_counts(preview.counts),
            money=[_money(m) for m in preview.money.values()],
            organizations=[_organization(o) for o in result.items],
            **page_totals(result),
        )
