"""Day one: licences a HaloPSA client held before the first push, and the seller's decisions.

The service is ``gateway.services.sync.existing_review``; the preview attaches the same review
to each organisation whose push waits (``OrganizationPreview.existingLicences``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.services import sync as sync_service
from gateway.services.sync import LicenceDecision
from schema.context import Context
from schema.enums import described


@strawberry.enum(description="A HaloPSA client's day-one check.")
class ExistingLicencesState(Enum):
    PENDING = strawberry.enum_value(
        "PENDING", description="Licences wait for your decision; the organisation's push waits."
    )
    RESOLVED = strawberry.enum_value(
        "RESOLVED", description="Every licence is claimed or not ours; its push goes on."
    )


# The core's enum (the ledger stores it), with a word on the decided values.
described(
    LicenceDecision,
    name="ExistingLicenceDecision",
    description="What you decided about a licence HaloPSA already held.",
    values={
        "CLAIMED": "It is this subscription's licence: updated from now on.",
        "NOT_OURS": "It stays yours; the sync never touches it.",
    },
)


@strawberry.type(description="A suggested pair: this licence is probably that subscription.")
class LicencePairSuggestion:
    subscription_id: strawberry.ID
    subscription_name: str
    score: int = strawberry.field(description="0–100: name 60 %, same count 20, same dates 20.")
    reasons: list[str]


@strawberry.type(description="A licence the HaloPSA organization held before the first sync.")
class ExistingLicence:
    id: int = strawberry.field(description="HaloPSA's licence id.")
    name: str
    count: int
    start_date: str | None
    end_date: str | None
    billing_cycle: str
    status: str
    is_active: bool
    purchase_price: str
    price: str
    decision: LicenceDecision
    subscription_id: strawberry.ID | None = strawberry.field(
        description="The subscription that claimed it."
    )
    decided_by: str | None
    suggestion: LicencePairSuggestion | None


@strawberry.type(description="A subscription of the organisation, beside the licences.")
class ReviewSubscription:
    id: strawberry.ID
    name: str
    quantity: int
    start_date: date | None
    end_date: date | None
    claimed_licence_id: int | None


@strawberry.type(
    description="Licences a newly mapped HaloPSA organization already held (written by hand or "
    "by another integration) beside the platform's subscriptions, with suggested pairs. "
    "Nothing is adopted without you: claim pairs, mark the rest as not ours, or create new."
)
class ExistingLicenceReview:
    organization_id: strawberry.ID | None
    organization_name: str | None
    halo_client_id: int
    halo_client_name: str | None
    state: ExistingLicencesState
    undecided: int
    checked_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    licences: list[ExistingLicence]
    subscriptions: list[ReviewSubscription]

    @classmethod
    def from_service(cls, review: Any) -> ExistingLicenceReview:
        return cls(
            organization_id=(
                strawberry.ID(review.organization_external_id)
                if review.organization_external_id
                else None
            ),
            organization_name=review.organization_name,
            halo_client_id=review.halo_client_id,
            halo_client_name=review.halo_client_name,
            state=ExistingLicencesState(review.state.value),
            undecided=review.undecided,
            checked_at=review.checked_at,
            resolved_at=review.resolved_at,
            resolved_by=review.resolved_by,
            licences=[_licence(lic) for lic in review.licences],
            subscriptions=[
                ReviewSubscription(
                    id=strawberry.ID(s.id),
                    name=s.name,
                    quantity=s.quantity,
                    start_date=s.start_date,
                    end_date=s.end_date,
                    claimed_licence_id=s.claimed_licence_id,
                )
                for s in review.subscriptions
            ],
        )


def _licence(lic: Any) -> ExistingLicence:
    p = lic.payload
    hint = lic.suggestion
    return ExistingLicence(
        id=lic.halo_licence_id,
        name=p.get("name") or "",
        count=int(p.get("count") or 0),
        start_date=p.get("start_date"),
        end_date=p.get("end_date"),
        billing_cycle=p.get("billing_cycle") or "",
        status=p.get("status") or "",
        is_active=bool(p.get("is_active")),
        purchase_price=p.get("purchase_price") or "0.00",
        price=p.get("price") or "0.00",
        decision=lic.decision,
        subscription_id=strawberry.ID(lic.subscription_id) if lic.subscription_id else None,
        decided_by=lic.decided_by,
        suggestion=(
            LicencePairSuggestion(
                subscription_id=strawberry.ID(hint.subscription_id),
                subscription_name=hint.subscription_name,
                score=hint.score,
                reasons=hint.reasons,
            )
            if hint is not None
            else None
        ),
    )


@strawberry.input(description="Claim HaloPSA licence licenceId for subscription subscriptionId.")
class LicenceClaimInput:
    licence_id: int
    subscription_id: strawberry.ID


@strawberry.type
class Query:
    @strawberry.field(
        description="Organisations whose push waits for a review of their HaloPSA "
        "organization's existing licences."
    )
    async def existing_licence_reviews(
        self, info: Info[Context, None]
    ) -> list[ExistingLicenceReview]:
        found = await sync_service.existing_review.reviews(info.context.seller_id)
        return [ExistingLicenceReview.from_service(r) for r in found.values()]

    @strawberry.field(
        description="The day-one review of an organisation's HaloPSA organization (null: it "
        "was not checked yet, or held nothing this integration did not write)."
    )
    async def existing_licences(
        self, info: Info[Context, None], organization_id: strawberry.ID
    ) -> ExistingLicenceReview | None:
        review = await sync_service.existing_review.review_of(
            info.context.seller_id, str(organization_id)
        )
        return ExistingLicenceReview.from_service(review) if review is not None else None


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Claim existing HaloPSA licences for subscriptions of the organisation "
        "(all or none): the sync updates them from then on and never creates a second one."
    )
    async def claim_existing_licences(
        self,
        info: Info[Context, None],
        organization_id: strawberry.ID,
        pairs: list[LicenceClaimInput],
    ) -> ExistingLicenceReview:
        ctx = info.context
        review = await sync_service.existing_review.claim(
            ctx.deps,
            ctx.principal,
            str(organization_id),
            [
                sync_service.existing_review.Claim(p.licence_id, str(p.subscription_id))
                for p in pairs
            ],
        )
        return ExistingLicenceReview.from_service(review)

    @strawberry.mutation(
        description="Mark existing HaloPSA licences as not ours: they stay yours and the "
        "sync never touches them."
    )
    async def mark_existing_licences_not_ours(
        self, info: Info[Context, None], organization_id: strawberry.ID, licence_ids: list[int]
    ) -> ExistingLicenceReview:
        ctx = info.context
        review = await sync_service.existing_review.mark_not_ours(
            ctx.deps, ctx.principal, str(organization_id), licence_ids
        )
        return ExistingLicenceReview.from_service(review)

    @strawberry.mutation(
        description="Finish the review: licences still undecided are not ours, and the "
        "subscriptions without a claimed licence are created by the next sync."
    )
    async def create_new_licences(
        self, info: Info[Context, None], organization_id: strawberry.ID
    ) -> ExistingLicenceReview:
        ctx = info.context
        review = await sync_service.existing_review.create_new(
            ctx.deps, ctx.principal, str(organization_id)
        )
        return ExistingLicenceReview.from_service(review)
