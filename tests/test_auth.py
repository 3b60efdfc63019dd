"""Who may call the API: token signatures, expiry, key rotation, and the two admin roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.auth import authenticate
from gateway.errors import Unauthenticated
from tests.conftest import RunningGateway, assert_error_code, make_settings
from tests.support import tokens

VIEWER = "{ viewer { subject sellerId roles } }"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        tokens.token(secret="another-secret-that-is-long-enough-000000"),
        tokens.token(exp=datetime.now(UTC) - timedelta(hours=1)),
        tokens.token(aud="someone-else"),
        tokens.token(seller_id=""),
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
    result = await gateway.gql(VIEWER, token=tokens.token(roles=roles))
    assert_error_code(result, "FORBIDDEN")


@pytest.mark.parametrize(
    "role", ["SELLER_ADMIN", "SELLER_AGENT_ADMIN", "Seller Admin", "seller-agent-admin"]
)
async def test_seller_admin_and_seller_agent_admin_are_let_in(
    gateway: RunningGateway, role: str
) -> None:
    result = await gateway.gql(VIEWER, token=tokens.token(roles=["SELLER_USER", role]))
    assert "errors" not in result, result
    assert result["data"]["viewer"]["sellerId"] == "seller-a"
    assert result["data"]["viewer"]["subject"] == "alice"


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
    good = jwt.encode(tokens.claims(), private_key, algorithm="RS256")
    forged = tokens.token()  # HS256 with the shared secret must not pass an RS256 gateway
    assert (await running.gql(VIEWER, token=good))["data"]["viewer"]["sellerId"] == "seller-a"
    assert_error_code(await running.gql(VIEWER, token=forged), "UNAUTHENTICATED")


async def test_hs_secrets_rotate_through_a_comma_separated_key_list(
    gateway_factory, database_url, tmp_path
) -> None:
    # Given the new secret first and the old one still listed (JWT_SECRET="new,old")
    old, new, retired = ("old-" + "o" * 40, "new-" + "n" * 40, "retired-" + "r" * 40)
    running = gateway_factory(make_settings(database_url, tmp_path, jwt_secret=f"{new},{old}"))
    # Then tokens signed with either are accepted, one signed with a removed key is not,
    # and the gateway's own tokens (`halo-gateway token`) are signed with the first
    for secret in (new, old):
        result = await running.gql(VIEWER, token=tokens.token(secret=secret))
        assert result["data"]["viewer"]["sellerId"] == "seller-a", result
    assert_error_code(
        await running.gql(VIEWER, token=tokens.token(secret=retired)), "UNAUTHENTICATED"
    )
    minted = running.token()
    assert jwt.decode(minted, new, algorithms=["HS256"], audience="halo-gateway")["sub"]
    # An expired token is refused whichever listed key signed it.
    expired = tokens.token(secret=old, exp=datetime.now(UTC) - timedelta(hours=1))
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
        good = jwt.encode(tokens.claims(), key, algorithm="RS256")
        assert (await running.gql(VIEWER, token=good))["data"]["viewer"]["sellerId"] == "seller-a"
    unknown = jwt.encode(tokens.claims(), keys[2], algorithm="RS256")
    assert_error_code(await running.gql(VIEWER, token=unknown), "UNAUTHENTICATED")


# --- verified tokens kept (gateway.auth: a page sends one token with every request) ---------

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _settings(tmp_path: Any, **overrides: Any) -> Any:
    return make_settings("sqlite://:memory:", tmp_path, **overrides)


def test_a_token_that_passed_is_still_refused_once_it_expires(tmp_path: Any) -> None:
    settings = _settings(tmp_path)
    token = tokens.token(iat=START, exp=START + timedelta(minutes=1))
    with time_machine.travel(START, tick=False) as clock:
        assert authenticate(settings, f"Bearer {token}").seller_id == "seller-a"
        # within the leeway after exp it still passes, as PyJWT would let it
        clock.shift(timedelta(minutes=1, seconds=settings.jwt_leeway_seconds - 1))
        assert authenticate(settings, f"Bearer {token}").seller_id == "seller-a"
        clock.shift(timedelta(seconds=1))
        with pytest.raises(Unauthenticated, match=r"The token has expired\."):
            authenticate(settings, f"Bearer {token}")


def test_a_token_that_passed_under_one_key_is_refused_by_settings_without_it(
    tmp_path: Any,
) -> None:
    token = tokens.token()
    assert authenticate(_settings(tmp_path), token).seller_id == "seller-a"
    rotated = _settings(tmp_path, jwt_secret="another-secret-that-is-long-enough-000000")
    with pytest.raises(Unauthenticated, match="not valid"):
        authenticate(rotated, token)


def test_a_clock_set_back_before_a_tokens_start_checks_the_token_again(tmp_path: Any) -> None:
    settings = _settings(tmp_path)
    token = tokens.token(iat=START, nbf=START, exp=START + timedelta(hours=2))
    with time_machine.travel(START, tick=False) as clock:
        assert authenticate(settings, token).seller_id == "seller-a"
        clock.shift(-timedelta(hours=1))
        with pytest.raises(Unauthenticated, match="not valid"):
            authenticate(settings, token)
