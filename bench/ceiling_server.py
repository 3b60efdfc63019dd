"""The Python ceiling of bench/bench_subscribers.py: one pre-serialised string per event,
written to every socket, and nothing else.

    python bench/ceiling_server.py <port> <redis url> <namespace> <jwt secret>

Same stack as the gateway (uvicorn with the gateway's websocket protocol,
gateway/websocket_protocol.py, no permessage-deflate, Starlette's WebSocket) and the same Redis
channel (one PSUBSCRIBE per process). It speaks just enough graphql-transport-ws for the
bench's client (connection_init with a token checked once, subscribe), builds each event's
``next`` message once (per operation id, and the bench uses one id) and writes it to the
seller's sockets one after the other: no GraphQL execution, no per-socket queue, no
slow-socket protection. What a socket write costs in Python, nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import jwt
import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.websocket_protocol import PROTOCOL

PORT, REDIS_URL, NAMESPACE, SECRET = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
PREFIX = f"{NAMESPACE}:events:"
# Sockets by seller: (socket, operation id).
SOCKETS: dict[str, dict[WebSocket, str]] = {}


async def endpoint(ws: WebSocket) -> None:
    await ws.accept(subprotocol="graphql-transport-ws")
    seller = None
    try:
        while True:
            message = json.loads(await ws.receive_text())
            if message["type"] == "connection_init":
                token = (message.get("payload") or {}).get("token")
                claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="halo-gateway")
                seller = claims["seller_id"]
                await ws.send_text('{"type":"connection_ack"}')
            elif message["type"] == "subscribe" and seller is not None:
                SOCKETS.setdefault(seller, {})[ws] = message["id"]
            elif message["type"] == "ping":
                await ws.send_text('{"type":"pong"}')
    except WebSocketDisconnect:
        pass
    finally:
        if seller is not None:
            SOCKETS.get(seller, {}).pop(ws, None)


def _payload(e: dict[str, Any]) -> str:
    # The selection of the bench's document (bench_subscribers.QUERY), encoded once.
    event = {"runId": str(e["run_id"]), "phase": e["phase"], "processed": e["processed"]}
    event["at"] = e["at"]
    return json.dumps({"data": {"syncEvents": event}}, separators=(",", ":"))


async def listen() -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe(PREFIX + "*")
    async for message in pubsub.listen():
        if message.get("type") != "pmessage":
            continue
        e = json.loads(message["data"])
        sockets = SOCKETS.get(e["seller_id"])
        if not sockets:
            continue
        payload = _payload(e)
        strings: dict[str, str] = {}
        for ws, op_id in list(sockets.items()):
            text = strings.get(op_id)
            if text is None:
                text = strings[op_id] = (
                    '{"id":' + json.dumps(op_id) + ',"type":"next","payload":' + payload + "}"
                )
            try:
                await ws.send_text(text)
            except Exception:  # a closed socket; its endpoint cleans up
                continue


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    task = asyncio.create_task(listen())
    yield
    task.cancel()


app = Starlette(routes=[WebSocketRoute("/graphql", endpoint)], lifespan=lifespan)

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(PORT),
        log_level="warning",
        loop="asyncio",
        ws=PROTOCOL,
        ws_per_message_deflate=False,
    )
