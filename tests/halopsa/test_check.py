"""The connection test behind "Test Connection": one verdict per way a connection can be
wrong, each in words a seller can act on."""

from __future__ import annotations

import httpx
import pytest
import respx

from gateway.halopsa import HaloCredentials, check_connection

API, AUTH = "https://halo.test/api", "https://halo.test/auth"
CREDS = HaloCredentials("cid", "a-secret-of-the-seller", API, AUTH)
TOKEN = httpx.Response(200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 60})
CLIENTS = {"record_count": 1, "clients": [{"id": 1, "name": "Acme"}]}
LICENCES = {"record_count": 0, "licences": []}


@pytest.mark.parametrize(
    ("token", "clients", "verdict"),
    [
        (TOKEN, httpx.Response(200, json=CLIENTS), (True, "OK")),
        (
            TOKEN,
            httpx.Response(200, json={"record_count": 0, "clients": []}),
            (True, "NO_CLIENTS_VISIBLE"),
        ),
        (httpx.Response(401, json={"error": "invalid_client"}), None, (False, "TOKEN_REFUSED")),
        (httpx.Response(404), None, (False, "NOT_HALOPSA")),
        (httpx.Response(200, text="<html>a login page</html>"), None, (False, "NOT_HALOPSA")),
        (TOKEN, httpx.Response(401), (False, "TOKEN_REFUSED")),
        (TOKEN, httpx.Response(403), (False, "PERMISSION_DENIED")),
        (TOKEN, httpx.Response(404), (False, "NOT_HALOPSA")),
        (TOKEN, httpx.Response(200, json={"something": "else"}), (False, "NOT_HALOPSA")),
        (httpx.ConnectError("refused"), None, (False, "UNREACHABLE")),
    ],
)
@respx.mock
async def test_each_way_a_connection_can_be_wrong_has_its_own_verdict(
    token, clients, verdict
) -> None:
    if isinstance(token, Exception):
        respx.post(f"{AUTH}/token").mock(side_effect=token)
    else:
        respx.post(f"{AUTH}/token").mock(return_value=token)
    if clients is not None:
        respx.get(f"{API}/Client").mock(return_value=clients)
    respx.get(f"{API}/SoftwareLicence").mock(return_value=httpx.Response(200, json=LICENCES))
    result = await check_connection(CREDS, timeout=2)
    assert (result.ok, result.code) == verdict
    assert result.reason and CREDS.client_secret not in result.reason


def _token(scope: str | None) -> httpx.Response:
    body = {"access_token": "t", "token_type": "Bearer", "expires_in": 60}
    return httpx.Response(200, json=body if scope is None else {**body, "scope": scope})


@pytest.mark.parametrize(
    ("scope", "clients", "licences", "verdict", "granted"),
    [
        ("all", 200, 200, (True, "OK"), (True, True, True)),
        ("all:standard", 200, 200, (True, "OK"), (True, True, True)),
        (
            "read:customers read:softwarelicensing edit:softwarelicensing",
            200,
            200,
            (True, "OK"),
            (True, True, True),
        ),
        (None, 200, 200, (True, "OK"), (True, True, None)),
        (
            "read:customers read:softwarelicensing",
            200,
            200,
            (False, "PERMISSION_DENIED"),
            (True, True, False),
        ),
        ("all", 200, 403, (False, "PERMISSION_DENIED"), (True, False, True)),
        ("all", 403, 403, (False, "PERMISSION_DENIED"), (False, False, True)),
    ],
    ids=["all", "all-standard", "each", "unsaid", "no-edit", "no-licence-read", "no-reads"],
)
@respx.mock
async def test_the_permissions_a_sync_needs_are_proven_without_writing(
    scope, clients, licences, verdict, granted
) -> None:
    respx.post(f"{AUTH}/token").mock(return_value=_token(scope))
    body = {403: "You do not have permission to access this resource."}
    respx.get(f"{API}/Client").mock(
        return_value=httpx.Response(clients, json=body.get(clients, CLIENTS))
    )
    respx.get(f"{API}/SoftwareLicence").mock(
        return_value=httpx.Response(licences, json=body.get(licences, LICENCES))
    )
    written = respx.post(f"{API}/SoftwareLicence")

    result = await check_connection(CREDS, timeout=2)

    assert (result.ok, result.code) == verdict
    assert tuple(p.granted for p in result.permissions) == granted
    names = [p.permission for p in result.permissions]
    assert names == ["read:customers", "read:softwarelicensing", "edit:softwarelicensing"]
    for permission, ok in zip(names, granted, strict=True):
        assert (f'"{permission}"' in result.reason) is (ok is False)
    assert not written.called


async def test_a_tls_failure_is_reported_in_plain_words(halo_sim) -> None:
    https = halo_sim.base_url.replace("http://", "https://")
    creds = HaloCredentials("halo-client", "halo-secret-1234", f"{https}/api", f"{https}/auth")
    result = await check_connection(creds, timeout=5)
    assert (result.ok, result.code) == (False, "TLS_ERROR")
    assert "TLS certificate" in result.reason
