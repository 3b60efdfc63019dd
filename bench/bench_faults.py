"""Money exactly once, the long way (#13): a 2,000-licence push on the scale-out set-up under
HaloPSA's faults and worker kills, checked licence by licence.

    .venv/bin/python bench/bench_faults.py [--subscriptions 2000] [--scenarios clean,lost,429,kills]
        [--timeout 5] [--readback 5] [--window 300] [--throttle 360] [--kills 10]
        [--fault-rate 0.05] [--latency-ms 50] [--heartbeat-ms 5000] [--lease 5] [--seed N]

PostgreSQL (a fresh database per scenario on 127.0.0.1:5432), Redis (a fresh namespace), two
`halo-gateway worker` processes, a gateway in a thread and the HaloPSA simulator over real
HTTP with ``--latency-ms`` per call and the real rate limit (300 per rolling ``--window``).
Scenarios, each a first sync of ``--subscriptions`` subscriptions in 40 clients, with a licence
a person entered by hand that looks exactly like one of them:

* ``clean``  no faults: the baseline the others' wall times are divided by;
* ``lost``   one write of each kind, then 5 % of writes, lose their answer after HaloPSA
             stored them (reset, timeout, 502), commit late, or store half of the array
             and answer 400;
* ``429``    a third of the way in, HaloPSA's window is full of another integration's calls
             for ``--throttle`` seconds (default 6 minutes: longer than the 5-minute window);
* ``kills``  the worker running the run is killed (SIGKILL) ``--kills`` times at random
             points (when HaloPSA holds a random number of licences, plus up to 1 s), a
             fresh worker started each time; lost answers at ``--fault-rate`` too.

Printed per scenario: the run's state and message, wall time and its ratio to ``clean``,
the counts and whether they add up, duplicates / missing licences in HaloPSA, whether the
hand-entered licence was adopted, HaloPSA calls counted by the run against requests the
simulator received, attempts, and the workers' ERROR and WARNING lines by logger.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench import seeding
from gateway.auth import mint_token
from gateway.halopsa.simulator import SimulatorState, create_simulator_app
from gateway.models import OrganizationMapping, SyncedSubscription, SyncRun
from gateway.services.sync.licences import licence_payload, to_licence_write
from gateway.settings import Settings
from tests.support import data
from tests.support.fleet import Fleet
from tests.support.servers import serve_in_thread

SELLER = "bench"
ORGANIZATIONS = 40
RUN_FIELDS = (
    "id state message total processed created updated unchanged skipped failed "
    "haloCalls haloRateLimited haloRetries haloWaitSeconds"
)
COUNTS = ("created", "updated", "unchanged", "skipped", "failed")
FINISHED = {"SUCCEEDED", "FAILED", "CANCELLED"}
# A run that has not finished in this long is reported as stuck.
RUN_DEADLINE_SECONDS = 3600.0


def occupy_rate_window(instance: Any, seconds: float) -> None:
    """HaloPSA's rolling window is full (another integration's calls) for ``seconds``:
    every request is answered 429 until then, as HaloPSA does, without Retry-After."""
    limit, window = instance.faults.rate_limit
    frees_at = time.monotonic() + seconds - window
    instance.requests = deque([frees_at] * limit)


async def gql(client: httpx.AsyncClient, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query})
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def run_state(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    runs = (await gql(client, f"{{ syncRuns(first: 5) {{ {RUN_FIELDS} }} }}"))["syncRuns"]
    return next(r for r in runs if r["id"] == run_id)


async def until(condition: Any, what: str, timeout: float = 600) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.005)
    return found


async def seed(settings: Settings, sim: Any, sim_url: str, subscriptions: int) -> tuple[list, int]:
    """Subscriptions in 40 mapped clients, and a hand-entered twin of the first one."""
    async with seeding.migrated(settings):
        subs = await data.mapped_subscriptions(
            SELLER, sim, ORGANIZATIONS, -(-subscriptions // ORGANIZATIONS)
        )
        await data.connection(
            settings,
            SELLER,
            resource_server=f"{sim_url}/api",
            authorization_server=f"{sim_url}/auth",
            client_id="c",
            client_secret="s",
        )
        mapping = await OrganizationMapping.get(
            organization_id=subs[0].organization_id  # type: ignore[attr-defined]
        ).select_related("psa_organization")
        twin = licence_payload(subs[0], mapping.psa_organization.halo_id, unit_prices=False)
        by_hand = sim.next_licence_id
        sim.licences[by_hand] = {
            "id": by_hand,
            "is_active": True,
            **to_licence_write(twin, None).to_json(),
        }
        sim.next_licence_id += 1
        # Reviewed on day one: not ours, so the first push goes ahead beside it.
        await data.reviewed_client(SELLER, mapping.psa_organization.halo_id, not_ours=(by_hand,))
    return [s.name for s in subs], by_hand


async def scenario(name: str, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    state = SimulatorState()
    sim = state.add_instance(client_id="c", client_secret="s")
    sim.set_faults(latency_ms=args.latency_ms, rate_limit=(300, args.window), seed=args.seed)
    result: dict[str, Any] = {"scenario": name}
    async with seeding.temporary_postgres() as database_url:
        with (
            tempfile.TemporaryDirectory() as tmp,
            serve_in_thread(create_simulator_app(state)) as sim_url,
        ):
            settings = seeding.scale_out_settings(
                database_url,
                Path(tmp),
                broker_heartbeat_timeout_ms=args.heartbeat_ms,
                broker_maintenance_chance=1_000_000,
                halo_timeout_seconds=args.timeout,
                halo_readback_delay_seconds=args.readback,
                halo_rate_limit_window_seconds=args.window,
                sync_cooldown_minutes=0,
                sync_lease_seconds=args.lease,
            )
            names, by_hand = await seed(settings, sim, sim_url, args.subscriptions)
            if name == "lost":
                # one of each kind early on, then the rate does the rest
                kinds = ["reset", "timeout", "502", "late", "partial"]
                sim.set_faults(write_faults={3 * i + 2: kind for i, kind in enumerate(kinds)})
            if name in ("lost", "kills"):
                # late: past the client's timeout, before its read-back (timeout + read-back)
                sim.set_faults(
                    write_fault_rate=args.fault_rate,
                    write_fault_kinds=["reset", "timeout", "502", "late", "partial"],
                    late_commit_seconds=args.timeout * 1.5,
                )
            fleet = Fleet(settings, Path(tmp))
            await fleet.start()
            await fleet.start()
            token = mint_token(settings, seller_id=SELLER, roles=["SELLER_ADMIN"])
            from gateway.app import create_app

            try:
                with serve_in_thread(create_app(settings)) as base:
                    async with httpx.AsyncClient(
                        base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}
                    ) as client:
                        # Both workers up before the clock starts
                        await until(fleet.up, "workers up", timeout=120)
                        started = time.perf_counter()
                        mutation = "mutation { syncSubscriptions { id } }"
                        run_id = (await gql(client, mutation))["syncSubscriptions"]["id"]
                        events = await drive(name, args, rng, sim, fleet, int(run_id))
                        result["events"] = events
                        deadline = time.monotonic() + RUN_DEADLINE_SECONDS
                        while (run := await run_state(client, run_id))["state"] not in FINISHED:
                            if time.monotonic() > deadline:
                                break
                            await asyncio.sleep(0.2)
                        result["wall"] = time.perf_counter() - started
                        # a write committing late would land now
                        await asyncio.sleep(args.timeout * 1.5 + 1)
            finally:
                await fleet.stop()
            # read while the workers' log files are still there
            result.update(
                workers=len(fleet.workers),
                serious=fleet.serious(),
                warnings=fleet.warnings(),
                adopted=fleet.count("adopted licence"),
            )
            async with seeding.migrated(settings):
                owned = await SyncedSubscription.filter(seller_id=SELLER).values_list(
                    "halo_licence_id", flat=True
                )
                attempts = (await SyncRun.get(id=int(run_id))).attempts
    licence_names = Counter(lic["name"] for i, lic in sim.licences.items() if i != by_hand)
    result.update(
        run=run,
        attempts=attempts,
        subscriptions=len(names),
        duplicates=sum(n - 1 for n in licence_names.values() if n > 1),
        missing=sum(1 for n in names if n not in licence_names),
        by_hand_adopted=by_hand in owned or by_hand not in sim.licences,
        counts_add_up=sum(run[c] for c in COUNTS) == run["processed"] <= run["total"],
        sim_requests=sim.counters.get("requests", 0) + sim.counters.get("tokens", 0),
        sim_429=sim.counters.get("rate_limited", 0),
        faults={k[12:]: v for k, v in sim.counters.items() if k.startswith("write_fault_")},
    )
    return result


async def drive(
    name: str,
    args: argparse.Namespace,
    rng: random.Random,
    sim: Any,
    fleet: Fleet,
    run_id: int,
) -> list[str]:
    """What happens to the run while it goes: a 429 window, or the kills."""
    began = time.perf_counter()
    events: list[str] = []
    total = args.subscriptions
    if name == "429":
        await until(lambda: len(sim.licences) > total // 3, "a third stored", timeout=600)
        occupy_rate_window(sim, args.throttle)
        events.append(
            f"{time.perf_counter() - began:.1f}s: window full for {args.throttle:.0f}s "
            f"({len(sim.licences) - 1} licences stored)"
        )
    if name == "kills":
        points = sorted(rng.sample(range(1, total - 4 * 50), args.kills))
        for attempt, stored in enumerate(points, start=1):
            running = await until(lambda a=attempt: fleet.running(run_id, a), f"attempt {attempt}")
            await until(lambda s=stored: len(sim.licences) > s, f"{stored} stored")
            await asyncio.sleep(rng.uniform(0, 1.0))
            events.append(
                f"{time.perf_counter() - began:.1f}s: kill -9 {running.name} (attempt "
                f"{attempt}, {len(sim.licences) - 1} licences stored)"
            )
            await running.kill()
            await fleet.start()
    return events


def report(result: dict[str, Any], baseline: float | None) -> None:
    run = result["run"]
    ratio = f" ({result['wall'] / baseline:.2f}x clean)" if baseline else ""
    print(f"\n== {result['scenario']} ==")
    for event in result.get("events", []):
        print(f"  {event}")
    print(
        f"  run: {run['state']}{': ' + run['message'] if run['message'] else ''}; "
        f"wall {result['wall']:.1f}s{ratio}; attempts {result['attempts']}; "
        f"workers started {result['workers']}"
    )
    print(
        "  counts: "
        + ", ".join(f"{c} {run[c]}" for c in COUNTS)
        + f"; processed {run['processed']} of total {run['total']}; "
        + ("add up" if result["counts_add_up"] else "DO NOT ADD UP")
    )
    print(
        f"  HaloPSA: {result['subscriptions']} subscriptions, duplicates {result['duplicates']}, "
        f"missing {result['missing']}, hand-entered look-alike adopted: "
        f"{'YES' if result['by_hand_adopted'] else 'no'}; write faults {result['faults']}; "
        f"licences adopted after a lost answer or a kill {result['adopted']}"
    )
    print(
        f"  calls: run counted {run['haloCalls']} (429s {run['haloRateLimited']}, retries "
        f"{run['haloRetries']}, waited {run['haloWaitSeconds']:.0f}s); simulator received "
        f"{result['sim_requests']} (429s {result['sim_429']})"
    )
    serious = result["serious"]
    print(f"  worker log: ERROR/CRITICAL {len(serious)}; WARNING by logger {result['warnings']}")
    for line in serious[:5]:
        print(f"    {line.get('level')} {line.get('name')}: {str(line.get('event'))[:200]}")


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    print(
        f"{args.subscriptions} subscriptions in {ORGANIZATIONS} clients; PostgreSQL, Redis, "
        f"2 worker processes; latency {args.latency_ms} ms; timeout {args.timeout}s, "
        f"read-back {args.readback}s; rate limit 300 per {args.window:.0f}s; "
        f"heartbeat {args.heartbeat_ms} ms; seed {args.seed}"
    )
    baseline = None
    for name in args.scenarios.split(","):
        result = await scenario(name, args, rng)
        if name == "clean":
            baseline = result["wall"]
        report(result, baseline)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=2000)
    parser.add_argument("--scenarios", default="clean,lost,429,kills")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--readback", type=float, default=5.0)
    parser.add_argument("--window", type=float, default=300.0)
    parser.add_argument("--throttle", type=float, default=360.0)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--heartbeat-ms", type=int, default=5000)
    # once leases have an owner per execution, a killed worker's run resumes when it expires
    parser.add_argument("--lease", type=int, default=5)
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(1 << 30))
    asyncio.run(main(parser.parse_args()))
