"""The app as create_app wires it: /healthz says the process is up and /readyz whether it can
do its job now; websockets only from allowed origins; GraphiQL and introspection by settings."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.conftest import (
    REDIS_URL,
    RunningGateway,
    make_settings,
    running_gateway,
)
from tests.support.databases import vanishing_postgres
from tests.support.ws import open_socket, receive

FRONTEND = "https://app.example.com"
INTROSPECT = "{ __schema { queryType { name } } }"


async def _get(base_url: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url) as client:
        return await client.get(path)


async def test_healthz_and_readyz_answer_ok_when_everything_is_up(gateway) -> None:
    assert (await _get(gateway.base_url, "/healthz")).json() == {"status": "ok"}
    ready = await _get(gateway.base_url, "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": True, "broker": True}}


async def test_readyz_fails_when_redis_is_unreachable(
    gateway_factory, database_url, tmp_path
) -> None:
    settings = make_settings(database_url, tmp_path, redis_url="redis://127.0.0.1:1/0")
    running = gateway_factory(settings)
    assert (await _get(running.base_url, "/healthz")).status_code == 200
    ready = await _get(running.base_url, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": True, "broker": False}


async def test_readyz_passes_with_a_real_redis(
    gateway_factory, database_url, tmp_path, redis_namespace
) -> None:
    settings = make_settings(
        database_url, tmp_path, redis_url=REDIS_URL, redis_namespace=redis_namespace
    )
    running = gateway_factory(settings)
    assert (await _get(running.base_url, "/readyz")).status_code == 200


async def test_readyz_fails_when_the_database_goes_away(tmp_path) -> None:
    async with vanishing_postgres() as (url, drop):
        with running_gateway(make_settings(url, tmp_path)) as running:
            assert (await _get(running.base_url, "/readyz")).status_code == 200
            await drop()
            ready = await _get(running.base_url, "/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"] is False


async def _first_message(gateway: RunningGateway, origin: str | None) -> str:
    """Open a socket as a page from ``origin`` would (None: a script) and authenticate."""
    socket = await open_socket(
        gateway.base_url, {"Authorization": f"Bearer {gateway.token()}"}, origin=origin
    )
    try:
        return str((await receive(socket))["type"])
    finally:
        await socket.close()


async def _refused_status(gateway: RunningGateway, origin: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await _first_message(gateway, origin)
    return refused.value.response.status_code


async def test_a_browser_websocket_from_an_origin_not_allowed_is_refused_at_the_handshake(
    gateway_factory, database_url, tmp_path
) -> None:
    running = gateway_factory(make_settings(database_url, tmp_path, cors_origins=[FRONTEND]))
    assert await _refused_status(running, "https://evil.example.com") == 403
    assert await _refused_status(running, "null") == 403  # sandboxed frames, file:// pages
    assert await _first_message(running, FRONTEND) == "connection_ack"
    assert await _first_message(running, FRONTEND + "/") == "connection_ack"


async def test_scripts_and_same_origin_pages_open_websockets_without_any_allowed_origins(
    gateway,
) -> None:
    # No CORS_ORIGINS (the default): only pages served by the gateway itself (GraphiQL).
    port = gateway.base_url.rsplit(":", 1)[1]
    assert await _first_message(gateway, None) == "connection_ack"  # no Origin: a script
    assert await _first_message(gateway, gateway.base_url) == "connection_ack"
    assert await _refused_status(gateway, FRONTEND) == 403
    assert await _refused_status(gateway, f"http://localhost:{port}") == 403  # another host
    assert await _refused_status(gateway, "http://127.0.0.1:1") == 403  # another port


async def test_every_origin_may_open_a_websocket_when_cors_allows_every_origin(
    gateway_factory, database_url, tmp_path
) -> None:
    running = gateway_factory(make_settings(database_url, tmp_path, cors_origins=["*"]))
    assert await _first_message(running, "https://evil.example.com") == "connection_ack"


async def _browser_get(gateway: RunningGateway) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        return await client.get("/graphql", headers={"Accept": "text/html"})


async def test_introspection_and_graphiql_are_on_by_default(gateway) -> None:
    result = await gateway.gql(INTROSPECT, seller=None)
    assert result["data"]["__schema"]["queryType"]["name"] == "Query"
    page = await _browser_get(gateway)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_with_graphiql_off_a_browser_get_is_not_found_and_queries_still_answer(
    gateway_factory, database_url, tmp_path
) -> None:
    running = gateway_factory(make_settings(database_url, tmp_path, graphiql=False))
    page = await _browser_get(running)
    assert page.status_code == 404
    assert page.text == "Not Found"
    assert "graphiql" not in page.text.lower()
    async with httpx.AsyncClient(base_url=running.base_url) as client:
        answered = await client.get(
            "/graphql",
            params={"query": "{ viewer { sellerId } }"},
            headers={"Authorization": f"Bearer {running.token()}"},
        )
    assert answered.json() == {"data": {"viewer": {"sellerId": "seller-a"}}}
