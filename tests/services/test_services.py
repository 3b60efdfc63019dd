"""The services' dependencies (gateway/services/__init__.py): built in one place, and closed
by whoever built them, Redis clients included."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as aioredis

from gateway.services import build_deps, throttle
from tests.conftest import REDIS_URL, make_settings

# How long Redis may take to drop a closed connection from CLIENT LIST (it notices the
# close on its own loop); the assertion waits for the state, it does not time anything.
CLOSE_NOTICED_WITHIN_SECONDS = 5.0
CHECK_EVERY_SECONDS = 0.05


class _NoQueue:
    """A JobQueue for Deps that never enqueue."""

    async def enqueue_sync(self, run_id: int) -> None:
        raise AssertionError("nothing is enqueued here")

    async def ping(self) -> bool:
        return True


async def _connected_names(namespace: str) -> set[str]:
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        clients = await admin.client_list()
    finally:
        await admin.aclose()
    return {c["name"] for c in clients if c["name"].startswith(namespace)}


async def _until_disconnected(namespace: str) -> set[str]:
    names = await _connected_names(namespace)
    for _ in range(int(CLOSE_NOTICED_WITHIN_SECONDS / CHECK_EVERY_SECONDS)):
        if not names:
            break
        await asyncio.sleep(CHECK_EVERY_SECONDS)
        names = await _connected_names(namespace)
    return names


async def test_closing_deps_closes_the_redis_clients_of_the_limiter_and_the_throttle(
    tmp_path: Path, redis_namespace: str
) -> None:
    settings = make_settings(
        f"sqlite://{tmp_path / 'unused.sqlite3'}",
        tmp_path,
        redis_url=REDIS_URL,
        redis_namespace=redis_namespace,
    )
    deps = build_deps(settings, queue=_NoQueue())
    # Given both have talked to Redis on this loop
    await deps.halo_rate_limiter.acquire("halo.example")
    await throttle.check(deps.throttle, "sync_trigger", "seller-a")
    assert await _connected_names(redis_namespace) == {
        f"{redis_namespace}:halo-rate",
        f"{redis_namespace}:throttle",
    }

    # When whoever built them closes the Deps
    await deps.aclose()

    # Then no connection of theirs is left
    assert await _until_disconnected(redis_namespace) == set()
