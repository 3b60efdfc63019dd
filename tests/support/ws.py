"""A small graphql-transport-ws client over a real websocket (the ``websockets`` library)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.support.metrics import gauge

PROTOCOL = "graphql-transport-ws"
# Bounds a hang, measures nothing: a gateway under CPU load takes seconds, not a minute.
SUBSCRIBED_DEADLINE_SECONDS = 60.0


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/graphql"


async def open_socket(
    base_url: str, payload: dict[str, Any] | None, *, origin: str | None = None
) -> ClientConnection:
    """A socket past ``connection_init``; ``origin`` is what a browser page would send."""
    socket = await connect(
        ws_url(base_url),
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
    )
    await socket.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
    return socket


async def receive(socket: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    """Next non-ping message."""
    while True:
        raw = await asyncio.wait_for(socket.recv(), timeout)
        message = json.loads(raw)
        if message.get("type") == "ping":
            await socket.send(json.dumps({"type": "pong"}))
            continue
        return message


async def receive_any(socket: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    """Next message, pings and pongs included."""
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


async def subscribe(
    socket: ClientConnection, query: str, variables: dict[str, Any] | None = None, op_id: str = "1"
) -> None:
    await socket.send(
        json.dumps(
            {
                "id": op_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
    )


async def subscriptions_held(base_url: str) -> float:
    """The live event subscriptions the gateway holds (``/metrics``)."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        text = (await client.get("/metrics")).text
    return gauge(text, "halo_gateway_event_subscribers")


async def until_subscribed(
    base_url: str, count: float, client: subprocess.Popen[str] | None = None
) -> None:
    """Wait (not assert) until the gateway holds ``count`` live subscriptions, or the
    ``client`` process has ended (its own output then says what went wrong)."""
    deadline = time.monotonic() + SUBSCRIBED_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if await subscriptions_held(base_url) >= count:
            return
        if client is not None and client.poll() is not None:
            return
        await asyncio.sleep(0.05)


def whole_second() -> datetime:
    """Now, to the second: a token minted then expires exactly ``ttl`` later (``exp`` is
    whole seconds), so a test that holds the clock there knows when it expires."""
    return datetime.now(UTC).replace(microsecond=0)
