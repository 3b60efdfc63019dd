"""Search on an index: pre-lowered ``search_text`` columns for the grid and the logs.

The grid's search (organisation name and reference, PSA organisation name) and the log search
(title and details) were ``UPPER(col) LIKE UPPER('%term%')`` over every candidate row: the
case folding ran per row on every search, and nothing could be indexed. Now:

* each searched table has ``search_text``, its searched text lowered once, kept by the
  database itself whoever writes the row (the ORM, a bulk load, a test's ``bulk_create``):
  a ``GENERATED ALWAYS … STORED`` column on PostgreSQL; on SQLite, which cannot add a stored
  generated column to an existing table, a plain column filled by ``AFTER INSERT`` /
  ``AFTER UPDATE OF`` triggers (a virtual generated column would do, but SQLite 3.40 reads
  it back from the table, never from an index);
* PostgreSQL: ``pg_trgm`` GIN indexes on the organisation tables answer ``LIKE '%term%'``;
  the log gets ``(seller_id, created_at, id) INCLUDE (search_text)`` instead (see forward). Creating the
  extension needs the right to (a superuser, or the database owner since PostgreSQL 13, as
  ``pg_trgm`` is a trusted extension); without it the migration still succeeds, logs a
  WARNING, and searches scan the seller's rows (still without per-row case folding);
* SQLite: ``(seller_id, created_at, id, search_text)`` on the log (the page's order, then the
  text), ``(seller_id, search_text)`` on both organisation tables: a search reads the
  seller's entries from the index alone, and the log's page stops after its 20 matches.

Separators (``char(31)``, the ASCII unit separator) keep a term from matching across two
fields. The grid's total also gets ``(seller_id, deleted_at)``, so the unfiltered count reads
that index alone. The ``search_text`` columns are not model fields: nothing writes them but
the database, so the models and the migration state stay as they were
(tests/test_migrations.py). On SQLite, the indexes the first releases of 0002, 0007 and
0009 lost in their table rebuilds come back (``RESTORED``), for the databases migrated then.
"""

import logging

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

log = logging.getLogger("gateway.migrations")

# (table, the columns searched, the SQLite index)
SEARCHED = (
    ("organization", ("name", "reference"), "seller_id, search_text"),
    ("psa_organization", ("name",), "seller_id, search_text"),
    # id before search_text: the page's ORDER BY created_at DESC, id DESC walks this index.
    ("log_entry", ("title", "details"), "seller_id, created_at, id, search_text"),
)


# The ASCII unit separator between fields, in each database's spelling.
PG_SEPARATOR = "E'\\x1F'"
SQLITE_SEPARATOR = "char(31)"


# SQLite only: indexes the models declare that the table rebuilds of 0002_ledger_outcomes,
# 0007_claims_approval and 0009_drift left out as first released (SQLite alters a table by
# copying it, and the copy lost its indexes). Without them the grid's flags (last
# organisations sync, running sync, each row's cooldown) scanned sync_run: seconds per page
# with 300,000 runs (bench/bench_logs.py). Those migrations now keep them
# (gateway/migrations/_keep_indexes.py), so on a database migrated since, each statement
# finds its index there (IF NOT EXISTS) and does nothing; on one migrated before, it puts
# the index back. Same statement text as _keep_indexes.py: both end with one sqlite_master.
RESTORED = (
    ("integration_issue", ("seller_id", "state", "last_seen_at")),
    ("integration_issue", ("state", "kind")),
    ("sync_run", ("seller_id", "kind", "finished_at")),
    ("sync_run", ("seller_id", "state")),
    ("sync_run", ("organization_id", "finished_at")),
    ("synced_subscription", ("seller_id", "halo_client_id")),
)


def _lowered(columns: tuple[str, ...], separator: str, prefix: str = "") -> str:
    return "lower(" + f" || {separator} || ".join(prefix + c for c in columns) + ")"


def _index(table: str) -> str:
    return f"idx_{table}_search_text"


def _is_postgres(schema_editor) -> bool:
    return schema_editor.client.capabilities.dialect == "postgres"


async def _trigram_available(client) -> bool:
    """``CREATE EXTENSION pg_trgm`` in a savepoint: a refusal leaves the migration's
    transaction usable."""
    await client.execute_script("SAVEPOINT halo_pg_trgm")
    try:
        await client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # the driver's error: permission denied, not installed, …
        await client.execute_script("ROLLBACK TO SAVEPOINT halo_pg_trgm")
        log.warning(
            "pg_trgm could not be created (%s): log and grid searches will scan the "
            "seller's rows instead of using a trigram index; create the extension as a "
            "superuser (CREATE EXTENSION pg_trgm) and run the migration's index statements "
            "(gateway/migrations/0010_search_indexes.py) to get it",
            exc,
        )
        return False
    await client.execute_script("RELEASE SAVEPOINT halo_pg_trgm")
    return True


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    if _is_postgres(schema_editor):
        for table, columns, _ in SEARCHED:
            await client.execute_script(
                f"ALTER TABLE {table} ADD COLUMN search_text text "
                f"GENERATED ALWAYS AS ({_lowered(columns, PG_SEPARATOR)}) STORED"
            )
        # The log: the seller's window read from an index alone, as on SQLite. A trigram
        # GIN over every seller's entries reads the posting lists of the term's common
        # trigrams ("sub", "-04": hundreds of thousands of entries) to find one seller's
        # few: 40–170 ms at 1,000,000 entries, where the window's 7,472 index entries are
        # a few milliseconds.
        await client.execute_script(
            f"CREATE INDEX {_index('log_entry')} ON log_entry (seller_id, created_at, id)"
            " INCLUDE (search_text)"
        )
        if await _trigram_available(client):
            for table in ("organization", "psa_organization"):
                await client.execute_script(
                    f"CREATE INDEX {_index(table)} ON {table} USING gin (search_text gin_trgm_ops)"
                )
        return
    for table, columns in RESTORED:
        name = schema_editor._generate_index_name_for_table("idx", table, list(columns))
        await client.execute_script(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"
        )
    for table, columns, index_columns in SEARCHED:
        await client.execute_script(f"ALTER TABLE {table} ADD COLUMN search_text TEXT")
        await client.execute_script(
            f"UPDATE {table} SET search_text = {_lowered(columns, SQLITE_SEPARATOR)}"
        )
        fill = (
            f"BEGIN UPDATE {table} SET search_text = {_lowered(columns, SQLITE_SEPARATOR, 'NEW.')} "
            "WHERE id = NEW.id; END"
        )
        await client.execute_script(
            f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} {fill}"
        )
        await client.execute_script(
            f"CREATE TRIGGER {table}_search_update AFTER UPDATE OF {', '.join(columns)} "
            f"ON {table} {fill}"
        )
        await client.execute_script(f"CREATE INDEX {_index(table)} ON {table} ({index_columns})")


async def backward(apps, schema_editor) -> None:
    client = schema_editor.client
    postgres = _is_postgres(schema_editor)
    for table, _, _ in SEARCHED:
        await client.execute_script(f"DROP INDEX IF EXISTS {_index(table)}")
        if not postgres:
            await client.execute_script(f"DROP TRIGGER IF EXISTS {table}_search_insert")
            await client.execute_script(f"DROP TRIGGER IF EXISTS {table}_search_update")
        await client.execute_script(f"ALTER TABLE {table} DROP COLUMN search_text")


class Migration(migrations.Migration):
    dependencies = [("models", "0009_drift")]

    initial = False

    operations = [
        ops.AddIndex(model_name="Organization", index=Index(fields=["seller_id", "deleted_at"])),
        ops.RunPython(forward, backward),
    ]
