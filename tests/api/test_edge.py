"""The edge refuses abuse with clear, coded errors and never leaks internals."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from websockets.exceptions import InvalidStatus

from gateway.services.throttle import LIMITS
from schema import DOCUMENT_CACHE_SIZE, MAX_ALIASES, build_schema
from tests.conftest import (
    POSTGRES_ADMIN_DSN,
    RunningGateway,
    assert_error_code,
    make_settings,
    running_gateway,
)
from tests.support import data
from tests.support.ws import open_socket, receive

FRONTEND = "https://app.example.com"


async def test_a_query_deeper_than_the_limit_is_too_complex(
    gateway_factory, database_url, tmp_path
) -> None:
    running = gateway_factory(make_settings(database_url, tmp_path, graphql_max_depth=2))
    deep = "{ syncOverview { subscriptions { currentRun { id } } } }"
    error = assert_error_code(await running.gql(deep), "QUERY_TOO_COMPLEX")
    assert "maximum operation depth of 2" in error["message"]
    shallow = await running.gql("{ syncOverview { lastSyncToPsa { relative } } }")
    assert "errors" not in shallow


async def test_a_repeated_query_is_validated_once_with_the_limits_in_place() -> None:
    # Validation is ~5 ms of a grid request; the limiters must not defeat its cache (a rule
    # class built per request made every lookup a miss). Still refused when too deep.
    from strawberry.extensions.validation_cache import _get_validate_cache

    schema = build_schema(max_depth=2)
    cache = _get_validate_cache(DOCUMENT_CACHE_SIZE)
    query = "query ($t: String!) { __type(name: $t) { name } a: __typename }"
    before = cache.cache_info()
    for name in ("Query", "Mutation", "SyncRun", "LogEntry", "Nope"):
        assert (await schema.execute(query, variable_values={"t": name})).errors is None
    after = cache.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 4)
    deep = await schema.execute("{ syncOverview { subscriptions { currentRun { id } } } }")
    assert deep.errors and "maximum operation depth of 2" in deep.errors[0].message


async def test_too_many_aliases_are_too_complex(gateway) -> None:
    fields = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1))
    error = assert_error_code(await gateway.gql(f"{{ {fields} }}"), "QUERY_TOO_COMPLEX")
    assert str(MAX_ALIASES) in error["message"]


async def test_a_huge_document_is_too_complex(gateway) -> None:
    fields = " ".join("__typename" for _ in range(6000))
    assert_error_code(await gateway.gql(f"{{ {fields} }}"), "QUERY_TOO_COMPLEX")


async def test_a_syntax_error_is_a_parse_failure(gateway) -> None:
    assert_error_code(await gateway.gql("{ viewer { "), "GRAPHQL_PARSE_FAILED")


async def test_an_unknown_field_is_a_validation_failure(gateway) -> None:
    assert_error_code(await gateway.gql("{ nope }"), "GRAPHQL_VALIDATION_FAILED")


async def test_a_wrongly_typed_variable_is_bad_user_input(gateway) -> None:
    result = await gateway.gql(
        "query ($first: Int!) { syncRuns(first: $first) { id } }", {"first": "ten"}
    )
    assert_error_code(result, "BAD_USER_INPUT")


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


async def test_sync_triggers_that_would_start_a_run_are_rate_limited_per_seller(
    migrated_db, halo_sim, gateway
) -> None:
    mutation = "mutation { syncOrganizations { id } }"
    limit, _window = LIMITS["sync_trigger"]
    # Refused triggers get the rules' answer and are not counted.
    for _ in range(limit + 5):
        assert_error_code(await gateway.gql(mutation), "INTEGRATION_NOT_CONFIGURED")
    # Given a connection (no HaloPSA clients: each organisations sync is over at once)
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    headers = {"Authorization": f"Bearer {gateway.token()}"}
    overview = "{ syncOverview { organizations { state } } }"
    # One client for the loop: the limit must be reached well inside the throttle's window.
    async with httpx.AsyncClient(base_url=gateway.base_url, headers=headers, timeout=30) as http:
        for _ in range(limit):
            started = (await http.post("/graphql", json={"query": mutation})).json()
            assert "errors" not in started, started
            while True:
                state = (await http.post("/graphql", json={"query": overview})).json()
                if state["data"]["syncOverview"]["organizations"]["state"] == "IDLE":
                    break
        limited = assert_error_code(
            (await http.post("/graphql", json={"query": mutation})).json(), "RATE_LIMITED"
        )
    assert limited["message"].startswith("Too many sync triggers")
    assert limited["extensions"]["retryAfterSeconds"] > 0
    # Another seller is not affected.
    other = await gateway.gql(mutation, seller="seller-b")
    assert_error_code(other, "INTEGRATION_NOT_CONFIGURED")


async def test_an_unexpected_failure_is_an_internal_error_with_an_id_and_no_internals(
    tmp_path, caplog
) -> None:
    name = "halo_t_internal_error"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = make_settings(f"postgres://postgres@127.0.0.1:5432/{name}", tmp_path)
    try:
        with running_gateway(settings) as running:
            await running.gql("{ viewer { sellerId } }")  # seller known before the DB goes
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            result = await running.gql("{ syncOverview { organizations { state } } }")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    error = assert_error_code(result, "INTERNAL_SERVER_ERROR")
    assert error["message"] == "Internal error."
    error_id = error["extensions"]["errorId"]
    assert len(error_id) == 12
    assert "database" not in str(result).lower()
    assert any(error_id in record.getMessage() for record in caplog.records)


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


INTROSPECT = "{ __schema { queryType { name } } }"


async def _browser_get(gateway: RunningGateway) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        return await client.get("/graphql", headers={"Accept": "text/html"})


async def test_introspection_and_graphiql_are_on_by_default(gateway) -> None:
    result = await gateway.gql(INTROSPECT, seller=None)
    assert result["data"]["__schema"]["queryType"]["name"] == "Query"
    page = await _browser_get(gateway)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_with_introspection_off_schema_queries_are_refused_with_a_code(
    gateway_factory, database_url, tmp_path
) -> None:
    running = gateway_factory(make_settings(database_url, tmp_path, introspection=False))
    for query in (INTROSPECT, '{ __type(name: "Query") { name } }'):
        for seller in ("seller-a", None):  # refused before authentication is even looked at
            error = assert_error_code(
                await running.gql(query, seller=seller), "GRAPHQL_VALIDATION_FAILED"
            )
            assert error["message"].startswith("GraphQL introspection has been disabled")
    ordinary = await running.gql("{ __typename viewer { sellerId } }")
    assert ordinary["data"] == {"__typename": "Query", "viewer": {"sellerId": "seller-a"}}


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
