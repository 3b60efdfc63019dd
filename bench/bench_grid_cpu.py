"""The grid page's CPU in one process: the gateway's app against the raw Starlette app.

    .venv/bin/python bench/bench_grid_cpu.py [--organizations 10000] [--requests 100]
        [--rounds 6] [--backend sqlite|postgres] [--page-size 100]

``bench/bench_organizations.py`` measures throughput over HTTP, with servers, sockets and a
load generator sharing two cores with everything else on the machine; at a load average of
7 its cells moved by ±30 % from one run to the next. This one drives both ASGI apps
directly (``create_app`` and ``bench/raw_grid.py``'s, same database, same page as there:
mapped organisations, by name descending) from one event loop, one request at a time,
interleaved in blocks, and reads the CPU clocks:

* **loop**: the event loop thread's CPU per request (``time.thread_time``): the app's own
  Python work — for the gateway JWT, GraphQL, extensions, rows; for the raw app its
  handler — with the database driver's thread left out;
* **process**: all threads' CPU per request (``time.process_time``): on SQLite this
  includes the statement, run in aiosqlite's thread; on PostgreSQL the statement runs in the
  server (not counted) and the process's part is the driver's.

Printed per block and as the minimum over blocks (the least disturbed): loop and process
milliseconds per request, and the gateway's over the raw app's (the issue's ratio is the
raw app's throughput over the gateway's: for CPU-bound cells it is about raw/gateway
process CPU). Each side's answer is checked against the other's first.

Run with another checkout's python (a ``gateway`` that is an earlier version) for a before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet

from bench import raw_grid, seeding
from bench.bench_organizations import JWT_SECRET, QUERY, seed
from bench.seeding import UNMETERED_QUERY_COST_BUDGET
from gateway.app import create_app
from gateway.auth import mint_token
from gateway.settings import Settings

Call = Any  # an async function answering one request's body


def asgi_call(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b"", query: str = ""
) -> Call:
    """One request to ``app`` through ASGI, as uvicorn would send it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }

    async def call() -> bytes:
        out: list[dict[str, Any]] = []
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            out.append(message)

        await app(dict(scope, state={}), receive, send)
        status = next(m["status"] for m in out if m["type"] == "http.response.start")
        answer = b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")
        if status != 200 or b'"errors"' in answer:
            raise RuntimeError(f"HTTP {status}: {answer[:300]!r}")
        return answer

    return call


async def block(call: Call, requests: int) -> tuple[float, float]:
    """Loop-thread and process CPU, ms per request."""
    loop, process = time.thread_time(), time.process_time()
    for _ in range(requests):
        await call()
    return (
        (time.thread_time() - loop) / requests * 1000,
        (time.process_time() - process) / requests * 1000,
    )


async def run(args: argparse.Namespace, database_url: str, data_dir: str) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=Path(data_dir),
        secrets_key=Fernet.generate_key().decode(),
        in_process_scheduler=False,
        migrate_on_start=False,
        web_app=False,
        log_level="WARNING",
        jwt_secret=JWT_SECRET,
        query_cost_budget_per_minute=UNMETERED_QUERY_COST_BUDGET,
    )
    await seed(settings, args.organizations)
    if database_url.startswith("postgres"):  # statistics, as in bench_organizations.py
        await seeding.analyze(database_url)
    token = mint_token(settings, seller_id="bench", roles=["SELLER_ADMIN"])
    gateway_app = create_app(settings)
    raw_app, grid = raw_grid.build(database_url)
    body = json.dumps({"query": QUERY, "variables": {"pageSize": args.page_size}}).encode()
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    calls = {
        "gateway": asgi_call(gateway_app, "POST", "/graphql", headers, body),
        "raw": asgi_call(
            raw_app, "GET", "/grid", {}, query=f"page_size={args.page_size}&mapped=1&desc=1"
        ),
    }
    async with gateway_app.router.lifespan_context(gateway_app):
        await grid.open()
        try:
            answers = {side: json.loads(await call()) for side, call in calls.items()}
            assert answers["gateway"]["data"]["organizations"] == answers["raw"], "answers differ"
            for call in calls.values():  # warm up
                await block(call, 20)
            results: dict[str, list[tuple[float, float]]] = {"gateway": [], "raw": []}
            for round_ in range(args.rounds):
                order = list(calls) if round_ % 2 == 0 else list(reversed(calls))
                for side in order:
                    results[side].append(await block(calls[side], args.requests))
        finally:
            await grid.close()
    print(
        f"[{args.backend}] page of {args.page_size}, {args.rounds} blocks × {args.requests} "
        f"requests per side, interleaved; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'block':>5} | {'gateway loop':>12} {'process':>8} | {'raw loop':>8} {'process':>8}")
    for i, (g, r) in enumerate(zip(results["gateway"], results["raw"], strict=True)):
        print(f"{i + 1:>5} | {g[0]:10.2f}ms {g[1]:6.2f}ms | {r[0]:6.2f}ms {r[1]:6.2f}ms")
    g_loop, g_proc = (min(x[i] for x in results["gateway"]) for i in (0, 1))
    r_loop, r_proc = (min(x[i] for x in results["raw"]) for i in (0, 1))
    print(
        f"  min | {g_loop:10.2f}ms {g_proc:6.2f}ms | {r_loop:6.2f}ms {r_proc:6.2f}ms | "
        f"gateway − raw: loop {g_loop - r_loop:.2f} ms, process {g_proc - r_proc:.2f} ms; "
        f"raw/gateway process CPU {r_proc / g_proc:.2f}×"
    )


async def main(args: argparse.Namespace) -> None:
    async with seeding.bench_database(args.backend, "halo_bench_gridcpu") as (url, data_dir):
        await run(args, url, data_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--organizations", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    asyncio.run(main(parser.parse_args()))
