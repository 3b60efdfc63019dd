"""Integrator mutations: bulk upserts and deletes of the platform's organisations and
subscriptions (money travels as decimal strings, never floats)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.services import upserts as service
from schema.context import Context


@strawberry.input
class OrganizationInput:
    id: strawberry.ID = strawberry.field(description="The platform's organisation id.")
    name: str
    reference: str
    status: str = strawberry.field(description=", ".join(service.ORGANIZATION_STATUSES))


@strawberry.input
class SubscriptionInput:
    id: strawberry.ID = strawberry.field(description="The platform's subscription id.")
    organization_id: strawberry.ID
    name: str
    quantity: int
    billing_cycle: str = strawberry.field(description=", ".join(service.BILLING_CYCLES))
    term_duration: str = strawberry.field(description=", ".join(service.TERM_DURATIONS))
    status: str = strawberry.field(description=", ".join(service.SUBSCRIPTION_STATUSES))
    cost_price: str = strawberry.field(description="Total cost price, decimal string.")
    customer_price: str = strawberry.field(description="Total customer price, decimal string.")
    currency: str = "USD"
    start_date: str | None = strawberry.field(default=None, description="YYYY-MM-DD")
    end_date: str | None = strawberry.field(default=None, description="YYYY-MM-DD")


@strawberry.type
class UpsertResult:
    created: int
    updated: int
    unchanged: int


@strawberry.type
class DeleteResult:
    deleted: int


def _result(r: service.UpsertResult) -> UpsertResult:
    return UpsertResult(created=r.created, updated=r.updated, unchanged=r.unchanged)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=f"Create or update up to {service.MAX_ITEMS_PER_CALL} "
        "organisations by id; all or nothing."
    )
    async def upsert_organizations(
        self, info: Info[Context, None], input: list[OrganizationInput]
    ) -> UpsertResult:
        items = [service.OrganizationItem(str(i.id), i.name, i.reference, i.status) for i in input]
        return _result(await service.upsert_organizations(info.context.seller_id, items))

    @strawberry.mutation(
        description=f"Create or update up to {service.MAX_ITEMS_PER_CALL} "
        "subscriptions by id; all or nothing."
    )
    async def upsert_subscriptions(
        self, info: Info[Context, None], input: list[SubscriptionInput]
    ) -> UpsertResult:
        items = [
            service.SubscriptionItem(
                id=str(i.id),
                organization_id=str(i.organization_id),
                name=i.name,
                start_date=i.start_date,
                end_date=i.end_date,
                quantity=i.quantity,
                billing_cycle=i.billing_cycle,
                term_duration=i.term_duration,
                status=i.status,
                cost_price=i.cost_price,
                customer_price=i.customer_price,
                currency=i.currency,
            )
            for i in input
        ]
        return _result(await service.upsert_subscriptions(info.context.seller_id, items))

    @strawberry.mutation(description="Mark organisations (and their subscriptions) as gone.")
    async def delete_organizations(
        self, info: Info[Context, None], ids: list[strawberry.ID]
    ) -> DeleteResult:
        count = await service.delete_organizations(info.context.seller_id, [str(i) for i in ids])
        return DeleteResult(deleted=count)

    @strawberry.mutation(description="Mark subscriptions as gone (HaloPSA keeps its licences).")
    async def delete_subscriptions(
        self, info: Info[Context, None], ids: list[strawberry.ID]
    ) -> DeleteResult:
        count = await service.delete_subscriptions(info.context.seller_id, [str(i) for i in ids])
        return DeleteResult(deleted=count)
