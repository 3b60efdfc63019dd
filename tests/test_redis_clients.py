"""redis.asyncio clients one per event loop: the gateway's loop and the embedded worker's each
use a client of their own (a client used from another loop fails), named for CLIENT LIST."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from gateway.redis_clients import LoopClients
from tests.conftest import REDIS_URL


async def _names() -> list[str]:
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        return [c["name"] for c in await admin.client_list()]
    finally:
        await admin.aclose()


async def test_each_loop_gets_its_own_client_and_closes_it(redis_namespace: str) -> None:
    clients = LoopClients(REDIS_URL, name=f"{redis_namespace}:t", timeout=1.0)
    here = clients.get()
    assert clients.get() is here and await here.ping()
    assert f"{redis_namespace}:t" in await _names()

    async def on_another_loop() -> bool:
        there = clients.get()
        try:
            return there is not here and bool(await there.ping())
        finally:
            await clients.aclose()  # closes that loop's client, on that loop

    assert await asyncio.to_thread(asyncio.run, on_another_loop())
    assert clients.get() is here and await here.ping()  # this loop's is still open
    await clients.aclose()
    assert clients.get() is not here  # a closed client is not handed out again
    await clients.aclose()
