"""Persisted queries over HTTP (Apollo's APQ protocol): register, hit, refuse a wrong hash.

Apollo Client and urql speak it in tests/api/test_clients.py; these pin the gateway's side.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from tests.conftest import REDIS_URL, RunningGateway

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
QUERY = "query Seller { viewer { sellerId } }"
DATA = {"data": {"viewer": {"sellerId": "seller-a"}}}


def _apq(digest: str, version: Any = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def _hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def _post(gateway: RunningGateway, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{gateway.base_url}/graphql",
        json=body,
        headers={"Authorization": f"Bearer {gateway.token()}", "Accept": GRAPHQL_RESPONSE_JSON},
        timeout=30,
    )


def _codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors") or []]


def test_a_query_sent_with_its_hash_is_registered_and_then_found_by_hash(edge_gateway) -> None:
    assert _codes(_post(edge_gateway, {"extensions": _apq(_hash(QUERY))})) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]
    assert _post(edge_gateway, {"query": QUERY, "extensions": _apq(_hash(QUERY))}).json() == DATA
    by_post = _post(edge_gateway, {"extensions": _apq(_hash(QUERY).upper())})
    assert (by_post.status_code, by_post.json()) == (200, DATA)
    by_get = httpx.get(
        f"{edge_gateway.base_url}/graphql",
        params={"extensions": json.dumps(_apq(_hash(QUERY)))},
        headers={"Authorization": f"Bearer {edge_gateway.token()}"},
    )
    assert by_get.json() == DATA


def test_a_hash_that_is_not_its_querys_is_refused_run_never_and_stored_never(
    edge_gateway,
) -> None:
    wrong = _hash("something else")
    refused = _post(edge_gateway, {"query": QUERY, "extensions": _apq(wrong)})
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": [
            {
                "message": "The persisted query's sha256Hash is not the hash of its query: "
                "nothing was run or stored.",
                "extensions": {"code": "PERSISTED_QUERY_HASH_MISMATCH"},
            }
        ]
    }
    for digest in (wrong, _hash(QUERY)):
        assert _codes(_post(edge_gateway, {"extensions": _apq(digest)})) == [
            "PERSISTED_QUERY_NOT_FOUND"
        ]


def test_a_query_that_does_not_validate_is_not_stored(edge_gateway) -> None:
    broken = "query Broken { viewer { nope } }"
    answer = _post(edge_gateway, {"query": broken, "extensions": _apq(_hash(broken))})
    assert _codes(answer) == ["GRAPHQL_VALIDATION_FAILED"]
    assert _codes(_post(edge_gateway, {"extensions": _apq(_hash(broken))})) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": "abc"},
        _apq(_hash(QUERY), version=2),
        _apq("not-a-hash"),
        _apq("ab" * 31),
    ],
    ids=["not-an-object", "version-2", "not-hex", "too-short"],
)
def test_a_malformed_persisted_query_is_a_bad_request(edge_gateway, extensions) -> None:
    response = _post(edge_gateway, {"extensions": extensions})
    assert response.status_code == 400
    assert _codes(response) == ["BAD_REQUEST"]


def test_replicas_share_registrations_through_redis(edge_gateway_factory, redis_namespace) -> None:
    shared = {"redis_url": REDIS_URL, "redis_namespace": redis_namespace}
    one, other = edge_gateway_factory(**shared), edge_gateway_factory(**shared)
    assert _post(one, {"query": QUERY, "extensions": _apq(_hash(QUERY))}).json() == DATA
    assert _post(other, {"extensions": _apq(_hash(QUERY))}).json() == DATA
