"""The connection test behind "Test Connection": a token and one cheap call, in plain words."""

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


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    ok: bool
    code: str  # OK, NO_CLIENTS_VISIBLE, UNREACHABLE, TLS_ERROR, TOKEN_REFUSED, NOT_HALOPSA, …
    reason: str


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
            return ConnectionCheck(
                False,
                "PERMISSION_DENIED",
                "The HaloPSA API application lacks permission to read customers.",
            )
        except (HaloNotFound, HaloRequestError):
            return ConnectionCheck(
                False,
                "NOT_HALOPSA",
                "The resource server does not look like a HaloPSA API (no /Client endpoint).",
            )
        except HaloError as exc:
            return ConnectionCheck(False, "ERROR", f"HaloPSA answered with an error: {exc}")
        if not isinstance(body, dict) or "clients" not in body:
            return ConnectionCheck(
                False, "NOT_HALOPSA", "The resource server does not look like a HaloPSA API."
            )
        if not body.get("clients"):
            return ConnectionCheck(
                True,
                "NO_CLIENTS_VISIBLE",
                "Connected, but no customers are visible: the API agent may lack team or "
                "department visibility in HaloPSA.",
            )
        return ConnectionCheck(True, "OK", "Connected to HaloPSA.")


def _unreachable(exc: HaloUnavailable) -> ConnectionCheck:
    text = str(exc)
    if "TLS" in text:
        return ConnectionCheck(
            False, "TLS_ERROR", "The HaloPSA host's TLS certificate could not be verified."
        )
    return ConnectionCheck(
        False, "UNREACHABLE", "The HaloPSA host could not be reached (check the URLs)."
    )
