"""Query cost: fields × the page sizes they ask for, a cap per request, a budget per seller."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import parse

from gateway.auth import ClientKind, mint_token
from schema import build_schema
from schema.cost import CostLimits, Prices, QueryCostGate, operation_cost
from tests.conftest import REDIS_URL, RunningGateway

SCHEMA = build_schema()._schema
GRID = "{ organizations(pageSize: 100) { rows { id name } total } }"


def _cost(query: str, variables: dict[str, Any] | None = None) -> int:
    return operation_cost(SCHEMA, parse(query), None, variables)


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        # the page object 1 + 100 rows × 1 (scalars are free)
        (GRID, None, 101),
        (
            "query ($size: Int!) { organizations(pageSize: $size) { rows { id } } }",
            {"size": 50},
            51,
        ),
        ("query ($size: Int! = 10) { organizations(pageSize: $size) { rows { id } } }", {}, 11),
        ("{ organizations { rows { id } } }", None, 21),  # the schema's default page, 20
        ("{ psaOrganizations(first: 30) { id } }", None, 30),
        ("{ a: organizations(pageSize: 100) { rows { id } } b: viewer { sellerId } }", None, 102),
        (
            "{ ...Grid } fragment Grid on Query { organizations(pageSize: 10) { ... on "
            "OrganizationPage { rows { id } } } }",
            None,
            11,
        ),
        # previewSync weighs 100 + 10 organisations × (1 + 10 subscriptions × (1 + 10 changes))
        (
            "{ previewSync(pageSize: 10) { organizations { subscriptions { changes { field } } "
            "} } }",
            None,
            1210,
        ),
        # a mutation: 10, + 1 per input item, + its result object
        (
            'mutation { upsertOrganizations(input: [{id: "1", name: "A", reference: "r", '
            'status: "ACTIVE"}, {id: "2", name: "B", reference: "r", status: "ACTIVE"}]) '
            "{ created } }",
            None,
            13,
        ),
        ("{ __schema { types { name fields { name } } } }", None, 0),
    ],
    ids=[
        "grid-100",
        "variable",
        "variable-default",
        "argument-default",
        "sized-list",
        "aliases",
        "fragments",
        "nested-lists",
        "mutation-items",
        "introspection",
    ],
)
def test_an_operation_costs_its_fields_times_the_page_sizes_it_asks_for(
    query: str, variables: dict[str, Any] | None, cost: int
) -> None:
    assert _cost(query, variables) == cost


SIZED = "query ($size: Int) { organizations(pageSize: $size) { rows { id } } }"
UPSERT = (
    "mutation ($items: [OrganizationInput!]!) { upsertOrganizations(input: $items) { created } }"
)
ITEM = {"id": "1", "name": "A", "reference": "r", "status": "ACTIVE"}


def test_a_kept_price_answers_only_for_variables_of_the_same_shape() -> None:
    # Given one parsed document priced again and again, as the parser's cache hands it out
    prices = Prices(maxsize=8)
    sized, upsert = parse(SIZED), parse(UPSERT)
    cases: list[tuple[Any, dict[str, Any]]] = [
        (sized, {"size": 100}),
        (sized, {"size": 100, "search": "unread"}),
        (sized, {"size": 20}),
        (sized, {}),  # the schema's default page
        (sized, {"size": None}),
        (sized, {"size": "many"}),
        (sized, {"size": 100}),
        (upsert, {"items": [ITEM]}),
        (upsert, {"items": [ITEM] * 3}),
        (upsert, {"items": [ITEM]}),
    ]
    # Then each answer is what pricing the document afresh answers
    for document, variables in cases:
        expected = operation_cost(SCHEMA, document, None, variables)
        assert prices.cost(SCHEMA, document, None, variables) == expected, variables
    assert [prices.cost(SCHEMA, sized, None, {"size": n}) for n in (100, 20)] == [101, 21]


def test_prices_keep_a_bounded_number_of_documents() -> None:
    prices = Prices(maxsize=2)
    for _ in range(3):
        assert prices.cost(SCHEMA, parse(GRID), None, None) == 101
    assert len(prices) == 2


def test_every_requests_gate_prices_from_the_schemas_one_store() -> None:
    prices = Prices(maxsize=8)  # empty, as when the gateway starts
    assert QueryCostGate(CostLimits(), prices).prices is prices


def _post(gateway: RunningGateway, query: str, seller: str = "seller-a") -> dict[str, Any]:
    token = mint_token(
        gateway.settings,
        seller_id=seller,
        roles=["SELLER_ADMIN"],
        client_kind=ClientKind.INTEGRATOR,
    )
    response = httpx.post(
        f"{gateway.base_url}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    return response.json()


def test_a_query_over_the_cap_is_refused_stating_its_cost_and_the_limit(
    edge_gateway_factory,
) -> None:
    gateway = edge_gateway_factory(query_cost_limit=100)
    assert _post(gateway, GRID) == {
        "errors": [
            {
                "message": "This query costs 101; the limit is 100 per request. Ask for smaller "
                "pages or fewer fields.",
                "extensions": {"code": "QUERY_TOO_COMPLEX", "cost": 101, "limit": 100},
            }
        ]
    }
    assert "data" in _post(gateway, "{ organizations(pageSize: 50) { rows { id } } }")


def test_a_sellers_budget_per_minute_is_spent_by_what_ran_only(edge_gateway_factory) -> None:
    gateway = edge_gateway_factory(query_cost_budget_per_minute=250)
    assert "data" in _post(gateway, GRID)
    assert "data" in _post(gateway, GRID)
    refused = _post(gateway, GRID)["errors"][0]
    assert refused["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert (refused["extensions"]["cost"], refused["extensions"]["limit"]) == (101, 250)
    assert 1 <= refused["extensions"]["retryAfterSeconds"] <= 60
    assert refused["message"].startswith(
        "This query costs 101, more than is left of this seller's budget of 250 per minute"
    )
    # The refusal spent nothing: 202 spent, a query of 41 still fits.
    assert "data" in _post(gateway, "{ organizations(pageSize: 40) { rows { id } } }")
    # Another seller has a budget of its own.
    assert "data" in _post(gateway, GRID, seller="seller-b")


def test_replicas_spend_one_budget_through_redis(edge_gateway_factory, redis_namespace) -> None:
    shared = {
        "redis_url": REDIS_URL,
        "redis_namespace": redis_namespace,
        "query_cost_budget_per_minute": 250,
    }
    one, other = edge_gateway_factory(**shared), edge_gateway_factory(**shared)
    assert "data" in _post(one, GRID)
    assert "data" in _post(other, GRID)
    assert _post(one, GRID)["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
