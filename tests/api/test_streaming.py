"""Subscriptions over HTTP: graphql-sse and Apollo's multipart, beside the websocket.

The frontend's own clients (tests/node/streams.mjs: graphql-ws, graphql-sse in its distinct
connections mode, Apollo Client 4's HttpLink) subscribe at the same time to the same seller's
events; the test waits until the gateway holds their three subscriptions (``/metrics``), runs a
sync, and compares what each transport delivered. Same context, same auth, same resolvers.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
import time_machine

from gateway.auth import mint_token
from tests.support import data
from tests.support.node import finish_node, start_node
from tests.support.runs import trigger, wait_for_run
from tests.support.ws import subscriptions_held, until_subscribed, whole_second

pytestmark = pytest.mark.databases("sqlite")  # transports, not storage

EVENTS = """subscription Events { syncEvents { runId kind phase processed total created
message } }"""
OVERVIEW = "subscription Overview { syncOverviewChanged { organizations { state } } }"
UNTIL_COMPLETED = {"field": "syncEvents", "key": "phase", "values": ["COMPLETED", "FAILED"]}
ALL = "ws,sse,multipart"


def _stream(
    gateway,
    token: str,
    query: str,
    transports: str,
    stop: dict | None = None,
    variables: dict | None = None,
):
    return start_node(
        "streams.mjs",
        f"{gateway.base_url}/graphql",
        token,
        query,
        json.dumps(variables or {}),
        transports,
        json.dumps(stop),
    )


async def test_a_sync_reaches_sse_and_multipart_subscribers_exactly_as_websocket_ones(
    migrated_db, halo_sim, gateway
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    sim = halo_sim.instance()
    for i in range(40):
        sim.add_client(f"Customer {i:03d}")
    sim.set_faults(latency_ms=20)
    before = await subscriptions_held(gateway.base_url)

    node = _stream(gateway, gateway.token(), EVENTS, ALL, UNTIL_COMPLETED)
    await until_subscribed(gateway.base_url, before + 3, node)
    run = await trigger(gateway, "mutation { syncOrganizations { id } }")
    out = await asyncio.to_thread(finish_node, node)
    await wait_for_run(gateway, run["id"])

    ws, sse, multipart = out["ws"], out["sse"], out["multipart"]
    assert [t["ended"] for t in (ws, sse, multipart)] == ["stop"] * 3
    assert [t["errors"] for t in (ws, sse, multipart)] == [[]] * 3
    phases = [e["syncEvents"]["phase"] for e in ws["events"]]
    assert phases[:2] == ["QUEUED", "STARTED"] and phases[-1] == "COMPLETED"
    assert all(e["syncEvents"]["runId"] == run["id"] for e in ws["events"])
    assert sse["events"] == ws["events"]
    assert multipart["events"] == ws["events"]


RESUMABLE = """subscription Resume($after: Int, $epoch: String) {
syncEvents(afterSequence: $after, epoch: $epoch) { runId phase sequence epoch } }"""


async def test_sse_and_multipart_resume_after_the_last_sequence_like_the_websocket(
    migrated_db, halo_sim, gateway
) -> None:
    # The resume cursor is a resolver argument: every transport carries it as it is.
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    sim = halo_sim.instance()
    for i in range(10):
        sim.add_client(f"Customer {i:03d}")
    before = await subscriptions_held(gateway.base_url)
    watching = _stream(gateway, gateway.token(), RESUMABLE, "ws", UNTIL_COMPLETED)
    await until_subscribed(gateway.base_url, before + 1, watching)
    run = await trigger(gateway, "mutation { syncOrganizations { id } }")
    seen = (await asyncio.to_thread(finish_node, watching))["ws"]["events"]
    await wait_for_run(gateway, run["id"])
    assert [e["syncEvents"]["phase"] for e in seen[:2]] == ["QUEUED", "STARTED"]

    # A page that saw the run start comes back: everything after that, then live.
    last = seen[1]["syncEvents"]
    resumed = await asyncio.to_thread(
        finish_node,
        _stream(
            gateway,
            gateway.token(),
            RESUMABLE,
            ALL,
            UNTIL_COMPLETED,
            {"after": last["sequence"], "epoch": last["epoch"]},
        ),
    )
    for transport in ("ws", "sse", "multipart"):
        assert resumed[transport]["events"] == seen[2:], transport


async def test_an_http_stream_ends_with_token_expired_when_its_token_does(
    edge_gateway_factory,
) -> None:
    gateway = edge_gateway_factory(jwt_leeway_seconds=0)
    # The gateway's clock held still: the token passes however long node takes to start and
    # ask (seconds under load); each stream then ends 3 s after it starts, as the stream's
    # deadline is what is left of the token on that clock.
    with time_machine.travel(whole_second(), tick=False):
        token = mint_token(
            gateway.settings,
            seller_id="seller-a",
            roles=["SELLER_ADMIN"],
            ttl=timedelta(seconds=3),
        )
        out = await asyncio.to_thread(
            finish_node, _stream(gateway, token, OVERVIEW, "sse,multipart")
        )
    for transport in ("sse", "multipart"):
        result = out[transport]
        assert result["events"][0] == {"syncOverviewChanged": {"organizations": {"state": "IDLE"}}}
        assert result["errors"] == [{"message": "Token expired", "code": "UNAUTHENTICATED"}]


async def test_an_http_stream_without_a_token_is_refused_like_the_websocket(
    edge_gateway,
) -> None:
    out = await asyncio.to_thread(finish_node, _stream(edge_gateway, "", OVERVIEW, "sse,multipart"))
    for transport in ("sse", "multipart"):
        assert out[transport]["events"] == []
        assert [e["code"] for e in out[transport]["errors"]] == ["UNAUTHENTICATED"]
