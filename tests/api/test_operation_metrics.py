"""Per-operation metrics on /metrics: each GraphQL operation by name and client, its errors by
code and its latency, within a bounded number of series whatever names clients send."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from gateway import metrics
from gateway.auth import ClientKind, mint_token
from schema.http import MAX_BATCH_OPERATIONS


def _series(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """``{labels: value}`` of one metric in a Prometheus exposition."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) + 1 :].rsplit("} ", 1)
            pairs = frozenset(tuple(p.split("=", 1)) for p in labels.split('",'))
            found[frozenset((k, v.strip('"')) for k, v in pairs)] = float(value)
    return found


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def _integrator(gateway) -> dict[str, str]:
    token = mint_token(
        gateway.settings,
        seller_id="seller-a",
        roles=["SELLER_ADMIN"],
        client_kind=ClientKind.INTEGRATOR,
        client_name="nightly-export",
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.databases("sqlite")  # counted at the edge, whatever the database
async def test_metrics_count_each_operation_by_name_client_and_error_code(gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        before = (await client.get("/metrics")).text
        web = {**_integrator(gateway), "apollographql-client-name": "metrics-web"}
        for _ in range(3):
            await client.post(
                "/graphql", json={"query": "query Viewer { viewer { sellerId } }"}, headers=web
            )
        await client.post(
            "/graphql", json={"query": "query Viewer { viewer { nope } }"}, headers=web
        )
        # No header: the token's client_name claim names the client.
        await client.post(
            "/graphql",
            json={"query": "query Viewer { __typename }"},
            headers=_integrator(gateway),
        )
        after = (await client.get("/metrics")).text

    def delta(name: str, **labels: str) -> float:
        key = _labels(**labels)
        return _series(after, name).get(key, 0.0) - _series(before, name).get(key, 0.0)

    web_viewer = {"operation": "Viewer", "client": "metrics-web"}
    assert delta("halo_gateway_operations_total", **web_viewer) == 4
    assert (
        delta("halo_gateway_operation_errors_total", **web_viewer, code="GRAPHQL_VALIDATION_FAILED")
        == 1
    )
    assert delta("halo_gateway_operation_seconds_count", **web_viewer) == 4
    assert delta("halo_gateway_operation_seconds_bucket", **web_viewer, le="+Inf") == 4
    assert delta("halo_gateway_operations_total", operation="Viewer", client="nightly-export") == 1


@pytest.mark.slow
@pytest.mark.databases("sqlite")
async def test_metrics_stay_bounded_under_10000_random_operation_names(gateway) -> None:
    names = [f"Random{uuid.uuid4().hex}" for _ in range(10_000)]
    headers = {**_integrator(gateway), "apollographql-client-name": "metrics-flood"}
    batches = [names[i : i + MAX_BATCH_OPERATIONS] for i in range(0, len(names), 10)]
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=60) as client:

        async def send(chunk: list[list[str]]) -> None:
            for batch in chunk:
                body = [{"query": f"query {n} {{ __typename }}", "operationName": n} for n in batch]
                response = await client.post("/graphql", json=body, headers=headers)
                assert response.status_code == 200

        await asyncio.gather(*(send(batches[i::8]) for i in range(8)))
        text = (await client.get("/metrics")).text

    flood = {
        dict(labels)["operation"]: value
        for labels, value in _series(text, "halo_gateway_operations_total").items()
        if dict(labels)["client"] == "metrics-flood"
    }
    assert len(flood) <= metrics.OTHER_OPERATIONS + 1
    assert sum(flood.values()) == 10_000
    assert flood[metrics.OTHER] >= 10_000 - metrics.OTHER_OPERATIONS
    # Whatever came before in this process, every per-operation metric stays within its bound.
    operations = {dict(k)["operation"] for k in _series(text, "halo_gateway_operations_total")}
    clients = {dict(k)["client"] for k in _series(text, "halo_gateway_operations_total")}
    assert len(operations) <= len(metrics.operation_label.always) + metrics.OTHER_OPERATIONS + 2
    assert len(clients) <= metrics.CLIENTS + 2
    buckets = _series(text, "halo_gateway_operation_seconds_bucket")
    assert len(buckets) <= len(operations) * len(clients) * (len(metrics.LATENCY_BUCKETS) + 1)
