"""The schema and the limits built into it: depth, aliases, document size, introspection;
and they do not defeat the validation cache."""

from __future__ import annotations

from typing import Any

from schema import MAX_ALIASES, build_schema
from tests.conftest import assert_error_code, make_settings

INTROSPECT = "{ __schema { queryType { name } } }"


async def test_a_query_deeper_than_the_limit_is_too_complex(
    gateway_factory, database_url, tmp_path
) -> None:
    running = gateway_factory(make_settings(database_url, tmp_path, graphql_max_depth=2))
    deep = "{ syncOverview { subscriptions { currentRun { id } } } }"
    error = assert_error_code(await running.gql(deep), "QUERY_TOO_COMPLEX")
    assert "maximum operation depth of 2" in error["message"]
    shallow = await running.gql("{ syncOverview { lastSyncToPsa { relative } } }")
    assert "errors" not in shallow


async def test_a_repeated_query_is_validated_once_with_the_limits_in_place(monkeypatch) -> None:
    # Validation is ~5 ms of a grid request; the limiters must not defeat its cache (a rule
    # class built per request made every lookup a miss). Still refused when too deep.
    from schema import validation_cache

    validated: list[object] = []
    validate = validation_cache.validate_document

    def counted(schema: Any, document: Any, rules: Any) -> Any:
        validated.append(document)
        return validate(schema, document, rules)

    monkeypatch.setattr(validation_cache, "validate_document", counted)
    schema = build_schema(max_depth=2)
    query = "query ($t: String!) { __type(name: $t) { name } a: __typename }"
    for name in ("Query", "Mutation", "SyncRun", "LogEntry", "Nope"):
        assert (await schema.execute(query, variable_values={"t": name})).errors is None
    assert len(validated) == 1
    deep = await schema.execute("{ syncOverview { subscriptions { currentRun { id } } } }")
    assert deep.errors and "maximum operation depth of 2" in deep.errors[0].message
    assert len(validated) == 2


async def test_too_many_aliases_are_too_complex(gateway) -> None:
    fields = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1))
    error = assert_error_code(await gateway.gql(f"{{ {fields} }}"), "QUERY_TOO_COMPLEX")
    assert str(MAX_ALIASES) in error["message"]


async def test_a_huge_document_is_too_complex(gateway) -> None:
    fields = " ".join("__typename" for _ in range(6000))
    assert_error_code(await gateway.gql(f"{{ {fields} }}"), "QUERY_TOO_COMPLEX")


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
