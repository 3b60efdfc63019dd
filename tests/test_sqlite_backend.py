"""SQLite shared by several writers: a held lock is waited for, then answered with a code.

Another connection takes the write lock with ``BEGIN IMMEDIATE`` (as the embedded worker
or a CLI command would) while mutations run through the real gateway. These tests hold the
lock in real time: the busy timeout is SQLite's own clock, which time_machine cannot move.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import RunningGateway, assert_error_code, make_settings, running_gateway

SET_PRICES = "mutation { setSyncUnitPrices(enabled: true) { message } }"
UPSERT = """mutation ($i: [OrganizationInput!]!) { upsertOrganizations(input: $i) { created } }"""
ORGS = [{"id": "org-1", "name": "Acme", "reference": "R-1", "status": "ACTIVE"}]
STATE = "{ configuration { syncUnitPrices } organizations { total } logOverview { total } }"
# Long enough to be sure a request really waited, short enough for a quick test.
HOLD_SECONDS = 0.6


@contextmanager
def write_lock(database: Path) -> Iterator[None]:
    """Another connection holding the database's write lock until the block ends."""
    other = sqlite3.connect(database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


@contextmanager
def sqlite_gateway(tmp_path: Path, **overrides: object) -> Iterator[tuple[RunningGateway, Path]]:
    database = tmp_path / "gateway.sqlite3"
    settings = make_settings(f"sqlite://{database}", tmp_path, **overrides)
    with running_gateway(settings) as gateway:
        yield gateway, database


async def test_mutations_wait_for_another_writers_lock_and_succeed_once_it_is_released(
    tmp_path: Path,
) -> None:
    with sqlite_gateway(tmp_path) as (gateway, database):
        before = await gateway.gql(STATE)  # the seller exists before the lock is taken
        assert before["data"]["configuration"]["syncUnitPrices"] is False

        for query, variables in ((SET_PRICES, None), (UPSERT, {"i": ORGS})):
            with write_lock(database):
                started = time.monotonic()
                pending = asyncio.create_task(gateway.gql(query, variables))
                await asyncio.sleep(HOLD_SECONDS)
                assert not pending.done(), pending.result()  # still waiting for the lock
            result = await pending
            assert "errors" not in result, result
            assert time.monotonic() - started >= HOLD_SECONDS

        after = (await gateway.gql(STATE))["data"]
        assert after["configuration"]["syncUnitPrices"] is True
        assert after["organizations"]["total"] == 1
        assert after["logOverview"]["total"] == before["data"]["logOverview"]["total"] + 1


async def test_a_lock_held_past_the_busy_timeout_answers_database_busy_and_writes_nothing(
    tmp_path: Path,
) -> None:
    with sqlite_gateway(tmp_path, sqlite_busy_timeout_ms=300) as (gateway, database):
        before = await gateway.gql(STATE)
        assert "errors" not in before, before

        with write_lock(database):
            results = [
                await gateway.gql(SET_PRICES),
                await gateway.gql(UPSERT, {"i": ORGS}),
            ]
            # Reads are not blocked by a writer (WAL).
            during = await gateway.gql(STATE)

        for result in results:
            error = assert_error_code(result, "DATABASE_BUSY")
            assert error["message"] == "The database is busy; try again in a moment."
            assert error["extensions"]["retryAfterSeconds"] == 1
            assert "sqlite" not in str(result).lower() and "locked" not in str(result).lower()
        assert during == before
        assert await gateway.gql(STATE) == before  # nothing written, not even a log entry

        retried = await gateway.gql(SET_PRICES)
        assert "errors" not in retried, retried
