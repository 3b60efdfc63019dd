"""Tokens as the platform would sign them, with any claim changed (tests of who may call)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from tests.conftest import TEST_JWT_SECRET


def claims(**overrides: Any) -> dict[str, Any]:
    """A Seller Admin of seller-a, valid for five minutes, with ``overrides``."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "sub": "alice",
        "seller_id": "seller-a",
        "roles": ["SELLER_ADMIN"],
        "iss": "halo-gateway",
        "aud": "halo-gateway",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    values.update(overrides)
    return values


def token(secret: str = TEST_JWT_SECRET, **overrides: Any) -> str:
    """``claims(**overrides)`` signed HS256 with ``secret`` (the test gateways' own by default)."""
    return jwt.encode(claims(**overrides), secret, algorithm="HS256")
