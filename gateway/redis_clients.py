"""redis.asyncio clients made on first use, one per event loop.

A redis.asyncio client belongs to the loop that made it, and the gateway runs several (the
ASGI server's, the embedded Dramatiq worker's): each loop gets its own, and whoever runs a
loop closes that loop's client (``aclose``) before the loop ends. Short timeouts and a
single immediate retry (a connection a Redis restart closed), not redis-py's ten with
back-off: the callers fail open, and must not wait seconds to do so.
"""

from __future__ import annotations

import asyncio
from typing import Any


class LoopClients:
    def __init__(
        self, url: str, *, name: str, timeout: float, decode_responses: bool = False
    ) -> None:
        self.url = url
        self.name = name
        self.timeout = timeout
        self.decode_responses = decode_responses
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}

    def get(self) -> Any:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients[loop] = aioredis.Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 1),
                decode_responses=self.decode_responses,
                # CLIENT LIST tells whose connections these are.
                client_name=self.name,
            )
        return self._clients[loop]

    async def aclose(self) -> None:
        """Close this loop's client (the loop that made it must still run)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
