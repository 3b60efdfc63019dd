"""Webhooks: a seller's endpoints, events signed per Standard Webhooks, and their delivery.

    emit(event) ──▶ one WebhookDelivery row per endpoint (PENDING) ──▶ deliver_webhook actor
                    (same webhook-id on every attempt)                 (webhooks queue)
    deliver: claim the row → sign → POST to the pinned address (services.outbound)
             2xx → DELIVERED; else attempts+1 and the next attempt after 30 s, 1 min, 2 min …
             up to 4 h; none left within 24 h → FAILED

**Signing** (https://www.standardwebhooks.com): headers ``webhook-id`` (the message id),
``webhook-timestamp`` (Unix seconds of the attempt) and ``webhook-signature``:
``v1,`` + base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")), where the secret is the
bytes after ``whsec_``, base64-decoded. The secret is shown once, when the endpoint is added
or its secret rotated; after a rotation the previous secret signs too (a second ``v1,…``
separated by a space) for ``WEBHOOK_SECRET_OVERLAP_HOURS``, so a receiver can switch over
without losing an event.

**Delivery never slows a sync**: the run only writes rows and enqueues ids. Delivering is the
``deliver_webhook`` actor's job on a queue of its own, and a worker process lets at most
``WEBHOOK_DELIVERY_CONCURRENCY`` deliveries run at once on threads of their own; a message
that finds them all busy is dropped, and the busy ones take the due rows from the database
as they free up (oldest first), so a slow receiver's backlog lives in the database, not in
memory or in the broker. The watchdog re-enqueues rows whose message was lost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import secrets as secrets_module
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from gateway import metrics
from gateway.crypto import SecretBox
from gateway.errors import BadUserInput, BrokerUnavailable, NotFound
from gateway.messages import Message
from gateway.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from gateway.services import Deps, outbound
from gateway.services.paging import DEFAULT_PAGE_SIZE, Page, check_page

logger = logging.getLogger(__name__)

ISSUE_OPENED = "issue.opened"
ISSUE_RESOLVED = "issue.resolved"
SYNC_COMPLETED = "sync.completed"
SYNC_FAILED = "sync.failed"
EVENT_TYPES = (ISSUE_OPENED, ISSUE_RESOLVED, SYNC_COMPLETED, SYNC_FAILED)
# Sent by "test endpoint" only; no endpoint subscribes to it.
TEST_EVENT = "webhook.test"

SECRET_PREFIX = "whsec_"
# 32 random bytes: the HMAC-SHA256 block-size guidance, within Standard Webhooks' 24–64.
SECRET_BYTES = 32
# Endpoints a seller may have: enough for a chat hook, a ticketing hook and spares.
MAX_ENDPOINTS_PER_SELLER = 10
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 255
# An attempt holds its row this long past its own timeout; a worker that died mid-attempt
# frees it then (the watchdog re-enqueues the row).
CLAIM_MARGIN_SECONDS = 30.0
# A delivery slot works through due rows for at most this long before handing over to a
# fresh message: a worker that is asked to stop does not wait on a whole backlog.
BACKLOG_TURN_SECONDS = 30.0
# A due row whose message has not run for this long lost it (broker down when it was
# enqueued, or its worker died): the watchdog enqueues it again. Duplicates are harmless
# (an attempt claims its row first).
LOST_AFTER_SECONDS = 300.0
SWEEP_BATCH = 1000
# Each retry delay grows by up to a tenth at random, so the deliveries that failed together
# (a receiver that was down) are not all retried in the same second.
JITTER = 0.1

_NAMESPACE = uuid.UUID("5f1d3a4e-9c2b-4d7e-8a61-0b9f2c7e4d13")

TEST_PAYLOAD_NOTE = "A test event from the HaloPSA integration: if you can read this, it works."


# --- signing ----------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets_module.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``{id}.{timestamp}.{body}`` (Standard Webhooks)."""
    to_sign = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    signing_secrets: list[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "halo-gateway-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            sign(s, message_id, timestamp, body) for s in signing_secrets
        ),
    }


def message_id_for(key: str) -> str:
    """The webhook-id of an event: derived from what the event is (``issue:12:3``), so the
    same event emitted twice (a redelivered run) is one message, not two."""
    return "msg_" + uuid.uuid5(_NAMESPACE, key).hex


def _signing_secrets(deps: Deps, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [deps.secret_box.decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        found.append(deps.secret_box.decrypt(endpoint.previous_secret_encrypted))
    return found


# --- endpoints ---------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


async def _check_url(deps: Deps, url: str) -> str:
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise BadUserInput(f"url must be 1 to {MAX_URL_LENGTH} characters.", field="url")
    settings = deps.settings
    problem = outbound.url_problem(url, allow_plain_http=settings.webhook_plain_http_allowed)
    if problem is not None:
        raise BadUserInput(f"The webhook URL {problem}.", field="url")
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        # Checked now for a clear answer; checked again before every attempt (DNS changes).
        await outbound.resolve_pinned(
            parts.hostname or "",
            port,
            allow_private=settings.webhook_private_addresses_allowed,
        )
    except outbound.AddressRefused as exc:
        raise BadUserInput(f"The webhook URL cannot be used: {exc}.", field="url") from None
    return url


def _check_events(events: list[str] | None) -> list[str]:
    if events is None:
        return list(EVENT_TYPES)
    chosen = [e for e in EVENT_TYPES if e in set(events)]
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not chosen:
        raise BadUserInput(
            f"events must be some of {', '.join(EVENT_TYPES)}.",
            field="events",
        )
    return chosen


async def add_endpoint(
    deps: Deps,
    seller_id: str,
    url: str,
    *,
    description: str | None,
    events: list[str] | None,
    created_by: str,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret: the only time the secret is shown."""
    url = await _check_url(deps, url)
    chosen = _check_events(events)
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise BadUserInput(
            f"description must be at most {MAX_DESCRIPTION_LENGTH} characters.",
            field="description",
        )
    count = await WebhookEndpoint.filter(seller_id=seller_id, removed_at__isnull=True).count()
    if count >= MAX_ENDPOINTS_PER_SELLER:
        raise BadUserInput(
            f"A seller can have at most {MAX_ENDPOINTS_PER_SELLER} webhook endpoints.",
            field="url",
        )
    secret = new_secret()
    endpoint = await WebhookEndpoint.create(
        seller_id=seller_id,
        url=url,
        description=text,
        events=chosen,
        secret_encrypted=deps.secret_box.encrypt(secret),
        created_by=created_by,
    )
    logger.info("webhook endpoint %s added for seller %s", endpoint.id, seller_id)
    return endpoint, secret


async def get_endpoint(seller_id: str, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await WebhookEndpoint.get_or_none(
        id=endpoint_id, seller_id=seller_id, removed_at__isnull=True
    )
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.", field="endpointId")
    return endpoint


async def list_endpoints(seller_id: str) -> list[WebhookEndpoint]:
    return await WebhookEndpoint.filter(seller_id=seller_id, removed_at__isnull=True).order_by("id")


async def remove_endpoint(deps: Deps, seller_id: str, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint stops receiving at once; its delivery log stays (30 days)."""
    now = _now()
    removed = await WebhookEndpoint.filter(
        id=endpoint_id, seller_id=seller_id, removed_at__isnull=True
    ).update(removed_at=now)
    if not removed:
        raise NotFound("Webhook endpoint not found.", field="endpointId")
    await WebhookDelivery.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, last_error="endpoint removed", next_attempt_at=None
    )
    return await WebhookEndpoint.get(id=endpoint_id)


async def rotate_secret(
    deps: Deps, seller_id: str, endpoint_id: int
) -> tuple[WebhookEndpoint, str]:
    """A new secret, shown once; the previous one keeps signing during the overlap."""
    endpoint = await get_endpoint(seller_id, endpoint_id)
    now = _now()
    secret = new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + timedelta(
        hours=deps.settings.webhook_secret_overlap_hours
    )
    endpoint.secret_encrypted = deps.secret_box.encrypt(secret)
    endpoint.secret_rotated_at = now
    await endpoint.save(
        update_fields=[
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "secret_encrypted",
            "secret_rotated_at",
        ]
    )
    return endpoint, secret


async def reencrypt_secrets(box: SecretBox) -> int:
    """``rotate-secrets``: every endpoint's secrets under the newest Fernet key."""
    count = 0
    for row in await WebhookEndpoint.all():
        row.secret_encrypted = box.rotate(row.secret_encrypted)
        if row.previous_secret_encrypted:
            row.previous_secret_encrypted = box.rotate(row.previous_secret_encrypted)
        await row.save(update_fields=["secret_encrypted", "previous_secret_encrypted"])
        count += 1
    return count


# --- events ----------------------------------------------------------------------------------


def coded_message(message: Message | None) -> dict[str, Any]:
    """A seller-visible text as a body carries it: ``message`` (the seed's words),
    ``messageCode`` (``gateway.messages.MessageCode``) and ``messageParams``, the names of the
    GraphQL ``SyncRun`` fields. The parameters are a JSON object of JSON values in the order
    the text uses them (GraphQL lists them as strings for typed clients; a JSON body has no
    such need). No message: null, null and ``{}``; LEGACY for one stored before codes."""
    if message is None:
        return {"message": None, "messageCode": None, "messageParams": {}}
    return {
        "message": message.text,
        "messageCode": message.code.value,
        "messageParams": dict(message.params),
    }


def event_body(event_type: str, data: dict[str, Any], at: datetime) -> str:
    """The JSON body every endpoint gets: ``{"type", "timestamp", "data"}``."""
    return json.dumps(
        {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
        separators=(",", ":"),
        default=str,
    )


async def emit(
    deps: Deps, seller_id: str, event_type: str, data: dict[str, Any], *, key: str
) -> int:
    """Queue ``event_type`` for each of the seller's endpoints that takes it.

    ``key`` names the event (``sync:41:FAILED``, ``issue:7:3``); emitting the same key twice
    creates nothing new. Returns the deliveries created. Never talks to a receiver, so the
    caller (the end of a sync run) is never slowed by one.
    """
    endpoints = await WebhookEndpoint.filter(seller_id=seller_id, removed_at__isnull=True)
    targets = [e for e in endpoints if event_type in (e.events or [])]
    if not targets:
        return 0
    now = _now()
    message_id = message_id_for(f"{seller_id}:{key}")
    body = event_body(event_type, data, now)
    created = 0
    for endpoint in targets:
        try:
            delivery = await _create_delivery(
                endpoint, message_id, event_type, body, now, next_attempt_at=now
            )
        except IntegrityError:
            continue  # this event was queued for this endpoint already
        created += 1
        await _enqueue(deps, delivery.id)
    return created


async def _create_delivery(
    endpoint: WebhookEndpoint,
    message_id: str,
    event_type: str,
    body: str,
    now: datetime,
    *,
    next_attempt_at: datetime | None,
    locked_until: datetime | None = None,
) -> WebhookDelivery:
    return await WebhookDelivery.create(
        seller_id=endpoint.seller_id,
        endpoint=endpoint,
        message_id=message_id,
        event_type=event_type,
        payload=body,
        next_attempt_at=next_attempt_at,
        locked_until=locked_until,
        created_at=now,
    )


async def _enqueue(deps: Deps, delivery_id: int | None, delay_seconds: float = 0) -> None:
    try:
        await deps.queue.enqueue_webhook(delivery_id, delay_seconds)
    except BrokerUnavailable:
        # The row is in the database; the watchdog enqueues it again once the broker is back.
        logger.warning("webhook delivery %s waits for the broker", delivery_id)


# --- delivery ---------------------------------------------------------------------------------


def retry_delay(deps: Deps, attempts: int, rng: float | None = None) -> float:
    """Seconds before attempt ``attempts + 1``: doubling from the first delay, capped."""
    settings = deps.settings
    base = settings.webhook_retry_first_delay_seconds * math.pow(2, max(0, attempts - 1))
    delay = min(base, settings.webhook_retry_max_delay_seconds)
    spread = secrets_module.SystemRandom().random() if rng is None else rng
    return delay * (1 + JITTER * spread)


async def _claim(delivery_id: int, now: datetime, hold_seconds: float) -> bool:
    """This attempt, and no other, may send the row now (a duplicate message finds it taken)."""
    claimed = (
        await WebhookDelivery.filter(
            id=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + timedelta(seconds=hold_seconds))
    )
    return claimed == 1


async def _next_due(now: datetime) -> int | None:
    rows = (
        await WebhookDelivery.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("next_attempt_at", "id")
        .limit(1)
        .values_list("id", flat=True)
    )
    return int(cast(int, rows[0])) if rows else None


async def deliver(deps: Deps, delivery_id: int | None) -> bool:
    """Attempt ``delivery_id``, then the other due rows for a while.

    What the ``deliver_webhook`` actor runs while it holds a delivery slot. Safe to run twice
    for the same id: an attempt claims its row first. True when no due row is left; False
    when the turn ended first (a fresh message carries on).
    """
    hold = deps.settings.webhook_timeout_seconds + CLAIM_MARGIN_SECONDS
    turn_ends = time.monotonic() + BACKLOG_TURN_SECONDS
    candidate = delivery_id
    while True:
        now = _now()
        if candidate is None:
            candidate = await _next_due(now)
            if candidate is None:
                return True
        if await _claim(candidate, now, hold):
            await attempt(deps, candidate)
        candidate = None
        if time.monotonic() > turn_ends:
            # Hand over to a fresh message; the worker stays free to stop between turns.
            if await _next_due(_now()) is not None:
                await _enqueue(deps, None)
            return False


async def attempt(deps: Deps, delivery_id: int) -> bool:
    """One signed POST of a claimed row, and what follows from its outcome."""
    settings = deps.settings
    delivery = await WebhookDelivery.get(id=delivery_id).select_related("endpoint")
    endpoint = delivery.endpoint
    now = _now()
    body = delivery.payload.encode()
    headers = signed_headers(
        _signing_secrets(deps, endpoint, now), delivery.message_id, int(time.time()), body
    )
    result = await outbound.post(
        endpoint.url,
        body,
        headers,
        timeout=settings.webhook_timeout_seconds,
        allow_private=settings.webhook_private_addresses_allowed,
    )
    finished = _now()
    attempts = delivery.attempts + 1
    fields: dict[str, Any] = {
        "attempts": attempts,
        "last_attempt_at": finished,
        "last_status_code": result.status_code,
        "last_error": result.error,
        "latency_ms": result.latency_ms,
        "locked_until": None,
    }
    if result.delivered:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=finished, next_attempt_at=None)
        outcome = "delivered"
    else:
        delay = retry_delay(deps, attempts)
        next_at = finished + timedelta(seconds=delay)
        window_ends = delivery.created_at + timedelta(seconds=settings.webhook_retry_window_seconds)
        if next_at > window_ends:
            fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
            outcome = "failed"
        else:
            fields.update(next_attempt_at=next_at)
            outcome = "refused" if result.refused else "retry"
    # Conditional on the row still being ours and PENDING (a removed endpoint failed it).
    await WebhookDelivery.filter(id=delivery_id, status=DeliveryStatus.PENDING).update(**fields)
    metrics.observe_delivery(outcome)
    logger.log(
        logging.INFO if result.delivered else logging.WARNING,
        "webhook %s (%s) to endpoint %s: %s, attempt %d, %d ms",
        delivery.message_id,
        delivery.event_type,
        endpoint.id,
        "delivered" if result.delivered else f"{result.error} → {outcome}",
        attempts,
        result.latency_ms,
        extra={"seller_id": delivery.seller_id, "delivery_id": delivery_id},
    )
    if outcome in ("retry", "refused"):
        await _enqueue(deps, delivery_id, delay)
    return result.delivered


async def test_endpoint(deps: Deps, seller_id: str, endpoint_id: int) -> bool:
    """Send one signed ``webhook.test`` now: delivered or not, nothing more.

    The receiver's status and body are not returned (a probe of what answers where is the
    very thing SSRF rules keep out); the attempt is in the delivery log like any other.
    """
    endpoint = await get_endpoint(seller_id, endpoint_id)
    now = _now()
    message_id = "msg_" + uuid.uuid4().hex
    body = event_body(TEST_EVENT, {"sellerId": seller_id, "note": TEST_PAYLOAD_NOTE}, now)
    delivery = await _create_delivery(
        endpoint,
        message_id,
        TEST_EVENT,
        body,
        now,
        # Never due: a test is attempted once, here, and not retried.
        next_attempt_at=None,
        locked_until=now + timedelta(seconds=deps.settings.webhook_timeout_seconds),
    )
    result = await outbound.post(
        endpoint.url,
        body.encode(),
        signed_headers(
            _signing_secrets(deps, endpoint, now), message_id, int(time.time()), body.encode()
        ),
        timeout=deps.settings.webhook_timeout_seconds,
        allow_private=deps.settings.webhook_private_addresses_allowed,
    )
    await WebhookDelivery.filter(id=delivery.id).update(
        status=DeliveryStatus.DELIVERED if result.delivered else DeliveryStatus.FAILED,
        attempts=1,
        last_attempt_at=_now(),
        last_status_code=result.status_code,
        last_error=result.error,
        latency_ms=result.latency_ms,
        delivered_at=_now() if result.delivered else None,
        locked_until=None,
    )
    metrics.observe_delivery("delivered" if result.delivered else "failed")
    return result.delivered


# --- upkeep (the watchdog) ----------------------------------------------------------------------


async def requeue_lost(deps: Deps, now: datetime | None = None) -> int:
    """Enqueue again the due rows whose message went missing; returns how many."""
    now = now or _now()
    lost = (
        await WebhookDelivery.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now - timedelta(seconds=LOST_AFTER_SECONDS),
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("next_attempt_at")
        .limit(SWEEP_BATCH)
        .values_list("id", flat=True)
    )
    for delivery_id in lost:
        await _enqueue(deps, int(cast(int, delivery_id)))
    return len(lost)


async def purge_expired(deps: Deps, now: datetime | None = None) -> int:
    """The delivery log keeps 30 days (``WEBHOOK_RETENTION_DAYS``)."""
    now = now or _now()
    cutoff = now - timedelta(days=deps.settings.webhook_retention_days)
    return await WebhookDelivery.filter(created_at__lt=cutoff).delete()


# --- the delivery log -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryFilter:
    endpoint_id: int | None = None
    status: DeliveryStatus | None = None


async def list_deliveries(
    deps: Deps,
    seller_id: str,
    filters: DeliveryFilter,
    *,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    now: datetime | None = None,
) -> Page[WebhookDelivery]:
    """The seller's deliveries of the last 30 days, newest first."""
    offset = check_page(page, page_size)
    now = now or _now()
    query = WebhookDelivery.filter(
        seller_id=seller_id,
        created_at__gte=now - timedelta(days=deps.settings.webhook_retention_days),
    )
    if filters.endpoint_id is not None:
        query = query.filter(endpoint_id=filters.endpoint_id)
    if filters.status is not None:
        query = query.filter(status=filters.status)
    total = await query.count()
    rows = await query.order_by("-created_at", "-id").offset(offset).limit(page_size)
    return Page(items=list(rows), total=total, page=page, page_size=page_size)
