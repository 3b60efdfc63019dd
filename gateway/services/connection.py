"""The seed's "Authentication Settings" page: show, test and save the HaloPSA connection.

* The secret is encrypted at rest (``deps.secret_box``); answers only say whether one is set
  and its last 4 characters. It never reaches a log line, an error or a response.
* ``saveConnection`` tests before saving and saves only a working configuration; otherwise
  ``INVALID_CONNECTION`` "Invalid connection configuration." with the reason in plain words.
* Omitting the secret keeps the stored one (the page never has it to send back).
* The first successful save queues an organisations sync, so the Mapping page that the user
  lands on has PSA organisations.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from gateway.auth import Principal
from gateway.db import bound
from gateway.errors import BadUserInput, InvalidConnection
from gateway.messages import MessageCode
from gateway.models import Connection, ConnectionStatus, LogLevel, SyncKind, SyncTrigger
from gateway.services import Deps, throttle
from gateway.services import logs as product_log
from gateway.services.halo_client import credentials_from_values
from gateway.services.logs import Detail
from gateway.settings import Settings

logger = logging.getLogger(__name__)

TEST_OK = "Test is successful."
TEST_FAILED = "Test is not successful."
INVALID = "Invalid connection configuration."
MAX_URL_LENGTH = 2048
MAX_ID_LENGTH = 255
MAX_SECRET_LENGTH = 1024
LOOPBACK_HOSTS = {"localhost"}


@dataclass(frozen=True)
class ConnectionInput:
    client_id: str
    client_secret: str | None
    resource_server: str
    authorization_server: str
    tenant: str | None


@dataclass(frozen=True)
class ConnectionView:
    client_id: str | None
    secret_set: bool
    secret_last4: str | None
    resource_server: str | None
    authorization_server: str | None
    tenant: str | None
    status: ConnectionStatus
    verified_at: datetime | None


@dataclass(frozen=True)
class PermissionView:
    """A permission a sync needs, as HaloPSA's API application settings name it, and
    whether the test proved it (None: HaloPSA did not say)."""

    permission: str
    needed_for: str
    granted: bool | None


@dataclass(frozen=True)
class TestResult:
    success: bool
    message: str
    reason: str
    reason_code: str
    permissions: tuple[PermissionView, ...] = ()


async def get_connection(seller_id: str) -> ConnectionView:
    row = await Connection.get_or_none(seller_id=seller_id)
    if row is None:
        return ConnectionView(
            None, False, None, None, None, None, ConnectionStatus.NOT_CONFIGURED, None
        )
    return ConnectionView(
        client_id=row.client_id,
        secret_set=True,
        secret_last4=row.client_secret_last4,
        resource_server=row.resource_server,
        authorization_server=row.authorization_server,
        tenant=row.tenant,
        status=row.status,
        verified_at=row.verified_at,
    )


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _validate_url(settings: Settings, value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise BadUserInput(f"{field} is required.", field=field)
    if len(value) > MAX_URL_LENGTH:
        raise BadUserInput(f"{field} is longer than {MAX_URL_LENGTH} characters.", field=field)
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise BadUserInput(
            f"{field} must be a URL like https://yourcompany.halopsa.com/api.", field=field
        )
    if parts.username or parts.password:
        raise BadUserInput(f"{field} must not contain credentials.", field=field)
    if parts.scheme == "http" and not (settings.loopback_http_allowed and _is_loopback(host)):
        raise BadUserInput(f"{field} must use https.", field=field)
    return value.rstrip("/")


def _validate_text(value: str | None, field: str, maximum: int, *, required: bool) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise BadUserInput(f"{field} is required.", field=field)
        return None
    if len(value) > maximum:
        raise BadUserInput(f"{field} is longer than {maximum} characters.", field=field)
    return value


async def _resolve(deps: Deps, seller_id: str, data: ConnectionInput) -> ConnectionInput:
    settings = deps.settings
    client_id = _validate_text(data.client_id, "clientId", MAX_ID_LENGTH, required=True)
    secret = _validate_text(data.client_secret, "clientSecret", MAX_SECRET_LENGTH, required=False)
    if secret is None:
        stored = await Connection.get_or_none(seller_id=seller_id)
        if stored is None:
            raise BadUserInput("clientSecret is required.", field="clientSecret")
        secret = deps.secret_box.decrypt(stored.client_secret_encrypted)
    return ConnectionInput(
        client_id=client_id or "",
        client_secret=secret,
        resource_server=_validate_url(settings, data.resource_server, "resourceServer"),
        authorization_server=_validate_url(
            settings, data.authorization_server, "authorizationServer"
        ),
        tenant=_validate_text(data.tenant, "tenant", MAX_ID_LENGTH, required=False),
    )


async def _check(deps: Deps, data: ConnectionInput) -> TestResult:
    from gateway.halopsa import check_connection

    result = await check_connection(
        credentials_from_values(data),
        transport=deps.halo_transport,
        timeout=min(deps.settings.halo_timeout_seconds, 10.0),
    )
    return TestResult(
        success=result.ok,
        message=TEST_OK if result.ok else TEST_FAILED,
        reason=result.reason,
        reason_code=result.code,
        permissions=tuple(
            PermissionView(p.permission, p.needed_for, p.granted) for p in result.permissions
        ),
    )


async def test_connection(deps: Deps, principal: Principal, data: ConnectionInput) -> TestResult:
    await throttle.check(deps.throttle, "test_connection", principal.seller_id)
    resolved = await _resolve(deps, principal.seller_id, data)
    result = await _check(deps, resolved)
    logger.info(
        "connection test of seller %s: %s",
        principal.seller_id,
        result.reason_code,
        extra={"seller_id": principal.seller_id, "result": result.reason_code},
    )
    await product_log.record(
        principal.seller_id,
        LogLevel.INFO if result.success else LogLevel.ERROR,
        "Connection test successful" if result.success else "Connection test failed",
        product_log.details_line(
            (
                MessageCode.CONNECTION_TEST_SUCCEEDED
                if result.success
                else MessageCode.CONNECTION_TEST_FAILED
            ),
            product_log.reseller(principal.seller_id),
            product_log.provider(),
            product_log.by(principal.subject),
            Detail("result", "Result", result.reason),
            extra={"resultCode": result.reason_code},
        ),
    )
    return result


@dataclass(frozen=True)
class SaveResult:
    connection: ConnectionView
    organizations_sync_queued: bool


async def save_connection(deps: Deps, principal: Principal, data: ConnectionInput) -> SaveResult:
    seller_id = principal.seller_id
    await throttle.check(deps.throttle, "test_connection", seller_id)
    resolved = await _resolve(deps, seller_id, data)
    result = await _check(deps, resolved)
    logger.info(
        "connection of seller %s checked before saving: %s",
        seller_id,
        result.reason_code,
        extra={"seller_id": seller_id, "result": result.reason_code},
    )
    if not result.success:
        await product_log.record(
            seller_id,
            LogLevel.ERROR,
            "Connection settings not saved",
            product_log.details_line(
                MessageCode.CONNECTION_NOT_SAVED,
                product_log.reseller(seller_id),
                product_log.by(principal.subject),
                Detail("reason", "Reason", result.reason),
                extra={"reasonCode": result.reason_code},
            ),
        )
        raise InvalidConnection(INVALID, reason=result.reason, reasonCode=result.reason_code)
    secret = resolved.client_secret or ""
    now = datetime.now(UTC)
    existing = await Connection.get_or_none(seller_id=seller_id)
    first_verified = existing is None or existing.verified_at is None
    values: dict[str, Any] = {
        "client_id": resolved.client_id,
        "client_secret_encrypted": deps.secret_box.encrypt(secret),
        "client_secret_last4": secret[-4:],
        "resource_server": resolved.resource_server,
        "authorization_server": resolved.authorization_server,
        "tenant": resolved.tenant,
        "status": ConnectionStatus.VERIFIED,
        "verified_at": now,
        "last_checked_at": now,
        "last_check_reason": result.reason,
    }
    if existing is None:
        await Connection.create(seller_id=seller_id, **values)
    else:
        await Connection.filter(id=existing.id).update(**values)
    await product_log.record(
        seller_id,
        LogLevel.INFO,
        "Connection settings saved",
        product_log.details_line(
            MessageCode.CONNECTION_SAVED,
            product_log.reseller(seller_id),
            product_log.provider(),
            product_log.by(principal.subject),
            Detail("resourceServer", "Resource server", resolved.resource_server),
        ),
    )
    queued = False
    if first_verified:
        from gateway.errors import DomainError
        from gateway.services.sync import trigger_sync

        try:
            await trigger_sync(
                deps,
                seller_id,
                SyncKind.ORGANIZATIONS,
                trigger=SyncTrigger.AUTOMATIC,
                triggered_by=principal.subject,
            )
            queued = True
        except DomainError as exc:  # a sync already running, or the queue down: not fatal
            logger.warning(
                "first organisations sync not queued: %s",
                exc.message,
                extra={"seller_id": seller_id},
            )
    return SaveResult(await get_connection(seller_id), queued)


async def rotate_stored_secrets(settings: Settings) -> int:
    """Re-encrypt every stored secret with the first key of SECRETS_KEY (``rotate-secrets``)."""
    from gateway import db
    from gateway.crypto import secret_box_from_settings
    from gateway.services import webhooks

    box = secret_box_from_settings(settings)
    ctx = await db.open_db(settings)
    count = 0
    try:
        with bound(ctx):
            for row in await Connection.all():
                row.client_secret_encrypted = box.rotate(row.client_secret_encrypted)
                await row.save(update_fields=["client_secret_encrypted"])
                count += 1
            count += await webhooks.reencrypt_secrets(box)
    finally:
        await db.close_db(ctx)
    return count
