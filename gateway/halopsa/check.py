"""The connection test behind "Test Connection": a token, harmless reads, in plain words.

Besides "can we talk to HaloPSA", it proves what a sync needs, without creating or changing
anything (it never POSTs to the API):

* clients readable — ``GET /Client`` (one row); HaloPSA answers 403 without the permission;
* licences readable — ``GET /SoftwareLicence`` (one row), likewise;
* licences writable — the permissions HaloPSA granted the token (its ``scope``: the
  application's Permissions tab); nothing harmless proves a write, and a test must not write.

A missing one is named as HaloPSA's API application settings name it (``read:customers``,
``read:softwarelicensing``, ``edit:softwarelicensing``), with where to tick it.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from gateway.halopsa.client import HaloClient
from gateway.halopsa.errors import (
    HaloAuthError,
    HaloError,
    HaloNotFound,
    HaloPermissionError,
    HaloRequestError,
    HaloUnavailable,
)
from gateway.halopsa.records import HaloCredentials

# A connection test is interactive: a person waits for it.
CHECK_TIMEOUT_SECONDS = 10.0


# Where a HaloPSA admin grants an API application its permissions.
PERMISSIONS_PLACE = (
    "Configuration > Integrations > HaloPSA API > View Applications > your application > "
    "Permissions"
)
READ_CLIENTS = "read:customers"
READ_LICENCES = "read:softwarelicensing"
WRITE_LICENCES = "edit:softwarelicensing"
# Permissions that include every other (HaloPSA's "all", and "all:standard").
GRANTS_EVERYTHING = frozenset({"all", "all:standard"})
# What each permission is needed for, in the seller's words.
NEEDED_FOR = {
    READ_CLIENTS: "read the HaloPSA organizations (customers sync, mapping)",
    READ_LICENCES: "read licences (subscriptions sync, drift check)",
    WRITE_LICENCES: "create and update licences (subscriptions sync)",
}


@dataclass(frozen=True, slots=True)
class PermissionCheck:
    """One permission a sync needs: HaloPSA's name for it, and whether the test proved it
    (None: HaloPSA did not say which permissions the token grants)."""

    permission: str
    needed_for: str
    granted: bool | None


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    ok: bool
    code: str  # OK, NO_CLIENTS_VISIBLE, UNREACHABLE, TLS_ERROR, TOKEN_REFUSED, NOT_HALOPSA, …
    reason: str
    permissions: tuple[PermissionCheck, ...] = ()


def missing_permissions_reason(missing: list[str]) -> str:
    """What to tick in HaloPSA, in its own words."""
    names = ", ".join(f'"{name}"' for name in missing)
    needs = "; ".join(f"{name}: to {NEEDED_FOR[name]}" for name in missing)
    plural = "s" if len(missing) > 1 else ""
    return (
        f"The HaloPSA API application lacks the permission{plural} {names} ({needs}). In "
        f'HaloPSA, open {PERMISSIONS_PLACE}, tick {names} (or "all"), save, and test again.'
    )


def _granted(scopes: frozenset[str] | None, permission: str) -> bool | None:
    if scopes is None:
        return None
    return bool(scopes & GRANTS_EVERYTHING) or permission in scopes


async def check_connection(
    credentials: HaloCredentials,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = CHECK_TIMEOUT_SECONDS,
) -> ConnectionCheck:
    async with HaloClient(
        credentials, transport=transport, timeout=timeout, max_retries=0
    ) as client:
        try:
            await client._access_token()
        except HaloAuthError as exc:
            if exc.status == 200:
                return ConnectionCheck(
                    False,
                    "NOT_HALOPSA",
                    "The authorization server did not answer like a HaloPSA authorization server.",
                )
            if exc.status == 404:
                return ConnectionCheck(
                    False,
                    "NOT_HALOPSA",
                    "The authorization server URL has no HaloPSA token endpoint (HTTP 404).",
                )
            return ConnectionCheck(
                False,
                "TOKEN_REFUSED",
                "HaloPSA refused the credentials: check the client ID, the client secret and "
                "the tenant.",
            )
        except HaloUnavailable as exc:
            return _unreachable(exc)
        try:
            body = await client._get_json(
                "/Client", {"pageinate": "true", "page_size": 1, "page_no": 1}
            )
        except HaloUnavailable as exc:
            return _unreachable(exc)
        except HaloAuthError:
            return ConnectionCheck(
                False,
                "TOKEN_REFUSED",
                "HaloPSA issued a token but the resource server refused it: check that both "
                "URLs belong to the same HaloPSA instance and tenant.",
            )
        except HaloPermissionError:
            body = None
        except (HaloNotFound, HaloRequestError):
            return ConnectionCheck(
                False,
                "NOT_HALOPSA",
                "The resource server does not look like a HaloPSA API (no /Client endpoint).",
            )
        except HaloError as exc:
            return ConnectionCheck(False, "ERROR", f"HaloPSA answered with an error: {exc}")
        clients_readable = body is not None
        if clients_readable and (not isinstance(body, dict) or "clients" not in body):
            return ConnectionCheck(
                False, "NOT_HALOPSA", "The resource server does not look like a HaloPSA API."
            )
        clients_visible = isinstance(body, dict) and bool(body.get("clients"))
        try:
            await client._get_json(
                "/SoftwareLicence",
                {"includeinactive": "true", "pageinate": "true", "page_size": 1, "page_no": 1},
            )
            licences_readable = True
        except HaloPermissionError:
            licences_readable = False
        except HaloUnavailable as exc:
            return _unreachable(exc)
        except HaloError as exc:
            return ConnectionCheck(False, "ERROR", f"HaloPSA answered with an error: {exc}")
        permissions = (
            PermissionCheck(READ_CLIENTS, NEEDED_FOR[READ_CLIENTS], clients_readable),
            PermissionCheck(READ_LICENCES, NEEDED_FOR[READ_LICENCES], licences_readable),
            PermissionCheck(
                WRITE_LICENCES,
                NEEDED_FOR[WRITE_LICENCES],
                _granted(client.granted_scopes, WRITE_LICENCES),
            ),
        )
        missing = [p.permission for p in permissions if p.granted is False]
        if missing:
            return ConnectionCheck(
                False, "PERMISSION_DENIED", missing_permissions_reason(missing), permissions
            )
        if not clients_visible:
            return ConnectionCheck(
                True,
                "NO_CLIENTS_VISIBLE",
                "Connected, but no customers are visible: the API agent may lack team or "
                "department visibility in HaloPSA.",
                permissions,
            )
        return ConnectionCheck(True, "OK", "Connected to HaloPSA.", permissions)


def _unreachable(exc: HaloUnavailable) -> ConnectionCheck:
    text = str(exc)
    if "TLS" in text:
        return ConnectionCheck(
            False, "TLS_ERROR", "The HaloPSA host's TLS certificate could not be verified."
        )
    return ConnectionCheck(
        False, "UNREACHABLE", "The HaloPSA host could not be reached (check the URLs)."
    )
