"""What the benchmarks stand on: their set-up, and rows bulk-inserted straight through the models.

Set-up, once for every bench: :func:`temporary_postgres` (a PostgreSQL database of the
bench's own, dropped after it), :func:`scale_out_settings` (the shared Redis and a database
of the bench's), and :func:`embedded_bench` (a temporary SQLite file, the HaloPSA simulator
over real HTTP, the bench settings) with :func:`gateway_client` for the gateway on it.

Benchmarks need thousands of rows in seconds, so they skip the API (whose cost is not what
they measure) and write with ``bulk_create``. Organisations are ``o{i}`` / ``R{i}``, ACTIVE;
the first organisations (by id) are mapped 1:1 to the PSA organisations given.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet

from gateway import db
from gateway.auth import mint_token
from gateway.crypto import secret_box_from_settings
from gateway.halopsa import HaloCredentials
from gateway.halopsa.simulator import Instance, SimulatorState, create_simulator_app
from gateway.models import (
    Connection,
    Organization,
    OrganizationMapping,
    PsaOrganization,
    Seller,
    Subscription,
)
from gateway.settings import Environment, Settings
from tests.support.servers import serve_in_thread

# The shared Redis of the scale-out benchmarks (each run under a namespace of its own).
REDIS_URL = "redis://127.0.0.1:6379/0"
# The shared PostgreSQL (trust auth): benches make a database of their own on it through an
# admin connection to the always-present `test` database (see temporary_postgres).
POSTGRES_HOST = "postgres@127.0.0.1:5432"
POSTGRES_ADMIN_DSN = f"postgresql://{POSTGRES_HOST}/test"
# The per-seller query-cost budget (QUERY_COST_BUDGET_PER_MINUTE, 100,000 a minute) is an
# operator's guard against one seller's scripts; a benchmark's load asks many seller-minutes
# of pages a minute, and with the budget most answers became QUERY_TOO_COMPLEX errors, cheap
# to make. Benchmarks that load the gateway set this instead: the check itself still runs on
# every request, only its limit is out of the way (and they check every answer).
UNMETERED_QUERY_COST_BUDGET = 10**12
# Rows per INSERT: SQLite's default limit is 32,766 bound variables per statement.
BATCH_SIZE = 1000
SUBSCRIPTION_BATCH_SIZE = 2000
# The client credentials of the simulator's one instance in an embedded bench.
HALO_CLIENT_ID, HALO_CLIENT_SECRET = "c", "s"
# The gateway's own HaloPSA limiter "off": more requests per window than a bench sends. (Left
# at 300 per 5 minutes, it would hold the 301st request of a first sync for the rest of the
# window, whatever the simulator allows.)
NO_RATE_LIMIT = 10**9
# The manual "Sync Subscriptions" of all organisations, as a page sends it.
SYNC_SUBSCRIPTIONS = "mutation { syncSubscriptions { id } }"


@asynccontextmanager
async def temporary_postgres(prefix: str = "halo_bench") -> AsyncIterator[str]:
    """A new, empty PostgreSQL database named ``{prefix}_<random>`` for the block; yields its
    URL as the gateway takes it (``postgres://…``). Dropped after the block, even when it
    raises, ``WITH (FORCE)``: a pool or a child process the bench left open does not keep it.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgres://{POSTGRES_HOST}/{name}"
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def bench_database(backend: str, prefix: str) -> AsyncIterator[tuple[str, str]]:
    """``(database URL, data directory)`` for the block: a temporary directory, and in it a
    SQLite file (``backend`` "sqlite") or beside it :func:`temporary_postgres` ("postgres")."""
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            yield f"sqlite://{tmp}/bench.sqlite3", tmp
        else:
            async with temporary_postgres(prefix) as database_url:
                yield database_url, tmp


def driver_dsn(database_url: str) -> str:
    """The gateway's ``postgres://`` URL as asyncpg takes it, for a bench's own statements."""
    return database_url.replace("postgres://", "postgresql://", 1)


async def analyze(database_url: str) -> None:
    """``ANALYZE`` the whole PostgreSQL database: statistics, as a database in use has them
    (autovacuum analyses new tables soon after they fill)."""
    conn = await asyncpg.connect(driver_dsn(database_url))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


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


def embedded_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings of an embedded bench: a SQLite file in ``data_dir``, fresh keys, no scheduler
    in the process (a 08:00 run must not land in a measurement), no cooldown (benches sync
    back to back), WARNING logs; ``overrides`` on top."""
    values: dict[str, Any] = {
        "database_url": f"sqlite://{data_dir}/bench.sqlite3",
        "data_dir": data_dir,
        "secrets_key": Fernet.generate_key().decode(),
        "in_process_scheduler": False,
        "log_level": "WARNING",
        "sync_cooldown_minutes": 0,
    }
    return Settings(**{**values, **overrides})


@dataclass(frozen=True)
class EmbeddedBench:
    """What an embedded bench runs against: its settings, and HaloPSA (the simulator)."""

    settings: Settings
    # The simulator's instance: add clients and licences to it, read its ``counters``.
    halo: Instance
    halo_url: str

    def credentials(self) -> HaloCredentials:
        """Credentials of the instance, for a bench that calls HaloPSA with its own client."""
        return HaloCredentials(
            HALO_CLIENT_ID, HALO_CLIENT_SECRET, f"{self.halo_url}/api", f"{self.halo_url}/auth"
        )


@contextmanager
def embedded_bench(
    *, latency_ms: int = 0, rate_limit: tuple[int, float] | None = None, **overrides: Any
) -> Iterator[EmbeddedBench]:
    """A temporary SQLite file, the HaloPSA simulator served over real HTTP with one instance,
    and the bench settings (:func:`embedded_settings`, ``overrides`` on top), for the block.

    ``rate_limit`` is HaloPSA's ``(requests, window seconds)`` on both sides: the simulator
    answers 429 beyond it and the gateway's limiter keeps under it. None: no limit on either
    side, so a bench measures the work and not the waiting.
    """
    state = SimulatorState()
    instance = state.add_instance(client_id=HALO_CLIENT_ID, client_secret=HALO_CLIENT_SECRET)
    instance.set_faults(latency_ms=latency_ms, rate_limit=rate_limit)
    limiter: dict[str, Any] = {"halo_rate_limit_requests": NO_RATE_LIMIT}
    if rate_limit is not None:
        limiter = {
            "halo_rate_limit_requests": rate_limit[0],
            "halo_rate_limit_window_seconds": rate_limit[1],
        }
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_in_thread(create_simulator_app(state)) as halo_url,
    ):
        settings = embedded_settings(Path(tmp), **{**limiter, **overrides})
        yield EmbeddedBench(settings, instance, halo_url)


@asynccontextmanager
async def gateway_client(
    settings: Settings, seller_id: str, *, timeout: float = 600
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway (with its embedded worker) served over real HTTP for the block, and an
    HTTP client on it signed in as the seller's admin."""
    from gateway.app import create_app

    token = mint_token(settings, seller_id=seller_id, roles=["SELLER_ADMIN"])
    with serve_in_thread(create_app(settings)) as base:
        async with httpx.AsyncClient(
            base_url=base, timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            yield client


async def run_sync(client: httpx.AsyncClient, mutation: str, fields: str) -> dict:
    """Start a run with ``mutation`` (e.g. ``mutation { syncSubscriptions { id } }``) and wait
    for it to end, polling ``syncRuns`` every 0.1 s; the run's ``fields``."""
    body = (await client.post("/graphql", json={"query": mutation})).json()
    run_id = next(iter(body["data"].values()))["id"]
    query = f"{{ syncRuns(first: 5) {{ {fields} }} }}"
    while True:
        runs = (await client.post("/graphql", json={"query": query})).json()["data"]["syncRuns"]
        run = next(r for r in runs if r["id"] == run_id)
        if run["state"] in ("SUCCEEDED", "FAILED", "CANCELLED", "NEEDS_APPROVAL"):
            return run
        await asyncio.sleep(0.1)


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
        client_id=HALO_CLIENT_ID,
        client_secret_encrypted=box.encrypt(HALO_CLIENT_SECRET),
        client_secret_last4=HALO_CLIENT_SECRET[-4:],
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
