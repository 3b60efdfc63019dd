"""The write ledger's UNIQUE (subscription_id, halo_client_id) back on SQLite.

``synced_subscription`` is what makes HaloPSA writes exactly once: one row per subscription
and HaloPSA client, holding the licence HaloPSA created for it. The model declares the pair
unique; PostgreSQL has had the constraint since 0001 (it alters tables in place: nothing to
do there). On SQLite, 0002_ledger_outcomes's table rebuild lost it (gateway/migrations/
_keep_indexes.py), so every SQLite database migrated since could hold two rows for one
licence slot. This migration creates the model's index again, under the name PostgreSQL's
constraint has (``uid_synced_subs_subscri_f304df``, Tortoise's name for it).

A database may already hold such duplicates. What each row of a pair means for money (push.py:
the push reads one row per pair, whichever comes last, and ignores the other):

* a row with ``halo_licence_id`` *holds* a licence in HaloPSA (one the customer is billed for);
* a row without one but with an ``intent`` is a create sent whose answer never came: HaloPSA
  *may* hold a licence for it (a resumed run adopts it, push.py "Adoption");
* any other row (NOT_SENT: quantity zero, deleted before sent, skipped while its client
  waited for review) holds nothing: it only stamps what a run did.

So, per pair:

* at most one licence among its rows (however many rows name that same licence) and no create
  in flight beside it, or one create in flight and no licence: the row that holds it is kept
  (among rows naming the same licence: WRITTEN first, then the latest written, then the
  newest), the rows that hold nothing are deleted — nothing in HaloPSA loses its ledger row;
* nothing held at all: the newest row is kept (the one the push has been reading);
* two licences, or a licence and a create in flight, or two creates in flight: the customer
  may be billed twice for one subscription, and which licence stays is a decision in HaloPSA,
  not a migration's. Deleting either row would leave its licence billing with nothing to
  update or end it. The migration refuses (``gateway.db.MigrationRefused``) and changes
  nothing, naming each such pair's rows and what to do; ``halo-gateway migrate`` prints it.

Refusing is checked before anything is deleted, and the migration is one transaction. A run's
counts are read from the rows it stamped: a deleted row was a NOT_SENT one, so a run resumed
after the upgrade counts that subscription once, through the row kept.

Backward drops the index; deleted duplicates are not restored. A later migration that rebuilds
``synced_subscription`` on SQLite drops this index with the old table (Tortoise's rebuild
copies no UNIQUE of ``unique_together``): it must create it again (tests/test_migrations.py
fails when a step loses an index).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

from gateway.db import MigrationRefused

log = logging.getLogger("gateway.migrations")

TABLE = "synced_subscription"
COLUMNS = ["subscription_id", "halo_client_id"]

# Every row of a pair that has more than one, with what names it to an operator.
_DUPLICATES = f"""
SELECT l.id, l.seller_id, l.subscription_id, s.external_id AS subscription_external_id,
       l.halo_client_id, l.halo_licence_id, l.state, l.intent IS NOT NULL AS has_intent,
       l.written_at
FROM {TABLE} l JOIN subscription s ON s.id = l.subscription_id
WHERE (l.subscription_id, l.halo_client_id) IN (
    SELECT subscription_id, halo_client_id FROM {TABLE}
    GROUP BY subscription_id, halo_client_id HAVING COUNT(*) > 1
)
ORDER BY l.seller_id, l.subscription_id, l.halo_client_id, l.id
"""

# Rows deleted per statement (SQLite's bound-parameter limit is far above).
_DELETE_CHUNK = 500
# Deleted ids named in the log line (they held nothing in HaloPSA: the count is what
# matters; a line stays a line however many there were).
_IDS_LOGGED = 50


def index_name(schema_editor) -> str:
    return schema_editor._generate_index_name_for_table("uid", TABLE, COLUMNS)


def _holding(row: dict[str, Any]) -> tuple[str, int] | None:
    """What the row holds in HaloPSA: a licence, a create in flight, or nothing (None)."""
    if row["halo_licence_id"] is not None:
        return ("licence", row["halo_licence_id"])
    if row["has_intent"]:
        return ("create", row["id"])
    return None


def _keeper(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The row to keep among rows holding the same thing (or all holding nothing)."""
    return max(rows, key=lambda r: (r["state"] == "WRITTEN", r["written_at"] or "", r["id"]))


def resolve(rows: list[dict[str, Any]]) -> tuple[list[int], list[list[dict[str, Any]]]]:
    """Rows of duplicated pairs → (ids to delete, pairs that cannot be resolved)."""
    pairs: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        pairs[(row["subscription_id"], row["halo_client_id"])].append(row)
    delete: list[int] = []
    conflicts: list[list[dict[str, Any]]] = []
    for pair in pairs.values():
        held = {h for h in map(_holding, pair) if h is not None}
        if len(held) > 1:
            conflicts.append(pair)
            continue
        holders = [r for r in pair if _holding(r) is not None] or pair
        keep = _keeper(holders)["id"]
        delete += [r["id"] for r in pair if r["id"] != keep]
    return delete, conflicts


def _described(row: dict[str, Any]) -> str:
    if row["halo_licence_id"] is not None:
        return f"ledger row {row['id']} ({row['state']}, HaloPSA licence {row['halo_licence_id']})"
    if row["has_intent"]:
        return (
            f"ledger row {row['id']} ({row['state']}, a create sent whose answer never came:"
            " HaloPSA may hold a licence for it)"
        )
    return f"ledger row {row['id']} ({row['state']}, no licence)"


def refusal(conflicts: list[list[dict[str, Any]]]) -> str:
    """The operator's message: which rows, why it matters, what to do."""
    lines = [
        "Migration 0013_ledger_unique refused, nothing was changed: the sync ledger "
        f"({TABLE}) holds {len(conflicts)} subscription(s) with more than one HaloPSA "
        "licence (or a create whose answer never came) in the same HaloPSA client, so the "
        "customer may be billed twice for one subscription.",
    ]
    for pair in conflicts:
        first = pair[0]
        lines.append(
            f"  seller {first['seller_id']}, subscription {first['subscription_external_id']} "
            f"(id {first['subscription_id']}), HaloPSA client {first['halo_client_id']}: "
            + "; ".join(_described(r) for r in pair)
        )
    lines += [
        "For each: look at the subscription's licences in that HaloPSA client, keep one, end "
        "the others there; then delete the ledger rows of the licences you ended (and of a "
        "create HaloPSA holds nothing for), keeping one row per subscription and client:",
        f"  DELETE FROM {TABLE} WHERE id IN (<ledger row>, ...);",
        "and run `halo-gateway migrate` again. Rows that hold no licence are deleted by the "
        "migration itself.",
    ]
    return "\n".join(lines)


async def forward(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect != "sqlite":
        return  # PostgreSQL has had the constraint since 0001
    client = schema_editor.client
    rows = [dict(r) for r in await client.execute_query_dict(_DUPLICATES)]
    delete, conflicts = resolve(rows)
    if conflicts:
        raise MigrationRefused(refusal(conflicts))
    for start in range(0, len(delete), _DELETE_CHUNK):
        chunk = delete[start : start + _DELETE_CHUNK]
        await client.execute_query(
            f"DELETE FROM {TABLE} WHERE id IN ({', '.join('?' * len(chunk))})", chunk
        )
    if delete:
        named = ", ".join(map(str, delete[:_IDS_LOGGED]))
        more = len(delete) - _IDS_LOGGED
        log.warning(
            "0013_ledger_unique: deleted %d duplicate ledger row(s) that held no HaloPSA "
            "licence (ids %s%s); each subscription keeps the row of its licence",
            len(delete),
            named,
            f" and {more} more" if more > 0 else "",
        )
    await client.execute_script(
        f"CREATE UNIQUE INDEX IF NOT EXISTS {index_name(schema_editor)} "
        f"ON {TABLE} ({', '.join(COLUMNS)})"
    )


async def backward(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect != "sqlite":
        return
    await schema_editor.client.execute_script(f"DROP INDEX IF EXISTS {index_name(schema_editor)}")


class Migration(migrations.Migration):
    dependencies = [("models", "0012_requeue")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
