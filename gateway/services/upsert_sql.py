"""PostgreSQL: a chunk of validated rows COPYed to a staging table, then upserted in ONE statement.

The portable path (``upserts.py``: look the chunk's ids up, build a Tortoise object per new
row, one ``bulk_create`` and one ``save()`` per changed row) spends its time building objects.
Here the chunk goes to the server the way its driver moves rows fastest, binary ``COPY`` into
a temporary table of the session, and one statement decides everything:

    COPY import_subscription (external_id, …) FROM STDIN (FORMAT binary)   -- the chunk
    INSERT INTO subscription (seller_id, …, created_at, updated_at)
    SELECT $1, s.*, $2, $2 FROM import_subscription AS s
    ON CONFLICT (seller_id, external_id) DO UPDATE SET … , deleted_at = NULL
      WHERE (t.…) IS DISTINCT FROM (EXCLUDED.…) OR t.deleted_at IS NOT NULL
    RETURNING (xmax = 0) AS created     -- counted in the same statement

Why COPY and not one array parameter per column (``unnest($3::text[], …)``, the previous
version): asyncpg checks every array element against ``collections.abc`` classes in Python
while encoding, about 1 µs per value, 12 per row; COPY encodes a row's values straight from
its tuple. Money is staged as text and cast by the server: asyncpg's binary encoding of a
``Decimal`` costs ~1.6 µs of the import's one Python core, ``str()`` a fifth of that, and
the cast runs on the database's core (``str`` of a ``Decimal`` is exact, so is the cast).
Measured in ``bench/bench_import.py`` (see ``bench/RESULTS.md``).

It makes the same decisions as the portable path, which stays the reference (SQLite, dry
runs): a new id is created, an existing one that differs (or was deleted) is updated and
revived, an identical one is not touched (its ``updated_at`` stays); money compares as
numbers (12.5 = 12.50). ``RETURNING`` reports each written row, ``xmax = 0`` the inserted
ones, so unchanged = rows - returned.

Nothing half written: the caller's transaction holds the COPY and the statement, and the
staging table is ``ON COMMIT DELETE ROWS``, so it is empty again after a commit and after a
rollback (a failed or cancelled chunk cannot leak rows into the next one on the pooled
connection). A concurrent import of the same ids waits on the unique index instead of
failing on it. The staging table lives as long as the database session (created when first
needed on a connection, ``IF NOT EXISTS`` in every chunk: it survives a ``DISCARD``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from tortoise import fields

# The column types, by Tortoise field class.
_SQL_TYPES: dict[type[Any], str] = {
    fields.CharField: "text",
    fields.IntField: "int",
    fields.DateField: "date",
    fields.DecimalField: "numeric",
}
# Staged as text, cast in the statement (see the module docstring): money.
_STAGED_AS_TEXT = frozenset({"numeric"})
# The natural key the platform's ids live under (``unique_together`` on both models).
_KEY = ("seller_id", "external_id")


def _sql_type(model: Any, column: str) -> str:
    field = model._meta.fields_map.get(column)
    if field is None:  # a foreign key's column (organization_id): our keys are int
        return "int"
    return _SQL_TYPES[type(field)]


def _staged_type(model: Any, column: str) -> str:
    sql_type = _sql_type(model, column)
    return "text" if sql_type in _STAGED_AS_TEXT else sql_type


def _selected(model: Any, column: str) -> str:
    """A staged column in its table's type."""
    sql_type = _sql_type(model, column)
    return f"s.{column}::{sql_type}" if sql_type in _STAGED_AS_TEXT else f"s.{column}"


def staging_table(model: Any) -> str:
    """The session's staging table for ``model``'s rows (temporary: one per connection)."""
    return f"import_{model._meta.db_table}"


def staging_ddl(model: Any, columns: list[str]) -> str:
    typed = ", ".join(f"{c} {_staged_type(model, c)}" for c in columns)
    return (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging_table(model)} ({typed}) "
        "ON COMMIT DELETE ROWS"
    )


def upsert_statement(model: Any, columns: list[str]) -> str:
    """The statement for ``columns`` (the validators' keys, ``external_id`` among them):
    $1 seller, $2 now; the rows come from the staging table."""
    table = model._meta.db_table
    names = ", ".join(columns)
    staged = ", ".join(_selected(model, c) for c in columns)
    changed = [c for c in columns if c not in _KEY]
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in changed)
    current = ", ".join(f"t.{c}" for c in changed)
    incoming = ", ".join(f"EXCLUDED.{c}" for c in changed)
    return (
        "WITH written AS ("
        f"INSERT INTO {table} AS t (seller_id, {names}, deleted_at, created_at, updated_at) "
        f"SELECT $1, {staged}, NULL, $2, $2 FROM {staging_table(model)} AS s "
        f"ON CONFLICT (seller_id, external_id) DO UPDATE SET {assignments}, "
        "deleted_at = NULL, updated_at = EXCLUDED.updated_at "
        f"WHERE ({current}) IS DISTINCT FROM ({incoming}) OR t.deleted_at IS NOT NULL "
        "RETURNING (xmax = 0) AS created) "
        "SELECT count(*) FILTER (WHERE created) AS created, count(*) AS written FROM written"
    )


# When autovacuum analyses a table (its defaults): after 50 + 10 % of its rows changed.
_ANALYZE_BASE_ROWS = 50
_ANALYZE_SCALE = 0.1


async def analyze_if_stale(conn: Any, model: Any) -> bool:
    """ANALYZE ``model``'s table if autovacuum would by now (True if it did).

    The validators' lookup (``live_ids``) is planned for its values, but only statistics
    tell the planner that a seller has 20,000 organisations, not 1: without them (a table
    just filled, autovacuum behind or off) it walks all of the seller's rows for every
    chunk, ~4-9 ms of the server per chunk at 20,000 organisations, instead of 1,000
    probes of the unique index (~0.5 ms). An import checks many chunks against the same
    table, so it makes sure first, as PostgreSQL advises after a bulk load; the check is
    one query, the ANALYZE (a sample of at most 30,000 rows) a fraction of a second.
    """
    table = model._meta.db_table
    _, rows = await conn.execute_query(
        f"SELECT s.n_mod_since_analyze > {_ANALYZE_BASE_ROWS} + {_ANALYZE_SCALE} * "
        "greatest(c.reltuples, 0) AS stale "
        "FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid "
        "WHERE s.relid = $1::regclass",
        [table],
    )
    if not rows or not rows[0]["stale"]:
        return False
    await conn.execute_script(f"ANALYZE {table}")
    return True


async def live_ids(
    conn: Any, model: Any, seller_id: str, external_ids: list[str]
) -> dict[str, int]:
    """Our ids of the seller's rows (not deleted) under these platform ids.

    The validators' lookup, written out: building it with the query builder cost ~2 ms of
    Python per chunk (a term object per id). The caller's transaction plans it for its
    values (``plan_cache_mode``, see ``upserts._plan_for_these_values``), so the array is
    searched through the unique (seller_id, external_id) index.
    """
    _, rows = await conn.execute_query(
        f"SELECT external_id, id FROM {model._meta.db_table} "
        "WHERE seller_id = $1 AND deleted_at IS NULL AND external_id = ANY($2::text[])",
        [seller_id, external_ids],
    )
    return {row["external_id"]: row["id"] for row in rows}


async def upsert(
    conn: Any, model: Any, seller_id: str, rows: list[dict[str, Any]]
) -> tuple[int, int, int]:
    """(created, updated, unchanged) after upserting ``rows`` (validated, ids unique).

    ``conn`` is the caller's Tortoise transaction on PostgreSQL. The COPY goes through its
    asyncpg connection (Tortoise has no COPY); the statements through Tortoise, which
    translates the driver's errors (a foreign key gone since the check is an
    ``IntegrityError``, as on the portable path).
    """
    columns = list(rows[0])
    await conn.execute_script(staging_ddl(model, columns))
    async with conn.acquire_connection() as raw:
        await raw.copy_records_to_table(
            staging_table(model), records=_records(model, columns, rows), columns=columns
        )
    _, (counts,) = await conn.execute_query(
        upsert_statement(model, columns), [seller_id, datetime.now(UTC)]
    )
    created, written = counts["created"], counts["written"]
    return created, written - created, len(rows) - written


def _records(
    model: Any, columns: list[str], rows: list[dict[str, Any]]
) -> Iterator[tuple[Any, ...]]:
    """The rows as COPY takes them: tuples in ``columns`` order, money as its text.

    Column by column through ``map`` (C loops), then ``zip`` into rows: about 1 µs a row
    where a Python loop building each tuple costs several.
    """
    values = []
    for column in columns:
        cells = map(itemgetter(column), rows)
        if _sql_type(model, column) in _STAGED_AS_TEXT:
            cells = map(str, cells)
        values.append(cells)
    return zip(*values, strict=True)
