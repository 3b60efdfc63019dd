"""Fresh PostgreSQL databases for tests, each copied from a migrated template before it is needed.

``CREATE DATABASE … TEMPLATE`` copies the template's files and takes ~0.3 s here: paid in
setup, 350 PostgreSQL tests would wait ~100 s for it. A thread of this test process, with
an event loop and one admin connection of its own, makes the next database while the
current test runs and drops the finished ones behind it. Each test still gets a database
nobody else has touched.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")

# Databases made ahead: one is enough when a test takes longer than a copy (most do).
AHEAD = 1


class PostgresPool:
    """Hands out fresh migrated databases by name; ``migrate(name)`` builds the template."""

    def __init__(self, admin_dsn: str, migrate: Callable[[str], Awaitable[None]]) -> None:
        self.admin_dsn = admin_dsn
        self.migrate = migrate
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="pg-pool")
        self.thread.start()
        self.admin: asyncpg.Connection | None = None
        self.lock: asyncio.Lock | None = None  # made on the pool's loop
        self.template: str | None = None
        self.ahead: collections.deque[concurrent.futures.Future[str]] = collections.deque()
        self.drops: list[concurrent.futures.Future[None]] = []

    def submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    async def execute(self, sql: str) -> None:
        """One statement at a time on the one admin connection (creates and drops queue)."""
        if self.lock is None:
            self.lock = asyncio.Lock()
        async with self.lock:
            if self.admin is None:
                self.admin = await asyncpg.connect(self.admin_dsn)
            await self.admin.execute(sql)

    async def create(self, *, empty: bool = False) -> str:
        name = f"halo_{'e' if empty else 't'}_{uuid.uuid4().hex[:12]}"
        if empty:
            await self.execute(f'CREATE DATABASE "{name}"')
            return name
        await self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def take(self, *, empty: bool = False) -> str:
        """A database of the caller's own (migrated unless ``empty``); blocks until it exists."""
        if empty:
            return self.submit(self.create(empty=True)).result()
        if self.template is None:
            self.template = self.submit(self.create(empty=True)).result()
            self.submit(self.migrate(self.template)).result()
        while len(self.ahead) < AHEAD + 1:
            self.ahead.append(self.submit(self.create()))
        return self.ahead.popleft().result()

    def give_back(self, name: str) -> None:
        """Drop ``name`` behind the caller (its gateways have stopped; FORCE ends the rest)."""
        self.drops.append(
            self.submit(self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        )

    def close(self) -> None:
        """Drop what is left (made-ahead databases, the template) and stop the thread."""
        for future in concurrent.futures.as_completed([*self.ahead, *self.drops]):
            name = future.result()
            if isinstance(name, str):
                self.give_back(name)
        self.ahead.clear()
        leftovers = [*self.drops]
        if self.template is not None:
            leftovers.append(
                self.submit(self.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
            )
        concurrent.futures.wait(leftovers)
        if self.admin is not None:
            self.submit(self.admin.close()).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
