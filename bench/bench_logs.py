"""Logs & Monitoring at 1,000,000 entries: does a seller's page stay fast when the table is big?

    .venv/bin/python bench/bench_logs.py [--entries 1000000] [--sellers 100] [--samples 200]
        [--backends sqlite,postgres] [--http-samples 100]

For each backend two databases are loaded with the same generator: **big** holds every
seller's entries (1,000,000 over 100 sellers), **baseline** holds only the measured seller's
own ≈10,000. The same service calls (``gateway.services.logs``) run against both, interleaved
sample by sample so load on the shared machine hits both sides alike; the printed ratio
big ÷ baseline says what the other 99 sellers' rows cost one seller (≈1.0 means the indexes
keep them out of the way). Then each query's plan (``EXPLAIN QUERY PLAN`` / ``EXPLAIN
ANALYZE``) is printed as the service actually sent it (captured from Tortoise's query log),
and one pass through real GraphQL over HTTP measures the default page end to end.

The entries look like what the sync engine and the services write: run start / completion
lines with the "details line" (``details_text``), skipped subscriptions (WARNING), rejected
ones (ERROR), mapping changes and connection tests; timestamps spread over 40 days, so about
a quarter of them are past the 30-day window the page shows. Loading is bulk (stdlib sqlite3
``executemany`` in one transaction; asyncpg ``COPY`` for PostgreSQL; the log table's secondary
indexes dropped for the load and rebuilt after it). PostgreSQL then gets ``VACUUM ANALYZE``,
as autovacuum would do on a table this size; SQLite gets nothing (the app never runs
``ANALYZE``), so its plans are the ones production would use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
from cryptography.fernet import Fernet
from tortoise.context import TortoiseContext, require_context

from bench import seeding
from gateway import db
from gateway.auth import mint_token
from gateway.models import LogEntry, LogLevel
from gateway.services import logs, organizations
from gateway.services.sync import journal
from gateway.settings import Settings
from tests.support.servers import serve_in_thread

RETENTION_DAYS = 30
# The bar for log and grid search (#15).
SEARCH_P99_MS = 10.0
SPREAD_DAYS = 40
SEED = 20261125
PRODUCTS = [
    "Microsoft 365 Business Premium",
    "Microsoft 365 Business Standard",
    "Microsoft 365 E3",
    "Exchange Online (Plan 1)",
    "Azure subscription",
    "Dynamics 365 Sales Professional",
    "Acronis Cyber Protect Cloud",
    "Dropbox Business Advanced",
    "Google Workspace Business Starter",
    "Adobe Acrobat Pro",
]
COMPANIES = ["Contoso", "Northwind", "Fabrikam", "Tailspin", "Litware", "Adventure Works"]
REJECTIONS = [
    "Name is required.",
    "count must be a positive number",
    "Client is inactive.",
    "price exceeds the maximum allowed value",
]

GQL_LOGS = """query { logs { total range entries { id level timestamp title details runId } } }"""


# --- the data ----------------------------------------------------------------------------


def details_text(**fields: object) -> str:
    """``Reseller ID: s-1, Provider: HALO, Created: 3``: the text ``logs.details_line``
    writes (entries loaded in bulk carry no code, like entries from before codes existed)."""
    return ", ".join(f"{key}: {value}" for key, value in fields.items())


@dataclass
class SellerData:
    seller_id: str
    runs: list[tuple[int, str, str, str, datetime]] = field(default_factory=list)
    # (run_id or None, level, created_at, title, details)
    entries: list[tuple[int | None, str, datetime, str, str]] = field(default_factory=list)


class Generator:
    """Deterministic entries shaped like the ones the sync engine and services write."""

    def __init__(self, now: datetime, per_seller: int) -> None:
        self.now = now
        self.per_seller = per_seller
        self.next_run_id = 1

    def seller(self, number: int) -> SellerData:
        rng = random.Random(SEED + number)
        seller_id = f"seller-{number:03d}"
        out = SellerData(seller_id)
        orgs = [
            (f"{rng.choice(COMPANIES)} {i:03d}", f"REF-{number:03d}-{i:03d}", 1000 + i)
            for i in range(200)
        ]
        start = self.now - timedelta(days=SPREAD_DAYS)
        span = SPREAD_DAYS * 86400

        def details(**counts: object) -> str:
            return details_text(**{"Reseller ID": seller_id, "Provider": logs.PROVIDER}, **counts)

        while len(out.entries) < self.per_seller:
            at = start + timedelta(seconds=rng.uniform(0, span))
            step = timedelta(milliseconds=rng.randint(20, 400))
            kind = rng.random()
            if kind < 0.15:  # not a run: mapping changes, connection tests, settings
                org, ref, halo = rng.choice(orgs)
                if rng.random() < 0.8:
                    out.entries.append(
                        (
                            None,
                            "INFO",
                            at,
                            "Organization mapped",
                            f"Organization '{org}' ({ref}) mapped to HaloPSA '{org}' "
                            f"(ID {halo}) by admin@{seller_id}.example.",
                        )
                    )
                else:
                    ok = rng.random() < 0.9
                    out.entries.append(
                        (
                            None,
                            "INFO" if ok else "ERROR",
                            at,
                            "Connection test successful" if ok else "Connection test failed",
                            details(
                                By=f"admin@{seller_id}.example",
                                Result="Connected to HaloPSA."
                                if ok
                                else "HaloPSA refused the credentials: check the client ID, "
                                "the client secret and the tenant.",
                            ),
                        )
                    )
                continue
            run_id = self.next_run_id
            self.next_run_id += 1
            customers = kind < 0.30
            scheduled = rng.random() < 0.15
            one_org = None if customers or scheduled else rng.choice(orgs)
            kind_name = "ORGANIZATIONS" if customers else "SUBSCRIPTIONS"
            out.runs.append(
                (run_id, kind_name, "SCHEDULED" if scheduled else "MANUAL", seller_id, at)
            )
            out.entries.append(
                (
                    run_id,
                    "INFO",
                    at,
                    journal.CUSTOMERS_STARTED if customers else journal.SUBSCRIPTIONS_STARTED,
                    details(
                        Trigger="scheduled" if scheduled else "manual",
                        Scope="all organizations"
                        if one_org is None
                        else f"organization {one_org[2]}",
                    ),
                )
            )
            skipped = failed = 0
            if customers:
                if rng.random() < 0.05:
                    at += step
                    missing = sorted(rng.sample(range(5000, 9000), rng.randint(1, 4)))
                    out.entries.append(
                        (
                            run_id,
                            "WARNING",
                            at,
                            "Customers missing from HaloPSA",
                            f"{len(missing)} previously synced HaloPSA organization(s) were not "
                            f"found: {', '.join(map(str, missing))}. Their mappings show "
                            "Response Error.",
                        )
                    )
            else:
                problems = rng.randint(0, 12) if one_org is None else rng.choice([0, 0, 0, 1, 2])
                for _ in range(problems):
                    at += step
                    org, _ref, _halo = one_org or rng.choice(orgs)
                    product = rng.choice(PRODUCTS)
                    ext = f"SUB-{number:03d}-{rng.randint(0, 3999):05d}"
                    if rng.random() < 0.75:
                        skipped += 1
                        out.entries.append(
                            (
                                run_id,
                                "WARNING",
                                at,
                                "Subscription skipped",
                                f"Subscription '{product}' ({ext}) of organization '{org}' was "
                                "not sent to HaloPSA because its Quantity is zero.",
                            )
                        )
                    else:
                        failed += 1
                        out.entries.append(
                            (
                                run_id,
                                "ERROR",
                                at,
                                "Subscription not synced",
                                f"HaloPSA rejected subscription '{product}' ({ext}): "
                                f"{rng.choice(REJECTIONS)}",
                            )
                        )
            at += step
            counts: dict[str, object] = {
                "Created": rng.randint(0, 40),
                "Updated": rng.randint(0, 200),
                "Failed": failed,
            }
            if not customers:
                counts["Skipped"] = skipped
                counts["Unchanged"] = rng.randint(0, 2000)
            counts["Duration (ms)"] = rng.randint(300, 90_000)
            counts["HaloPSA calls"] = rng.randint(1, 60)
            counts["Rate limited (429)"] = 0
            counts["Backoff (s)"] = 0.0
            what = "Customers" if customers else "Subscriptions"
            if rng.random() < 0.03:
                out.entries.append(
                    (
                        run_id,
                        "ERROR",
                        at,
                        f"{what} sync failed",
                        "HaloPSA could not be reached or kept failing after several retries. "
                        + details(**counts),
                    )
                )
            else:
                out.entries.append(
                    (run_id, "INFO", at, f"{what} sync completed", details(**counts))
                )
        del out.entries[self.per_seller :]
        return out


# --- loading -------------------------------------------------------------------------------

LOG_COLUMNS = ("seller_id", "run_id", "level", "created_at", "title", "details")
RUN_COLUMNS = (
    "id", "seller_id", "kind", "scope", "trigger", "triggered_by", "state", "sync_unit_prices",
    "total", "processed", "created", "updated", "unchanged", "skipped", "failed", "halo_calls",
    "halo_rate_limited", "halo_retries", "halo_wait_seconds", "attempts", "cancel_requested",
    "queued_at", "started_at", "finished_at", "duration_ms", "requeues", "started_by_resend",
)  # fmt: skip


def run_rows(sellers: list[SellerData]) -> list[tuple[Any, ...]]:
    rows = []
    for s in sellers:
        for run_id, kind, trigger, seller_id, at in s.runs:
            rows.append(
                (run_id, seller_id, kind, "ALL", trigger, "bench", "SUCCEEDED", False,
                 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0.0, 1, False, at, at, at, 1000, 0, 0)
            )  # fmt: skip
    return rows


def log_rows(sellers: list[SellerData]) -> list[tuple[Any, ...]]:
    """Every entry in time order, as the table fills in real life (ids grow with time)."""
    rows = [(s.seller_id, *e) for s in sellers for e in s.entries]
    rows.sort(key=lambda r: r[3])
    return [(sid, run, level, at, title, det) for sid, run, level, at, title, det in rows]


def load_sqlite(path: str, sellers: list[SellerData]) -> None:
    """One transaction; the log table's secondary indexes are dropped for the load and built
    again afterwards (same definitions, read back from ``sqlite_master``)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = 'log_entry' AND sql IS NOT NULL"
        ).fetchall()
        with conn:
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            conn.executemany(
                "INSERT INTO seller (id, sync_unit_prices, valve_enabled, valve_max_drop_percent,"
                " valve_max_deactivations, daily_drift_check, created_at)"
                " VALUES (?, 0, 1, 20, 50, 0, ?)",
                [(s.seller_id, datetime.now(UTC).isoformat(" ")) for s in sellers],
            )
            # Tortoise stores datetimes as ``isoformat(" ")`` text on SQLite; write the same.
            conn.executemany(
                f"INSERT INTO sync_run ({', '.join(RUN_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
                [
                    tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in row)
                    for row in run_rows(sellers)
                ],
            )
            conn.executemany(
                f"INSERT INTO log_entry ({', '.join(LOG_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (sid, run, level, at.isoformat(" "), title, det)
                    for sid, run, level, at, title, det in log_rows(sellers)
                ),
            )
            for _, sql in indexes:
                conn.execute(sql)
    finally:
        conn.close()


async def load_postgres(dsn: str, sellers: list[SellerData]) -> None:
    """``COPY`` with the log table's secondary indexes dropped and rebuilt (same definitions)
    and foreign-key triggers off for the session (the generator keeps the references valid)."""
    conn = await asyncpg.connect(dsn)
    try:
        indexes = await conn.fetch(
            "SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS sql "
            "FROM pg_index WHERE indrelid = 'log_entry'::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)"
        )
        for index in indexes:
            await conn.execute(f"DROP INDEX {index['name']}")
        await conn.execute("SET session_replication_role = replica")
        await conn.copy_records_to_table(
            "seller",
            records=[(s.seller_id, False, True, 20, 50, False, datetime.now(UTC)) for s in sellers],
            columns=[
                "id",
                "sync_unit_prices",
                "valve_enabled",
                "valve_max_drop_percent",
                "valve_max_deactivations",
                "daily_drift_check",
                "created_at",
            ],
        )
        await conn.copy_records_to_table(
            "sync_run", records=run_rows(sellers), columns=list(RUN_COLUMNS)
        )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('sync_run', 'id'), "
            "(SELECT max(id) FROM sync_run))"
        )
        await conn.copy_records_to_table(
            "log_entry", records=log_rows(sellers), columns=list(LOG_COLUMNS)
        )
        await conn.execute("RESET session_replication_role")
        for index in indexes:
            await conn.execute(index["sql"])
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Database:
    label: str
    settings: Settings
    ctx: TortoiseContext | None = None


def make_settings(url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        data_dir=data_dir,
        secrets_key=Fernet.generate_key().decode(),
        in_process_scheduler=False,
        log_level="WARNING",
        # --http-samples: the pages are priced, not refused (bench/seeding.py).
        query_cost_budget_per_minute=seeding.UNMETERED_QUERY_COST_BUDGET,
    )


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


class CaptureSQL(logging.Handler):
    """Collects the statements Tortoise sends (its ``tortoise.db_client`` debug log)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, list[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[0], str)
            and args[0].lstrip().upper().startswith(("SELECT", "WITH"))
        ):
            self.statements.append((args[0], list(args[1] or [])))


async def explain(database: Database, call: Callable[[], Awaitable[Any]]) -> list[str]:
    capture = CaptureSQL()
    client_log = logging.getLogger("tortoise.db_client")
    old_level = client_log.level
    client_log.addHandler(capture)
    client_log.setLevel(logging.DEBUG)
    try:
        with db.bound(database.ctx):  # type: ignore[arg-type]
            await call()
    finally:
        client_log.removeHandler(capture)
        client_log.setLevel(old_level)
    lines = []
    with db.bound(database.ctx):  # type: ignore[arg-type]
        conn = require_context().db()
        for sql, values in capture.statements:
            what = "count" if sql.startswith("SELECT COUNT(*)") else "rows"
            if database.settings.is_sqlite:
                _, rows = await conn.execute_query("EXPLAIN QUERY PLAN " + sql, values)
                plan = "; ".join(r["detail"] for r in rows)
            else:
                rows = await conn.execute_query_dict(
                    "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, values
                )
                plan = summarise_pg_plan([r["QUERY PLAN"] for r in rows])
            lines.append(f"    {what:5} → {plan}")
    return lines


def summarise_pg_plan(plan: list[str]) -> str:
    """Plan nodes with their actual row counts; conditions left out (the SQL says them)."""
    nodes = []
    for line in plan:
        text = line.strip()
        if text.startswith(("CTE ", "InitPlan", "SubPlan")):
            nodes.append(f"<{text.split(' (returns')[0]}>")
        elif text.startswith("->") or not nodes:
            node = text.removeprefix("->").strip().split(" (actual")[0].split(" on log_entry")[0]
            rows = re.search(r"actual rows=(\d+)", text)
            never = " [never executed]" if "never executed" in text else ""
            nodes.append(f"{node} [{rows.group(1)} rows]" if rows else node + never)
        elif text.startswith(("Heap Fetches", "Rows Removed by Filter", "Sort Method")):
            nodes[-1] += f" ({text.split('  Average')[0].split('  Memory')[0]})"
    return " → ".join(nodes)


@dataclass
class Timings:
    """One side's samples: wall milliseconds per call, and the CPU the calls used in all
    (this process's, which on SQLite includes the database's work; on PostgreSQL also the
    server backends of that side's database, read from /proc). CPU does not wait for a
    core, so it is the figure that a busy machine inflates least."""

    wall: list[float] = field(default_factory=list)
    cpu_ms: float = 0.0
    server_cpu_ms: float = 0.0

    def cpu_per_call(self) -> float:
        return (self.cpu_ms + self.server_cpu_ms) / len(self.wall)

    def server_share(self) -> float:
        return self.server_cpu_ms / (self.cpu_ms + self.server_cpu_ms or 1)


def backend_cpu_ms(database: Database) -> float:
    """CPU used so far by the PostgreSQL backends serving ``database`` (0 on SQLite, whose
    work is this process's): utime + stime of each, from /proc (the server runs here)."""
    if database.settings.is_sqlite:
        return 0.0
    name = database.settings.database_url.rsplit("/", 1)[1].split("?")[0]
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            with open(stat.parent / "cmdline", "rb") as f:
                cmdline = f.read()
            # A client backend of that database ("postgres: 15/main: USER DB HOST(PORT) …"),
            # not an autovacuum worker on it.
            client = b"127.0.0.1(" in cmdline or b"[local]" in cmdline
            if not client or f" {name} ".encode() not in cmdline:
                continue
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


async def measure(
    big: Database, small: Database, call: Callable[[], Awaitable[Any]], samples: int
) -> tuple[Timings, Timings, Any]:
    times = {"big": Timings(), "small": Timings()}
    server_start: dict[str, float] = {}
    result = None
    for i in range(samples + 5):
        if i == 5:  # warm-up done
            server_start = {"big": backend_cpu_ms(big), "small": backend_cpu_ms(small)}
        for label, database in (("big", big), ("small", small)):
            with db.bound(database.ctx):  # type: ignore[arg-type]
                cpu = time.process_time()
                started = time.perf_counter()
                answer = await call()
                elapsed = (time.perf_counter() - started) * 1000
                cpu = (time.process_time() - cpu) * 1000
            if i >= 5:  # warm-up
                times[label].wall.append(elapsed)
                times[label].cpu_ms += cpu
            if label == "big":
                result = answer
    times["big"].server_cpu_ms = backend_cpu_ms(big) - server_start["big"]
    times["small"].server_cpu_ms = backend_cpu_ms(small) - server_start["small"]
    return times["big"], times["small"], result


async def http_pass(
    big: Database, small: Database, seller_id: str, samples: int
) -> tuple[list[float], list[float]]:
    """The default page through the whole stack; one server at a time (an embedded gateway's
    Dramatiq worker keeps process-wide state, so two cannot run side by side), alternating
    sides in four blocks so drifting load on the machine hits both."""
    from gateway.app import create_app

    token = mint_token(big.settings, seller_id=seller_id, roles=["SELLER_ADMIN"])
    headers = {"Authorization": f"Bearer {token}"}
    times: dict[str, list[float]] = {"big": [], "small": []}
    for label, database in (("big", big), ("small", small)) * 2:
        with serve_in_thread(create_app(database.settings)) as url:
            async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as client:
                for i in range(samples // 2 + 5):
                    started = time.perf_counter()
                    response = await client.post("/graphql", json={"query": GQL_LOGS})
                    elapsed = (time.perf_counter() - started) * 1000
                    body = response.json()
                    assert response.status_code == 200 and "errors" not in body, body
                    if i >= 5:  # warm-up
                        times[label].append(elapsed)
    return times["big"], times["small"]


async def run_backend(
    backend: str, sellers: list[SellerData], measured: SellerData, args: argparse.Namespace
) -> None:
    now = max(e[2] for s in sellers for e in s.entries) + timedelta(minutes=5)
    async with contextlib.AsyncExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        databases = {}
        for label in ("big", "small"):
            if backend == "sqlite":
                url = f"sqlite://{tmp}/{label}.sqlite3"
            else:
                url = await stack.enter_async_context(
                    seeding.temporary_postgres(f"halo_bench_logs_{label}")
                )
            databases[label] = Database(label, make_settings(url, Path(tmp)))
        try:
            for label, database in databases.items():
                rows = sellers if label == "big" else [measured]
                await db.migrate(database.settings)
                started = time.perf_counter()
                if backend == "sqlite":
                    await asyncio.to_thread(load_sqlite, f"{tmp}/{label}.sqlite3", rows)
                else:
                    await load_postgres(seeding.driver_dsn(database.settings.database_url), rows)
                count = sum(len(s.entries) for s in rows)
                print(
                    f"[{backend}] loaded {label}: {count:,} entries of {len(rows)} seller(s) "
                    f"in {time.perf_counter() - started:.1f} s"
                )
                database.ctx = await db.open_db(database.settings)
                with db.bound(database.ctx):
                    await seed_grid(measured.seller_id, args.organizations)
                    if backend == "postgres":
                        # As autovacuum would within a minute, like the log load: the
                        # visibility map lets the grid's index-only scans skip the heap
                        # (each new mapping rewrote its organisation's row: migration 0015).
                        conn = require_context().db()
                        for table in ("organization", "psa_organization", "organization_mapping"):
                            await conn.execute_script(f"VACUUM ANALYZE {table}")
            await measure_all(backend, databases["big"], databases["small"], measured, now, args)
        finally:
            for database in databases.values():
                if database.ctx is not None:
                    await db.close_db(database.ctx)


async def seed_grid(seller_id: str, count: int) -> None:
    """The measured seller's grid: ``count`` organisations, half of them mapped to PSA
    organisations named like them plus a legal form ("Contoso 00042" ↔ "Contoso 00042 Ltd")."""
    names = [f"{COMPANIES[i % len(COMPANIES)]} {i:05d}" for i in range(count)]
    await seeding.mapped_organizations(
        seller_id, names, [(5000 + i, f"{names[i]} Ltd") for i in range(count // 2)]
    )


async def tiles_in_four_queries(seller_id: str, now: datetime) -> Any:
    """How ``log_overview`` read the tiles before this benchmark: four round trips."""
    recent = LogEntry.filter(
        seller_id=seller_id, created_at__gte=logs.window_start(RETENTION_DAYS, now)
    )
    last = await recent.order_by("-created_at").first().values_list("created_at", flat=True)
    return logs.LogOverview(
        total=await recent.count(),
        errors=await recent.filter(level=LogLevel.ERROR).count(),
        warnings=await recent.filter(level=LogLevel.WARNING).count(),
        last_update=last,  # type: ignore[arg-type]
        now=now,
    )


async def measure_all(
    backend: str,
    big: Database,
    small: Database,
    measured: SellerData,
    now: datetime,
    args: argparse.Namespace,
) -> None:
    seller_id = measured.seller_id
    in_window = [e for e in measured.entries if e[2] >= now - timedelta(days=RETENTION_DAYS)]
    last_page = -(-len(in_window) // logs.DEFAULT_PAGE_SIZE)
    # The run with the most entries, and a term a seller would search for (one subscription).
    run_counts = Counter(e[0] for e in in_window if e[0] is not None)
    busiest_run = run_counts.most_common(1)[0][0]
    rare = next(e for e in reversed(in_window) if e[3] == "Subscription skipped")
    rare_term = rare[4].split("(")[1].split(")")[0]  # its external id, e.g. SUB-042-01234

    def page(**kw: Any) -> Callable[[], Awaitable[Any]]:
        return lambda: logs.list_logs(seller_id, retention_days=RETENTION_DAYS, now=now, **kw)

    queries: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("page 1 (default)", page()),
        ("level ERROR", page(level=LogLevel.ERROR)),
        (f"deep page {last_page}", page(page=last_page)),
        (f"search {rare_term!r}", page(search=rare_term)),
        ("search 'microsoft 365'", page(search="microsoft 365")),
        (f"run {busiest_run}", page(run_id=busiest_run)),
        ("tiles (logOverview)", lambda: logs.log_overview(seller_id, RETENTION_DAYS, now=now)),
        ("tiles as 4 queries (before)", lambda: tiles_in_four_queries(seller_id, now)),
    ]

    def grid(search: str | None = None) -> Callable[[], Awaitable[Any]]:
        return lambda: organizations.list_organizations(
            seller_id, organizations.Filters(search=search), cooldown_minutes=60
        )

    rare_org = f"{COMPANIES[1234 % len(COMPANIES)]} 01234"
    queries += [
        ("grid page 1", grid()),
        (f"grid search {rare_org.lower()!r}", grid(rare_org.lower())),
        (f"grid search {COMPANIES[2]!r}", grid(COMPANIES[2])),
        ("grid search 'ltd'", grid("ltd")),
        ("grid search PSA id '6234'", grid("6234")),
    ]
    searches = [label for label, _ in queries if "search" in label]
    print(
        f"\n[{backend}] seller {seller_id}: {len(measured.entries):,} entries, "
        f"{len(in_window):,} in the 30-day window; {args.samples} samples per side, interleaved"
    )
    print(
        f"{'query':28} {'matches':>8} | {'big p50':>8} {'big p99':>8} {'big cpu':>8} | "
        f"{'own p50':>8} {'own p99':>8} {'own cpu':>8} | {'ratio p50':>9} {'p99':>6} {'cpu':>6}"
        " | load"
    )
    slow = []
    for label, call in queries:
        big_t, small_t, answer = await measure(big, small, call, args.samples)
        big_w, small_w = big_t.wall, small_t.wall
        matches = getattr(answer, "total", None)
        if label in searches and pct(big_w, 99) >= SEARCH_P99_MS:
            slow.append(f"{label} p99 {pct(big_w, 99):.1f} ms")
        print(
            f"{label:28} {matches if matches is not None else '-':>8} | "
            f"{pct(big_w, 50):6.2f}ms {pct(big_w, 99):6.2f}ms {big_t.cpu_per_call():6.2f}ms | "
            f"{pct(small_w, 50):6.2f}ms {pct(small_w, 99):6.2f}ms "
            f"{small_t.cpu_per_call():6.2f}ms | "
            f"{pct(big_w, 50) / pct(small_w, 50):9.2f} {pct(big_w, 99) / pct(small_w, 99):6.2f} "
            f"{big_t.cpu_per_call() / small_t.cpu_per_call():6.2f} | {os.getloadavg()[0]:.1f}"
            + (f" | db {big_t.server_share():.0%} of cpu" if backend == "postgres" else "")
        )
    print(
        f"\n[{backend}] searches with p99 ≥ {SEARCH_P99_MS:.0f} ms on the big database: "
        + ("; ".join(slow) if slow else "none")
    )
    print(f"\n[{backend}] plans on the big database (as the service sent them):")
    for label, call in queries:
        print(f"  {label}")
        for line in await explain(big, call):
            print(line)
    if args.http_samples:
        big_t, small_t = await http_pass(big, small, seller_id, args.http_samples)
        print(
            f"\n[{backend}] GraphQL over HTTP, default page, "
            f"{args.http_samples} requests per side: "
            f"big p50={pct(big_t, 50):.2f}ms p99={pct(big_t, 99):.2f}ms | "
            f"own p50={pct(small_t, 50):.2f}ms p99={pct(small_t, 99):.2f}ms | "
            f"ratio p50={pct(big_t, 50) / pct(small_t, 50):.2f}"
        )


async def main(args: argparse.Namespace) -> None:
    now = datetime.now(UTC).replace(microsecond=123456)
    per_seller = args.entries // args.sellers
    started = time.perf_counter()
    generator = Generator(now - timedelta(minutes=10), per_seller)
    sellers = [generator.seller(n) for n in range(args.sellers)]
    measured = sellers[min(42, args.sellers - 1)]
    levels = Counter(e[1] for s in sellers for e in s.entries)
    total = sum(levels.values())
    print(
        f"generated {total:,} entries, {generator.next_run_id - 1:,} runs, {args.sellers} sellers "
        f"in {time.perf_counter() - started:.1f} s; levels "
        + ", ".join(f"{k} {v / total:.1%}" for k, v in sorted(levels.items()))
    )
    for backend in args.backends.split(","):
        await run_backend(backend.strip(), sellers, measured, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--sellers", type=int, default=100)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--http-samples", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--organizations", type=int, default=10_000)
    asyncio.run(main(parser.parse_args()))
