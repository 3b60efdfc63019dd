"""Rows for the benchmarks, bulk-inserted straight through the models.

Benchmarks need thousands of rows in seconds, so they skip the API (whose cost is not what
they measure) and write with ``bulk_create``. Organisations are ``o{i}`` / ``R{i}``, ACTIVE;
the first organisations (by id) are mapped 1:1 to the PSA organisations given.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from gateway import db
from gateway.crypto import secret_box_from_settings
from gateway.models import (
    Connection,
    Organization,
    OrganizationMapping,
    PsaOrganization,
    Seller,
    Subscription,
)
from gateway.settings import Environment, Settings

# The shared Redis of the scale-out benchmarks (each run under a namespace of its own).
REDIS_URL = "redis://127.0.0.1:6379/0"
# The per-seller query-cost budget (QUERY_COST_BUDGET_PER_MINUTE, 100,000 a minute) is an
# operator's guard against one seller's scripts; a benchmark's load asks many seller-minutes
# of pages a minute, and with the budget most answers became QUERY_TOO_COMPLEX errors, cheap
# to make. Benchmarks that load the gateway set this instead: the check itself still runs on
# every request, only its limit is out of the way (and they check every answer).
UNMETERED_QUERY_COST_BUDGET = 10**12
# Rows per INSERT: SQLite's default limit is 32,766 bound variables per statement.
BATCH_SIZE = 1000
SUBSCRIPTION_BATCH_SIZE = 2000


def scale_out_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings of a scale-out bench: this database, the shared Redis under a fresh
    namespace, fresh keys, no scheduler in the process; ``overrides`` on top."""
    values: dict[str, Any] = {
        "environment": Environment.TEST,
        "database_url": database_url,
        "data_dir": data_dir,
        "redis_url": REDIS_URL,
        "redis_namespace": f"halo-bench-{uuid.uuid4().hex[:10]}",
        "secrets_key": Fernet.generate_key().decode(),
        "jwt_secret": "bench-jwt-secret-that-is-long-enough-0123456789",
        "in_process_scheduler": False,
        "log_level": "WARNING",
    }
    return Settings(**{**values, **overrides})


@asynccontextmanager
async def migrated(settings: Settings) -> AsyncIterator[None]:
    """A migrated database, bound for the block, closed after it (before a gateway opens it)."""
    await db.migrate(settings)
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            yield
    finally:
        await db.close_db(ctx)


async def organizations(
    seller_id: str, names: Sequence[str], psa_clients: Sequence[tuple[int, str]]
) -> None:
    """The seller, one organisation per name and the PSA organisations ``(halo_id, name)``,
    none of them mapped."""
    await Seller.get_or_create(id=seller_id)
    await Organization.bulk_create(
        [
            Organization(
                seller_id=seller_id,
                external_id=f"o{i}",
                name=name,
                reference=f"R{i}",
                status="ACTIVE",
            )
            for i, name in enumerate(names)
        ],
        batch_size=BATCH_SIZE,
    )
    await PsaOrganization.bulk_create(
        [
            PsaOrganization(seller_id=seller_id, halo_id=halo_id, name=name)
            for halo_id, name in psa_clients
        ],
        batch_size=BATCH_SIZE,
    )


async def mapped_organizations(
    seller_id: str, names: Sequence[str], psa_clients: Sequence[tuple[int, str]]
) -> list[Organization]:
    """:func:`organizations`, then a mapping of each PSA organisation to the next
    organisation in id order.

    Returns every organisation, in id order.
    """
    await organizations(seller_id, names, psa_clients)
    orgs = await Organization.filter(seller_id=seller_id).order_by("id")
    psas = await PsaOrganization.filter(seller_id=seller_id).order_by("id")
    await OrganizationMapping.bulk_create(
        [
            OrganizationMapping(
                seller_id=seller_id,
                organization_id=o.id,
                psa_organization_id=p.id,
                mapped_by="bench",
            )
            for o, p in zip(orgs[: len(psas)], psas, strict=True)
        ],
        batch_size=BATCH_SIZE,
    )
    return list(orgs)


async def connection(settings: Settings, seller_id: str, halo_url: str) -> None:
    """A verified-looking HaloPSA connection to the simulator at ``halo_url``."""
    box = secret_box_from_settings(settings)
    await Connection.create(
        seller_id=seller_id,
        client_id="c",
        client_secret_encrypted=box.encrypt("s"),
        client_secret_last4="s",
        resource_server=f"{halo_url}/api",
        authorization_server=f"{halo_url}/auth",
    )


async def subscriptions(seller_id: str, orgs: Sequence[Organization], per_org: int) -> None:
    """``per_org`` monthly licences per organisation (quantity 1..per_org)."""
    await Subscription.bulk_create(
        [
            Subscription(
                seller_id=seller_id,
                organization_id=o.id,
                external_id=f"s{o.id}-{j}",
                name=f"Licence {j}",
                quantity=j + 1,
                billing_cycle="Monthly",
                term_duration="1 Year",
                status="ACTIVE",
                cost_price=Decimal("10.00"),
                customer_price=Decimal("12.00"),
            )
            for o in orgs
            for j in range(per_org)
        ],
        batch_size=SUBSCRIPTION_BATCH_SIZE,
    )


async def written_ledger(seller_id: str, instance: Any | None = None) -> int:
    """The ledger a first sync leaves: every subscription of a mapped organisation WRITTEN with
    its payload's hash. With ``instance`` (a simulator instance) its licences are stored there
    too, as HaloPSA holds them after the sync. Returns the rows written."""
    from gateway.models import LedgerState, SyncedSubscription
    from gateway.services.sync.licences import licence_payload, payload_hash, to_licence_write

    clients = dict(
        await OrganizationMapping.filter(seller_id=seller_id).values_list(
            "organization_id", "psa_organization__halo_id"
        )
    )
    rows = []
    for n, sub in enumerate(await Subscription.filter(seller_id=seller_id).order_by("id"), start=1):
        client = clients.get(sub.organization_id)  # type: ignore[attr-defined]
        if client is None:
            continue
        sent = licence_payload(sub, client, unit_prices=False)
        licence_id = n
        if instance is not None:
            licence_id = instance.next_licence_id
            instance.next_licence_id += 1
            instance.licences[licence_id] = {
                "id": licence_id,
                **to_licence_write(sent, None).to_json(),
            }
        digest = payload_hash(sent)
        rows.append(
            SyncedSubscription(
                seller_id=seller_id,
                subscription_id=sub.id,
                halo_client_id=client,
                halo_licence_id=licence_id,
                state=LedgerState.WRITTEN,
                payload_hash=digest,
                intent=sent,
                intent_hash=digest,
            )
        )
    await SyncedSubscription.bulk_create(rows, batch_size=BATCH_SIZE)
    return len(rows)
