"""The drift check's HaloPSA calls against the lower bound, and against reading client by client.

    .venv/bin/python bench/bench_drift.py [--organizations 1000] [--per-org 20]
        [--foreign 1000] [--latency-ms 20] [--repeat 2] [--delete-every 200]

SQLite, the gateway with its embedded worker, the HaloPSA simulator over real HTTP with
``--latency-ms`` per request and no rate limit (neither the simulator's nor the gateway's).
The seller's licences are in HaloPSA as a first sync leaves them (written straight into the
simulator and the ledger: a 20,000-licence push is bench_sync's business), then HaloPSA is
changed by hand: 1 % of the licences edited (seats), every ``--delete-every``th deleted (0.5 %,
each in another client: the worst case for the look-ups that confirm a deletion),
``--foreign`` licences entered under mapped and unmapped clients.

Interleaved, ``--repeat`` times:

* the drift check (the ``reconcile`` mutation, through the worker): its HaloPSA calls (the
  run's ``haloCalls``, the token included, and the simulator's GETs), its duration, and
  whether it found exactly what was changed;
* the baseline: the same licences read client by client (``GET /SoftwareLicence?client_id=``
  for each mapped client, through the same client class), which a check without an
  instance-wide listing would need — its calls and time (HaloPSA's only, no comparison).

Printed: calls against the lower bound ⌈licences / 100⌉ + clients, the ratio to the baseline,
and how long each would take inside HaloPSA's budget of 300 requests per rolling 5 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench import seeding
from gateway.halopsa import HaloClient, HaloCredentials
from gateway.settings import Settings

SELLER = "bench"
# HaloPSA's hosted budget, to say how long a number of calls takes at best.
HALO_BUDGET, HALO_WINDOW_MINUTES = 300, 5
RUN_FIELDS = "id state processed total durationMs haloCalls"
DRIFT = "{ drift { licencesRead counts { edited deactivated deleted foreign total } } }"


async def seed(settings: Settings, sim_url: str, args: argparse.Namespace, instance: Any) -> dict:
    """Licences as a first sync leaves them, then changed by hand; what was changed."""
    clients = [instance.add_client(f"Org {i}") for i in range(args.organizations)]
    async with seeding.migrated(settings):
        org_rows = await seeding.mapped_organizations(
            SELLER,
            [f"Org {i}" for i in range(args.organizations)],
            [(c["id"], c["name"]) for c in clients],
        )
        await seeding.connection(settings, SELLER, sim_url)
        await seeding.subscriptions(SELLER, org_rows, args.per_org)
        await seeding.written_ledger(SELLER, instance)
    ours = sorted(instance.licences)
    deleted = set(ours[7 :: args.delete_every]) if args.delete_every else set()
    edited = [i for i in ours[3::100] if i not in deleted]
    for licence_id in edited:
        instance.licences[licence_id]["count"] += 1
    for licence_id in deleted:
        del instance.licences[licence_id]
    unmapped = [instance.add_client(f"Elsewhere {i}") for i in range(max(1, args.foreign // 10))]
    under_mapped = args.foreign // 2
    for n in range(args.foreign):
        client = clients[n % len(clients)] if n < under_mapped else unmapped[n % len(unmapped)]
        licence_id = instance.next_licence_id
        instance.next_licence_id += 1
        instance.licences[licence_id] = {
            "id": licence_id,
            "client_id": client["id"],
            "name": f"Entered by hand {n}",
            "count": 1,
            "is_active": True,
        }
    return {
        "edited": len(edited),
        "deactivated": 0,
        "deleted": len(deleted),
        "foreign": under_mapped,
        "total": len(edited) + len(deleted) + under_mapped,
        "clients": [c["id"] for c in clients],
    }


async def drift_check(client: httpx.AsyncClient) -> dict:
    return await seeding.run_sync(client, "mutation { reconcile { id } }", RUN_FIELDS)


async def client_by_client(creds: HaloCredentials, clients: list[int]) -> tuple[int, float, int]:
    """Every mapped client's licences, one paged listing per client: calls, seconds, rows."""
    started = time.perf_counter()
    rows = 0
    async with HaloClient(creds, timeout=60) as halo:
        for client_id in clients:
            rows += len([lic async for lic in halo.iter_licences(client_id=client_id)])
    return halo.stats.calls, time.perf_counter() - started, rows


def budget_minutes(calls: int) -> float:
    """The least time ``calls`` requests take inside HaloPSA's rolling budget."""
    return max(0, math.ceil(calls / HALO_BUDGET) - 1) * HALO_WINDOW_MINUTES


async def main(args: argparse.Namespace) -> None:
    # No rate limit on either side (the bench's default): calls are counted, not waited for.
    with seeding.embedded_bench(latency_ms=args.latency_ms) as bench:
        settings, instance = bench.settings, bench.halo
        changed = await seed(settings, bench.halo_url, args, instance)
        licences = len(instance.licences)
        mapped = len(changed["clients"])
        bound = math.ceil(licences / 100) + mapped
        print(
            f"{args.organizations} mapped clients × {args.per_org} licences, {licences:,} "
            f"licences in HaloPSA ({changed['edited']} edited, {changed['deleted']} deleted by "
            f"hand, {args.foreign} entered elsewhere, {changed['foreign']} of them under mapped "
            f"clients); SQLite; simulator latency {args.latency_ms} ms, no rate limit"
        )
        print(f"lower bound ⌈{licences:,} / 100⌉ + {mapped:,} clients = {bound:,} calls")
        async with seeding.gateway_client(settings, SELLER) as client:
            print(f"load average before: {os.getloadavg()[0]:.1f}")
            for attempt in range(1, args.repeat + 1):
                gets = instance.counters.get("requests_get", 0)
                run = await drift_check(client)
                gets = instance.counters.get("requests_get", 0) - gets
                found = (await client.post("/graphql", json={"query": DRIFT})).json()
                counts = found["data"]["drift"]["counts"]
                exact = counts == {k: changed[k] for k in counts}
                calls, seconds, rows = await client_by_client(
                    bench.credentials(), changed["clients"]
                )
                check_s = run["durationMs"] / 1000
                halo_calls = run["haloCalls"]
                print(
                    f"#{attempt} drift check: {run['state']}, {halo_calls} HaloPSA calls "
                    f"(token + {gets} GETs: licence pages, then one per licence gone) "
                    f"≤ bound {bound:,}: {halo_calls <= bound}; {check_s:.1f} s; "
                    f"{run['processed']:,} licences read; found exactly what changed: "
                    f"{exact} {counts}"
                )
                print(
                    f"#{attempt} client by client: {calls:,} calls for {rows:,} licences "
                    f"of mapped clients, {seconds:.1f} s | calls ratio "
                    f"{halo_calls / calls:.3f}, time ratio {check_s / seconds:.2f} | inside "
                    f"300 requests / 5 min: drift check ≥ {budget_minutes(halo_calls)} min, "
                    f"client by client ≥ {budget_minutes(calls)} min"
                )
            print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--organizations", type=int, default=1000)
    parser.add_argument("--per-org", type=int, default=20)
    parser.add_argument("--foreign", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument(
        "--delete-every", type=int, default=200, help="every Nth licence deleted (0: none)"
    )
    parser.add_argument("--repeat", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
