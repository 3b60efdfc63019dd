"""GraphQL over HTTP: media types, status codes, coded refusals, batching, persisted queries.

The graphql-http audit suite (the spec's conformance tests, run through node) must pass every
MUST and SHOULD; the hand-written checks below pin what the audit does not cover.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from schema.http import (
    GRAPHQL_RESPONSE_JSON,
    MAX_BATCH_OPERATIONS,
    encode,
    is_plain_json,
    may_stream,
)
from tests.conftest import RunningGateway
from tests.support.node import run_node

JSON = "application/json"
VIEWER = "{ viewer { sellerId } }"
APQ = {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}


def _post(
    gateway: RunningGateway,
    body: Any,
    *,
    accept: str | None = None,
    token: bool = True,
    content_type: str = JSON,
) -> httpx.Response:
    headers = {"content-type": content_type}
    if accept is not None:
        headers["accept"] = accept
    if token:
        headers["authorization"] = f"Bearer {gateway.token()}"
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    with httpx.Client(base_url=gateway.base_url, timeout=30) as client:
        return client.post("/graphql", content=content, headers=headers)


def _codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


def test_the_graphql_http_audit_passes_every_must_and_should(edge_gateway) -> None:
    results = run_node("audit.mjs", f"{edge_gateway.base_url}/graphql")
    failed = [r for r in results if r["status"] != "ok"]
    assert not failed, json.dumps(failed, indent=1)
    levels = {r["name"].split()[0] for r in results}
    assert {"MUST", "SHOULD"} <= levels
    assert sum(r["name"].startswith("SHOULD") for r in results) >= 23  # graphql-http 1.23


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON},{JSON};q=0.9", GRAPHQL_RESPONSE_JSON),  # Apollo Client 4
        (f"{GRAPHQL_RESPONSE_JSON}, application/graphql+json, {JSON}", GRAPHQL_RESPONSE_JSON),
        (JSON, JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON};q=0.5", JSON),
        ("*/*", JSON),
        (None, JSON),
    ],
)
def test_the_response_media_type_follows_the_accept_header(
    edge_gateway, accept: str | None, media_type: str
) -> None:
    response = _post(edge_gateway, {"query": VIEWER}, accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert response.json() == {"data": {"viewer": {"sellerId": "seller-a"}}}


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ viewer { ", None, "GRAPHQL_PARSE_FAILED"),
        ("{ viewer { nope } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query ($unused: Int) { viewer { sellerId } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ syncRuns(first: $undefined) { id } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query ($f: String) { syncRuns(first: $f) { id } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query ($f: Int!) { syncRuns(first: $f) { id } }", {"f": "ten"}, "BAD_USER_INPUT"),
        ("query ($f: Int!) { syncRuns(first: $f) { id } }", {}, "BAD_USER_INPUT"),
        ("query ($f: Int!) { syncRuns(first: $f) { id } }", {"f": None}, "BAD_USER_INPUT"),
    ],
    ids=[
        "syntax",
        "unknown-field",
        "unused-variable",
        "undefined-variable",
        "variable-type-mismatch",
        "variable-value",
        "variable-missing",
        "variable-null",
    ],
)
def test_a_request_that_never_ran_is_400_without_data_under_graphql_response_json(
    edge_gateway, query: str, variables: dict | None, code: str
) -> None:
    body = {"query": query, "variables": variables}
    strict = _post(edge_gateway, body, accept=GRAPHQL_RESPONSE_JSON)
    assert strict.status_code == 400
    assert "data" not in strict.json()
    assert _codes(strict) == [code]
    # The same request under application/json answers 200, as older clients expect.
    lenient = _post(edge_gateway, body, accept=JSON)
    assert lenient.status_code == 200
    assert _codes(lenient) == [code]
    assert "data" not in lenient.json()


def test_a_field_error_is_200_with_data_under_graphql_response_json(edge_gateway) -> None:
    # An unauthenticated field is an execution error: the operation ran, data is there.
    response = _post(edge_gateway, {"query": VIEWER}, accept=GRAPHQL_RESPONSE_JSON, token=False)
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert _codes(response) == ["UNAUTHENTICATED"]


def test_a_mutation_sent_by_get_is_405_with_allow_post(edge_gateway) -> None:
    with httpx.Client(base_url=edge_gateway.base_url) as client:
        response = client.get(
            "/graphql",
            params={"query": "mutation { setSyncUnitPrices(enabled: true) { message } }"},
            headers={
                "accept": GRAPHQL_RESPONSE_JSON,
                "authorization": f"Bearer {edge_gateway.token()}",
            },
        )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert _codes(response) == ["METHOD_NOT_ALLOWED"]
    # and nothing was changed
    configuration = _post(edge_gateway, {"query": "{ configuration { syncUnitPrices } }"})
    assert configuration.json()["data"]["configuration"]["syncUnitPrices"] is False


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ('{ "not a JSON', JSON, 400, "BAD_REQUEST"),
        ("[" * 100_000, JSON, 400, "BAD_REQUEST"),  # deeper than Python's recursion limit
        ("", JSON, 400, "BAD_REQUEST"),
        ({"query": 1}, JSON, 400, "BAD_REQUEST"),
        ({"query": VIEWER, "variables": "x"}, JSON, 400, "BAD_REQUEST"),
        ({"query": VIEWER, "operationName": {"o": 1}}, JSON, 400, "BAD_REQUEST"),
        ({"query": VIEWER, "extensions": []}, JSON, 400, "BAD_REQUEST"),
        ({"notquery": VIEWER}, JSON, 400, "BAD_REQUEST"),
        ({"query": VIEWER}, "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"query": VIEWER}, "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"query": "subscription { syncEvents { runId } }"}, JSON, 400, "BAD_REQUEST"),
    ],
    ids=[
        "bad-json",
        "deep-json",
        "empty",
        "query-number",
        "variables-string",
        "operation-name-object",
        "extensions-list",
        "no-query",
        "text-plain",
        "form",
        "subscription",
    ],
)
@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE_JSON])
def test_an_unusable_request_is_refused_with_a_coded_json_error(
    edge_gateway, body: Any, content_type: str, status: int, code: str, accept: str
) -> None:
    response = _post(edge_gateway, body, accept=accept, content_type=content_type)
    assert response.status_code == status
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    assert _codes(response) == [code]
    assert response.json()["errors"][0]["message"]


def test_a_batch_runs_each_operation_and_answers_a_list(edge_gateway) -> None:
    batch = [
        {"query": VIEWER},
        {"query": "query Named { __typename }", "operationName": "Named"},
        {"query": "{ nope }"},
        {"extensions": APQ},
    ]
    response = _post(edge_gateway, batch, accept=GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 200  # one answer per operation, each with its own errors
    first, second, third, fourth = response.json()
    assert first == {"data": {"viewer": {"sellerId": "seller-a"}}}
    assert second == {"data": {"__typename": "Query"}}
    assert [e["extensions"]["code"] for e in third["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert fourth["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("batch", "code"),
    [
        ([{"query": "{ __typename }"}] * (MAX_BATCH_OPERATIONS + 1), "BATCH_TOO_LARGE"),
        ([], "BAD_REQUEST"),
        ([{"query": "{ __typename }"}, "x"], "BAD_REQUEST"),
        ([{"query": "{ __typename }"}, [{"query": "{ __typename }"}]], "BAD_REQUEST"),
        ([{"query": 5}], "BAD_REQUEST"),
        ([{"query": "{ __typename }", "variables": []}], "BAD_REQUEST"),
    ],
    ids=["too-many", "empty", "string-item", "nested-batch", "query-number", "variables-list"],
)
def test_a_bad_batch_is_refused_whole_with_a_code(edge_gateway, batch: list, code: str) -> None:
    response = _post(edge_gateway, batch)
    assert response.status_code == 400
    assert _codes(response) == [code]


def test_a_batch_at_the_cap_is_answered(edge_gateway) -> None:
    response = _post(edge_gateway, [{"query": "{ __typename }"}] * MAX_BATCH_OPERATIONS)
    assert response.json() == [{"data": {"__typename": "Query"}}] * MAX_BATCH_OPERATIONS


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_RESPONSE_JSON, 400)])
def test_an_unknown_persisted_query_hash_answers_not_found_so_clients_send_the_query(
    edge_gateway, accept: str, status: int
) -> None:
    # 200 under application/json, as Apollo Server answers; 400 under
    # graphql-response+json, where a response without data must be 4xx. Apollo Client 4
    # and urql send the query with its hash on both (tests/api/test_clients.py).
    digest = hashlib.sha256(VIEWER.encode()).hexdigest()
    apq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    response = _post(edge_gateway, {"extensions": apq}, accept=accept)
    assert response.status_code == status
    assert response.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    with httpx.Client(base_url=edge_gateway.base_url) as client:
        by_get = client.get(
            "/graphql", params={"extensions": json.dumps(apq)}, headers={"accept": accept}
        )
    assert by_get.status_code == status
    assert _codes(by_get) == ["PERSISTED_QUERY_NOT_FOUND"]
    # A query sent with its hash (the client's retry) runs.
    with_query = _post(edge_gateway, {"query": VIEWER, "extensions": apq}, accept=accept)
    assert with_query.json() == {"data": {"viewer": {"sellerId": "seller-a"}}}


def test_head_is_not_allowed_and_says_which_methods_are(edge_gateway) -> None:
    with httpx.Client(base_url=edge_gateway.base_url) as client:
        response = client.head("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_a_body_is_compact_json_with_text_as_utf8() -> None:
    body = {"data": {"rows": [{"name": "Zürich Ltd", "n": 1}]}}
    assert encode(body) == '{"data":{"rows":[{"name":"Zürich Ltd","n":1}]}}'.encode()


def test_a_body_orjson_refuses_is_still_encoded() -> None:
    # An integer beyond 64 bits (a JSON scalar may hold one): json encodes it as before.
    assert encode({"value": 2**70}) == b'{"value":1180591620717411303424}'


@pytest.mark.parametrize(
    ("accept", "streams"),
    [
        ("text/event-stream", True),
        ("Text/Event-Stream; q=1", True),
        ("multipart/mixed;subscriptionSpec=1.0", True),
        ("application/json", False),
        ("application/graphql-response+json", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_only_a_streaming_media_type_asks_the_streaming_transports(
    accept: str, streams: bool
) -> None:
    assert may_stream(accept) is streams


@pytest.mark.parametrize(
    ("content_type", "plain"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("application/json;charset=UTF-8", True),
        ("application/jsonx", False),
        ("Application/JSON", False),  # read by the full parser, as before
        ("text/plain", False),
        ("", False),
    ],
)
def test_plain_json_content_types_are_read_without_the_full_parser(
    content_type: str, plain: bool
) -> None:
    assert is_plain_json(content_type) is plain
