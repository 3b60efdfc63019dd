"""Live updates at scale: N websocket subscribers on one server process, three servers
measured in the same run, interleaved.

    .venv/bin/python bench/bench_subscribers.py [--scenarios 1000x20 10000x5] [--rounds 3]
    (the Node baseline needs `npm ci` in bench/node first)

Each round starts, in a rotating order, each of:

* ``gateway``: `halo-gateway serve` in scale-out mode (Redis event bus, one Redis
  subscription for the process, live selections executed once and shared);
* ``graphql-ws``: graphql-ws 6 on Node (bench/node/graphql_ws_server.mjs), the same
  `syncEvents` subscription from the same Redis channel, executed per socket as that library
  does — what a team would pick instead;
* ``ceiling``: a Python server (bench/ceiling_server.py, same uvicorn stack) that writes one
  pre-serialised string per event to every socket and does nothing else.

For each: N graphql-transport-ws sockets from this process subscribe to the same document,
then a burst of events is published through Redis the way a worker does (the gateway's own
bus, so sequences are numbered), and we measure the server's CPU time per delivery during the
burst (user + system, psutil), publish-to-receive latency at every socket (p50/p99), and the
server's resident memory per socket (RSS after connecting minus before, ÷ N). Ratios are
per round (the same load on the machine), then their median.
Needs Redis on 127.0.0.1:6379 and `ulimit -n` above N + a few hundred.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psutil
from cryptography.fernet import Fernet
from websockets.asyncio.client import connect

from gateway.auth import mint_token
from gateway.events import RedisEventBus, SyncEvent
from gateway.settings import Settings
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379/0"
QUERY = "subscription { syncEvents { runId phase processed at } }"
SERVERS = ("gateway", "graphql-ws", "ceiling")
NODE_DIR = ROOT / "bench" / "node"


@dataclass
class Measured:
    server: str
    sockets: int
    events: int
    deliveries: int
    connect_s: float
    burst_s: float
    cpu_us_per_delivery: float
    p50_ms: float
    p99_ms: float
    kb_per_socket: float


def start(server: str, port: int, namespace: str, tmp: str, secret: str) -> subprocess.Popen:
    if server == "gateway":
        env = {
            **os.environ,
            "REDIS_URL": REDIS,
            "REDIS_NAMESPACE": namespace,
            "DATABASE_URL": f"sqlite://{tmp}/b.sqlite3",
            "DATA_DIR": tmp,
            "SECRETS_KEY": Fernet.generate_key().decode(),
            "LOG_LEVEL": "WARNING",
        }
        command = [str(Path(sys.executable).parent / "halo-gateway"), "serve", "--port", str(port)]
        return subprocess.Popen(command, env=env)
    args = [str(port), REDIS, namespace, secret]
    if server == "graphql-ws":
        return subprocess.Popen(
            ["node", str(NODE_DIR / "graphql_ws_server.mjs"), *args],
            stdout=subprocess.DEVNULL,
        )
    return subprocess.Popen([sys.executable, str(ROOT / "bench" / "ceiling_server.py"), *args])


async def wait_listening(server: subprocess.Popen, port: int) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if server.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            try:
                await client.get(f"http://127.0.0.1:{port}/healthz")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise TimeoutError("the server did not start")


async def open_subscriber(url: str, token: str) -> object:
    ws = await connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_queue=None,
        ping_interval=None,
        compression=None,
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
    return ws


async def collect(ws: object, events: int, latencies: list[float]) -> None:
    got = 0
    while got < events:
        message = json.loads(await ws.recv())  # type: ignore[attr-defined]
        if message.get("type") != "next":
            continue
        sent = datetime.fromisoformat(message["payload"]["data"]["syncEvents"]["at"])
        latencies.append((time.time() - sent.timestamp()) * 1000)
        got += 1


async def settled(process: psutil.Process) -> None:
    """Waits until the server has finished handling the subscribes (the client sends them
    without waiting for anything): less than 5 % of a core used over half a second."""
    await asyncio.sleep(1)
    for _ in range(240):
        before = cpu_seconds(process)
        await asyncio.sleep(0.5)
        if cpu_seconds(process) - before < 0.025:
            return
    raise TimeoutError("the server stayed busy after the sockets subscribed")


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def measure(server_kind: str, sockets: int, events: int) -> Measured:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    settings = Settings()
    secret = settings.jwt_secrets[0]
    with tempfile.TemporaryDirectory() as tmp:
        server = start(server_kind, port, namespace, tmp, secret)
        clients: list = []
        try:
            await wait_listening(server, port)
            token = mint_token(settings, seller_id="bench", roles=["SELLER_ADMIN"])
            process = psutil.Process(server.pid)
            await asyncio.sleep(1)
            rss_before = process.memory_info().rss
            url = f"ws://127.0.0.1:{port}/graphql"
            started = time.perf_counter()
            for first in range(0, sockets, 200):
                clients += await asyncio.gather(
                    *(open_subscriber(url, token) for _ in range(min(200, sockets - first)))
                )
            connect_s = time.perf_counter() - started
            await settled(process)  # every subscribe handled: the server is idle again
            rss_after = process.memory_info().rss
            bus = RedisEventBus(REDIS, namespace)
            latencies: list[float] = []
            readers = [asyncio.create_task(collect(ws, events, latencies)) for ws in clients]
            cpu_before = cpu_seconds(process)
            burst_started = time.perf_counter()
            for i in range(events):
                await bus.publish(
                    SyncEvent(
                        seller_id="bench",
                        run_id=1,
                        kind="SUBSCRIPTIONS",
                        scope="ALL",
                        phase="PROGRESS",
                        processed=i,
                        total=events,
                    )
                )
            await asyncio.wait_for(asyncio.gather(*readers), 900)
            burst_s = time.perf_counter() - burst_started
            cpu = cpu_seconds(process) - cpu_before
            await bus.close()
        finally:
            for ws in clients:
                with contextlib.suppress(Exception):
                    await ws.close()  # type: ignore[attr-defined]
            server.terminate()
            server.wait(30)
    q = statistics.quantiles(latencies, n=100)
    return Measured(
        server=server_kind,
        sockets=sockets,
        events=events,
        deliveries=len(latencies),
        connect_s=connect_s,
        burst_s=burst_s,
        cpu_us_per_delivery=cpu / len(latencies) * 1e6,
        p50_ms=q[49],
        p99_ms=q[98],
        kb_per_socket=(rss_after - rss_before) / sockets / 1024,
    )


def report(rounds: list[dict[str, Measured]]) -> None:
    first = rounds[0]["gateway"]
    print(f"\n## {first.sockets} sockets × {first.events} events, {len(rounds)} rounds")
    print("| round | server | CPU µs/delivery | p50 / p99 ms | KB/socket | burst s | connect s |")
    print("|---|---|---|---|---|---|---|")
    for number, measured in enumerate(rounds, 1):
        for kind in SERVERS:
            m = measured[kind]
            print(
                f"| {number} | {kind} | {m.cpu_us_per_delivery:.1f} | {m.p50_ms:.0f} / "
                f"{m.p99_ms:.0f} | {m.kb_per_socket:.1f} | {m.burst_s:.2f} | {m.connect_s:.1f} |"
            )
    vs_node = [
        r["gateway"].cpu_us_per_delivery / r["graphql-ws"].cpu_us_per_delivery for r in rounds
    ]
    vs_ceiling = [
        r["gateway"].cpu_us_per_delivery / r["ceiling"].cpu_us_per_delivery for r in rounds
    ]
    p99 = [r["gateway"].p99_ms / r["graphql-ws"].p99_ms for r in rounds]
    memory = ", ".join(f"{r['gateway'].kb_per_socket:.1f}" for r in rounds)
    print(
        f"\nratios per round — gateway CPU/delivery ÷ graphql-ws: "
        f"{', '.join(f'{x:.2f}' for x in vs_node)} (median {statistics.median(vs_node):.2f}, "
        f"target ≤ 0.5); ÷ ceiling: {', '.join(f'{x:.2f}' for x in vs_ceiling)} "
        f"(median {statistics.median(vs_ceiling):.2f}, target ≤ 2); gateway p99 ÷ graphql-ws "
        f"p99: {', '.join(f'{x:.2f}' for x in p99)} (median {statistics.median(p99):.2f}, "
        f"target < 1); gateway KB/socket: {memory} (target ≤ 25)",
        flush=True,
    )


async def main(scenarios: list[tuple[int, int]], rounds: int, servers: tuple[str, ...]) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for sockets, events in scenarios:
        results: list[dict[str, Measured]] = []
        for number in range(rounds):
            order = servers[number % len(servers) :] + servers[: number % len(servers)]
            measured = {}
            for kind in order:
                measured[kind] = await measure(kind, sockets, events)
                m = measured[kind]
                print(
                    f"  round {number + 1} {kind}: {m.cpu_us_per_delivery:.1f} µs/delivery, "
                    f"p99 {m.p99_ms:.0f} ms, {m.kb_per_socket:.1f} KB/socket "
                    f"(load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
            results.append(measured)
        if set(servers) == set(SERVERS):
            report(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", nargs="+", default=["1000x20", "10000x5"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=SERVERS)
    args = parser.parse_args()
    pairs = [tuple(int(x) for x in s.split("x")) for s in args.scenarios]
    asyncio.run(main(pairs, args.rounds, tuple(args.servers)))  # type: ignore[arg-type]
