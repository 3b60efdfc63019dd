"""A small graphql-transport-ws client over a real websocket (the ``websockets`` library)."""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


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
    import asyncio

    while True:
        raw = await asyncio.wait_for(socket.recv(), timeout)
        message = json.loads(raw)
        if message.get("type") == "ping":
            await socket.send(json.dumps({"type": "pong"}))
            continue
        return message


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
