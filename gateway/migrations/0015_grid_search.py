"""The grid's search from one index: each organisation carries its mapped PSA name.

Migration 0010 made the grid search two lookups (the organisations whose name or reference
match, and the PSA organisations whose name matches, each mapped back to its organisation),
united, joined and sorted. A term most organisations match ("Ltd": every mapped PSA name)
then paid per hit — a mapping lookup, a union, a join, a sort of 5,000 rows: 14–52 ms at
10,000 organisations (bench/RESULTS.md). Now:

* ``organization.psa_search_text`` is the lowered name of the PSA organisation it is mapped
  to (NULL while unmapped), kept by the database whoever writes: triggers on
  ``organization_mapping`` (insert, remap, delete) and on a PSA organisation's rename. So a
  match is a test on the organisation's own row, and the grid needs no union;
* one index holds the grid's order and both search columns, for the seller's live
  organisations: walked in name order, a page of a broad term stops after its rows (a page
  of "ltd" reads ~40 entries); the count reads it alone (no table row).
  SQLite: ``(seller_id, deleted_at, name, id, search_text, psa_search_text)`` (``deleted_at
  IS NULL`` is an equality there, so the walk stays in name order); PostgreSQL: ``(seller_id,
  name, id) INCLUDE (search_text, psa_search_text) WHERE deleted_at IS NULL``;
* what only the old search read goes: ``psa_organization.search_text`` (column, triggers,
  indexes; nothing else read it, and it cost each PSA organisation written in a pull a
  second write) and 0010's index on ``organization.search_text`` (the trigram GIN on
  PostgreSQL: at 10,000 organisations of one seller a term's trigrams are common, and the
  GIN answered a one-name search in 5–7 ms, slower than reading the seller's index entries).

``psa_search_text`` is not a model field (nothing but the database writes it), like the
``search_text`` columns of 0010: the models and the migration state stay as they were.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

GRID_INDEX = "idx_organization_grid_search"

# lower(): the function that fills organization.search_text, so both columns fold alike.
_PSA_NAME_OF_MAPPING = "(SELECT lower(p.name) FROM psa_organization p WHERE p.id = {ref})"

SQLITE_TRIGGERS = (
    "CREATE TRIGGER organization_mapping_search_insert AFTER INSERT ON organization_mapping"
    " BEGIN UPDATE organization SET psa_search_text = "
    + _PSA_NAME_OF_MAPPING.format(ref="NEW.psa_organization_id")
    + " WHERE id = NEW.organization_id; END",
    "CREATE TRIGGER organization_mapping_search_update"
    " AFTER UPDATE OF organization_id, psa_organization_id ON organization_mapping"
    " BEGIN UPDATE organization SET psa_search_text = NULL WHERE id = OLD.organization_id;"
    " UPDATE organization SET psa_search_text = "
    + _PSA_NAME_OF_MAPPING.format(ref="NEW.psa_organization_id")
    + " WHERE id = NEW.organization_id; END",
    "CREATE TRIGGER organization_mapping_search_delete AFTER DELETE ON organization_mapping"
    " BEGIN UPDATE organization SET psa_search_text = NULL WHERE id = OLD.organization_id; END",
    # A pull rewrites every changed client's name column (bulk_update): only a new name counts.
    "CREATE TRIGGER psa_organization_search_rename AFTER UPDATE OF name ON psa_organization"
    " WHEN NEW.name IS NOT OLD.name"
    " BEGIN UPDATE organization SET psa_search_text = lower(NEW.name) WHERE id IN"
    " (SELECT organization_id FROM organization_mapping WHERE psa_organization_id = NEW.id);"
    " END",
)
SQLITE_TRIGGER_NAMES = (
    "organization_mapping_search_insert",
    "organization_mapping_search_update",
    "organization_mapping_search_delete",
    "psa_organization_search_rename",
)

PG_FUNCTIONS = (
    """CREATE FUNCTION organization_mapping_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE organization SET psa_search_text = NULL WHERE id = OLD.organization_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE organization SET psa_search_text = """
    + _PSA_NAME_OF_MAPPING.format(ref="NEW.psa_organization_id")
    + """
        WHERE id = NEW.organization_id;
    END IF;
    RETURN NULL;
END $$""",
    """CREATE FUNCTION psa_organization_search_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE organization SET psa_search_text = lower(NEW.name) WHERE id IN
        (SELECT organization_id FROM organization_mapping WHERE psa_organization_id = NEW.id);
    RETURN NULL;
END $$""",
)
PG_TRIGGERS = (
    "CREATE TRIGGER organization_mapping_search"
    " AFTER INSERT OR DELETE OR UPDATE OF organization_id, psa_organization_id"
    " ON organization_mapping FOR EACH ROW EXECUTE FUNCTION organization_mapping_search()",
    "CREATE TRIGGER psa_organization_search_rename AFTER UPDATE OF name ON psa_organization"
    " FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)"
    " EXECUTE FUNCTION psa_organization_search_rename()",
)

# Existing mappings: each organisation gets its PSA name once.
FILL = (
    "UPDATE organization SET psa_search_text = (SELECT lower(p.name) FROM organization_mapping m"
    " JOIN psa_organization p ON p.id = m.psa_organization_id"
    " WHERE m.organization_id = organization.id)"
)


def _is_postgres(schema_editor) -> bool:
    return schema_editor.client.capabilities.dialect == "postgres"


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    run = client.execute_script
    await run("ALTER TABLE organization ADD COLUMN psa_search_text TEXT")
    if _is_postgres(schema_editor):
        for statement in PG_FUNCTIONS + PG_TRIGGERS:
            await run(statement)
        await run(FILL)
        await run(
            f"CREATE INDEX {GRID_INDEX} ON organization (seller_id, name, id)"
            " INCLUDE (search_text, psa_search_text) WHERE deleted_at IS NULL"
        )
        await run("DROP INDEX IF EXISTS idx_organization_search_text")
        # Drops its trigram index with it.
        await run("ALTER TABLE psa_organization DROP COLUMN search_text")
        return
    for statement in SQLITE_TRIGGERS:
        await run(statement)
    await run(FILL)
    await run(
        f"CREATE INDEX {GRID_INDEX} ON organization"
        " (seller_id, deleted_at, name, id, search_text, psa_search_text)"
    )
    await run("DROP INDEX IF EXISTS idx_organization_search_text")
    await run("DROP INDEX IF EXISTS idx_psa_organization_search_text")
    await run("DROP TRIGGER IF EXISTS psa_organization_search_insert")
    await run("DROP TRIGGER IF EXISTS psa_organization_search_update")
    await run("ALTER TABLE psa_organization DROP COLUMN search_text")


async def backward(apps, schema_editor) -> None:
    """Back to 0010's state: its columns, triggers and indexes as 0010 made them."""
    import importlib

    m0010 = importlib.import_module("gateway.migrations.0010_search_indexes")
    client = schema_editor.client
    run = client.execute_script
    await run(f"DROP INDEX IF EXISTS {GRID_INDEX}")
    if _is_postgres(schema_editor):
        await run("DROP TRIGGER IF EXISTS organization_mapping_search ON organization_mapping")
        await run("DROP TRIGGER IF EXISTS psa_organization_search_rename ON psa_organization")
        await run("DROP FUNCTION IF EXISTS organization_mapping_search()")
        await run("DROP FUNCTION IF EXISTS psa_organization_search_rename()")
        await run(
            "ALTER TABLE psa_organization ADD COLUMN search_text text GENERATED ALWAYS AS "
            f"({m0010._lowered(('name',), m0010.PG_SEPARATOR)}) STORED"
        )
        if await m0010._trigram_available(client):
            for table in ("organization", "psa_organization"):
                await run(
                    f"CREATE INDEX {m0010._index(table)} ON {table}"
                    " USING gin (search_text gin_trgm_ops)"
                )
    else:
        for name in SQLITE_TRIGGER_NAMES:
            await run(f"DROP TRIGGER IF EXISTS {name}")
        table, columns, index_columns = m0010.SEARCHED[1]
        lowered = m0010._lowered(columns, m0010.SQLITE_SEPARATOR)
        await run(f"ALTER TABLE {table} ADD COLUMN search_text TEXT")
        await run(f"UPDATE {table} SET search_text = {lowered}")
        fill = (
            f"BEGIN UPDATE {table} SET search_text = "
            f"{m0010._lowered(columns, m0010.SQLITE_SEPARATOR, 'NEW.')} WHERE id = NEW.id; END"
        )
        await run(f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} {fill}")
        await run(
            f"CREATE TRIGGER {table}_search_update AFTER UPDATE OF {', '.join(columns)} "
            f"ON {table} {fill}"
        )
        for indexed, on in (("organization", "seller_id, search_text"), (table, index_columns)):
            await run(f"CREATE INDEX {m0010._index(indexed)} ON {indexed} ({on})")
    await run("ALTER TABLE organization DROP COLUMN psa_search_text")


class Migration(migrations.Migration):
    dependencies = [("models", "0013_ledger_unique")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
