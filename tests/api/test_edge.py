"""The edge refuses abuse with clear, coded errors and never leaks internals."""

from __future__ import annotations

import asyncpg
import httpx

from schema import MAX_ALIASES
from tests.conftest import POSTGRES_ADMIN_DSN, assert_error_code, make_settings, running_gateway


async def test_a_query_deeper_than_the_limit_is_too_complex(
    gateway_factory, database_url, tmp_path
) -> None:
    running = gateway_factory(make_settings(database_url, tmp_path, graphql_max_depth=2))
    deep = "{ syncOverview { subscriptions { currentRun { id } } } }"
    error = assert_error_code(await running.gql(deep), "QUERY_TOO_COMPLEX")
    assert "maximum operation depth of 2" in error["message"]
    shallow = await running.gql("{ syncOverview { lastSyncToPsa { relative } } }")
    assert "errors" not in shallow


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


async def test_sync_triggers_are_rate_limited_per_seller(gateway) -> None:
    mutation = "mutation { syncOrganizations { id } }"
    codes = [(await gateway.gql(mutation))["errors"][0]["extensions"]["code"] for _ in range(31)]
    assert codes[:30] == ["INTEGRATION_NOT_CONFIGURED"] * 30
    assert codes[30] == "RATE_LIMITED"
    limited = await gateway.gql(mutation)
    assert limited["errors"][0]["extensions"]["retryAfterSeconds"] > 0
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
