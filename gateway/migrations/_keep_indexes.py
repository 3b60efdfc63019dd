"""``AlterFieldKeepingIndexes``: an ``AlterField`` that leaves a SQLite table its indexes.

SQLite cannot alter a column in place: Tortoise copies the table (``new__t``, ``INSERT …
SELECT``, ``DROP``, ``RENAME``), and the copy has none of the old table's indexes.
PostgreSQL alters in place and keeps them (nothing to do there).

0002_ledger_outcomes, 0007_claims_approval and 0009_drift alter enum columns that way. As
first released they left ``synced_subscription``, ``sync_run`` and ``integration_issue``
without their indexes, and 0010_search_indexes put them back (it still does, for a database
migrated then). A migration that alters a column uses this operation instead of
``ops.AlterField``: tests/test_migrations.py fails when a migration step loses an index.

The indexes are the model's, as the migration state declares them, each re-created with the
very statement 0010_search_indexes uses (``CREATE INDEX IF NOT EXISTS name ON table
(columns)``; SQLite stores it without ``IF NOT EXISTS``): a database migrated with these
operations and one migrated with the first releases end with the same ``sqlite_master``.

Not put back: ``unique_together``. 0002's rebuild dropped ``synced_subscription``'s UNIQUE
(subscription_id, halo_client_id) on SQLite, and every SQLite database migrated through it
lacked it; creating it here would give new databases a schema the existing ones do not have,
so it has a migration of its own, 0013_ledger_unique (which deals with duplicates first). A
later rebuild of ``synced_subscription`` drops that index too and must create it again.

Migrations already released import this module: change nothing that would make them build
another schema.

The loader skips modules whose name starts with ``_``: this is not a migration.
"""

from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class AlterFieldKeepingIndexes(ops.AlterField):
    """``ops.AlterField``, then the table's indexes re-created where the alteration rebuilt it
    (both ways: a rollback rebuilds the table too)."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        await super().database_forward(app_label, old_state, new_state, state_editor)
        await recreate_indexes(state_editor, new_state.apps.get_model(f"{app_label}.{self.model_name}"))

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        await super().database_backward(app_label, old_state, new_state, state_editor)
        await recreate_indexes(state_editor, new_state.apps.get_model(f"{app_label}.{self.model_name}"))


async def recreate_indexes(schema_editor, model) -> None:
    """SQLite: every index ``model`` declares, unless it exists (the same name: Tortoise's)."""
    if schema_editor is None or schema_editor.client.capabilities.dialect != "sqlite":
        return
    table = model._meta.db_table
    for index in model._meta.indexes:
        columns = list(index.fields if isinstance(index, Index) else index)
        name = schema_editor._generate_index_name_for_table("idx", table, columns)
        await schema_editor._run_sql(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"
        )
