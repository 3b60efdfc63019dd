"""ASGI middleware at the edge: a request body over the cap is refused before it is read
whole, and every response carries the security headers."""

from __future__ import annotations

import httpx


async def test_a_body_over_the_limit_is_refused_with_413(gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        response = await client.post(
            "/graphql",
            content=b'{"query": "' + b"x" * (3 * 1024 * 1024) + b'"}',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_responses_carry_security_headers(gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        response = await client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
