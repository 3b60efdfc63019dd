"""The mapping grid at 10,000 organisations: the gateway against a raw Starlette app.

    .venv/bin/python bench/bench_organizations.py [--organizations 10000] [--seconds 4]
        [--rounds 3] [--backend sqlite|postgres] [--profile FILE]

Two server processes on the same database: ``halo-gateway serve`` (embedded mode, as a seller
runs it), and ``bench/raw_grid.py``, a raw Starlette app answering the same page (the same
rows, total and each row's sync state) with one hand-written SQL statement on the driver.
A load generator (this process: plain asyncio sockets with keep-alive, so its own cost is
small and the same for both) keeps 1 or 20 connections busy, back to back, for a few seconds
on one server, then the other, round after round (interleaved, so load on the shared machine
hits both). Measured per cell: requests per second, server CPU per request (from
``/proc/PID/stat``), latency p50/p99. Printed: the gateway's throughput as a fraction of the
baseline's (the issue's target: ≥ 0.8).

The page: pages of 20 and 100, mapped organisations only, sorted by name descending (a
filtered, sorted page, as in the issue). ``--profile FILE`` runs py-spy on the gateway for
one extra 100-row, 20-connection block and writes its flame graph (SVG; collapsed stacks
if FILE ends in .txt). ``--before-python PYTHON`` adds a third side, interleaved with the
others: ``PYTHON -m gateway serve``, a python whose ``gateway`` is an earlier checkout (the
before of a change, in the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet

from bench import seeding
from bench.seeding import UNMETERED_QUERY_COST_BUDGET, mapped_organizations, migrated
from gateway.auth import mint_token
from gateway.settings import Settings
from tests.support.servers import free_port

JWT_SECRET = "bench-" + "s" * 40
FIELDS = (
    "id name reference status psaOrganizationId psaOrganizationName psaOrganizationStatus "
    "mappingStatus mappingStatusTooltip canSyncSubscriptions syncState syncInProgress "
    "cooldownMinutes"
)
QUERY = (
    "query ($pageSize: Int!) { organizations(pageSize: $pageSize, "
    "filter: {mappingStatus: [MAPPED]}, sort: {field: NAME, direction: DESC}) "
    f"{{ total rows {{ {FIELDS} }} }} }}"
)


# --- a small HTTP/1.1 keep-alive client --------------------------------------------------


def request_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> bytes:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = head[9:12]
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length)
    if status != b"200":
        raise RuntimeError(f"HTTP {status.decode()}: {body[:300]!r}")
    return body


@dataclass
class Cell:
    requests: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.requests * 1000

    def pct(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(
    port: int, pid: int, raw: bytes, connections: int, seconds: float, cell: Cell
) -> None:
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    for reader, writer in streams:  # warm each connection once
        await exchange(reader, writer, raw)
    deadline = time.perf_counter() + seconds
    started, cpu0 = time.perf_counter(), cpu_seconds(pid)

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            body = await exchange(reader, writer, raw)
            if b'"errors"' in body:  # a GraphQL error (HTTP 200) is no answer: stop the run
                raise RuntimeError(f"the gateway answered an error: {body[:300]!r}")
            cell.latencies.append(time.perf_counter() - t)
            cell.requests += 1

    await asyncio.gather(*(worker(r, w) for r, w in streams))
    cell.seconds += time.perf_counter() - started
    cell.cpu += cpu_seconds(pid) - cpu0
    for _, writer in streams:
        writer.close()


# --- the servers -------------------------------------------------------------------------


def wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"server on {port} did not start")


def start_servers(
    database_url: str, data_dir: str, before_python: str = ""
) -> dict[str, tuple[int, subprocess.Popen[bytes]]]:
    root = Path(__file__).resolve().parent.parent
    gateway_port, raw_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": data_dir,
        "JWT_SECRET": JWT_SECRET,
        "SECRETS_KEY": Fernet.generate_key().decode(),
        "MIGRATE_ON_START": "false",
        "IN_PROCESS_SCHEDULER": "false",
        "LOG_LEVEL": "WARNING",
        "WEB_APP": "false",
        # This load asks ~15 seller-minutes of pages a minute (see seeding.py).
        "QUERY_COST_BUDGET_PER_MINUTE": str(UNMETERED_QUERY_COST_BUDGET),
    }
    gateway = subprocess.Popen(
        [str(Path(sys.executable).parent / "halo-gateway"), "serve", "--port", str(gateway_port)],
        env=env,
        cwd=root,
    )
    raw = subprocess.Popen(
        [sys.executable, str(root / "bench" / "raw_grid.py"), database_url, str(raw_port)],
        env=env,
        cwd=root,
    )
    servers = {"gateway": (gateway_port, gateway), "raw": (raw_port, raw)}
    if before_python:  # an earlier version of the gateway, from another checkout's python
        before_port = free_port()
        before = subprocess.Popen(
            [before_python, "-m", "gateway", "serve", "--port", str(before_port)],
            env=env,
            cwd=data_dir,  # not this checkout: ``-m`` puts the working directory first
        )
        servers["before"] = (before_port, before)
    for port, proc in servers.values():
        wait_ready(port, proc)
    return servers


# --- the run ---------------------------------------------------------------------------


async def seed(settings: Settings, count: int) -> None:
    async with migrated(settings):
        await mapped_organizations(
            "bench",
            [f"Organization {i:05d}" for i in range(count)],
            [(i, f"Halo {i}") for i in range(count // 2)],
        )


def requests_for(page_size: int, token: str) -> dict[str, bytes]:
    body = json.dumps({"query": QUERY, "variables": {"pageSize": page_size}}).encode()
    graphql = request_bytes(
        "POST",
        "/graphql",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body,
    )
    return {
        "gateway": graphql,
        "before": graphql,
        "raw": request_bytes("GET", f"/grid?page_size={page_size}&mapped=1&desc=1", {}),
    }


async def same_answer(
    servers: dict[str, tuple[int, subprocess.Popen[bytes]]], raws: dict[str, bytes]
) -> None:
    """Both sides answer the same page (the comparison is worth nothing otherwise)."""
    answers = {}
    for side, (port, _) in servers.items():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = json.loads(await exchange(reader, writer, raws[side]))
        writer.close()
        answers[side] = body if side == "raw" else body["data"]["organizations"]
    assert answers["gateway"] == answers["raw"] == answers.get("before", answers["raw"]), (
        answers["gateway"]["rows"][:1],
        answers["raw"]["rows"][:1],
    )


async def run(args: argparse.Namespace, database_url: str, data_dir: str) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=Path(data_dir),
        secrets_key=Fernet.generate_key().decode(),
        in_process_scheduler=False,
        log_level="WARNING",
        jwt_secret=JWT_SECRET,
    )
    started = time.perf_counter()
    await seed(settings, args.organizations)
    if database_url.startswith("postgres"):
        # Statistics, as a database in use has them (autovacuum analyses new tables soon):
        # without them both statements were planned as nested loops over every organisation
        # (~100 ms a page instead of ~25), and autovacuum could analyse in the middle of the
        # run, changing both sides' plans between cells.
        await seeding.analyze(database_url)
    print(
        f"[{args.backend}] seeded {args.organizations:,} organisations "
        f"in {time.perf_counter() - started:.1f} s"
    )
    token = mint_token(settings, seller_id="bench", roles=["SELLER_ADMIN"])
    servers = start_servers(database_url, data_dir, args.before_python)
    try:
        cells: dict[tuple[int, int, str], Cell] = {}
        for page_size in (20, 100):
            await same_answer(servers, requests_for(page_size, token))
        for round_ in range(args.rounds):
            for page_size in (20, 100):
                raws = requests_for(page_size, token)
                for connections in (1, 20):
                    sides = list(servers)
                    shift = round_ % len(sides)  # each side first in turn
                    for side in sides[shift:] + sides[:shift]:
                        port, proc = servers[side]
                        cell = cells.setdefault((page_size, connections, side), Cell())
                        await load(port, proc.pid, raws[side], connections, args.seconds, cell)
        print(
            f"\n[{args.backend}] {args.rounds} rounds × {args.seconds:.0f} s per cell and side, "
            f"interleaved; load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"{'page':>4} {'conns':>5} | {'gateway req/s':>13} {'cpu/req':>8} {'p50':>7} "
            f"{'p99':>7} | "
            f"{'raw req/s':>9} {'cpu/req':>8} {'p50':>7} {'p99':>7} | {'throughput':>10} {'cpu':>5}"
        )
        for page_size in (20, 100):
            for connections in (1, 20):
                g = cells[(page_size, connections, "gateway")]
                r = cells[(page_size, connections, "raw")]
                print(
                    f"{page_size:>4} {connections:>5} | {g.throughput:13.1f} {g.cpu_ms:6.2f}ms "
                    f"{g.pct(50):5.1f}ms {g.pct(99):5.1f}ms | "
                    f"{r.throughput:9.1f} {r.cpu_ms:6.2f}ms "
                    f"{r.pct(50):5.1f}ms {r.pct(99):5.1f}ms | {g.throughput / r.throughput:9.2f}× "
                    f"{r.cpu_ms / g.cpu_ms:4.2f}×"
                )
        if "before" in servers:
            print(
                f"\n{'page':>4} {'conns':>5} | {'before req/s':>12} {'cpu/req':>8} | "
                f"{'before/raw':>10} {'cpu':>5} | {'gateway/before':>14} {'cpu':>5}"
            )
            for page_size in (20, 100):
                for connections in (1, 20):
                    g = cells[(page_size, connections, "gateway")]
                    r = cells[(page_size, connections, "raw")]
                    b = cells[(page_size, connections, "before")]
                    print(
                        f"{page_size:>4} {connections:>5} | {b.throughput:12.1f} "
                        f"{b.cpu_ms:6.2f}ms | {b.throughput / r.throughput:9.2f}× "
                        f"{r.cpu_ms / b.cpu_ms:4.2f}× | {g.throughput / b.throughput:13.2f}× "
                        f"{b.cpu_ms / g.cpu_ms:4.2f}×"
                    )
        if args.profile:
            port, proc = servers["gateway"]
            spy = subprocess.Popen(  # noqa: ASYNC220 - one process, waited for below
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record", "-p", str(proc.pid), "-o", args.profile,
                    "-d", str(int(args.seconds) + 2),
                    "-r", "200", "--nonblocking",
                    "-f", "raw" if args.profile.endswith(".txt") else "flamegraph",
                ]
            )  # fmt: skip
            await asyncio.sleep(1)
            await load(
                port, proc.pid, requests_for(100, token)["gateway"], 20, args.seconds, Cell()
            )
            spy.wait()
            print(f"py-spy flame graph of the gateway (100 rows, 20 connections): {args.profile}")
    finally:
        for _, proc in servers.values():
            proc.terminate()
            proc.wait()


async def main(args: argparse.Namespace) -> None:
    async with seeding.bench_database(args.backend, "halo_bench_grid") as (url, data_dir):
        await run(args, url, data_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--organizations", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--profile", default="")
    parser.add_argument(
        "--before-python",
        default="",
        help="a python that imports an earlier checkout's gateway: served as a third side",
    )
    asyncio.run(main(parser.parse_args()))
