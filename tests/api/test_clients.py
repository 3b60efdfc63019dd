"""The frontend's clients plug in: Apollo Client 4 and urql, run by node against a live gateway.

tests/node/clients.mjs sets each client up the way README "For frontend teams" says, and
records every HTTP exchange it made, so these tests see both what the client's user gets and
what went over the wire (e.g. that a persisted-query hash was followed by the full query).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.node import run_node

VIEWER_DATA = {"viewer": {"sellerId": "seller-a", "__typename": "Viewer"}}


@pytest.fixture
def clients(edge_gateway) -> dict[str, Any]:
    return run_node("clients.mjs", f"{edge_gateway.base_url}/graphql", edge_gateway.token())


def _statuses(scenario: dict[str, Any]) -> list[tuple[str, int]]:
    return [(e["method"], e["status"]) for e in scenario["exchanges"]]


@pytest.mark.parametrize("client", ["apolloReadme", "apolloQuery", "urqlQuery"])
def test_a_query_answers_data_as_graphql_response_json(clients, client: str) -> None:
    scenario = clients[client]
    assert (scenario["data"], scenario["errors"]) == (VIEWER_DATA, None)
    assert scenario["exchanges"][0]["accept"].startswith("application/graphql-response+json")
    assert scenario["exchanges"][0]["contentType"].startswith("application/graphql-response+json")


@pytest.mark.parametrize("client", ["apolloValidation", "urqlValidation"])
def test_a_validation_error_reaches_the_client_as_a_graphql_error_with_its_code(
    clients, client: str
) -> None:
    scenario = clients[client]
    assert scenario["data"] is None
    assert scenario["errors"] == [
        {
            "message": "Cannot query field 'nope' on type 'Viewer'.",
            "code": "GRAPHQL_VALIDATION_FAILED",
        }
    ]
    assert [status for _, status in _statuses(scenario)] == [400]


def test_an_unauthenticated_call_reaches_apollo_as_a_coded_error(clients) -> None:
    scenario = clients["apolloUnauthenticated"]
    assert [e["code"] for e in scenario["errors"]] == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    ("client", "methods"),
    [
        ("apolloPersisted", ["POST", "POST"]),
        ("apolloPersistedGet", ["GET", "POST"]),
        ("urqlPersisted", ["POST", "POST"]),
        ("urqlPersistedGet", ["GET", "GET"]),
    ],
)
def test_persisted_query_links_register_a_query_then_send_only_its_hash(
    clients, client: str, methods: list[str]
) -> None:
    # Given a client that sends a hash first (Apollo's PersistedQueryLink, urql's
    # persistedExchange), when the gateway does not know it (PERSISTED_QUERY_NOT_FOUND),
    # then the client sends the query with its hash and its user gets the data; a fresh
    # client afterwards sends the hash alone and gets the data from it.
    first, second = clients[client]["first"], clients[client]["second"]
    assert (first["data"], first["errors"]) == (VIEWER_DATA, None)
    hashed, full = first["exchanges"]
    assert [hashed["method"], full["method"]] == methods
    assert hashed["status"] == 400  # graphql-response+json: no data, so 4xx
    assert "persistedQuery" in hashed["url"] + str(hashed["body"])
    assert "query" not in (hashed["body"] or {})
    assert "query=" not in hashed["url"]
    assert full["status"] == 200

    assert (second["data"], second["errors"]) == (VIEWER_DATA, None)
    (only,) = second["exchanges"]
    assert (only["method"], only["status"]) == (methods[0], 200)
    assert "query" not in (only["body"] or {}) and "query=" not in only["url"]


@pytest.mark.parametrize("client", ["apolloPersistedLying", "urqlPersistedLying"])
def test_a_hash_that_is_not_its_querys_is_refused_and_never_stored(clients, client) -> None:
    # A client whose hash function lies registers nothing: the query sent with the wrong
    # hash is refused with a code, not run, and the next client's hash is still unknown.
    for attempt in ("first", "second"):
        scenario = clients[client][attempt]
        assert scenario["data"] is None
        assert [e["code"] for e in scenario["errors"]] == ["PERSISTED_QUERY_HASH_MISMATCH"]
        hashed, full = scenario["exchanges"]
        assert hashed["status"] == 400 and full["status"] == 400
        assert "query" in full["body"]


def test_apollos_batch_link_gets_one_answer_per_operation_in_one_request(clients) -> None:
    scenario = clients["apolloBatch"]
    (exchange,) = scenario["exchanges"]
    assert (exchange["method"], exchange["status"], len(exchange["body"])) == ("POST", 200, 3)
    viewer, typename, broken = scenario["results"]
    assert viewer == {"data": VIEWER_DATA, "errors": None}
    assert typename == {"data": {"__typename": "Query"}, "errors": None}
    assert [e["code"] for e in broken["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


def test_a_urql_mutation_is_posted_and_answered(clients) -> None:
    scenario = clients["urqlMutation"]
    assert scenario["errors"] is None
    assert scenario["data"]["setSyncUnitPrices"]["message"]
    assert _statuses(scenario) == [("POST", 200)]
