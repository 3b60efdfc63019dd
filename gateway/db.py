"""Database set-up: one Tortoise context per event loop, SQLite or PostgreSQL by URL.

Tortoise 1.x keeps its state in a context variable and its pools belong to the loop that
made them. So the gateway opens a context in its lifespan and binds it to every request with
:class:`BindDatabase` (an ASGI middleware), and each Dramatiq worker opens its own context on
its own loop (``workers.broker``). No global fallback: two contexts can live in one process
(the embedded demo runs the gateway and a worker side by side).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise.context import TortoiseContext, _current_context

from gateway.settings import Settings

# An open database, as open_db() returns it and bound() binds it. The wiring (workers, the
# app) names it by this alias: only the core knows it is Tortoise's context.
Database: TypeAlias = TortoiseContext

MODELS_MODULE = "gateway.models"
MIGRATIONS_MODULE = "gateway.migrations"

# SQLite: NORMAL is safe with WAL and much faster. The busy timeout (wait for a writer
# instead of failing with "database is locked": the gateway and an embedded worker write the
# same file) comes from settings; transactions and lock errors are handled by our engine.
SQLITE_PRAGMAS = {"synchronous": "NORMAL", "foreign_keys": "ON"}
SQLITE_ENGINE = "gateway.sqlite_backend"
# PostgreSQL pool per process: enough for a busy gateway, small enough for N replicas.
POSTGRES_POOL = {"minsize": 1, "maxsize": 10}


def connection_name(settings: Settings) -> str:
    """Named by dialect: Tortoise caches prepared SQL per (connection name, table) process-wide,
    so a SQLite and a PostgreSQL database must never share a name (the test suite uses both)."""
    return "sqlite" if settings.is_sqlite else "postgres"


def tortoise_config(settings: Settings) -> dict[str, Any]:
    url = settings.database_url_resolved
    name = connection_name(settings)
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").split("?", 1)[0]
        if path != ":memory:":
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        connection: str | dict[str, Any] = {
            "engine": SQLITE_ENGINE,
            "credentials": {
                "file_path": path,
                "busy_timeout": settings.sqlite_busy_timeout_ms,
                **SQLITE_PRAGMAS,
            },
        }
    else:
        connection = url
        if url.startswith(("postgres://", "postgresql://", "asyncpg://")):
            sep = "&" if "?" in url else "?"
            extra = "&".join(f"{k}={v}" for k, v in POSTGRES_POOL.items() if f"{k}=" not in url)
            connection = url.replace("postgresql://", "postgres://", 1) + (
                sep + extra if extra else ""
            )
    return {
        "connections": {name: connection},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "default_connection": name,
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def current_connection_name() -> str:
    """The default connection of the current context (for ``in_transaction``)."""
    from tortoise.context import require_context

    name = require_context().default_connection
    if name is None:  # pragma: no cover - one connection is always configured
        raise RuntimeError("no default database connection")
    return name


async def open_db(settings: Settings) -> TortoiseContext:
    ctx = TortoiseContext()
    # Tortoise resolves the app registry through the *current* context while initialising.
    with bound(ctx):
        await ctx.init(config=tortoise_config(settings))
    return ctx


async def close_db(ctx: TortoiseContext) -> None:
    with bound(ctx):
        await ctx.close_connections()


class MigrationRefused(Exception):
    """A migration found data it must not change on its own: it changed nothing, and the
    message says which rows and what an operator does about them (the ``migrate`` command
    prints it, without a traceback). Money is the reason: a migration that guessed which
    of two ledger rows owns a HaloPSA licence could leave a customer billed twice."""


async def migrate(settings: Settings) -> list[str]:
    """Apply pending migrations; returns the names applied (idempotent). Raises
    :class:`MigrationRefused`: the migrations before the refusing one are applied, it and
    those after it are not (each migration is one transaction)."""
    from tortoise.migrations.executor import MigrationExecutor

    config = tortoise_config(settings)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        executor = MigrationExecutor(ctx.db(connection_name(settings)), config["apps"])
        await executor.migrate(None, progress=progress)
    return applied


@contextmanager
def bound(ctx: TortoiseContext) -> Iterator[TortoiseContext]:
    """Make ``ctx`` the current Tortoise context for this task only.

    ``TortoiseContext.__enter__`` keeps its reset token on the instance, so two concurrent
    requests (or actors) entering the same context would reset each other's token; setting
    the context variable with a token of our own is safe under concurrency.
    """
    token = _current_context.set(ctx)
    try:
        yield ctx
    finally:
        _current_context.reset(token)


class BindDatabase:
    """ASGI middleware: runs every request and websocket inside the app's Tortoise context."""

    def __init__(self, app: ASGIApp, holder: DatabaseHolder) -> None:
        self.app = app
        self.holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = self.holder.context
        if ctx is None or scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        with bound(ctx):
            await self.app(scope, receive, send)


class DatabaseHolder:
    """Where the lifespan puts the context it opened, for the middleware to bind."""

    context: TortoiseContext | None = None
