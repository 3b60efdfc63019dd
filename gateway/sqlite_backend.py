"""Tortoise's SQLite client, fixed for a file shared by several writers.

The gateway, its embedded worker (its own connection) and any ``halo-gateway`` command
write the same SQLite file. ``PRAGMA busy_timeout`` makes a writer wait for the lock
instead of failing with "database is locked" — but only for statements outside a
transaction, or a transaction's *first* statement: Tortoise opens transactions with a plain
(deferred) ``BEGIN``, and a deferred transaction that has read and then wants to write gets
``SQLITE_BUSY`` at once, without waiting (SQLite cannot let it wait: the writer it waits for
may be waiting for it). Measured: an integrator upsert failed within 90 ms while another
connection held the write lock, while a plain update waited and succeeded.

So here:

* transactions start with ``BEGIN IMMEDIATE``: the write lock is taken (and waited for,
  up to the busy timeout) before the first read, so a transaction does not fail half-way on
  a lock (in WAL mode a COMMIT does not wait for readers);
* a ``BEGIN`` that fails (the lock was not freed in time) releases Tortoise's per-connection
  transaction lock: Tortoise's own context only releases it in ``__aexit__``, which never
  runs when ``__aenter__`` raises, so every later query of the process hung;
* a lock still held when the busy timeout runs out raises
  :class:`gateway.errors.DatabaseBusy` (``DATABASE_BUSY``) instead of an internal error —
  the statement or transaction changed nothing, and the caller may simply retry.

Used as the Tortoise ``engine`` by :func:`gateway.db.tortoise_config`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import aiosqlite
from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
from tortoise.exceptions import OperationalError, TransactionManagementError

from gateway.errors import DatabaseBusy

# Primary result codes of a lock another connection holds (extended codes keep these in
# their low byte).
_LOCK_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def _is_lock_error(exc: BaseException) -> bool:
    # Tortoise wraps the driver's error: OperationalError(sqlite3.OperationalError(...)).
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    code = getattr(cause, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _LOCK_CODES


@contextmanager
def _busy_as_domain_error() -> Iterator[None]:
    try:
        yield
    except (sqlite3.OperationalError, OperationalError, TransactionManagementError) as exc:
        if _is_lock_error(exc):
            raise DatabaseBusy() from exc
        raise


class _TranslateBusy(SqliteClient):
    """The statement entry points, with a held lock turned into :class:`DatabaseBusy`."""

    async def execute_insert(self, query: str, values: list) -> int:
        with _busy_as_domain_error():
            return await super().execute_insert(query, values)

    async def execute_many(self, query: str, values: list[list]) -> None:
        with _busy_as_domain_error():
            await super().execute_many(query, values)

    async def execute_query(
        self, query: str, values: list | None = None
    ) -> tuple[int, Sequence[dict]]:
        with _busy_as_domain_error():
            return await super().execute_query(query, values)

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        with _busy_as_domain_error():
            return await super().execute_query_dict(query, values)

    async def execute_script(self, query: str) -> None:
        with _busy_as_domain_error():
            await super().execute_script(query)


class _ImmediateTransactionWrapper(_TranslateBusy, SqliteTransactionWrapper):
    async def begin(self) -> None:
        with _busy_as_domain_error():
            await self._connection.commit()  # as Tortoise does: end any implicit transaction
            await self._connection.execute("BEGIN IMMEDIATE")


class _TransactionContext(SqliteTransactionContext):
    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        token = None
        try:
            await self.ensure_connection()
            token = get_connections().set(self.connection_name, self.connection)
            await self.connection.begin()
        except BaseException:
            if token is not None:
                get_connections().reset(token)
            self._trxlock.release()
            raise
        self.token = token
        return self.connection


class GatewaySqliteClient(_TranslateBusy):
    """Writes and transactions on Tortoise's connection; the hot reads on one of their own.

    Tortoise runs every statement of a client under one ``asyncio.Lock`` (a transaction owns
    the connection). A grid page waiting for that lock behind nineteen others is handed the
    connection only when the event loop next gets round to it, and the driver's thread idles
    meanwhile: at 20 connections a 100-row page made 0.65–0.79× the raw app's throughput
    (bench/bench_organizations.py), whose statements queue on the driver's thread directly.
    :meth:`read_rows` uses a second, read-only connection without that lock: in WAL mode
    each statement reads the last committed state, never a transaction half done, and runs
    beside the writes instead of behind them.
    """

    _reader: aiosqlite.Connection | None = None

    def _in_transaction(self) -> TransactionContext:
        return _TransactionContext(_ImmediateTransactionWrapper(self), self._lock)

    async def read_rows(self, query: str, values: Sequence[Any]) -> Sequence[Any]:
        """One read-only statement's rows, on the reader connection (see the class)."""
        if self.filename == ":memory:":  # a second connection would see another database
            return (await self.execute_query(query, list(values)))[1]
        with _busy_as_domain_error():
            if self._reader is None:
                reader = await aiosqlite.connect(self.filename, isolation_level=None)
                for pragma, value in self.pragmas.items():  # as Tortoise's own connection
                    await reader.execute(f"PRAGMA {pragma}={value}")
                await reader.execute("PRAGMA query_only=1")
                if self._reader is None:
                    self._reader = reader
                else:  # another read opened one meanwhile
                    await reader.close()
            return list(await self._reader.execute_fetchall(query, values))

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.close()
        await super().close()


client_class = GatewaySqliteClient

__all__ = ["GatewaySqliteClient", "client_class"]
