"""CORS: only the configured origins, and browser preflights of pages with tracing and client
headers are let through.

Sentry and OpenTelemetry fetch instrumentation add ``sentry-trace``/``baggage`` and
``traceparent``/``tracestate`` to every request, Apollo Client adds its client-awareness
headers: a preflight refused for any of them blocks every request of the page.
"""

from __future__ import annotations

import httpx
import pytest

from gateway.settings import DEFAULT_CORS_ALLOW_HEADERS, Settings
from tests.conftest import make_settings

FRONTEND = "https://app.example.com"
TRACING_AND_CLIENT_HEADERS = [
    "traceparent",
    "tracestate",
    "sentry-trace",
    "baggage",
    "apollographql-client-name",
    "apollographql-client-version",
    "x-request-id",
    "content-type",
    "authorization",
]


def _preflight(base_url: str, headers: str, origin: str = FRONTEND) -> httpx.Response:
    with httpx.Client(base_url=base_url) as client:
        return client.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": headers,
            },
        )


def test_a_preflight_with_tracing_and_client_headers_is_allowed(edge_gateway_factory) -> None:
    gateway = edge_gateway_factory(cors_origins=[FRONTEND])
    # As Chromium sends it: lower-case, sorted, comma-separated, all at once.
    response = _preflight(gateway.base_url, ",".join(sorted(TRACING_AND_CLIENT_HEADERS)))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == FRONTEND
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert set(TRACING_AND_CLIENT_HEADERS) <= allowed
    assert int(response.headers["access-control-max-age"]) >= 600
    # … and one at a time, in any case
    for header in TRACING_AND_CLIENT_HEADERS:
        assert _preflight(gateway.base_url, header.upper()).status_code == 200, header


def test_an_actual_cross_origin_request_exposes_the_headers_clients_read(
    edge_gateway_factory,
) -> None:
    gateway = edge_gateway_factory(cors_origins=[FRONTEND])
    with httpx.Client(base_url=gateway.base_url) as client:
        response = client.post(
            "/graphql",
            json={"query": "{ viewer { sellerId } }"},
            headers={
                "Origin": FRONTEND,
                "Authorization": f"Bearer {gateway.token()}",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "sentry-trace": "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
            },
        )
    assert response.json() == {"data": {"viewer": {"sellerId": "seller-a"}}}
    assert response.headers["access-control-allow-origin"] == FRONTEND
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"retry-after", "allow", "x-request-id"} <= exposed


def test_the_allowed_headers_come_from_settings(edge_gateway_factory) -> None:
    gateway = edge_gateway_factory(
        cors_origins=[FRONTEND], cors_allow_headers=["authorization", "content-type"]
    )
    assert _preflight(gateway.base_url, "authorization,content-type").status_code == 200
    refused = _preflight(gateway.base_url, "authorization,traceparent")
    assert (refused.status_code, refused.text) == (400, "Disallowed CORS headers")


def test_a_preflight_from_another_origin_is_refused(edge_gateway_factory) -> None:
    gateway = edge_gateway_factory(cors_origins=[FRONTEND])
    refused = _preflight(gateway.base_url, "authorization", origin="https://evil.example.com")
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["authorization","x-tenant"]', ["authorization", "x-tenant"]),
        ('["*"]', ["*"]),
    ],
)
def test_cors_lists_are_read_from_the_environment(monkeypatch, value: str, expected) -> None:
    monkeypatch.setenv("CORS_ALLOW_HEADERS", value)
    monkeypatch.setenv("CORS_EXPOSE_HEADERS", '["retry-after"]')
    settings = Settings()
    assert settings.cors_allow_headers == expected
    assert settings.cors_expose_headers == ["retry-after"]


def test_the_default_covers_tracing_and_client_headers() -> None:
    assert set(TRACING_AND_CLIENT_HEADERS) <= set(DEFAULT_CORS_ALLOW_HEADERS)
    assert Settings().cors_allow_headers == list(DEFAULT_CORS_ALLOW_HEADERS)


async def test_cors_allows_only_the_configured_origins(
    gateway_factory, database_url, tmp_path
) -> None:
    settings = make_settings(database_url, tmp_path, cors_origins=["https://app.example.com"])
    running = gateway_factory(settings)
    async with httpx.AsyncClient(base_url=running.base_url) as client:
        allowed = await client.options(
            "/graphql",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        denied = await client.options(
            "/graphql",
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in denied.headers
