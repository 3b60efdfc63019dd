"""A whole subscriptions sync: 1,000 organisations × 20 subscriptions through the real stack.

    .venv/bin/python bench/bench_sync.py [--organizations 1000] [--per-org 20]
        [--limit 300] [--window 300] [--latency-ms 50]

Gateway with its embedded worker, SQLite, and the HaloPSA simulator over real HTTP with 50 ms
latency and (by default) the real rate limit of 300 requests per rolling 300 s. Printed: wall
time of the run, write calls, the lower bound the rate limit and latency allow, their ratio,
and the process's peak memory. A second, no-change run shows the ledger's zero-write resync.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench import seeding
from gateway.settings import Settings

BATCH = 50


async def seed(settings: Settings, sim_url: str, orgs: int, per_org: int, clients: list) -> None:
    async with seeding.migrated(settings):
        org_rows = await seeding.mapped_organizations(
            "bench", [f"Org {i}" for i in range(orgs)], [(c["id"], c["name"]) for c in clients]
        )
        await seeding.connection(settings, "bench", sim_url)
        await seeding.subscriptions("bench", org_rows, per_org)


RUN_FIELDS = "id state created unchanged haloCalls haloRateLimited haloWaitSeconds"


async def main(args: argparse.Namespace) -> None:
    records = args.organizations * args.per_org
    writes = -(-records // BATCH)
    # HaloPSA's rate limit on both sides: the simulator's 429s and the gateway's limiter.
    with seeding.embedded_bench(
        latency_ms=args.latency_ms, rate_limit=(args.limit, args.window)
    ) as bench:
        settings, instance = bench.settings, bench.halo
        clients = [instance.add_client(f"Org {i}") for i in range(args.organizations)]
        await seed(settings, bench.halo_url, args.organizations, args.per_org, clients)
        async with seeding.gateway_client(settings, "bench", timeout=60) as client:
            started = time.perf_counter()
            run = await seeding.run_sync(client, seeding.SYNC_SUBSCRIPTIONS, RUN_FIELDS)
            wall = time.perf_counter() - started
            again_started = time.perf_counter()
            again = await seeding.run_sync(client, seeding.SYNC_SUBSCRIPTIONS, RUN_FIELDS)
            again_wall = time.perf_counter() - again_started
    latency_floor = writes * args.latency_ms / 1000
    over = max(0, writes - args.limit)
    rate_floor = (
        (args.window if over else 0) + over * args.latency_ms / 1000 if over <= args.limit else None
    )
    floor = max(latency_floor, rate_floor or 0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.organizations} orgs × {args.per_org} subs = {records} licences; "
        f"limit {args.limit}/{args.window:.0f}s; latency {args.latency_ms} ms"
    )
    print(
        f"run: {run['state']} created={run['created']} wall={wall:.1f}s "
        f"write calls={instance.counters.get('licence_posts', 0)} (needed {writes}) "
        f"halo calls={run['haloCalls']} 429s={run['haloRateLimited']} "
        f"waited={run['haloWaitSeconds']:.1f}s"
    )
    # No latency and no rate limit met: no lower bound to compare with.
    ratio = f"{wall / floor:.2f}" if floor > 0 else "n/a"
    print(f"lower bound={floor:.1f}s ratio={ratio}  peak RSS={peak_mb:.0f} MB")
    print(
        f"no-change resync: unchanged={again['unchanged']} wall={again_wall:.1f}s "
        f"write calls added={instance.counters.get('licence_posts', 0) - writes}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--organizations", type=int, default=1000)
    parser.add_argument("--per-org", type=int, default=20)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--window", type=float, default=300.0)
    parser.add_argument("--latency-ms", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
