"""A PostgreSQL database that can go away under a running gateway (a lost database server)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg

from tests.conftest import POSTGRES_ADMIN_DSN, POSTGRES_HOST


@contextlib.asynccontextmanager
async def vanishing_postgres() -> AsyncIterator[tuple[str, Callable[[], Awaitable[None]]]]:
    """The URL of a fresh database of its own (a unique name: xdist runs variants at once)
    and ``drop()`` to make it vanish; dropped in any case afterwards."""
    name = f"halo_t_gone_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)

    async def drop() -> None:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgres://{POSTGRES_HOST}/{name}", drop
    finally:
        await drop()
        await admin.close()
