"""ASGI middleware at the edge: request size cap, security headers, the server's websocket send."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Bulk upserts of 1,000 items are ~400 KB of JSON; 2 MiB leaves room and stops abuse.
MAX_BODY_BYTES = 2 * 1024 * 1024

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# No page may be framed, for browsers that read only X-Frame-Options as for those that read
# CSP ``frame-ancestors``; except a page whose own CSP lets the platform shell frame it
# (``WEB_FRAME_ANCESTORS``): X-Frame-Options cannot name origins, and a DENY beside that CSP
# would contradict it (browsers that know CSP let it win, older ones would refuse the shell).
FRAME_DENY = (b"x-frame-options", b"DENY")


def _framing_allowed(headers: list[tuple[bytes, bytes]]) -> bool:
    """The response's own CSP names frame ancestors other than 'none'."""
    for name, value in headers:
        if name.lower() != b"content-security-policy":
            continue
        for directive in value.split(b";"):
            words = directive.split()
            if words and words[0].lower() == b"frame-ancestors":
                return words[1:] != [b"'none'"]
    return False


# Where a websocket's scope carries the server's own ``send`` (see :class:`ExposeServerSend`).
SERVER_SEND = "halo_gateway.server_send"


class ExposeServerSend:
    """Puts the ASGI server's ``send`` of a websocket in its scope, before any middleware
    wraps it: the live fan-out (``schema.fanout``) writes one shared string to thousands of
    sockets per event, and each wrapper (Starlette's exception handling, its WebSocket state
    machine) cost more per write than the write itself (bench/bench_subscribers.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SERVER_SEND] = send
        await self.app(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class LimitBodySize:
    """Refuses bodies over the limit with 413 and a GraphQL-shaped error, streaming or not."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "data": None,
                "errors": [
                    {
                        "message": f"Request body too large (limit {self.max_bytes} bytes).",
                        "extensions": {"code": "BAD_USER_INPUT", "limitBytes": self.max_bytes},
                    }
                ],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                frame = [] if _framing_allowed(headers) else [FRAME_DENY]
                message["headers"] = headers + self.headers + frame
            await send(message)

        await self.app(scope, receive, with_headers)
