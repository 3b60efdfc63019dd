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


@pytest.mark.empty_database
async def test_the_grid_search_migration_carries_existing_mappings_and_goes_back(
    settings,
) -> None:
    """0015 on a database with data: existing mappings are searchable by their PSA name at
    once; backwards, 0010's PSA search column comes back filled."""
    from tortoise.context import TortoiseContext
    from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

    from gateway.services import organizations
    from tests.support import data

    async def migrate_to(name: str | None) -> None:
        config = db.tortoise_config(settings)
        async with TortoiseContext() as ctx:
            await ctx.init(config=config)
            executor = MigrationExecutor(ctx.db(db.connection_name(settings)), config["apps"])
            await executor.migrate(None if name is None else [MigrationTarget("models", name)])

    async def found(term: str) -> list[str]:
        page = await organizations.list_organizations(
            "seller-a", organizations.Filters(search=term), cooldown_minutes=60
        )
        return [row.id for row in page.items]

    await migrate_to("0010_search_indexes")
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            org = await data.organization("seller-a", "org-1", "Contoso")
            await data.mapping(org, await data.psa_organization("seller-a", 7, "Fabrikam Ltd"))
    finally:
        await db.close_db(ctx)
    await migrate_to(None)
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            assert (await found("fabrikam"), await found("contoso")) == (["org-1"], ["org-1"])
    finally:
        await db.close_db(ctx)
    await migrate_to("0010_search_indexes")
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            rows = (
                await require_context()
                .db()
                .execute_query_dict("SELECT search_text FROM psa_organization")
            )
            assert [r["search_text"] for r in rows] == ["fabrikam ltd"]
    finally:
        await db.close_db(ctx)
    await migrate_to(None)
