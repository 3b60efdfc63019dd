"""The graphql-transport-ws handler: frames checked before Strawberry sees them, tokens that expire.

Strawberry's handler (0.341) indexes into frames as if they were well-formed: a frame that is
JSON but not an object (``[]``, ``"x"``, ``null``, ``1``) raises a TypeError that drops the
socket without a close frame (browsers see 1006 and retry forever), and a ``subscribe``
whose ``payload.query`` is not a string fails in a worker task, logged at ERROR, while the
client only gets ``complete``. Here every frame is checked against the protocol first and a
bad one closes the socket with **4400** and a reason saying what was wrong.

Subscriptions to live fields (``schema.live``) are shared: a socket joins the group of
sockets with the same selection (``schema.fanout``) instead of executing every event itself.

Authentication happens on ``connection_init`` (see ``schema.view``). The token's lifetime is
kept: when it would no longer be accepted over HTTP (``exp`` + leeway) the socket is closed
with **4401** "Token expired", and the client reconnects with a fresh token (README, "For
frontend teams").
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from gateway.errors import DomainError, Forbidden
from schema.fanout import Member

WS_BAD_REQUEST = 4400
WS_UNAUTHORIZED = 4401
WS_FORBIDDEN = 4403
TOKEN_EXPIRED = "Token expired"

_OPTIONAL_PAYLOAD_FIELDS = {
    "variables": (dict, "an object"),
    "operationName": (str, "a string"),
    "extensions": (dict, "an object"),
}


class SocketAuthRejected(Exception):
    """``on_ws_connect`` refused the token: 4401, or 4403 for a role that may not call."""

    def __init__(self, error: DomainError) -> None:
        self.close_code = WS_FORBIDDEN if isinstance(error, Forbidden) else WS_UNAUTHORIZED
        self.reason = "Forbidden" if self.close_code == WS_FORBIDDEN else "Unauthorized"
        super().__init__(self.reason)


def frame_problem(message: object) -> str | None:
    """Why a decoded frame breaks the graphql-transport-ws protocol, or None if it does not.

    Only the shapes the handler relies on are checked; unknown types are left to Strawberry
    (which closes with 4400 "Unknown message type")."""
    if not isinstance(message, dict):
        return "Message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "Message type must be a string"
    if kind in ("subscribe", "complete"):
        op_id = message.get("id")
        if not isinstance(op_id, str) or not op_id:
            return f"A {kind} message needs a non-empty string id"
    if kind in ("connection_init", "ping", "pong"):
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            return f"The {kind} payload must be an object"
    if kind != "subscribe":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "The subscribe payload must be an object"
    if not isinstance(payload.get("query"), str):
        return "The subscribe payload's query must be a string"
    for name, (kind_of, described) in _OPTIONAL_PAYLOAD_FIELDS.items():
        value = payload.get(name)
        if value is not None and not isinstance(value, kind_of):
            return f"The subscribe payload's {name} must be {described} or null"
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler):
    expiry_timer: asyncio.TimerHandle | None = None
    expiry_task: asyncio.Task | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Operations served by a shared group (schema.fanout), by id.
        self.members: dict[str, Member] = {}

    async def handle_subscribe(self, message: Any) -> None:
        fanout = getattr(self.view, "fanout", None)
        principal = getattr(self.context, "_principal", None)
        op_id = message["id"]
        if (
            fanout is not None
            and principal is not None
            and self.connection_acknowledged
            and op_id not in self.operations
        ):
            payload = message["payload"]
            query, variables = payload["query"], payload.get("variables")
            operation_name = payload.get("operationName")
            key = fanout.group_key(principal, query, variables, operation_name)
            if key is not None:
                operation = Operation(self, op_id, query, variables, operation_name)
                self.operations[op_id] = operation
                self.members[op_id] = fanout.join(self, operation, key)
                return
        await super().handle_subscribe(message)

    def forget_id(self, id: str) -> None:
        super().forget_id(id)
        self.members.pop(id, None)

    async def cleanup_operation(self, operation_id: str) -> None:
        member = self.members.pop(operation_id, None)
        if member is None:
            await super().cleanup_operation(operation_id)
            return
        self.operations.pop(operation_id, None)
        member.leave()

    async def handle_message(self, message: Any) -> None:
        problem = frame_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            # The protocol allows a null or missing payload; Strawberry closes on null.
            message = {**message, "payload": {}}
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketAuthRejected as exc:
            await self.websocket.close(code=exc.close_code, reason=exc.reason)
            return
        finally:
            # Cancelled by now; the socket need not keep the finished task (memory per socket).
            self.connection_init_timeout_task = None
        principal = getattr(self.context, "_principal", None)
        expires_at = getattr(principal, "expires_at", None)
        if self.connection_acknowledged and expires_at is not None and not self.expiry_timer:
            self._expire_at(expires_at)

    def _expire_at(self, expires_at: datetime) -> None:
        """Close the socket once the wall clock reaches ``expires_at``.

        A timer, not a sleeping task: ~2 KB less per socket (bench_subscribers.py). The loop's
        timer runs on the monotonic clock, tokens on the wall clock (``exp``, checked by
        ``auth.authenticate`` over HTTP): a timer that fires while the wall clock says the
        token still passes (the clock was stepped or slewed, or a test holds it) waits for
        what is left, so the socket lives exactly as long as the token would pass over HTTP."""
        left = (expires_at - datetime.now(UTC)).total_seconds()
        if left > 0:
            self.expiry_timer = asyncio.get_running_loop().call_later(
                left, self._expire_at, expires_at
            )
        else:
            self.expiry_task = asyncio.create_task(self._close_expired())

    async def _close_expired(self) -> None:
        # The client may have gone at the same moment: closing twice is refused, harmlessly.
        with contextlib.suppress(RuntimeError):
            await self.websocket.close(code=WS_UNAUTHORIZED, reason=TOKEN_EXPIRED)

    async def shutdown(self) -> None:
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
        if self.expiry_task is not None:
            self.expiry_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.expiry_task
        await super().shutdown()
