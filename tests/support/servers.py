"""Real HTTP servers for tests: an ASGI app under uvicorn on a free port, in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

STARTUP_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _PromptServer(uvicorn.Server):
    """uvicorn's server, told to stop by an event instead of noticing ``should_exit`` on its
    next 0.1 s tick: a test suite starts and stops hundreds of gateways."""

    stopping: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self.loop, self.stopping = asyncio.get_running_loop(), asyncio.Event()
        ticks = 0
        while not await self.on_tick(ticks):  # the Date header, once a second, as uvicorn does
            ticks += 10
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=1.0)

    def stop_now(self) -> None:
        self.should_exit = True
        if self.loop is not None and self.stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self.loop.call_soon_threadsafe(self.stopping.set)


@contextlib.contextmanager
def serve_in_thread(app: Any, *, port: int | None = None, **options: Any) -> Iterator[str]:
    """Run ``app`` (with its lifespan) until the block ends; yields its base URL.
    ``options``: uvicorn's, e.g. the gateway's own (``gateway.cli.uvicorn_options``)."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **{"lifespan": "on", "loop": "asyncio", "ws": "websockets-sansio", **options},
    )
    server = _PromptServer(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server thread died during start-up (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("the server did not start in time")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop_now()
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
