"""Migrations build the whole schema on an empty database, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tortoise.context import TortoiseContext, require_context
from tortoise.exceptions import IntegrityError
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from gateway import db
from gateway.models import LedgerState, Subscription, SyncedSubscription
from gateway.services.sync.licences import licence_payload, payload_hash, to_licence_write
from gateway.settings import Settings
from tests.conftest import make_settings
from tests.services.sync.test_engine import SYNC_SUBS
from tests.support import data
from tests.support.cli import run_cli
from tests.support.runs import trigger, wait_for_run

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


STEPS = [
    "0001_initial",
    "0002_ledger_outcomes",
    "0003_issues_webhooks",
    "0004_lease_owner_rate_limited_since",
    "0007_claims_approval",
    "0008_message_codes",
    "0009_drift",
    "0010_search_indexes",
    "0012_requeue",
    "0013_ledger_unique",
    "0015_grid_search",
]
# The migrations as released before they kept SQLite's indexes (0002, 0007 and 0009 as
# first written): what the databases in the field were migrated with.
RELEASED_MIGRATIONS = "tests.support.released_migrations"
# Indexes a step is known to drop, by backend and step: 0002's table rebuild dropped
# synced_subscription's UNIQUE (subscription_id, halo_client_id) on SQLite (history: the
# databases in the field were migrated so); 0013_ledger_unique puts it back.
# 0015_grid_search drops the old search indexes on purpose: the grid reads its own index
# now, and psa_organization.search_text (whose index goes with it) is gone.
KNOWN_LOSSES = {
    ("sqlite", "0002_ledger_outcomes"): {
        ("synced_subscription", "sqlite_autoindex_synced_subscription_1")
    },
    ("sqlite", "0015_grid_search"): {
        ("organization", "idx_organization_search_text"),
        ("psa_organization", "idx_psa_organization_search_text"),
    },
    ("postgres", "0015_grid_search"): {
        ("organization", "idx_organization_search_text"),
        ("psa_organization", "idx_psa_organization_search_text"),
    },
}


# The ledger's UNIQUE (subscription_id, halo_client_id), as each database defines it: the
# constraint PostgreSQL has had since 0001, the index 0013_ledger_unique creates on SQLite.
LEDGER_UNIQUE = "uid_synced_subs_subscri_f304df"
LEDGER_UNIQUE_SQL = {
    "sqlite": f"CREATE UNIQUE INDEX {LEDGER_UNIQUE} "
    "ON synced_subscription (subscription_id, halo_client_id)",
    "postgres": f"CREATE UNIQUE INDEX {LEDGER_UNIQUE} "
    "ON public.synced_subscription USING btree (subscription_id, halo_client_id)",
}


async def _migrate(
    settings: Settings, *, to: str | None = None, module: str = db.MIGRATIONS_MODULE
) -> None:
    """Apply the migrations of ``module`` up to ``to`` (all when None)."""
    config = db.tortoise_config(settings)
    config["apps"]["models"]["migrations"] = module
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        executor = MigrationExecutor(ctx.db(db.connection_name(settings)), config["apps"])
        await executor.migrate([MigrationTarget("models", to)] if to else None)


async def _rows(settings: Settings, sqlite: str, postgres: str) -> list[dict]:
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            conn = require_context().db()
            return list(await conn.execute_query_dict(sqlite if settings.is_sqlite else postgres))
    finally:
        await db.close_db(ctx)


async def _indexes(settings: Settings) -> set[tuple[str, str]]:
    """(table, index) of every index, the implicit ones of UNIQUE and primary keys too."""
    rows = await _rows(
        settings,
        "SELECT tbl_name AS t, name AS i FROM sqlite_master WHERE type = 'index'",
        "SELECT tablename AS t, indexname AS i FROM pg_indexes WHERE schemaname = 'public'",
    )
    return {(r["t"], r["i"]) for r in rows}


async def _index_sql(settings: Settings, name: str) -> str | None:
    rows = await _rows(
        settings,
        f"SELECT sql FROM sqlite_master WHERE type = 'index' AND name = '{name}'",
        f"SELECT indexdef AS sql FROM pg_indexes WHERE indexname = '{name}'",
    )
    return rows[0]["sql"] if rows else None


@pytest.mark.empty_database
async def test_migrations_create_every_table_and_are_idempotent(settings) -> None:
    assert await db.migrate(settings) == [f"models.{step}" for step in STEPS]
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
async def test_no_migration_loses_an_index_that_existed_before_it(settings, db_backend) -> None:
    # Given an empty database, migrated one step at a time
    lost: dict[tuple[str, str], set[tuple[str, str]]] = {}
    before: set[tuple[str, str]] = set()
    for step in STEPS:
        await _migrate(settings, to=step)
        after = await _indexes(settings)
        if before - after:
            lost[(db_backend, step)] = before - after
        before = after
    # Then every index is still there after each step (0007_claims_approval's and
    # 0009_drift's rebuilds of sync_run and integration_issue on SQLite put theirs back),
    # but for the known loss
    assert lost == {k: v for k, v in KNOWN_LOSSES.items() if k[0] == db_backend}
    assert ("sync_run", "idx_sync_run_seller__fdc20e") in before
    # and the ledger ends unique per subscription and HaloPSA client on both databases
    assert ("synced_subscription", LEDGER_UNIQUE) in before
    assert await _index_sql(settings, LEDGER_UNIQUE) == LEDGER_UNIQUE_SQL[db_backend]


@pytest.mark.empty_database
@pytest.mark.databases("sqlite")
@pytest.mark.parametrize("released_up_to", ["0007_claims_approval", "0010_search_indexes"])
async def test_the_migrations_build_the_sqlite_schema_the_released_ones_built(
    settings, tmp_path: Path, released_up_to: str
) -> None:
    # Given one database migrated with the migrations as released up to a step (which lost
    # indexes), then with today's for the rest (if any), and one migrated with today's only
    released = make_settings(f"sqlite://{tmp_path / 'released.sqlite3'}", tmp_path)
    await _migrate(released, to=released_up_to, module=RELEASED_MIGRATIONS)
    await _migrate(released)
    await _migrate(settings)
    # Then both hold the same tables, indexes and triggers, each created by the same text
    query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    then, now = await _rows(released, query, ""), await _rows(settings, query, "")
    assert len(now) > 50
    assert now == then


# --- the ledger's UNIQUE back on SQLite (0013_ledger_unique) -------------------------------

# 0013 and the steps after it: what a database migrated up to 0012 applies.
_FROM_0013 = STEPS[STEPS.index("0013_ledger_unique") :]


@contextlib.asynccontextmanager
async def _bound(settings: Settings) -> AsyncIterator[None]:
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            yield
    finally:
        await db.close_db(ctx)


async def _ledger_row(
    sub: Subscription,
    halo_client_id: int,
    *,
    licence: int | None = None,
    sent: bool = False,
    written_at: datetime | None = None,
) -> int:
    """A ledger row as the push leaves it: WRITTEN with its licence, PENDING with the intent
    of a create whose answer never came (``sent``), or NOT_SENT (holds nothing)."""
    intent = licence_payload(sub, halo_client_id, unit_prices=False)
    digest = payload_hash(intent)
    held = licence is not None
    row = await SyncedSubscription.create(
        seller_id=sub.seller_id,  # type: ignore[attr-defined]
        subscription=sub,
        halo_client_id=halo_client_id,
        halo_licence_id=licence,
        state=LedgerState.WRITTEN
        if held
        else LedgerState.PENDING
        if sent
        else LedgerState.NOT_SENT,
        intent=intent if held or sent else None,
        intent_hash=digest if held or sent else None,
        intent_mark=0 if sent else None,
        payload_hash=digest if held else None,
        written_at=(written_at or datetime.now(UTC)) if held else None,
    )
    return row.id


async def _ledger_ids(settings: Settings) -> set[int]:
    rows = await _rows(settings, "SELECT id FROM synced_subscription", "")
    return {r["id"] for r in rows}


@pytest.mark.empty_database
@pytest.mark.databases("sqlite")
async def test_sqlite_duplicates_holding_one_licence_keep_its_row_and_the_ledger_turns_unique(
    settings, caplog
) -> None:
    # Given a SQLite database as 0002's rebuild left it (no UNIQUE), whose ledger holds
    # duplicate rows for (subscription, HaloPSA client) that hold one licence at most
    await _migrate(settings, to="0012_requeue")
    async with _bound(settings):
        org = await data.organization("seller-a", "org-1", "Acme")
        a, b, c, d, e = [await data.subscription(org, f"s-{n}", name=n) for n in "abcde"]
        a_licence = await _ledger_row(a, 7, licence=501)
        a_newer = await _ledger_row(a, 7)  # e.g. a run skipped it while it was being claimed
        b_older, b_newer = await _ledger_row(b, 7), await _ledger_row(b, 7)  # nothing held
        c_earlier = await _ledger_row(
            c, 7, licence=502, written_at=datetime(2026, 1, 1, tzinfo=UTC)
        )
        c_later = await _ledger_row(c, 7, licence=502, written_at=datetime(2026, 2, 1, tzinfo=UTC))
        c_nothing = await _ledger_row(c, 7)
        d_sent = await _ledger_row(d, 7, sent=True)  # HaloPSA may hold a licence for it
        d_nothing = await _ledger_row(d, 7)
        # and a subscription remapped to another HaloPSA client: two slots, not duplicates
        e_old_client, e_new_client = await _ledger_row(e, 7, licence=503), await _ledger_row(e, 8)
    # When it is migrated
    with caplog.at_level(logging.WARNING, logger="gateway.migrations"):
        assert await db.migrate(settings) == [f"models.{step}" for step in _FROM_0013]
    # Then each pair keeps the row of its licence (or of the create that may have made one;
    # the same licence's latest written; the newest when none holds anything), the rows that
    # held nothing are gone, and the operator is told which
    kept = {a_licence, b_newer, c_later, d_sent, e_old_client, e_new_client}
    assert await _ledger_ids(settings) == kept
    [warning] = [r.getMessage() for r in caplog.records if r.name == "gateway.migrations"]
    deleted = sorted({a_newer, b_older, c_earlier, c_nothing, d_nothing})
    ids = ", ".join(map(str, deleted))
    assert f"deleted 5 duplicate ledger row(s) that held no HaloPSA licence (ids {ids})" in warning
    # and the database now refuses a second row for a subscription and client
    assert await _index_sql(settings, LEDGER_UNIQUE) == LEDGER_UNIQUE_SQL["sqlite"]
    async with _bound(settings):
        with pytest.raises(IntegrityError):
            await _ledger_row(a, 7)


@pytest.mark.empty_database
@pytest.mark.databases("sqlite")
async def test_sqlite_duplicates_that_may_bill_twice_are_refused_in_words_and_left_as_they_were(
    settings,
) -> None:
    # Given a SQLite ledger where one subscription has two licences in one HaloPSA client,
    # another a licence and a create whose answer never came, and a third two rows holding
    # nothing (which alone the migration would resolve)
    await _migrate(settings, to="0012_requeue")
    async with _bound(settings):
        org = await data.organization("seller-a", "org-1", "Acme")
        a, b, c = [await data.subscription(org, f"s-{n}", name=n) for n in "abc"]
        a1, a2 = await _ledger_row(a, 7, licence=601), await _ledger_row(a, 7, licence=602)
        b1, b2 = await _ledger_row(b, 7, licence=603), await _ledger_row(b, 7, sent=True)
        c1, c2 = await _ledger_row(c, 7), await _ledger_row(c, 7)
    # When the operator migrates
    refused = await run_cli(settings, "migrate")
    # Then the command refuses in words, naming each pair's rows and what to do, without a
    # traceback, and changes nothing
    assert refused.exit_code == 1, refused.output
    assert "Traceback" not in refused.output
    said = refused.stderr
    assert said.startswith("Error: Migration 0013_ledger_unique refused, nothing was changed")
    assert (
        f"seller seller-a, subscription s-a (id {a.id}), HaloPSA client 7: "
        f"ledger row {a1} (WRITTEN, HaloPSA licence 601); "
        f"ledger row {a2} (WRITTEN, HaloPSA licence 602)"
    ) in said
    assert (
        f"ledger row {b1} (WRITTEN, HaloPSA licence 603); ledger row {b2} (PENDING, a create "
        "sent whose answer never came: HaloPSA may hold a licence for it)"
    ) in said
    assert "subscription s-c" not in said
    assert "DELETE FROM synced_subscription WHERE id IN" in said
    assert await _ledger_ids(settings) == {a1, a2, b1, b2, c1, c2}
    assert await _index_sql(settings, LEDGER_UNIQUE) is None
    # When the operator ends licence 602 in HaloPSA, finds nothing there for b's create,
    # deletes those two ledger rows as told, and migrates again
    async with _bound(settings):
        await SyncedSubscription.filter(id__in=[a2, b2]).delete()
    again = await run_cli(settings, "migrate")
    # Then the migration applies, resolving the rest itself
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "applied: " + ", ".join(f"models.{s}" for s in _FROM_0013)
    assert await _ledger_ids(settings) == {a1, b1, c2}
    assert await _index_sql(settings, LEDGER_UNIQUE) == LEDGER_UNIQUE_SQL["sqlite"]


async def test_the_ledger_refuses_a_second_row_for_one_subscription_and_halopsa_client(
    migrated_db,
) -> None:
    org = await data.organization("seller-a", "org-1", "Acme")
    sub = await data.subscription(org, "s-1")
    await _ledger_row(sub, 7, licence=501)
    with pytest.raises(IntegrityError):
        await _ledger_row(sub, 7)
    # Another HaloPSA client (after a remap) is another slot
    await _ledger_row(sub, 8)
    assert await SyncedSubscription.filter(subscription_id=sub.id).count() == 2


@pytest.mark.empty_database
@pytest.mark.databases("sqlite")
async def test_after_the_upgrade_a_subscription_whose_ledger_was_duplicated_is_not_sent_twice(
    settings, halo_sim: Any, gateway_factory: Any
) -> None:
    # Given a SQLite database migrated before 0013 where a subscription's licence is in
    # HaloPSA (its ledger row WRITTEN) and a newer row for it holds nothing — the row the
    # push would have read, creating a second licence for the same seats
    sim = halo_sim.instance()
    await _migrate(settings, to="0012_requeue")
    async with _bound(settings):
        await data.simulator_connection(settings, "seller-a", halo_sim)
        client = sim.add_client("Acme")
        org = await data.mapped_organization("seller-a", "org-1", "Acme", client)
        sub = await data.subscription(org, "s-1", name="M365")
        payload = licence_payload(sub, client["id"], unit_prices=False)
        licence = sim.next_licence_id
        sim.licences[licence] = {
            "id": licence,
            "is_active": True,
            **to_licence_write(payload, None).to_json(),
        }
        sim.next_licence_id += 1
        await _ledger_row(sub, client["id"], licence=licence)
        await _ledger_row(sub, client["id"])
    # When the gateway is upgraded (it migrates on start) and the subscriptions are synced
    gateway = gateway_factory(settings)
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    # Then HaloPSA still holds the one licence, found unchanged
    assert (run["state"], run["created"], run["unchanged"]) == ("SUCCEEDED", 0, 1), run
    assert list(sim.licences) == [licence]


# --- the grid's search from one index (0015_grid_search) --------------------------------


@pytest.mark.empty_database
async def test_the_grid_search_migration_carries_existing_mappings_and_goes_back(
    settings,
) -> None:
    """0015 on a database with data: existing mappings are searchable by their PSA name at
    once; backwards, 0010's PSA search column comes back filled."""
    from gateway.services import organizations

    before = STEPS[STEPS.index("0015_grid_search") - 1]

    async def found(term: str) -> list[str]:
        page = await organizations.list_organizations(
            "seller-a", organizations.Filters(search=term), cooldown_minutes=60
        )
        return [row.id for row in page.items]

    # Given a mapped organisation written before 0015
    await _migrate(settings, to=before)
    async with _bound(settings):
        org = await data.organization("seller-a", "org-1", "Contoso")
        await data.mapping(org, await data.psa_organization("seller-a", 7, "Fabrikam Ltd"))
    # When 0015 runs, then it is found by its own name and by its PSA organisation's
    await _migrate(settings)
    async with _bound(settings):
        assert (await found("fabrikam"), await found("contoso")) == (["org-1"], ["org-1"])
    # And back: the PSA organisation's search column is there again, filled
    await _migrate(settings, to=before)
    query = "SELECT search_text FROM psa_organization"
    assert [r["search_text"] for r in await _rows(settings, query, query)] == ["fabrikam ltd"]
    await _migrate(settings)
