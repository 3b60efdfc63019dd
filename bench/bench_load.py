"""The mapping grid under 200 concurrent clients, with and without a subscriptions sync running.

    .venv/bin/python bench/bench_load.py [--clients 200] [--duration 30] [--organizations 2000]
        [--mapped 1000] [--per-org 20] [--latency-ms 50] [--worker embedded|process]

Three processes besides this one, as deployed:

* ``halo-gateway simulator`` — HaloPSA over real HTTP, ``--latency-ms`` per call, no rate limit;
* ``halo-gateway serve`` — the gateway (uvicorn), SQLite; with ``--worker embedded`` (the
  default) its embedded Dramatiq worker runs the sync inside the same process, with
  ``--worker process`` a ``halo-gateway worker`` process does (Redis on 127.0.0.1:6379 as
  broker, the same SQLite file);
* this script: the load generator, ``--clients`` asyncio tasks sharing one httpx client, each
  sending ``organizations`` queries back to back (closed loop, no think time): pages of 20,
  50 or 100 rows, sorted by name/reference/status, searched, filtered by mapping status.

Phases, each ``--duration`` seconds after a warm-up: **baseline 1** (no sync), **during
sync** (a ``syncSubscriptions`` run of ``--mapped × --per-org`` licences started just before,
cancelled after), **baseline 2** (no sync; the two baselines are pooled, and their spread
shows how noisy the machine was). Printed per phase: requests, errors, throughput, p50/p99
latency, the gateway process's CPU per answered request and each process's CPU use;
then the ratios during/baseline. Any error
(non-200, a GraphQL error, a timeout) makes the script exit non-zero, as does a sync that did
not overlap the whole phase.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psutil
from cryptography.fernet import Fernet

from bench import seeding
from gateway.auth import mint_token
from gateway.settings import Settings
from tests.support.servers import free_port

SELLER = "bench"
REDIS = "redis://127.0.0.1:6379/0"
GRID = """query ($search: String, $filter: OrganizationFilter, $sort: OrganizationSort,
$page: Int!, $pageSize: Int!) { organizations(search: $search, filter: $filter, sort: $sort,
page: $page, pageSize: $pageSize) { total rows { id name reference status psaOrganizationId
psaOrganizationName psaOrganizationStatus mappingStatus canSyncSubscriptions } } }"""
RUNS = "{ syncRuns(kind: SUBSCRIPTIONS, first: 1) { id state processed total } }"
FINISHED = {"SUCCEEDED", "FAILED", "CANCELLED"}
# Seconds of unmeasured load before each phase: connections opened, caches warm.
WARM_UP_SECONDS = 3.0
# A request slower than this counts as an error (the browser would have given up).
REQUEST_TIMEOUT_SECONDS = 60.0
# How long a cancelled run may take to stop (it stops at a record boundary).
CANCEL_TIMEOUT_SECONDS = 60.0
STARTUP_TIMEOUT_SECONDS = 60.0


def grid_variables(rng: random.Random) -> dict:
    """One request of the mix: what a seller clicking through the mapping grid sends."""
    kind = rng.choice(["page", "page", "search", "filter", "sort"])
    variables: dict = {"page": 1, "pageSize": rng.choice([20, 50, 100])}
    if kind == "page":
        variables["page"] = rng.randint(1, 10)
    elif kind == "search":
        variables["search"] = rng.choice(
            ["Organization 01", "Organization 0012", "Halo 42", "R12", "zzz-none"]
        )
    elif kind == "filter":
        variables["filter"] = {"mappingStatus": [rng.choice(["MAPPED", "UNMAPPED"])]}
        variables["page"] = rng.randint(1, 5)
    else:
        variables["sort"] = {
            "field": rng.choice(["NAME", "REFERENCE", "STATUS"]),
            "direction": rng.choice(["ASC", "DESC"]),
        }
        variables["page"] = rng.randint(1, 5)
    return variables


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per process

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.wall_s

    def pct(self, q: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[q - 1]

    def gateway_cpu_ms_per_request(self) -> float:
        """The gateway process's CPU per answered request (with an embedded worker, its
        sync work included): less noisy than wall-clock figures on a shared machine, since
        other processes' CPU is not counted."""
        return self.cpu_s["gateway"] * 1000 / max(1, len(self.latencies_ms))

    @classmethod
    def pooled(cls, name: str, phases: list[Phase]) -> Phase:
        pooled = cls(name)
        for phase in phases:
            pooled.latencies_ms += phase.latencies_ms
            pooled.errors += phase.errors
            pooled.wall_s += phase.wall_s
            for label, seconds in phase.cpu_s.items():
                pooled.cpu_s[label] = pooled.cpu_s.get(label, 0.0) + seconds
        return pooled


class LoadGenerator:
    """One task per browser, sending grid queries back to back from start to stop.

    The load never pauses (a browser idle for longer than the server's keep-alive timeout
    would find its connection closed under it, an artefact of the bench, not of the
    gateway); phases are time windows over it. A request belongs to the window it started
    in; an error at any time, inside a window or not, counts.
    """

    def __init__(self, browsers: list[httpx.AsyncClient], procs: dict[str, psutil.Process]):
        self.browsers = browsers
        self.procs = procs
        self.window: Phase | None = None
        self.unmeasured = Phase("outside the measured windows")
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._browse(i, b)) for i, b in enumerate(self.browsers)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def measure(self, name: str, seconds: float) -> Phase:
        await asyncio.sleep(WARM_UP_SECONDS)
        phase = Phase(name)
        before = {label: sum(p.cpu_times()[:2]) for label, p in self.procs.items()}
        started = time.perf_counter()
        self.window = phase
        await asyncio.sleep(seconds)
        self.window = None
        phase.wall_s = time.perf_counter() - started
        for label, proc in self.procs.items():
            phase.cpu_s[label] = sum(proc.cpu_times()[:2]) - before[label]
        return phase

    async def _browse(self, index: int, browser: httpx.AsyncClient) -> None:
        rng = random.Random(index)
        while not self._stop.is_set():
            phase = self.window or self.unmeasured
            payload = {"query": GRID, "variables": grid_variables(rng)}
            started = time.perf_counter()
            try:
                response = await browser.post("/graphql", json=payload)
                body = response.json()
                problem = (
                    f"HTTP {response.status_code}"
                    if response.status_code != 200
                    else json.dumps(body["errors"])[:300]
                    if "errors" in body
                    else None
                )
            except (httpx.HTTPError, ValueError) as exc:
                problem = f"{type(exc).__name__}: {exc!r}"
            if problem is not None:
                phase.errors.append(problem)
            else:
                phase.latencies_ms.append((time.perf_counter() - started) * 1000)


async def gql(client: httpx.AsyncClient, query: str) -> dict:
    response = await client.post("/graphql", json={"query": query})
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(f"{query!r} answered {response.status_code} {body}")
    return body["data"]


async def wait_for_running(client: httpx.AsyncClient) -> dict:
    """The run, once its worker has picked it up."""
    while True:
        run = (await gql(client, RUNS))["syncRuns"][0]
        if run["state"] == "RUNNING":
            return run
        if run["state"] in FINISHED:
            raise RuntimeError(f"the sync finished before the phase: {run}")
        await asyncio.sleep(0.2)


async def wait_for_finish(client: httpx.AsyncClient) -> None:
    """Stop only after the worker let go of the run (no half-finished writes at shutdown)."""
    deadline = time.monotonic() + CANCEL_TIMEOUT_SECONDS
    while (await gql(client, RUNS))["syncRuns"][0]["state"] not in FINISHED:
        if time.monotonic() > deadline:
            raise TimeoutError("the cancelled sync did not stop")
        await asyncio.sleep(0.2)


async def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    async with httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not come up")
            await asyncio.sleep(0.2)


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(args, env=env)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def halo_gateway() -> str:
    return str(Path(sys.executable).parent / "halo-gateway")


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        key = Fernet.generate_key().decode()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite://{tmp}/load.sqlite3",
            "DATA_DIR": tmp,
            "SECRETS_KEY": key,
            "LOG_LEVEL": "WARNING",
            "IN_PROCESS_SCHEDULER": "false",
            # The sync should write for the whole phase: no client-side rate limit.
            "HALO_RATE_LIMIT_REQUESTS": "1000000",
            # 200 clients ask far more than one seller's budget a minute (seeding.py).
            "QUERY_COST_BUDGET_PER_MINUTE": str(seeding.UNMETERED_QUERY_COST_BUDGET),
        }
        if args.worker == "process":
            env["REDIS_URL"] = REDIS
            env["REDIS_NAMESPACE"] = f"bench-load-{uuid.uuid4().hex[:8]}"
        settings = Settings(database_url=env["DATABASE_URL"], data_dir=Path(tmp), secrets_key=key)

        sim_port, gateway_port = free_port(), free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        seed_file = Path(tmp) / "halo.json"
        clients = [{"name": f"Halo {i}"} for i in range(args.mapped)]
        seed_file.write_text(
            json.dumps(
                {"instances": [{"client_id": "c", "client_secret": "s", "clients": clients}]}
            )
        )
        async with seeding.migrated(settings):
            orgs = await seeding.mapped_organizations(
                SELLER,
                [f"Organization {i:05d}" for i in range(args.organizations)],
                [(i + 1, c["name"]) for i, c in enumerate(clients)],  # simulator ids from 1
            )
            await seeding.connection(settings, SELLER, sim_url)
            await seeding.subscriptions(SELLER, orgs[: args.mapped], args.per_org)

        cmd = halo_gateway()
        with (
            process(
                [cmd, "simulator", "--port", str(sim_port), "--seed-file", str(seed_file)], env
            ),
            process([cmd, "serve", "--port", str(gateway_port)], env) as gateway,
            worker_process(cmd, env, args.worker) as worker,
        ):
            await wait_until_up(f"{sim_url}/_sim/state")
            async with httpx.AsyncClient() as admin:
                faults = {"latency_ms": args.latency_ms, "rate_limit": None}
                (await admin.post(f"{sim_url}/_sim/faults", json=faults)).raise_for_status()
            base = f"http://127.0.0.1:{gateway_port}"
            await wait_until_up(f"{base}/healthz")
            procs = {"gateway": psutil.Process(gateway.pid), "load generator": psutil.Process()}
            if worker is not None:
                procs["worker"] = psutil.Process(worker.pid)
            token = mint_token(settings, seller_id=SELLER, roles=["SELLER_ADMIN"])
            async with contextlib.AsyncExitStack() as stack:
                # One client (one keep-alive connection) per browser: httpx's pool gets slow
                # with hundreds of connections in one client, and browsers don't share one.
                browsers = [
                    await stack.enter_async_context(
                        httpx.AsyncClient(
                            base_url=base,
                            timeout=REQUEST_TIMEOUT_SECONDS,
                            headers={"Authorization": f"Bearer {token}"},
                            limits=httpx.Limits(max_connections=1),
                        )
                    )
                    for _ in range(args.clients)
                ]
                client = await stack.enter_async_context(
                    httpx.AsyncClient(
                        base_url=base,
                        timeout=REQUEST_TIMEOUT_SECONDS,
                        headers={"Authorization": f"Bearer {token}"},
                    )
                )
                load = LoadGenerator(browsers, procs)
                load.start()
                # Baseline before and after the sync phase: their spread shows the noise of
                # the shared machine, and pooling them cancels a drift.
                first = await load.measure("baseline 1 (no sync)", args.duration)

                run_id = (await gql(client, "mutation { syncSubscriptions { id } }"))[
                    "syncSubscriptions"
                ]["id"]
                before = await wait_for_running(client)
                during = await load.measure("during sync", args.duration)
                after = (await gql(client, RUNS))["syncRuns"][0]
                if after["state"] not in FINISHED:
                    await gql(client, f'mutation {{ cancelSync(runId: "{run_id}") {{ id }} }}')
                    await wait_for_finish(client)

                second = await load.measure("baseline 2 (no sync)", args.duration)
                await load.stop()

    return report(args, [first, second], during, before, after, load.unmeasured)


@contextmanager
def worker_process(cmd: str, env: dict[str, str], mode: str) -> Iterator[subprocess.Popen | None]:
    if mode != "process":
        yield None
        return
    with process([cmd, "worker", "--threads", "1"], env) as worker:
        yield worker


def report(
    args: argparse.Namespace,
    baselines: list[Phase],
    during: Phase,
    before: dict,
    after: dict,
    unmeasured: Phase,
) -> int:
    licences = args.mapped * args.per_org
    written = after["processed"] - before["processed"]
    baseline = Phase.pooled("baseline (pooled)", baselines)
    print(
        f"grid: {args.organizations} organisations ({args.mapped} mapped); {args.clients} "
        f"clients, closed loop, {args.duration:.0f} s per phase; pages of 20/50/100 rows with "
        f"search/sort/filter; halo-gateway serve, SQLite, worker={args.worker}; "
        f"sync of {licences} licences, simulator latency {args.latency_ms} ms"
    )
    for phase in (*baselines, baseline, during):
        cpu = " ".join(f"{k}={v / phase.wall_s * 100:.0f}%" for k, v in phase.cpu_s.items())
        print(
            f"{phase.name:21} requests={len(phase.latencies_ms):6d} errors={len(phase.errors)} "
            f"throughput={phase.throughput:6.1f} req/s p50={phase.pct(50):7.1f} ms "
            f"p99={phase.pct(99):7.1f} ms gateway cpu/request="
            f"{phase.gateway_cpu_ms_per_request():5.1f} ms (cpu {cpu})"
        )
    print(
        f"sync during the phase: {after['state']} at its end, {written} licences processed "
        f"({written / during.wall_s:.0f}/s)"
    )
    print(
        f"requests outside the windows (warm-up, sync start and stop): "
        f"{len(unmeasured.latencies_ms)}, errors {len(unmeasured.errors)}"
    )
    print(
        f"ratio during/baseline: throughput {during.throughput / baseline.throughput:.2f} "
        f"p50 {during.pct(50) / baseline.pct(50):.2f} p99 {during.pct(99) / baseline.pct(99):.2f} "
        f"gateway cpu/request "
        f"{during.gateway_cpu_ms_per_request() / baseline.gateway_cpu_ms_per_request():.2f}"
    )
    failed = False
    for phase in (*baselines, during, unmeasured):
        if phase.errors:
            failed = True
            print(f"ERRORS in {phase.name}: {len(phase.errors)}, first: {phase.errors[0]}")
    if after["state"] != "RUNNING":
        failed = True
        print(
            f"the sync did not run through the whole phase (state {after['state']}): "
            "raise --per-org or --mapped"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--organizations", type=int, default=2000)
    parser.add_argument("--mapped", type=int, default=1000)
    parser.add_argument("--per-org", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--worker", choices=["embedded", "process"], default="embedded")
    sys.exit(asyncio.run(main(parser.parse_args())))
