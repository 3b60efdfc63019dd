"""PostgreSQL: a chunk of validated rows upserted in ONE statement (``upserts.py``'s write path).

The portable path (look the chunk's ids up, build a Tortoise object per new row, one
``bulk_create`` and one ``save()`` per changed row) spends its time building objects: 3,300
subscriptions a second on PostgreSQL where the driver alone does ~10×. Here the chunk goes
to the server as one array per column and one statement decides everything:

    INSERT INTO subscription (seller_id, …, created_at, updated_at)
    SELECT $1, u.*, $2, $2 FROM unnest($3::text[], $4::int[], …) AS u(…)
    ON CONFLICT (seller_id, external_id) DO UPDATE SET … , deleted_at = NULL
      WHERE (t.…) IS DISTINCT FROM (EXCLUDED.…) OR t.deleted_at IS NOT NULL
    RETURNING (xmax = 0) AS created     -- counted in the same statement

It makes the same decisions as the portable path, which stays the reference (SQLite, dry
runs): a new id is created, an existing one that differs (or was deleted) is updated and
revived, an identical one is not touched (its ``updated_at`` stays); money compares as
numbers (12.5 = 12.50). ``RETURNING`` reports each written row, ``xmax = 0`` the inserted
ones, so unchanged = rows - returned. One statement is one transaction: the chunk is all or
nothing, as before. A concurrent import of the same ids waits on the unique index instead of
failing on it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise import fields

# The column types the arrays are cast to, by Tortoise field class.
_SQL_TYPES: dict[type[Any], str] = {
    fields.CharField: "text",
    fields.IntField: "int",
    fields.DateField: "date",
    fields.DecimalField: "numeric",
}
# The natural key the platform's ids live under (``unique_together`` on both models).
_KEY = ("seller_id", "external_id")


def _sql_type(model: Any, column: str) -> str:
    field = model._meta.fields_map.get(column)
    if field is None:  # a foreign key's column (organization_id): our keys are int
        return "int"
    return _SQL_TYPES[type(field)]


def upsert_statement(model: Any, columns: list[str]) -> str:
    """The statement for ``columns`` (the validators' keys, ``external_id`` among them):
    $1 seller, $2 now, then one array per column in order."""
    table = model._meta.db_table
    names = ", ".join(columns)
    arrays = ", ".join(f"${i + 3}::{_sql_type(model, c)}[]" for i, c in enumerate(columns))
    changed = [c for c in columns if c not in _KEY]
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in changed)
    current = ", ".join(f"t.{c}" for c in changed)
    incoming = ", ".join(f"EXCLUDED.{c}" for c in changed)
    return (
        "WITH written AS ("
        f"INSERT INTO {table} AS t (seller_id, {names}, deleted_at, created_at, updated_at) "
        f"SELECT $1, u.*, NULL, $2, $2 FROM unnest({arrays}) AS u({names}) "
        f"ON CONFLICT (seller_id, external_id) DO UPDATE SET {assignments}, "
        "deleted_at = NULL, updated_at = EXCLUDED.updated_at "
        f"WHERE ({current}) IS DISTINCT FROM ({incoming}) OR t.deleted_at IS NOT NULL "
        "RETURNING (xmax = 0) AS created) "
        "SELECT count(*) FILTER (WHERE created) AS created, count(*) AS written FROM written"
    )


async def upsert(
    conn: Any, model: Any, seller_id: str, rows: list[dict[str, Any]]
) -> tuple[int, int, int]:
    """(created, updated, unchanged) after upserting ``rows`` (validated, ids unique)."""
    columns = list(rows[0])
    arrays = [[row[c] for row in rows] for c in columns]
    _, (counts,) = await conn.execute_query(
        upsert_statement(model, columns), [seller_id, datetime.now(UTC), *arrays]
    )
    created, written = counts["created"], counts["written"]
    return created, written - created, len(rows) - written
