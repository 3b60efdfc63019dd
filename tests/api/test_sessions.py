"""issueSessionToken: the web app swaps a handed-over token for a short-lived one and renews it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import time_machine

from gateway.auth import mint_token
from tests.conftest import assert_error_code, make_settings

ISSUE = "mutation { issueSessionToken { token expiresAt } }"
WHO = "{ viewer { subject sellerId roles } }"


def _claims(gateway, token: str) -> dict:
    return jwt.decode(
        token,
        gateway.settings.jwt_secrets[0],
        algorithms=["HS256"],
        audience=gateway.settings.jwt_audience,
        # tokens minted in a travelled-to future are read back from the present
        options={"verify_iat": False, "verify_nbf": False},
    )


async def test_a_handed_over_token_is_swapped_for_a_short_lived_one_for_the_same_caller(
    gateway,
) -> None:
    handed = mint_token(
        gateway.settings, seller_id="seller-a", roles=["SELLER_AGENT_ADMIN"], subject="ann"
    )
    issued = (await gateway.gql(ISSUE, token=handed))["data"]["issueSessionToken"]

    expires = datetime.fromisoformat(issued["expiresAt"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    who = (await gateway.gql(WHO, token=issued["token"]))["data"]["viewer"]
    assert who == {"subject": "ann", "sellerId": "seller-a", "roles": ["SELLER_AGENT_ADMIN"]}
    assert _claims(gateway, issued["token"])["session_until"] == _claims(gateway, handed)["exp"]


async def test_renewals_never_outlive_the_handed_over_token(gateway) -> None:
    # Given a handed-over token valid for 20 more minutes
    handed = mint_token(
        gateway.settings, seller_id="seller-a", roles=["SELLER_ADMIN"], ttl=timedelta(minutes=20)
    )
    first = (await gateway.gql(ISSUE, token=handed))["data"]["issueSessionToken"]
    # When the session token is renewed 10 minutes later
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=10), tick=False):
        renewed = (await gateway.gql(ISSUE, token=first["token"]))["data"]["issueSessionToken"]
    # Then the renewal ends with the handed-over token, not 15 minutes after the renewal
    assert _claims(gateway, renewed["token"])["exp"] <= _claims(gateway, handed)["exp"]
    assert _claims(gateway, renewed["token"])["session_until"] == _claims(gateway, handed)["exp"]


async def test_no_token_or_a_wrong_role_gets_no_session(gateway) -> None:
    assert_error_code(await gateway.gql(ISSUE, seller=None), "UNAUTHENTICATED")
    assert_error_code(await gateway.gql(ISSUE, role="SELLER_VIEWER"), "FORBIDDEN")


async def test_a_gateway_verifying_platform_keys_says_it_issues_no_session_tokens(
    gateway_factory, database_url, tmp_path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = make_settings(
        database_url, tmp_path, jwt_algorithm="RS256", jwt_public_key=public.decode()
    )
    gateway = gateway_factory(settings)
    now = datetime.now(UTC)
    token = jwt.encode(
        {
            "sub": "ann",
            "seller_id": "seller-a",
            "roles": ["SELLER_ADMIN"],
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "exp": now + timedelta(hours=1),
        },
        key,
        algorithm="RS256",
    )
    assert_error_code(await gateway.gql(ISSUE, token=token), "SESSION_TOKENS_UNAVAILABLE")
