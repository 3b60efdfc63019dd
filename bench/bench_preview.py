"""The preview against the sync it predicts: 1,000 organisations × 20 subscriptions.

    .venv/bin/python bench/bench_preview.py [--organizations 1000] [--per-org 20]
        [--latency-ms 0] [--repeat 3] [--preview-only]

SQLite, the gateway with its embedded worker, and the HaloPSA simulator over real HTTP with
no rate limit (neither the simulator's nor the gateway's own limiter) and (by default) no
latency: the sync at its fastest, so the ratio printed is the preview's worst case. Three
moments of a seller's life, each previewed then synced:

1. **first sync**: 20,000 creates;
2. **a day later**: 10 % of the subscriptions changed seats, 1 % deleted, the rest unchanged;
3. **nothing changed**: 20,000 unchanged.

Printed per moment: the preview's time (best of ``--repeat``) through ``previewSync`` over
HTTP (first page; the whole plan is computed for the totals) and as a direct service call
(wall and CPU), the run's duration (started → finished, from the run row), their ratio, and
whether the preview's counts equal the run's.

``--preview-only`` skips the syncs (minutes on a busy machine): the ledger is written
straight into the database as a first sync would leave it, so the preview alone can be timed
in a quiet moment: before the first sync, and a day later.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench import seeding
from gateway import db
from gateway.models import (
    Seller,
    Subscription,
)
from gateway.services.sync import now_utc, preview_sync
from gateway.settings import Settings

SELLER = "bench"
RUN_FIELDS = "id state created updated unchanged skipped failed durationMs"
PREVIEW = """{ previewSync(pageSize: 20) {
  counts { create update markDeleted unchanged skipped total }
  money { currency priceBefore priceAfter }
  organizations { id subscriptions { id action } } } }"""


async def seed(settings: Settings, sim_url: str, orgs: int, per_org: int, clients: list) -> None:
    async with seeding.migrated(settings):
        org_rows = await seeding.mapped_organizations(
            SELLER, [f"Org {i}" for i in range(orgs)], [(c["id"], c["name"]) for c in clients]
        )
        await seeding.connection(settings, SELLER, sim_url)
        await seeding.subscriptions(SELLER, org_rows, per_org)
        # Real subscriptions have a term: dates are part of every payload (and of the cost
        # of reading them).
        await Subscription.filter(seller_id=SELLER).update(
            start_date=date(2026, 1, 1), end_date=date(2026, 12, 31)
        )
        # "A day later" deletes 200 subscriptions: the safety valve (more than 50
        # deactivations) would hold that sync for approval. This measures the sync.
        await Seller.filter(id=SELLER).update(valve_enabled=False)


async def seed_ledger(settings: Settings) -> None:
    """The ledger a first sync leaves: every subscription WRITTEN with its payload's hash."""
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            await seeding.written_ledger(SELLER)
    finally:
        await db.close_db(ctx)


async def change_a_day(settings: Settings) -> None:
    """10 % of the subscriptions change seats, 1 % are deleted (as integrators would)."""
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            ids = (
                await Subscription.filter(seller_id=SELLER)
                .order_by("id")
                .values_list("id", flat=True)
            )
            changed = ids[::10]
            deleted = ids[5::100]
            for start in range(0, len(changed), 500):
                await Subscription.filter(id__in=changed[start : start + 500]).update(quantity=25)
            for start in range(0, len(deleted), 500):
                await Subscription.filter(id__in=deleted[start : start + 500]).update(
                    deleted_at=now_utc()
                )
    finally:
        await db.close_db(ctx)


async def preview_over_http(client: httpx.AsyncClient, repeat: int) -> tuple[float, dict]:
    best, counts = float("inf"), {}
    for _ in range(repeat):
        started = time.perf_counter()
        response = await client.post("/graphql", json={"query": PREVIEW})
        best = min(best, time.perf_counter() - started)
        body = response.json()
        assert "errors" not in body, body
        counts = body["data"]["previewSync"]["counts"]
    return best, counts


async def preview_direct(settings: Settings, repeat: int) -> tuple[float, float]:
    ctx = await db.open_db(settings)
    best_wall = best_cpu = float("inf")
    try:
        with db.bound(ctx):
            for _ in range(repeat):
                wall, cpu = time.perf_counter(), time.process_time()
                await preview_sync(SELLER)
                best_wall = min(best_wall, time.perf_counter() - wall)
                best_cpu = min(best_cpu, time.process_time() - cpu)
    finally:
        await db.close_db(ctx)
    return best_wall, best_cpu


def agrees(counts: dict, run: dict) -> bool:
    return (counts["create"], counts["update"] + counts["markDeleted"], counts["unchanged"]) == (
        run["created"],
        run["updated"],
        run["unchanged"],
    ) and counts["skipped"] == run["skipped"]


async def with_syncs(
    settings: Settings, client: httpx.AsyncClient, instance: Any, repeat: int
) -> None:
    for moment in ("first sync", "a day later", "nothing changed"):
        if moment == "a day later":
            await change_a_day(settings)
        http, counts = await preview_over_http(client, repeat)
        wall, cpu = await preview_direct(settings, repeat)
        posts = instance.counters.get("licence_posts", 0)
        requests = instance.counters.get("requests", 0)
        run = await seeding.run_sync(client, seeding.SYNC_SUBSCRIPTIONS, RUN_FIELDS)
        sync_s = run["durationMs"] / 1000
        print(
            f"{moment:>15}: preview {http:.2f} s over HTTP ({wall:.2f} s direct, "
            f"{cpu:.2f} s CPU) | sync {sync_s:.2f} s ({run['state']}, "
            f"created {run['created']:,} updated {run['updated']:,} unchanged "
            f"{run['unchanged']:,}; {instance.counters.get('requests', 0) - requests}"
            f" HaloPSA requests, {instance.counters.get('licence_posts', 0) - posts}"
            f" writes) | preview/sync = {http / sync_s:.2f} | "
            f"counts agree: {agrees(counts, run)}"
        )


async def preview_only(settings: Settings, client: httpx.AsyncClient, repeat: int) -> None:
    for moment in ("first sync", "a day later"):
        if moment == "a day later":
            await seed_ledger(settings)
            await change_a_day(settings)
        http, counts = await preview_over_http(client, repeat)
        wall, cpu = await preview_direct(settings, repeat)
        print(
            f"{moment:>15}: preview {http:.2f} s over HTTP ({wall:.2f} s direct, "
            f"{cpu:.2f} s CPU); create {counts['create']:,} update {counts['update']:,} "
            f"mark deleted {counts['markDeleted']:,} unchanged {counts['unchanged']:,}"
        )


async def main(args: argparse.Namespace) -> None:
    records = args.organizations * args.per_org
    # No rate limit on either side (the bench's default): the sync at its fastest.
    with seeding.embedded_bench(latency_ms=args.latency_ms) as bench:
        settings, instance = bench.settings, bench.halo
        clients = [instance.add_client(f"Org {i}") for i in range(args.organizations)]
        await seed(settings, bench.halo_url, args.organizations, args.per_org, clients)
        print(
            f"{args.organizations} orgs × {args.per_org} subs = {records:,} subscriptions; "
            f"SQLite; simulator without rate limit, latency {args.latency_ms} ms; "
            f"preview best of {args.repeat}"
        )
        async with seeding.gateway_client(settings, SELLER) as client:
            print(f"load average before: {os.getloadavg()[0]:.1f}")
            if args.preview_only:
                await preview_only(settings, client, args.repeat)
            else:
                await with_syncs(settings, client, instance, args.repeat)
            print(
                f"load average after: {os.getloadavg()[0]:.1f}; target: {records:,} "
                "subscriptions previewed in under 2 s"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--organizations", type=int, default=1000)
    parser.add_argument("--per-org", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--preview-only", action="store_true")
    asyncio.run(main(parser.parse_args()))
