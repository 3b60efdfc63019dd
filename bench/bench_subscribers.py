"""Live updates at scale: N websocket subscribers on one gateway process.

    .venv/bin/python bench/bench_subscribers.py [--sockets 1000 10000] [--events 20]

The gateway runs as a real `halo-gateway serve` process in scale-out mode (Redis event bus,
one Redis subscription for the whole process); this script opens N graphql-transport-ws
sockets subscribed to `syncEvents`, then publishes a burst of events through Redis the way a
worker does, and measures publish-to-receive latency at every socket (p50/p99) and the
gateway's resident memory per socket (RSS after connecting minus before, ÷ N).
Needs Redis on 127.0.0.1:6379 and a high enough `ulimit -n` (2 descriptors per socket).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
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

REDIS = "redis://127.0.0.1:6379/0"
QUERY = "subscription { syncEvents { runId phase processed at } }"


async def open_subscriber(url: str, token: str) -> object:
    ws = await connect(
        url, subprotocols=["graphql-transport-ws"], max_queue=None, ping_interval=None
    )  # type: ignore[list-item]
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


async def measure(sockets: int, events: int) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        key = Fernet.generate_key().decode()
        env = {
            **os.environ,
            "REDIS_URL": REDIS,
            "REDIS_NAMESPACE": namespace,
            "DATABASE_URL": f"sqlite://{tmp}/b.sqlite3",
            "DATA_DIR": tmp,
            "SECRETS_KEY": key,
            "LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
            [str(Path(sys.executable).parent / "halo-gateway"), "serve", "--port", str(port)],
            env=env,
        )
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(300):
                    try:
                        if (
                            await client.get(f"http://127.0.0.1:{port}/healthz")
                        ).status_code == 200:
                            break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.1)
            settings = Settings(secrets_key=key)
            token = mint_token(settings, seller_id="bench", roles=["SELLER_ADMIN"])
            gateway = psutil.Process(server.pid)
            await asyncio.sleep(1)
            rss_before = gateway.memory_info().rss
            url = f"ws://127.0.0.1:{port}/graphql"
            started = time.perf_counter()
            clients = []
            for start in range(0, sockets, 200):
                clients += await asyncio.gather(
                    *(open_subscriber(url, token) for _ in range(min(200, sockets - start)))
                )
            connect_s = time.perf_counter() - started
            await asyncio.sleep(2)
            rss_after = gateway.memory_info().rss
            bus = RedisEventBus(REDIS, namespace)
            latencies: list[float] = []
            readers = [asyncio.create_task(collect(ws, events, latencies)) for ws in clients]
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
                    )
                )
            await asyncio.wait_for(asyncio.gather(*readers), 600)
            burst_s = time.perf_counter() - burst_started
            await bus.close()
            for ws in clients:
                await ws.close()  # type: ignore[attr-defined]
        finally:
            server.terminate()
            server.wait(30)
    q = statistics.quantiles(latencies, n=100)
    per_socket_kb = (rss_after - rss_before) / sockets / 1024
    print(
        f"sockets={sockets} events={events} deliveries={len(latencies)} "
        f"connect={connect_s:.1f}s burst={burst_s:.2f}s "
        f"latency p50={q[49]:.1f}ms p99={q[98]:.1f}ms memory/socket={per_socket_kb:.1f} KB"
    )


async def main(counts: list[int], events: int) -> None:
    for count in counts:
        await measure(count, events)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.sockets, args.events))
