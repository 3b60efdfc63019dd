"""What the two checks before money moves cost a run: the safety valve and day one.

    .venv/bin/python bench/bench_valve.py [--organizations 1000] [--per-org 20]
        [--elsewhere 5000] [--repeat 3]

SQLite, the HaloPSA simulator over real HTTP (no latency, no rate limit), 1,000 mapped
organisations × 20 subscriptions. Printed:

1. **the safety valve**: the preview a run computes before writing (best of ``--repeat``),
   and the verdict plus the plan's hash on it (``valve.check``), a day after a first sync
   (10 % of the subscriptions changed seats, 1 % deleted: ``bench_preview``'s day);
2. **day one**: the check of 1,000 newly mapped clients (``existing.clients_waiting``) — its
   HaloPSA requests against the lower bound, 1 count + ⌈licences / 100⌉ pages, and against
   one read per client — with an empty instance, and with ``--elsewhere`` licences in clients
   that are not mapped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seeding
from bench.bench_preview import SELLER, change_a_day, seed, seed_ledger
from gateway import db
from gateway.halopsa import HaloClient
from gateway.models import ClientReview, OrganizationMapping
from gateway.services.sync import preview_sync
from gateway.services.sync.existing import clients_waiting
from gateway.services.sync.valve import ValveSettings, check
from gateway.settings import Settings


async def valve_cost(settings: Settings, repeat: int) -> None:
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            best_preview = best_check = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                preview = await preview_sync(SELLER)
                judged = time.perf_counter()
                verdict = check(preview, None, ValveSettings())
                best_preview = min(best_preview, judged - started)
                best_check = min(best_check, time.perf_counter() - judged)
    finally:
        await db.close_db(ctx)
    print(
        f"  safety valve: preview {best_preview:.2f} s + verdict and hash {best_check:.3f} s "
        f"({best_check / best_preview:.0%} of the preview); seats {verdict.seats_before:,} → "
        f"{verdict.seats_after:,}, deactivations {verdict.deactivations}, held: {verdict.tripped}"
    )


async def day_one_cost(bench: seeding.EmbeddedBench, label: str) -> None:
    settings, instance = bench.settings, bench.halo
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            await ClientReview.filter(seller_id=SELLER).delete()
            mappings = await OrganizationMapping.filter(seller_id=SELLER).select_related(
                "psa_organization"
            )
            licences = len(instance.licences)
            before = instance.counters.get("requests", 0)
            started = time.perf_counter()
            async with HaloClient(bench.credentials()) as client:
                waiting = await clients_waiting(SELLER, list(mappings), client, run_id=0)
            took = time.perf_counter() - started
            requests = instance.counters.get("requests", 0) - before
    finally:
        await db.close_db(ctx)
    bound = 1 + max(1, -(-licences // 100))
    print(
        f"  day one, {label}: {len(mappings):,} new clients checked in {took:.2f} s with "
        f"{requests} HaloPSA requests (lower bound {bound}; client by client "
        f"{len(mappings):,}); {len(waiting)} waiting"
    )


async def main(args: argparse.Namespace) -> None:
    with seeding.embedded_bench() as bench:
        settings, instance = bench.settings, bench.halo
        clients = [instance.add_client(f"Org {i}") for i in range(args.organizations)]
        await seed(settings, bench.halo_url, args.organizations, args.per_org, clients)
        records = args.organizations * args.per_org
        print(
            f"{args.organizations} orgs × {args.per_org} subs = {records:,} subscriptions; "
            f"SQLite; simulator without latency or rate limit; load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        await day_one_cost(bench, "empty instance")
        others = [instance.add_client(f"Unmapped {i}") for i in range(50)]
        for n in range(args.elsewhere):
            instance.add_licence(others[n % len(others)]["id"], f"By hand {n}")
        await day_one_cost(bench, f"{args.elsewhere:,} licences elsewhere")
        await seed_ledger(settings)
        await change_a_day(settings)
        await valve_cost(settings, args.repeat)
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--organizations", type=int, default=1000)
    parser.add_argument("--per-org", type=int, default=20)
    parser.add_argument("--elsewhere", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
