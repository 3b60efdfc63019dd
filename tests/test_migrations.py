"""Migrations build the whole schema on an empty database, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from tortoise.context import require_context

from gateway import db

EXPECTED_TABLES = {
    "seller",
    "connection",
    "organization",
    "subscription",
    "psa_organization",
    "organization_mapping",
    "mapping_change",
    "sync_run",
    "synced_subscription",
    "log_entry",
    "integration_issue",
    "webhook_endpoint",
    "webhook_delivery",
    "client_review",
    "existing_licence",
    "drift_finding",
}


@pytest.mark.empty_database
async def test_migrations_create_every_table_and_are_idempotent(settings) -> None:
    assert await db.migrate(settings) == [
        "models.0001_initial",
        "models.0002_ledger_outcomes",
        "models.0003_issues_webhooks",
        "models.0004_lease_owner_rate_limited_since",
        "models.0007_claims_approval",
        "models.0008_message_codes",
        "models.0009_drift",
        "models.0010_search_indexes",
        "models.0015_grid_search",
    ]
    assert await db.migrate(settings) == []
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            conn = require_context().db()
            if settings.is_sqlite:
                rows = await conn.execute_query_dict(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                )
            else:
                rows = await conn.execute_query_dict(
                    "SELECT tablename AS name FROM pg_tables WHERE schemaname='public'"
                )
    finally:
        await db.close_db(ctx)
    assert {r["name"] for r in rows} >= EXPECTED_TABLES


async def test_the_models_have_no_changes_missing_from_the_migrations(settings) -> None:
    from tortoise.context import TortoiseContext
    from tortoise.migrations.autodetector import MigrationAutodetector

    config = db.tortoise_config(settings)
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert writers == [], (
        "models changed: run `tortoise -c gateway.migrations_config.TORTOISE_ORM makemigrations`"
    )
