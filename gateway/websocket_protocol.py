"""The websocket protocol uvicorn serves the gateway with: uvicorn's own websockets-sansio
implementation, holding less per open socket (issue #15: ≤ 25 KB per socket at 10,000).

What a socket costs was measured in the gateway process (``bench/probe_socket_memory.py``:
tracemalloc and live objects between 0 and N idle subscribed sockets; bench/RESULTS.md has
the breakdown). Three things uvicorn keeps for a socket's whole life are only needed for a
moment, and this subclass lets them go — nothing else changes (frames, close codes,
back-pressure, keep-alive pings are uvicorn's):

* the handshake request's headers (~3.5 KB): copied into the ASGI scope when the socket
  opens, then held until it closes by uvicorn (``self.request``) and by the websockets
  parser, whose generator keeps the request as a local; emptied once the scope has them;
* the handshake response (~1 KB, ``self.response``): dropped once it is sent;
* an ``asyncio.Queue`` for the frames the application has not read yet and an
  ``asyncio.Event`` for "the transport takes writes" (~3.8 KB: five deques of 760 bytes):
  replaced by :class:`ReceiveQueue` and :class:`WritableFlag`, which allocate a list only
  while someone waits. uvicorn pauses reading after each message until the application has
  taken it, so the queue holds one or two messages at most.

Pinned with uvicorn (``pyproject.toml``): the subclass relies on the attribute names of
``WebSocketsSansIOProtocol`` in uvicorn 0.54 (``queue``, ``writable``, ``request``,
``response``, ``start_keepalive``); tests/test_websocket_protocol.py serves real sockets
through it.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

# uvicorn's ``ws`` setting: the import string of the protocol class below.
PROTOCOL = "gateway.websocket_protocol:LeanWebSocketProtocol"


class ReceiveQueue:
    """What uvicorn's websocket protocol asks of its ``asyncio.Queue``: ``put_nowait``,
    ``get``, ``empty``; unbounded, first in first out, getters served in order."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiters: list[asyncio.Future[None]] | None = None

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake_one()

    async def get(self) -> Any:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                self._forget(waiter)
                if self._items and not waiter.cancelled():
                    # Woken and cancelled at once: the item goes to the next getter.
                    self._wake_one()
                raise
            self._forget(waiter)
        return self._items.pop(0)

    def _wake_one(self) -> None:
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)
                return

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        if self._waiters is not None:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if not self._waiters:
                self._waiters = None


class WritableFlag:
    """uvicorn's ``writable`` event (set: the transport takes writes now) without the deque
    every ``asyncio.Event`` allocates; the same methods (``is_set``, ``set``, ``clear``,
    ``wait``). The live fan-out reads it to write without waiting (``schema.fanout``)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, without what only the handshake needs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Duck-typed stand-ins for uvicorn's asyncio.Queue and asyncio.Event.
        self.queue = cast(Any, ReceiveQueue())
        self.writable = cast(Any, WritableFlag())

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The scope has its own copy (bytes); the request object stays referenced by the
        # websockets parser's generator, so its headers are emptied rather than dropped.
        event.headers.clear()
        self.request = cast(Any, None)

    def start_keepalive(self) -> None:
        # Called once the handshake response is sent: nothing reads it after this.
        self.response = cast(Any, None)
        super().start_keepalive()
