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
def test_persisted_query_links_fall_back_to_the_full_query(
    clients, client: str, methods: list[str]
) -> None:
    # Given a client that sends a hash first (Apollo's PersistedQueryLink, urql's
    # persistedExchange), when the gateway answers PERSISTED_QUERY_NOT_SUPPORTED,
    # then the client sends the full query and its user gets the data.
    scenario = clients[client]
    assert (scenario["data"], scenario["errors"]) == (VIEWER_DATA, None)
    hashed, full = scenario["exchanges"]
    assert [hashed["method"], full["method"]] == methods
    assert hashed["status"] == 400  # graphql-response+json: no data, so 4xx
    assert "persistedQuery" in hashed["url"] + str(hashed["body"])
    assert "query" not in (hashed["body"] or {})
    assert "query=" not in hashed["url"]
    assert full["status"] == 200


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
