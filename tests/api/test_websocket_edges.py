"""graphql-transport-ws edges: malformed frames, the init timeout, a token that expires.

Raw frames go over a real websocket (the ``websockets`` library); the graphql-ws reference
client runs through node. A bad frame must close the socket with 4400 and a reason (never a
dropped connection, which clients see as 1006 and retry forever), and nothing of it may
reach the process log as an ERROR.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.auth import mint_token
from tests.conftest import RunningGateway
from tests.support.node import finish_node, start_node
from tests.support.ws import (
    PROTOCOL,
    open_socket,
    receive,
    receive_any,
    subscribe,
    subscriptions_held,
    until_subscribed,
    whole_second,
    ws_url,
)

SUBSCRIPTION = "subscription { syncEvents { runId } }"

BAD_FRAMES = {
    "array": "[]",
    "array-of-messages": '[{"type": "connection_init"}]',
    "string": '"connection_init"',
    "number": "1",
    "null": "null",
    "true": "true",
    "no-type": "{}",
    "type-number": '{"type": 1}',
    "not-json": "{nope",
    "deep-json": "[" * 100_000,
    "subscribe-query-number": json.dumps(
        {"id": "1", "type": "subscribe", "payload": {"query": 123}}
    ),
    "subscribe-no-query": json.dumps({"id": "1", "type": "subscribe", "payload": {}}),
    "subscribe-no-payload": json.dumps({"id": "1", "type": "subscribe"}),
    "subscribe-payload-list": json.dumps({"id": "1", "type": "subscribe", "payload": []}),
    "subscribe-variables-list": json.dumps(
        {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": []}}
    ),
    "subscribe-operation-name-number": json.dumps(
        {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "operationName": 1}}
    ),
    "subscribe-no-id": json.dumps({"type": "subscribe", "payload": {"query": SUBSCRIPTION}}),
    "subscribe-id-number": json.dumps(
        {"id": 7, "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
    ),
    "complete-no-id": json.dumps({"type": "complete"}),
    "ping-payload-string": json.dumps({"type": "ping", "payload": "x"}),
    "unknown-type": json.dumps({"type": "start", "id": "1"}),
}


async def _close_of(socket) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(5):
            await receive(socket)
    assert closed.value.rcvd is not None, "the socket dropped without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize("frame", list(BAD_FRAMES.values()), ids=list(BAD_FRAMES))
async def test_a_malformed_frame_after_the_handshake_closes_with_4400_and_a_reason(
    edge_gateway, caplog, frame: str
) -> None:
    caplog.set_level(logging.INFO)
    socket = await open_socket(edge_gateway.base_url, {"token": edge_gateway.token()})
    assert (await receive(socket))["type"] == "connection_ack"
    await socket.send(frame)
    code, reason = await _close_of(socket)
    assert code == 4400
    assert reason
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # and the server goes on serving
    again = await open_socket(edge_gateway.base_url, {"token": edge_gateway.token()})
    assert (await receive(again))["type"] == "connection_ack"
    await again.close()


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("[]", "Message must be a JSON object"),
        ("null", "Message must be a JSON object"),
        ('"x"', "Message must be a JSON object"),
        (json.dumps({"type": "connection_init", "payload": []}), "The connection_init payload"),
    ],
)
async def test_a_malformed_first_frame_closes_with_4400(
    edge_gateway, frame: str, reason: str
) -> None:
    socket = await connect(ws_url(edge_gateway.base_url), subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await socket.send(frame)
    code, said = await _close_of(socket)
    assert code == 4400
    assert said.startswith(reason)


async def test_a_connection_init_with_a_null_payload_is_an_unauthenticated_one(
    edge_gateway,
) -> None:
    socket = await connect(ws_url(edge_gateway.base_url), subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await socket.send(json.dumps({"type": "connection_init", "payload": None}))
    assert await _close_of(socket) == (4401, "Unauthorized")


async def test_a_subscribe_with_a_bad_query_closes_and_logs_no_error(edge_gateway, caplog) -> None:
    # Strawberry used to fail in a worker task (an ERROR with a traceback) and send
    # only "complete"; the client never learnt why.
    caplog.set_level(logging.INFO)
    socket = await open_socket(edge_gateway.base_url, {"token": edge_gateway.token()})
    await receive(socket)
    await socket.send(
        json.dumps({"id": "1", "type": "subscribe", "payload": {"query": 123, "variables": {}}})
    )
    assert await _close_of(socket) == (4400, "The subscribe payload's query must be a string")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_the_legacy_subscriptions_transport_ws_protocol_is_refused(edge_gateway) -> None:
    socket = await connect(ws_url(edge_gateway.base_url), subprotocols=["graphql-ws"])  # type: ignore[list-item]
    assert await _close_of(socket) == (4406, "Subprotocol not acceptable")


async def test_a_socket_that_never_initialises_is_closed_after_the_configured_timeout(
    edge_gateway_factory,
) -> None:
    gateway = edge_gateway_factory(ws_connection_init_timeout_seconds=0.5)
    socket = await connect(ws_url(gateway.base_url), subprotocols=[PROTOCOL])  # type: ignore[list-item]
    assert await _close_of(socket) == (4408, "Connection initialisation timeout")


def test_the_connection_init_timeout_defaults_to_ten_seconds() -> None:
    from gateway.settings import Settings

    assert Settings().ws_connection_init_timeout_seconds == 10.0


def one_second_token(gateway: RunningGateway) -> str:
    """A seller admin's token that expires one second after the gateway's clock says now
    (the tests hold that clock still, then move it past the second)."""
    return mint_token(
        gateway.settings, seller_id="seller-a", roles=["SELLER_ADMIN"], ttl=timedelta(seconds=1)
    )


@contextlib.asynccontextmanager
async def socket_on_a_held_clock(
    edge_gateway_factory: Any,
) -> AsyncIterator[tuple[RunningGateway, Any, Any]]:
    """A gateway without leeway whose clock stands still, and a socket it acknowledged with
    a :func:`one_second_token`; yields the gateway, the socket and the clock to move."""
    gateway = edge_gateway_factory(jwt_leeway_seconds=0)
    with time_machine.travel(whole_second(), tick=False) as clock:
        token = one_second_token(gateway)
        socket = await open_socket(gateway.base_url, {"Authorization": f"Bearer {token}"})
        assert (await receive(socket))["type"] == "connection_ack"
        yield gateway, socket, clock


async def test_an_open_socket_is_closed_with_4401_when_its_token_expires(
    edge_gateway_factory,
) -> None:
    # Given a socket authenticated with a token that expires a second after it was minted,
    # with a subscription open (no leeway, so the socket lives exactly as long as the token),
    # while the gateway's clock stands still: the token passes however long all this takes
    async with socket_on_a_held_clock(edge_gateway_factory) as (gateway, socket, clock):
        before = await subscriptions_held(gateway.base_url)
        await subscribe(socket, SUBSCRIPTION)
        await until_subscribed(gateway.base_url, before + 1)
        # When the token expires on the gateway's clock
        clock.shift(timedelta(seconds=2))
        # Then the gateway closes the socket with 4401
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await receive(socket, timeout=30)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "Token expired")


async def test_a_socket_stays_open_while_the_gateways_clock_says_its_token_passes(
    edge_gateway_factory,
) -> None:
    # Given a socket whose token expires a second after the gateway's clock, held still
    async with socket_on_a_held_clock(edge_gateway_factory) as (_, socket, clock):
        # When more than that second passes on the event loop's clock, not on the wall clock
        # (a clock stepped back or slewed; over HTTP the token still passes) …
        await asyncio.sleep(1.5)
        # Then the socket is still open and answers …
        await socket.send(json.dumps({"type": "ping"}))
        assert (await receive_any(socket))["type"] == "pong"
        # … until its token expires on the clock that verifies tokens
        clock.shift(timedelta(seconds=1))
        assert await _close_of(socket) == (4401, "Token expired")


async def test_the_graphql_ws_client_sees_4401_and_reconnects_with_a_fresh_token(
    edge_gateway_factory,
) -> None:
    gateway = edge_gateway_factory(jwt_leeway_seconds=0)
    # The gateway's clock stands still until the client's subscription is open: the short
    # token passes however long node takes to start, then expires when the clock moves.
    with time_machine.travel(whole_second(), tick=False) as clock:
        short = one_second_token(gateway)
        before = await subscriptions_held(gateway.base_url)
        client = start_node("ws_client.mjs", ws_url(gateway.base_url), short, gateway.token())
        await until_subscribed(gateway.base_url, before + 1, client)
        clock.shift(timedelta(seconds=2))
        outcome = await asyncio.to_thread(finish_node, client)
    # The open subscription ends with the close event (graphql-ws treats 4401 as fatal and
    # does not retry by itself) …
    assert outcome["firstError"] == {"code": 4401, "reason": "Token expired"}
    # … and subscribing again calls connectionParams for a fresh token, which works.
    assert outcome["second"] == {"value": {"data": {"viewer": {"sellerId": "seller-a"}}}}
    kinds = [event["event"] for event in outcome["events"]]
    assert kinds == ["connectionParams", "connected", "closed", "connectionParams", "connected"]
