"""Who may call the API: tokens, roles, and the seller every answer is scoped to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.exceptions import ConnectionClosed

from tests.conftest import TEST_JWT_SECRET, RunningGateway, assert_error_code, make_settings
from tests.support.ws import open_socket, receive

VIEWER = "{ viewer { subject sellerId roles } }"


def _claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "alice",
        "seller_id": "seller-a",
        "roles": ["SELLER_ADMIN"],
        "iss": "halo-gateway",
        "aud": "halo-gateway",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(overrides)
    return claims


def _token(secret: str = TEST_JWT_SECRET, **overrides: object) -> str:
    return jwt.encode(_claims(**overrides), secret, algorithm="HS256")


async def test_a_request_without_a_token_is_unauthenticated(gateway: RunningGateway) -> None:
    result = await gateway.gql(VIEWER, seller=None)
    assert_error_code(result, "UNAUTHENTICATED")
    assert result["data"] is None


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        _token(secret="another-secret-that-is-long-enough-000000"),
        _token(exp=datetime.now(UTC) - timedelta(hours=1)),
        _token(aud="someone-else"),
        _token(seller_id=""),
    ],
    ids=["garbage", "wrong-signature", "expired", "wrong-audience", "no-seller"],
)
async def test_a_bad_token_is_unauthenticated(gateway: RunningGateway, token: str) -> None:
    result = await gateway.gql(VIEWER, token=token)
    error = assert_error_code(result, "UNAUTHENTICATED")
    assert token not in error["message"]


@pytest.mark.parametrize("roles", [["SELLER_USER"], ["RESELLER_ADMIN"], []])
async def test_roles_other_than_the_two_admin_roles_are_forbidden(
    gateway: RunningGateway, roles: list[str]
) -> None:
    result = await gateway.gql(VIEWER, token=_token(roles=roles))
    assert_error_code(result, "FORBIDDEN")


@pytest.mark.parametrize(
    "role", ["SELLER_ADMIN", "SELLER_AGENT_ADMIN", "Seller Admin", "seller-agent-admin"]
)
async def test_seller_admin_and_seller_agent_admin_are_let_in(
    gateway: RunningGateway, role: str
) -> None:
    result = await gateway.gql(VIEWER, token=_token(roles=["SELLER_USER", role]))
    assert "errors" not in result, result
    assert result["data"]["viewer"]["sellerId"] == "seller-a"
    assert result["data"]["viewer"]["subject"] == "alice"


async def test_typename_answers_with_a_minted_token(gateway: RunningGateway) -> None:
    result = await gateway.gql("{ __typename }")
    assert result == {"data": {"__typename": "Query"}}


async def test_every_answer_is_scoped_to_the_sellers_own_token(gateway: RunningGateway) -> None:
    a = await gateway.gql(VIEWER, seller="seller-a")
    b = await gateway.gql(VIEWER, seller="seller-b", role="SELLER_AGENT_ADMIN")
    assert a["data"]["viewer"]["sellerId"] == "seller-a"
    assert b["data"]["viewer"]["sellerId"] == "seller-b"
    assert b["data"]["viewer"]["roles"] == ["SELLER_AGENT_ADMIN"]


async def test_rs256_tokens_are_verified_with_the_configured_public_key(
    gateway_factory, database_url, tmp_path
) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = make_settings(
        database_url, tmp_path, jwt_algorithm="RS256", jwt_public_key=public_pem
    )
    running = gateway_factory(settings)
    good = jwt.encode(_claims(), private_key, algorithm="RS256")
    forged = _token()  # HS256 with the shared secret must not pass an RS256 gateway
    assert (await running.gql(VIEWER, token=good))["data"]["viewer"]["sellerId"] == "seller-a"
    assert_error_code(await running.gql(VIEWER, token=forged), "UNAUTHENTICATED")


async def test_websocket_with_a_valid_token_is_acknowledged(gateway: RunningGateway) -> None:
    socket = await open_socket(gateway.base_url, {"Authorization": f"Bearer {gateway.token()}"})
    try:
        assert (await receive(socket))["type"] == "connection_ack"
    finally:
        await socket.close()


@pytest.mark.parametrize(
    ("payload", "close_code"),
    [
        ({}, 4401),
        ({"Authorization": "Bearer nonsense"}, 4401),
        # minted in the test (not at collection): a slow suite must not expire it first
        ({"token": "SELLER_USER"}, 4403),
    ],
    ids=["no-token", "bad-token", "wrong-role"],
)
async def test_websocket_with_a_bad_token_is_closed(
    gateway: RunningGateway, payload: dict[str, str], close_code: int
) -> None:
    if payload.get("token") == "SELLER_USER":
        payload = {"token": _token(roles=["SELLER_USER"])}
    socket = await open_socket(gateway.base_url, payload)
    with pytest.raises(ConnectionClosed) as closed:
        await receive(socket)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == close_code


async def test_hs_secrets_rotate_through_a_comma_separated_key_list(
    gateway_factory, database_url, tmp_path
) -> None:
    # Given the new secret first and the old one still listed (JWT_SECRET="new,old")
    old, new, retired = ("old-" + "o" * 40, "new-" + "n" * 40, "retired-" + "r" * 40)
    running = gateway_factory(make_settings(database_url, tmp_path, jwt_secret=f"{new},{old}"))
    # Then tokens signed with either are accepted, one signed with a removed key is not,
    # and the gateway's own tokens (`halo-gateway token`) are signed with the first
    for secret in (new, old):
        result = await running.gql(VIEWER, token=_token(secret=secret))
        assert result["data"]["viewer"]["sellerId"] == "seller-a", result
    assert_error_code(await running.gql(VIEWER, token=_token(secret=retired)), "UNAUTHENTICATED")
    minted = running.token()
    assert jwt.decode(minted, new, algorithms=["HS256"], audience="halo-gateway")["sub"]
    # An expired token is refused whichever listed key signed it.
    expired = _token(secret=old, exp=datetime.now(UTC) - timedelta(hours=1))
    error = assert_error_code(await running.gql(VIEWER, token=expired), "UNAUTHENTICATED")
    assert error["message"] == "The token has expired."


async def test_several_public_keys_in_jwt_public_key_all_verify(
    gateway_factory, database_url, tmp_path
) -> None:
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]
    pems = [
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        for key in keys
    ]
    settings = make_settings(
        database_url, tmp_path, jwt_algorithm="RS256", jwt_public_key="\n".join(pems[:2])
    )
    running = gateway_factory(settings)
    for key in keys[:2]:
        good = jwt.encode(_claims(), key, algorithm="RS256")
        assert (await running.gql(VIEWER, token=good))["data"]["viewer"]["sellerId"] == "seller-a"
    unknown = jwt.encode(_claims(), keys[2], algorithm="RS256")
    assert_error_code(await running.gql(VIEWER, token=unknown), "UNAUTHENTICATED")
