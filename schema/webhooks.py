"""Webhooks: endpoints (add, remove, rotate the secret, test) and the delivery log."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.errors import NotFound
from gateway.services import throttle
from gateway.services import webhooks as webhooks_service
from gateway.services.paging import DEFAULT_PAGE_SIZE
from gateway.services.webhooks import DeliveryStatus
from schema.context import Context
from schema.ids import parse_int_id
from schema.paging import page_totals


@strawberry.enum(description="Events a webhook endpoint can receive (the body's `type`).")
class WebhookEventType(Enum):
    ISSUE_OPENED = webhooks_service.ISSUE_OPENED
    ISSUE_RESOLVED = webhooks_service.ISSUE_RESOLVED
    SYNC_COMPLETED = webhooks_service.SYNC_COMPLETED
    SYNC_FAILED = webhooks_service.SYNC_FAILED


# The core's enum, exposed as it is.
strawberry.enum(
    DeliveryStatus,
    name="WebhookDeliveryStatus",
    description="PENDING: being retried; DELIVERED: a 2xx; FAILED: given up.",
)


@strawberry.type
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    description: str
    events: list[WebhookEventType]
    created_at: datetime
    secret_rotated_at: datetime | None
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until then the previous secret signs too (a second v1 signature)."
    )

    @classmethod
    def from_row(cls, row: Any) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(row.id)),
            url=row.url,
            description=row.description,
            events=[WebhookEventType(e) for e in row.events],
            created_at=row.created_at,
            secret_rotated_at=row.secret_rotated_at,
            previous_secret_expires_at=row.previous_secret_expires_at,
        )


@strawberry.type(description="An endpoint with its signing secret: the only time it is shown.")
class WebhookEndpointSecret:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(
        description="whsec_…: verify the webhook-signature header with it (Standard Webhooks)."
    )


@strawberry.type(description="Whether the test event was delivered (a 2xx), and nothing more.")
class WebhookTestResult:
    delivered: bool


@strawberry.type(description="One event for one endpoint, with its attempts.")
class WebhookDelivery:
    id: strawberry.ID
    endpoint_id: strawberry.ID
    message_id: str = strawberry.field(description="The webhook-id header, the same on retries.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    latency_ms: int | None = strawberry.field(description="Of the last attempt.")
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


@strawberry.type
class WebhookDeliveryPage:
    deliveries: list[WebhookDelivery]
    total: int
    page: int
    page_size: int
    page_count: int
    range: str


def _endpoint_id(value: strawberry.ID) -> int:
    return parse_int_id(value, NotFound("Webhook endpoint not found.", field="endpointId"))


@strawberry.type
class Query:
    @strawberry.field(description="The seller's webhook endpoints.")
    async def webhook_endpoints(self, info: Info[Context, None]) -> list[WebhookEndpoint]:
        rows = await webhooks_service.list_endpoints(info.context.seller_id)
        return [WebhookEndpoint.from_row(r) for r in rows]

    @strawberry.field(description="Webhook deliveries of the last 30 days, newest first.")
    async def webhook_deliveries(
        self,
        info: Info[Context, None],
        endpoint_id: strawberry.ID | None = None,
        status: DeliveryStatus | None = None,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> WebhookDeliveryPage:
        ctx = info.context
        result = await webhooks_service.list_deliveries(
            ctx.deps,
            ctx.seller_id,
            webhooks_service.DeliveryFilter(
                endpoint_id=_endpoint_id(endpoint_id) if endpoint_id is not None else None,
                status=status,
            ),
            page=page,
            page_size=page_size,
        )
        return WebhookDeliveryPage(
            deliveries=[
                WebhookDelivery(
                    id=strawberry.ID(str(d.id)),
                    endpoint_id=strawberry.ID(str(d.endpoint_id)),
                    message_id=d.message_id,
                    event_type=d.event_type,
                    status=d.status,
                    attempts=d.attempts,
                    last_status_code=d.last_status_code,
                    last_error=d.last_error,
                    latency_ms=d.latency_ms,
                    created_at=d.created_at,
                    last_attempt_at=d.last_attempt_at,
                    next_attempt_at=d.next_attempt_at,
                    delivered_at=d.delivered_at,
                )
                for d in result.items
            ],
            **page_totals(result),
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Add an endpoint (https in production; never a private address). The "
        "answer holds its signing secret, shown this once."
    )
    async def add_webhook_endpoint(
        self,
        info: Info[Context, None],
        url: str,
        description: str | None = None,
        events: list[WebhookEventType] | None = None,
    ) -> WebhookEndpointSecret:
        ctx = info.context
        endpoint, secret = await webhooks_service.add_endpoint(
            ctx.deps,
            ctx.seller_id,
            url,
            description=description,
            events=[e.value for e in events] if events is not None else None,
            created_by=ctx.principal.subject,
        )
        return WebhookEndpointSecret(endpoint=WebhookEndpoint.from_row(endpoint), secret=secret)

    @strawberry.mutation(description="Stop sending to an endpoint; its delivery log stays.")
    async def remove_webhook_endpoint(
        self, info: Info[Context, None], endpoint_id: strawberry.ID
    ) -> WebhookEndpoint:
        ctx = info.context
        row = await webhooks_service.remove_endpoint(
            ctx.deps, ctx.seller_id, _endpoint_id(endpoint_id)
        )
        return WebhookEndpoint.from_row(row)

    @strawberry.mutation(
        description="A new signing secret, shown this once; the previous one keeps signing "
        "(a second signature) until previousSecretExpiresAt, 24 hours by default, so the "
        "receiver can switch over."
    )
    async def rotate_webhook_secret(
        self, info: Info[Context, None], endpoint_id: strawberry.ID
    ) -> WebhookEndpointSecret:
        ctx = info.context
        endpoint, secret = await webhooks_service.rotate_secret(
            ctx.deps, ctx.seller_id, _endpoint_id(endpoint_id)
        )
        return WebhookEndpointSecret(endpoint=WebhookEndpoint.from_row(endpoint), secret=secret)

    @strawberry.mutation(
        description="Send a signed webhook.test event now: answers delivered or not, never "
        "what the receiver said."
    )
    async def test_webhook_endpoint(
        self, info: Info[Context, None], endpoint_id: strawberry.ID
    ) -> WebhookTestResult:
        ctx = info.context
        # Each test is an outbound request made on the caller's behalf: throttled like the
        # other mutations that reach out.
        await throttle.check(ctx.deps.throttle, "webhook_test", ctx.seller_id)
        delivered = await webhooks_service.test_endpoint(
            ctx.deps, ctx.seller_id, _endpoint_id(endpoint_id)
        )
        return WebhookTestResult(delivered=delivered)
