"""The websocket protocol the gateway is served with (gateway/websocket_protocol.py): uvicorn's
websockets-sansio protocol keeping less per socket, over real sockets.

The gateway's own behaviour on it (ordering, back-pressure with RESYNC, 4401 on expiry,
resume) is proven by the websocket tests under tests/api/, whose gateways are served with the
same options (tests/conftest.py ``running_gateway``)."""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from gateway.cli import uvicorn_options
from gateway.settings import Settings
from gateway.websocket_protocol import LeanWebSocketProtocol, ReceiveQueue, WritableFlag
from schema.fanout import _writable_flag
from tests.support.servers import serve_in_thread

SUBPROTOCOL = "graphql-transport-ws"


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Accepts, then answers every text frame with ``<text>|<header x-probe>|<count>``: the
    application still reads the handshake's headers (from its scope) after the protocol let
    its own copy go, and sees every frame in order."""
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": message["type"] + ".complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept", "subprotocol": SUBPROTOCOL})
    probe = dict(scope["headers"]).get(b"x-probe", b"").decode()
    count = 0
    while (message := await receive())["type"] == "websocket.receive":
        count += 1
        await send({"type": "websocket.send", "text": f"{message['text']}|{probe}|{count}"})


@contextlib.contextmanager
def served(ws: Any = None, **settings: Any) -> Iterator[str]:
    """``echo_app`` served as the gateway is (``ws``: another protocol, to compare)."""
    options = uvicorn_options(Settings(**settings))
    if ws is not None:
        options["ws"] = ws
    with serve_in_thread(echo_app, **options) as base_url:
        yield base_url.replace("http://", "ws://")


async def _open(url: str, **kw: Any) -> ClientConnection:
    return await connect(url, subprotocols=[SUBPROTOCOL], **kw)  # type: ignore[list-item]


async def test_permessage_deflate_is_off_unless_the_setting_asks_for_it() -> None:
    # The client offers permessage-deflate (the websockets client does by default, browsers too)
    with served() as url:
        socket = await _open(url)
        assert socket.response is not None
        assert "Sec-WebSocket-Extensions" not in socket.response.headers
        await socket.close()
    with served(ws_per_message_deflate=True) as url:
        socket = await _open(url)
        assert socket.response is not None
        assert "permessage-deflate" in socket.response.headers["Sec-WebSocket-Extensions"]
        await socket.close()


async def test_the_app_reads_the_handshake_headers_and_gets_every_frame_in_order() -> None:
    with served() as url:
        socket = await _open(url, additional_headers={"X-Probe": "seen"})
        assert socket.subprotocol == SUBPROTOCOL
        # A burst sent without waiting: uvicorn pauses reading after each frame until the
        # application took it, so the frames queue up on both sides
        for n in range(300):
            await socket.send(f"m{n}")
        answers = [await asyncio.wait_for(socket.recv(), 30) for _ in range(300)]
        assert answers == [f"m{n}|seen|{n + 1}" for n in range(300)]
        await socket.close()


def _held_per_socket(ws: Any, sockets: int) -> float:
    """Bytes Python allocated while ``sockets`` idle sockets opened, and still holds, ÷ N
    (server and client run in this process; the client's share is the same for any ``ws``)."""

    async def open_all() -> float:
        with served(ws) as url:
            # Warm up first uses (imports, caches) outside the measurement.
            warm = [await _open(url) for _ in range(5)]
            for socket in warm:
                await socket.close()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                opened = [await _open(url, compression=None) for _ in range(sockets)]
                for socket in opened:  # each one answered: the server's side is set up
                    await socket.send("x")
                    await asyncio.wait_for(socket.recv(), 30)
                held = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
            for socket in opened:
                await socket.close()
            return held / sockets

    return asyncio.run(open_all())


@pytest.mark.slow
def test_a_socket_holds_several_kilobytes_less_than_with_uvicorns_own_protocol() -> None:
    # The handshake's headers and response, an asyncio.Queue and an asyncio.Event per socket
    # (~8 KB measured in the gateway, bench/probe_socket_memory.py); 5 KB leaves room
    stock = _held_per_socket("websockets-sansio", 100)
    lean = _held_per_socket(uvicorn_options(Settings())["ws"], 100)
    assert lean <= stock - 5 * 1024, (stock, lean)


async def test_the_live_fan_out_sees_whether_a_socket_takes_writes_now() -> None:
    # The fan-out writes a shared result straight from the group's loop to every socket whose
    # transport takes writes, and queues it (a task per socket) only for the others: it must
    # recognise the protocol's flag, or every socket gets a task per event
    import uvicorn
    from uvicorn.server import ServerState

    config = uvicorn.Config(echo_app, **uvicorn_options(Settings()))
    config.load()
    protocol = config.ws_protocol_class(config=config, server_state=ServerState(), app_state={})
    assert isinstance(protocol, LeanWebSocketProtocol)
    flag = _writable_flag(protocol.send)
    assert flag is not None and flag.is_set()
    protocol.pause_writing()  # the transport's buffer is full
    assert not flag.is_set()
    protocol.resume_writing()
    assert flag.is_set()


async def test_the_receive_queue_is_first_in_first_out_and_waits_for_an_item() -> None:
    queue = ReceiveQueue()
    assert queue.empty()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.put_nowait("a")
    queue.put_nowait("b")
    assert await getter == "a"
    assert await queue.get() == "b"
    assert queue.empty()


async def test_an_item_woken_for_a_cancelled_getter_goes_to_the_next_one() -> None:
    queue = ReceiveQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("only")  # wakes the first getter …
    first.cancel()  # … which is cancelled before it runs
    assert await second == "only"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_the_writable_flag_holds_writers_while_cleared() -> None:
    flag = WritableFlag()
    assert flag.is_set()
    assert await flag.wait()
    flag.clear()
    writer = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not writer.done()
    flag.set()
    assert await writer
    # A writer cancelled while it waits leaves nothing behind for the next set()
    flag.clear()
    gone = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    flag.set()
    assert flag.is_set()
