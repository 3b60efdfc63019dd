"""`halo-gateway import` at 100,000 rows: throughput, flat memory, and its baselines.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--small 10000] [--repeat 3]
                                           [--kind organizations|subscriptions] [--postgres]
                                           [--only api,floor,driver,driver-upsert]
    .venv/bin/python bench/bench_import.py --postgres --kind subscriptions --cpu ROUNDS

The rows come from ``gateway.demo_data`` (the demo's generator; for subscriptions, 5 per
organisation, the organisations imported first and not timed). Every measured run starts
from a fresh database (SQLite in a temp dir, or a fresh PostgreSQL database with --postgres).
Throughput runs are interleaved round by round (--repeat) and the best of each is compared,
because the machine is shared. Printed, all measured in this run:

* the real command as a subprocess: wall time, rows/s, peak RSS (psutil, sampled), then the
  same file again (every row unchanged);
* flat memory: peak RSS of the command for --small vs --rows rows, and the tracemalloc
  peak of ``bulk_import.import_file`` in-process for both sizes — ratios ~1 mean memory
  does not grow with the file;
* baseline 1, the API path: the same rows through ``upsertOrganizations`` /
  ``upsertSubscriptions`` over real HTTP in calls of 1,000 (gateway and client in one
  process);
* baseline 2, the floor: the same rows through ``Model.bulk_create``, one transaction per
  1,000 rows like the command, with no validation and no idempotency check;
* baseline 3 (``--postgres``), the raw driver: the same rows read from the same CSV, typed,
  and written with asyncpg's ``copy_records_to_table`` (binary COPY), one transaction per
  1,000 rows: what PostgreSQL and its driver do with no checks, no ORM and no upsert;
* baseline 4 (``--postgres``), the raw driver with the upsert: the best hand-written
  asyncpg import doing the command's job without its checks. The same CSV read with
  ``csv.reader`` and typed, the organisations' ids read once (no lookup per chunk), each
  chunk COPYed into a temporary table and upserted from it in one ``INSERT … SELECT … ON
  CONFLICT DO UPDATE … WHERE the row differs`` with the created/updated counts, one
  transaction per 1,000 rows, and the next chunk read while the previous one is written.
  Its SQL is written here, not taken from the gateway. "The command / raw upsert" is the
  price of the command's checks, ORM set-up and per-chunk lookup.

``--only driver,driver-upsert`` runs a subset of the baselines (the command always runs).
Load averages (1 minute) are printed at the start and the end of every round: the machine is
shared, and a round's ratio moves with the load between its runs.

``--cpu ROUNDS`` measures only CPU per row, which the load moves much less than wall time:
the command's import (in this process, wrapped as the command wraps it) and the raw upsert,
interleaved, each as the process time here plus the CPU of the PostgreSQL processes serving
the run's own database (psutil).

Each baseline runs in a fresh interpreter like the command, so none pays for another's heap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
import psutil
from cryptography.fernet import Fernet
from tortoise.transactions import in_transaction

from bench import seeding
from bench.seeding import UNMETERED_QUERY_COST_BUDGET
from gateway import db
from gateway.auth import mint_token
from gateway.db import current_connection_name
from gateway.demo_data import DemoOrganization, DemoSubscription, generate_platform_data
from gateway.models import Organization, Seller, Subscription
from gateway.services import bulk_import
from gateway.services.bulk_import import FIELDS, Kind
from gateway.settings import Settings
from tests.support.servers import serve_in_thread

BIN = Path(sys.executable).parent / "halo-gateway"
SELLER = "bench"
SUBSCRIPTIONS_PER_ORG = 5
CHUNK = 1000
RSS_SAMPLE_SECONDS = 0.01

ORG_MUTATION = """mutation ($input: [OrganizationInput!]!) { upsertOrganizations(input: $input)
{ created updated unchanged } }"""
SUB_MUTATION = """mutation ($input: [SubscriptionInput!]!) { upsertSubscriptions(input: $input)
{ created updated unchanged } }"""
ORG_COLUMNS = list(FIELDS[Kind.ORGANIZATIONS])
SUB_COLUMNS = list(FIELDS[Kind.SUBSCRIPTIONS])


def org_record(o: DemoOrganization) -> dict:
    return {"id": o.external_id, "name": o.name, "reference": o.reference, "status": o.status}


def sub_record(s: DemoSubscription) -> dict:
    return {
        "id": s.external_id,
        "organizationId": s.organization_external_id,
        "name": s.name,
        "quantity": s.quantity,
        "billingCycle": s.billing_cycle,
        "termDuration": s.term_duration,
        "status": s.status,
        "costPrice": str(s.cost_price),
        "customerPrice": str(s.customer_price),
        "currency": s.currency,
        "startDate": s.start_date.isoformat(),
        "endDate": s.end_date.isoformat(),
    }


def dataset(kind: str, rows: int) -> tuple[list[dict], list[dict]]:
    """(organisations, subscriptions) as the mutations' records; ``rows`` of ``kind``."""
    if kind == "organizations":
        orgs, _ = generate_platform_data(rows, subscriptions_per_org=(0, 0))
        return [org_record(o) for o in orgs], []
    orgs, subs = generate_platform_data(
        rows // SUBSCRIPTIONS_PER_ORG,
        subscriptions_per_org=(SUBSCRIPTIONS_PER_ORG, SUBSCRIPTIONS_PER_ORG),
    )
    return [org_record(o) for o in orgs], [sub_record(s) for s in subs]


def write_csv(path: Path, columns: list[str], records: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)


@asynccontextmanager
async def fresh_database(tmp: Path, postgres: bool) -> AsyncIterator[Settings]:
    """A new, migrated database; its settings."""
    async with contextlib.AsyncExitStack() as stack:
        if postgres:
            url = await stack.enter_async_context(seeding.temporary_postgres())
        else:
            url = f"sqlite://{tmp}/bench-{uuid.uuid4().hex[:8]}.sqlite3"
        settings = Settings(
            database_url=url,
            data_dir=tmp,
            secrets_key=Fernet.generate_key().decode(),
            in_process_scheduler=False,
            log_level="WARNING",
        )
        await db.migrate(settings)
        yield settings


async def seed_organizations(settings: Settings, path: Path) -> None:
    """Subscriptions need their organisations: imported first, not timed."""
    ctx = await db.open_db(settings)
    with db.bound(ctx):
        await bulk_import.import_file(SELLER, path)
    await db.close_db(ctx)


def run_command(settings: Settings, path: Path) -> tuple[float, float, int, str]:
    """(wall s, import s as the command reports it, peak RSS bytes, stdout) of the real CLI.

    RSS is sampled with psutil every 10 ms: ``ru_maxrss`` of a child would count the
    bench's own memory, copied at fork time before the command's exec.
    """
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(settings.data_dir),
        "MIGRATE_ON_START": "false",
    }
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(BIN), "import", str(path), "--seller", SELLER],
            env=env,
            stdout=out,
            stderr=err,
            text=True,
        )
        watched = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, watched.memory_info().rss)
            time.sleep(RSS_SAMPLE_SECONDS)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise SystemExit(f"import failed ({process.returncode}):\n{stdout}\n{stderr}")
    # The summary's rows and rows/s give the import's own time, without interpreter start-up.
    total = int(re.search(r"([\d,]+) rows in", stdout).group(1).replace(",", ""))  # type: ignore[union-attr]
    rate = int(re.search(r"rows/s\s*│\s*([\d,]+)", stdout).group(1).replace(",", ""))  # type: ignore[union-attr]
    return wall, total / rate, peak, stdout


def counts(stdout: str) -> str:
    found = dict(re.findall(r"│\s*(created|updated|unchanged|invalid)\b[^│]*│\s*([\d,]+)", stdout))
    return ", ".join(f"{k} {v}" for k, v in found.items())


async def traced_peak(settings: Settings, path: Path) -> int:
    """tracemalloc peak (bytes) of import_file alone, in this process."""
    ctx = await db.open_db(settings)
    with db.bound(ctx):
        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        report = await bulk_import.import_file(SELLER, path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    await db.close_db(ctx)
    assert report.invalid == 0, report
    return peak


def baseline_in_subprocess(settings: Settings, which: str, kind: str, path: Path) -> float:
    """Run a baseline in a fresh interpreter, on the same footing as the command."""
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--baseline",
            which,
            "--kind",
            kind,
            "--database-url",
            settings.database_url,
            "--data-dir",
            str(settings.data_dir),
            "--file",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"baseline {which} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def chunks(path: Path) -> Iterator[list[dict]]:
    """The file's records, 1,000 at a time, as the mutations take them (streamed, so that the
    baselines run with as small a heap as the command: a big heap slows the collector)."""
    with path.open(encoding="utf-8", newline="") as handle:
        chunk: list[dict] = []
        for record in csv.DictReader(handle):
            if "quantity" in record:
                record["quantity"] = int(record["quantity"])
            chunk.append(record)
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


async def graphql_baseline(settings: Settings, kind: str, path: Path) -> float:
    from gateway.app import create_app

    query = ORG_MUTATION if kind == "organizations" else SUB_MUTATION
    token = mint_token(settings, seller_id=SELLER, roles=["SELLER_ADMIN"])
    with serve_in_thread(create_app(settings)) as base:
        async with httpx.AsyncClient(
            base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            started = time.perf_counter()
            for chunk in chunks(path):
                answer = (
                    await client.post(
                        "/graphql", json={"query": query, "variables": {"input": chunk}}
                    )
                ).json()
                assert "errors" not in answer, answer["errors"][0]
            return time.perf_counter() - started


async def raw_baseline(settings: Settings, kind: str, path: Path) -> float:
    ctx = await db.open_db(settings)
    with db.bound(ctx):
        await Seller.get_or_create(id=SELLER)
        started = time.perf_counter()
        if kind == "organizations":
            for chunk in chunks(path):
                async with in_transaction(current_connection_name()):
                    await Organization.bulk_create(
                        [
                            Organization(
                                seller_id=SELLER,
                                external_id=r["id"],
                                name=r["name"],
                                reference=r["reference"],
                                status=r["status"],
                            )
                            for r in chunk
                        ],
                        batch_size=200,
                    )
        else:
            org_ids = dict(
                await Organization.filter(seller_id=SELLER).values_list("external_id", "id")
            )
            for chunk in chunks(path):
                async with in_transaction(current_connection_name()):
                    await Subscription.bulk_create(
                        [
                            Subscription(
                                seller_id=SELLER,
                                organization_id=org_ids[r["organizationId"]],
                                external_id=r["id"],
                                name=r["name"],
                                quantity=r["quantity"],
                                billing_cycle=r["billingCycle"],
                                term_duration=r["termDuration"],
                                status=r["status"],
                                cost_price=Decimal(r["costPrice"]),
                                customer_price=Decimal(r["customerPrice"]),
                                currency=r["currency"],
                                start_date=date.fromisoformat(r["startDate"]),
                                end_date=date.fromisoformat(r["endDate"]),
                            )
                            for r in chunk
                        ],
                        batch_size=200,
                    )
        elapsed = time.perf_counter() - started
    await db.close_db(ctx)
    return elapsed


async def driver_baseline(settings: Settings, kind: str, path: Path) -> float:
    """asyncpg alone: COPY the typed rows, 1,000 per transaction (PostgreSQL only)."""
    ctx = await db.open_db(settings)
    with db.bound(ctx):
        await Seller.get_or_create(id=SELLER)
        org_ids = dict(await Organization.filter(seller_id=SELLER).values_list("external_id", "id"))
    await db.close_db(ctx)
    conn = await asyncpg.connect(seeding.driver_dsn(settings.database_url))
    try:
        now = datetime.now(UTC)
        started = time.perf_counter()
        for chunk in chunks(path):
            if kind == "organizations":
                columns = ["seller_id", "external_id", "name", "reference", "status"]
                records = [(SELLER, r["id"], r["name"], r["reference"], r["status"]) for r in chunk]
            else:
                columns = [
                    "seller_id", "organization_id", "external_id", "name", "quantity",
                    "billing_cycle", "term_duration", "status", "cost_price", "customer_price",
                    "currency", "start_date", "end_date",
                ]  # fmt: skip
                records = [
                    (
                        SELLER,
                        org_ids[r["organizationId"]],
                        r["id"],
                        r["name"],
                        r["quantity"],
                        r["billingCycle"],
                        r["termDuration"],
                        r["status"],
                        Decimal(r["costPrice"]),
                        Decimal(r["customerPrice"]),
                        r["currency"],
                        date.fromisoformat(r["startDate"]),
                        date.fromisoformat(r["endDate"]),
                    )
                    for r in chunk
                ]
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "subscription" if kind == "subscriptions" else "organization",
                    records=[(*rec, now, now) for rec in records],
                    columns=[*columns, "created_at", "updated_at"],
                )
        return time.perf_counter() - started
    finally:
        await conn.close()


DRIVER_UPSERT_COLUMNS = {
    "organizations": [
        ("external_id", "text", "id"),
        ("name", "text", "name"),
        ("reference", "text", "reference"),
        ("status", "text", "status"),
    ],
    "subscriptions": [
        ("external_id", "text", "id"),
        ("organization_id", "int", "organizationId"),
        ("name", "text", "name"),
        ("quantity", "int", "quantity"),
        ("billing_cycle", "text", "billingCycle"),
        ("term_duration", "text", "termDuration"),
        ("status", "text", "status"),
        ("cost_price", "numeric", "costPrice"),
        ("customer_price", "numeric", "customerPrice"),
        ("currency", "text", "currency"),
        ("start_date", "date", "startDate"),
        ("end_date", "date", "endDate"),
    ],
}


async def driver_upsert_baseline(
    settings: Settings, kind: str, path: Path, cpu: dict[str, float] | None = None
) -> float:
    """asyncpg alone, doing the command's job without its checks (PostgreSQL only): COPY each
    chunk into a temporary table, upsert from it in one statement, count created/updated;
    the next chunk is read and typed while the previous one is written. With ``cpu``, the
    CPU seconds it took here and in its server process are added to it."""
    table = "subscription" if kind == "subscriptions" else "organization"
    spec = DRIVER_UPSERT_COLUMNS[kind]
    names = [name for name, _, _ in spec]
    # Money travels as text and is cast by the server (binary numeric encoding is slower).
    staged_types = {name: ("text" if t == "numeric" else t) for name, t, _ in spec}
    selected = ", ".join(f"s.{n}::{t}" if t == "numeric" else f"s.{n}" for n, t, _ in spec)
    changed = [n for n in names if n != "external_id"]
    upsert = (
        "WITH written AS ("
        f"INSERT INTO {table} AS t (seller_id, {', '.join(names)}, created_at, updated_at) "
        f"SELECT $1, {selected}, $2, $2 FROM staged AS s "
        "ON CONFLICT (seller_id, external_id) DO UPDATE SET "
        + ", ".join(f"{n} = EXCLUDED.{n}" for n in changed)
        + ", deleted_at = NULL, updated_at = EXCLUDED.updated_at WHERE ("
        + ", ".join(f"t.{n}" for n in changed)
        + ") IS DISTINCT FROM ("
        + ", ".join(f"EXCLUDED.{n}" for n in changed)
        + ") OR t.deleted_at IS NOT NULL RETURNING (xmax = 0) AS created) "
        "SELECT count(*) FILTER (WHERE created), count(*) FROM written"
    )
    ctx = await db.open_db(settings)
    with db.bound(ctx):
        await Seller.get_or_create(id=SELLER)
        org_ids = dict(await Organization.filter(seller_id=SELLER).values_list("external_id", "id"))
    await db.close_db(ctx)
    conn = await asyncpg.connect(seeding.driver_dsn(settings.database_url))
    await conn.execute(
        "CREATE TEMPORARY TABLE staged ("
        + ", ".join(f"{n} {staged_types[n]}" for n in names)
        + ") ON COMMIT DELETE ROWS"
    )
    created = 0

    async def write(records: list[tuple]) -> None:
        nonlocal created
        async with conn.transaction():
            await conn.copy_records_to_table("staged", records=records, columns=names)
            created += (await conn.fetchrow(upsert, SELLER, datetime.now(UTC)))[0]

    def typed(cells: list[str], position: dict[str, int]) -> tuple:
        if kind == "organizations":
            return tuple(cells[position[source]] for _, _, source in spec)
        return tuple(
            org_ids[cells[position[source]]]
            if name == "organization_id"
            else int(cells[position[source]])
            if sql_type == "int"
            else date.fromisoformat(cells[position[source]])
            if sql_type == "date"
            else cells[position[source]]
            for name, sql_type, source in spec
        )

    try:
        client_started = time.process_time()
        server_started = await server_cpu_seconds(settings) if cpu is not None else 0.0
        started = time.perf_counter()
        task: asyncio.Task[None] | None = None
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            position = {name: i for i, name in enumerate(next(reader))}
            chunk: list[tuple] = []
            for cells in reader:
                chunk.append(typed(cells, position))
                if len(chunk) == CHUNK:
                    if task is not None:
                        await task
                    task = asyncio.create_task(write(chunk))
                    chunk = []
                elif len(chunk) % 100 == 0:
                    await asyncio.sleep(0)  # let the previous chunk's round trips move on
            if task is not None:
                await task
            if chunk:
                await write(chunk)
        elapsed = time.perf_counter() - started
        assert created > 0
        if cpu is not None:
            cpu["client"] += time.process_time() - client_started
            cpu["server"] += await server_cpu_seconds(settings) - server_started
        return elapsed
    finally:
        await conn.close()


async def server_cpu_seconds(settings: Settings) -> float:
    """CPU seconds of the PostgreSQL server processes connected to this run's database (the
    bench's database is its own, so these are the workload's, whoever else uses the server)."""
    name = settings.database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(seeding.POSTGRES_ADMIN_DSN)
    try:
        pids = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
        )
    finally:
        await admin.close()
    total = 0.0
    for (pid,) in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


async def command_cpu(settings: Settings, path: Path, cpu: dict[str, float]) -> float:
    """The command's import in this process, as the command runs it (``fewer_collections``):
    wall seconds; its CPU seconds here and in its server processes are added to ``cpu``."""
    ctx = await db.open_db(settings)
    with db.bound(ctx):
        await Seller.get_or_create(id=SELLER)  # opens the pool: its server process exists
        client_started = time.process_time()
        server_started = await server_cpu_seconds(settings)
        with bulk_import.fewer_collections():
            report = await bulk_import.import_file(SELLER, path)
        cpu["client"] += time.process_time() - client_started
        cpu["server"] += await server_cpu_seconds(settings) - server_started
    await db.close_db(ctx)
    assert report.invalid == 0 and report.created == report.rows, report
    return report.seconds


async def cpu_rounds(
    tmp: Path, org_file: Path, path: Path, rows: int, kind: str, repeat: int
) -> None:
    """CPU per row, the command against the raw upsert, interleaved: what each costs the
    import's Python process and the database server, whatever the machine's load."""
    cpu = {name: {"client": 0.0, "server": 0.0} for name in ("command", "raw upsert")}
    walls: dict[str, list[float]] = {"command": [], "raw upsert": []}
    loads = []
    for _ in range(repeat):
        loads.append(os.getloadavg()[0])
        async with fresh_database(tmp, True) as settings:
            if kind == "subscriptions":
                await seed_organizations(settings, org_file)
            walls["command"].append(await command_cpu(settings, path, cpu["command"]))
        async with fresh_database(tmp, True) as settings:
            if kind == "subscriptions":
                await seed_organizations(settings, org_file)
            walls["raw upsert"].append(
                await driver_upsert_baseline(settings, kind, path, cpu["raw upsert"])
            )
        loads.append(os.getloadavg()[0])
    print(f"CPU per row, {repeat} rounds in this process (load {min(loads):.1f}–{max(loads):.1f}):")
    per_row = {}
    for name, spent in cpu.items():
        client, server = (1e6 * spent[k] / (rows * repeat) for k in ("client", "server"))
        per_row[name] = client + server
        print(
            f"  {name:<11} client {client:5.1f} µs + server {server:5.1f} µs = "
            f"{client + server:5.1f} µs/row; wall best {rows / min(walls[name]):,.0f} rows/s"
        )
    ratio = per_row["command"] / per_row["raw upsert"]
    print(f"  ratio (CPU per row) the command costs {ratio:.2f}x the raw upsert")


async def main(
    rows: int, small: int, kind: str, postgres: bool, repeat: int, only: set[str], cpu: int
) -> None:
    mb = 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        org_files: dict[int, Path] = {}
        target: dict[int, Path] = {}
        for size in (small, rows):
            orgs, subs = dataset(kind, size)
            org_files[size] = tmp / f"orgs-{size}.csv"
            write_csv(org_files[size], ORG_COLUMNS, orgs)
            target[size] = org_files[size]
            if subs:
                target[size] = tmp / f"subs-{size}.csv"
                write_csv(target[size], SUB_COLUMNS, subs)
        del orgs, subs
        gc.collect()
        backend = "PostgreSQL" if postgres else "SQLite"
        print(f"{kind}: {rows:,} rows ({target[rows].stat().st_size / mb:.1f} MiB CSV), {backend}")

        if cpu:
            if not postgres:
                raise SystemExit("--cpu measures PostgreSQL's server processes: add --postgres")
            await cpu_rounds(tmp, org_files[rows], target[rows], rows, kind, cpu)
            return

        @asynccontextmanager
        async def prepared(size: int) -> AsyncIterator[Settings]:
            async with fresh_database(tmp, postgres) as settings:
                if kind == "subscriptions":
                    await seed_organizations(settings, org_files[size])
                yield settings

        # 1. throughput: the command, the same file again, and the baselines, interleaved
        # round by round so that load from other users of the machine hits all of them.
        baselines = [b for b in ("api", "floor", "driver", "driver-upsert") if b in only]
        if not postgres:
            baselines = [b for b in baselines if not b.startswith("driver")]
        times: dict[str, list[float]] = {"command": [], "again": [], **{b: [] for b in baselines}}
        loads: list[float] = []
        last_out = ""
        for round_number in range(repeat):
            loads.append(os.getloadavg()[0])
            async with prepared(rows) as settings:
                _, reported, rss_big, out = run_command(settings, target[rows])
                times["command"].append(reported)
                _, reported2, _, last_out = run_command(settings, target[rows])
                times["again"].append(reported2)
            assert "created 0" not in counts(out) and "unchanged 0" not in counts(last_out)
            for baseline in baselines:
                async with prepared(rows) as settings:
                    times[baseline].append(
                        baseline_in_subprocess(settings, baseline, kind, target[rows])
                    )
            loads.append(os.getloadavg()[0])
            print(
                f"round {round_number + 1}: "
                + ", ".join(f"{k} {rows / v[-1]:,.0f} rows/s" for k, v in times.items())
                + f"  (load {loads[-2]:.1f} → {loads[-1]:.1f})",
                flush=True,
            )
        best = {k: min(v) for k, v in times.items()}

        def line(label: str, key: str, note: str) -> str:
            return (
                f"{label:<15}{best[key]:6.1f} s  {rows / best[key]:7,.0f} rows/s  "
                f"(median {statistics.median(times[key]):.1f} s of {repeat})  {note}"
            )

        print(f"load average (1 min) over the rounds: {min(loads):.1f}–{max(loads):.1f}")
        print(line("command", "command", f"[{counts(out)}]"))
        print(line("same again", "again", f"[{counts(last_out)}]"))
        if "api" in best:
            print(line("baseline API", "api", "upsert mutation over HTTP, 1,000 per call"))
            print(
                f"ratio (best)   the command is {best['api'] / best['command']:.2f}x as fast "
                "as the API path"
            )
        if "floor" in best:
            print(line("baseline floor", "floor", "bulk_create, no checks"))
            print(
                f"ratio (best)   the command takes {best['command'] / best['floor']:.2f}x the "
                "floor's time"
            )
        if "driver" in best:
            print(line("raw driver", "driver", "asyncpg COPY, 1,000 rows per transaction"))
            print(
                f"ratio (best)   the command takes {best['command'] / best['driver']:.2f}x the "
                f"raw driver's time ({rows / best['command']:,.0f} vs "
                f"{rows / best['driver']:,.0f} rows/s)"
            )
        if "driver-upsert" in best:
            print(
                line(
                    "raw upsert",
                    "driver-upsert",
                    "asyncpg COPY to a temp table + INSERT … ON CONFLICT, pipelined",
                )
            )
            print(
                f"ratio (best)   the command takes {best['command'] / best['driver-upsert']:.2f}x "
                f"the raw upsert's time ({rows / best['command']:,.0f} vs "
                f"{rows / best['driver-upsert']:,.0f} rows/s); per round: "
                + ", ".join(
                    f"{c / d:.2f}"
                    for c, d in zip(times["command"], times["driver-upsert"], strict=True)
                )
            )

        # 2. flat memory: 10x the rows, the same peak
        async with prepared(small) as settings:
            _, _, rss_small, _ = run_command(settings, target[small])
        print(
            f"flat memory    peak RSS of the command: {small:,} rows {rss_small / mb:.1f} MiB, "
            f"{rows:,} rows {rss_big / mb:.1f} MiB: ratio {rss_big / rss_small:.2f}"
        )
        peaks = {}
        for size in (small, rows):
            async with prepared(size) as settings:
                peaks[size] = await traced_peak(settings, target[size])
        print(
            f"flat memory    tracemalloc peak of import_file: {small:,} rows "
            f"{peaks[small] / mb:.1f} MiB, {rows:,} rows {peaks[rows] / mb:.1f} MiB: "
            f"ratio {peaks[rows] / peaks[small]:.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument(
        "--kind", choices=["organizations", "subscriptions"], default="organizations"
    )
    parser.add_argument("--postgres", action="store_true", help="fresh PostgreSQL databases")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best is compared")
    # Internal: one baseline run in this (fresh) process, printing its seconds.
    parser.add_argument(
        "--cpu",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only measure CPU per row (here and in the server), command vs raw upsert",
    )
    parser.add_argument(
        "--only",
        default="api,floor,driver,driver-upsert",
        help="comma-separated baselines to run beside the command",
    )
    parser.add_argument(
        "--baseline",
        choices=["api", "floor", "driver", "driver-upsert"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        child = Settings(
            database_url=args.database_url,
            data_dir=args.data_dir,
            secrets_key=Fernet.generate_key().decode(),
            in_process_scheduler=False,
            migrate_on_start=False,
            log_level="WARNING",
            # The GraphQL baseline sends 100 upserts of 1,000 items (~1,011 each) within a
            # minute or so: priced, not refused (bench/seeding.py). Set here, in the child
            # that serves them: the parent's settings do not reach it.
            query_cost_budget_per_minute=UNMETERED_QUERY_COST_BUDGET,
        )
        run = {
            "api": graphql_baseline,
            "floor": raw_baseline,
            "driver": driver_baseline,
            "driver-upsert": driver_upsert_baseline,
        }
        print(asyncio.run(run[args.baseline](child, args.kind, args.file)))
    else:
        only = {name for name in args.only.split(",") if name}
        asyncio.run(
            main(args.rows, args.small, args.kind, args.postgres, args.repeat, only, args.cpu)
        )
