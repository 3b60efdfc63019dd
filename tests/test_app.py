"""/healthz says the process is up; /readyz says whether it can do its job right now."""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from tests.conftest import POSTGRES_ADMIN_DSN, REDIS_URL, make_settings, running_gateway


async def _get(base_url: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url) as client:
        return await client.get(path)


async def test_healthz_and_readyz_answer_ok_when_everything_is_up(gateway) -> None:
    assert (await _get(gateway.base_url, "/healthz")).json() == {"status": "ok"}
    ready = await _get(gateway.base_url, "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": True, "broker": True}}


async def test_readyz_fails_when_redis_is_unreachable(
    gateway_factory, database_url, tmp_path
) -> None:
    settings = make_settings(database_url, tmp_path, redis_url="redis://127.0.0.1:1/0")
    running = gateway_factory(settings)
    assert (await _get(running.base_url, "/healthz")).status_code == 200
    ready = await _get(running.base_url, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": True, "broker": False}


async def test_readyz_passes_with_a_real_redis(
    gateway_factory, database_url, tmp_path, redis_namespace
) -> None:
    settings = make_settings(
        database_url, tmp_path, redis_url=REDIS_URL, redis_namespace=redis_namespace
    )
    running = gateway_factory(settings)
    assert (await _get(running.base_url, "/readyz")).status_code == 200


async def test_readyz_fails_when_the_database_goes_away(gateway_factory, tmp_path) -> None:
    name = f"halo_t_readyz_gone_{uuid.uuid4().hex[:8]}"  # xdist runs both variants at once
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = make_settings(f"postgres://postgres@127.0.0.1:5432/{name}", tmp_path)
    try:
        with running_gateway(settings) as running:
            assert (await _get(running.base_url, "/readyz")).status_code == 200
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            ready = await _get(running.base_url, "/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"] is False
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
