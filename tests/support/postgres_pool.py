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

    async def create(self, prefix: str, template: str | None = None) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        await self.execute(f'CREATE DATABASE "{name}"{copy}')
        return name

    async def drop(self, name: str) -> None:
        await self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def take(self, *, empty: bool = False) -> str:
        """A database of the caller's own (migrated unless ``empty``); blocks until it exists."""
        if empty:
            return self.submit(self.create("halo_e")).result()
        if self.template is None:
            template = self.submit(self.create("halo_tpl")).result()
            self.submit(self.migrate(template)).result()
            self.template = template
        while len(self.ahead) < AHEAD + 1:
            self.ahead.append(self.submit(self.create("halo_t", self.template)))
        return self.ahead.popleft().result()

    def give_back(self, name: str) -> None:
        """Drop ``name`` behind the caller (its gateways have stopped; FORCE ends the rest)."""
        self.drops.append(self.submit(self.drop(name)))

    def close(self) -> None:
        """Drop what is left (made-ahead databases, the template) and stop the thread."""
        while self.ahead:
            self.give_back(self.ahead.popleft().result())
        if self.template is not None:
            self.give_back(self.template)
        concurrent.futures.wait(self.drops)
        if self.admin is not None:
            self.submit(self.admin.close()).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
