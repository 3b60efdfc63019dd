"""Where a websocket's memory goes in the gateway: N idle subscribed sockets, measured inside
the server process (issue #15, "≤ 25 KB per socket at 10,000 subscribers").

    .venv/bin/python bench/probe_socket_memory.py [--sockets 2000] [--trace] [--ws IMPL]
        [--stage subscribed|connected|open] [--env NAME=VALUE ...]

Starts the gateway as `halo-gateway serve` does (scale-out: Redis bus, SQLite) in a child
process of this script, opens N graphql-transport-ws sockets from this process (the
bench_subscribers client: connection_init with a token, one `syncEvents` subscribe), waits
until the server is idle, and asks it (SIGUSR1) for what it holds:

* RSS and, with ``--trace``, what Python allocated while the N sockets connected and still
  holds (tracemalloc started at 0 sockets, after a warm-up), by line and by traceback
  (tracing slows the server and adds its own bookkeeping to RSS; the traced bytes are what
  Python asked for, not the C library's fragmentation);
* live objects per type (``gc.get_objects``), before and after, per socket;
* asyncio tasks and timer handles per socket.

``--stage open``: only the websocket handshake; ``connected``: plus connection_init;
``subscribed`` (default): plus the subscribe. ``--ws`` picks uvicorn's websocket
implementation for the run (default: the gateway's own choice, gateway.cli).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REDIS = "redis://127.0.0.1:6379/0"
QUERY = "subscription { syncEvents { runId phase processed at } }"


# --- the server side (a child process) ----------------------------------------------------


def _serve(port: int, out_dir: str, trace: int, ws: str | None) -> None:
    """Runs the gateway like `halo-gateway serve`, and dumps what it holds on SIGUSR1."""
    import uvicorn

    from gateway import cli

    dumps = iter(range(1000))

    def dump(signum: int, frame: Any) -> None:
        number = next(dumps)
        rss = _rss()  # first: counting the objects below allocates
        gc.collect()
        counts = collections.Counter(
            f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
        )
        loop = asyncio._get_running_loop()  # the handler runs between the loop's bytecodes
        tasks = collections.Counter(
            getattr(t.get_coro(), "__qualname__", "?") for t in asyncio.all_tasks(loop)
        )
        timers = len(getattr(loop, "_scheduled", ()))
        info = {"rss": rss, "types": counts, "tasks": tasks, "timers": timers}
        Path(out_dir, f"dump{number}.json").write_text(json.dumps(info))
        if trace and number == 0:
            # Traced from here on: what is still held at the next dump came after it.
            tracemalloc.start(trace)
        elif trace:
            tracemalloc.take_snapshot().dump(str(Path(out_dir, f"dump{number}.trace")))
        Path(out_dir, f"dump{number}.done").write_text("")

    signal.signal(signal.SIGUSR1, dump)
    settings = cli._settings()
    options = cli.uvicorn_options(settings)
    if ws is not None:
        options["ws"] = ws
    uvicorn.run(
        "gateway.cli:app_from_environment",
        factory=True,
        host="127.0.0.1",
        port=port,
        log_config=None,
        **options,
    )


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- the client side ------------------------------------------------------------------------


async def _open(url: str, token: str, stage: str) -> Any:
    from websockets.asyncio.client import connect

    ws = await connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_queue=None,
        ping_interval=None,
        compression=None,
        open_timeout=None,  # a traced server is slow to answer
    )
    if stage == "open":
        return ws
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    if stage == "subscribed":
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
    return ws


def _ask(server: subprocess.Popen, out_dir: str, number: int) -> dict[str, Any]:
    server.send_signal(signal.SIGUSR1)
    done = Path(out_dir, f"dump{number}.done")
    while not done.exists():
        if server.poll() is not None:
            raise RuntimeError("the server exited")
        time.sleep(0.2)
    return json.loads(Path(out_dir, f"dump{number}.json").read_text())


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, env=env)


async def _idle(pid: int) -> None:
    import psutil

    process = psutil.Process(pid)
    await asyncio.sleep(1)
    for _ in range(600):
        before = sum(process.cpu_times()[:2])
        await asyncio.sleep(0.5)
        if sum(process.cpu_times()[:2]) - before < 0.025:
            return
    raise TimeoutError("the server stayed busy")


async def probe(args: argparse.Namespace) -> None:
    import httpx
    from cryptography.fernet import Fernet

    from gateway.auth import mint_token
    from gateway.settings import Settings
    from tests.support.servers import free_port

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "REDIS_URL": REDIS,
            "REDIS_NAMESPACE": f"probe-{uuid.uuid4().hex[:8]}",
            "DATABASE_URL": f"sqlite://{tmp}/p.sqlite3",
            "DATA_DIR": tmp,
            "SECRETS_KEY": Fernet.generate_key().decode(),
            "LOG_LEVEL": "WARNING",
            **dict(item.split("=", 1) for item in args.env),
        }
        command = [sys.executable, __file__, "--serve", str(port), "--out", tmp]
        if args.trace:
            command += ["--trace", str(args.trace)]
        if args.ws:
            command += ["--ws", args.ws]
        server = _start(command, env)
        clients: list[Any] = []
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(3000):
                    if server.poll() is not None:
                        raise RuntimeError("the server exited during start-up")
                    try:
                        await client.get(f"http://127.0.0.1:{port}/healthz")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                else:
                    raise TimeoutError("the server did not start")
            token = mint_token(Settings(), seller_id="bench", roles=["SELLER_ADMIN"])
            url = f"ws://127.0.0.1:{port}/graphql"
            # Warm up (first-use caches: the schema's parsed document, the seller row).
            warm = [await _open(url, token, args.stage) for _ in range(20)]
            await _idle(server.pid)
            for ws in warm:
                await ws.close()
            await _idle(server.pid)
            before = _ask(server, tmp, 0)
            for first in range(0, args.sockets, 200):
                clients += await asyncio.gather(
                    *(_open(url, token, args.stage) for _ in range(min(200, args.sockets - first)))
                )
            await _idle(server.pid)
            after = _ask(server, tmp, 1)
            report(args, before, after, tmp)
        finally:
            for ws in clients:
                with contextlib.suppress(Exception):
                    await ws.close()
            server.terminate()
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()


def report(args: argparse.Namespace, before: dict, after: dict, tmp: str) -> None:
    n = args.sockets
    print(
        f"\n{n} sockets ({args.stage}, ws={args.ws or 'gateway default'}, "
        f"trace={args.trace}): RSS {(after['rss'] - before['rss']) / n / 1024:.1f} KB/socket"
    )
    print(f"timer handles per socket: {(after['timers'] - before['timers']) / n:.2f}")
    tasks = collections.Counter(after["tasks"])
    tasks.subtract(before["tasks"])
    print("asyncio tasks per socket:")
    for name, count in tasks.most_common():
        if count:
            print(f"  {count / n:6.2f}  {name}")
    types = collections.Counter(after["types"])
    types.subtract(before["types"])
    print("objects per socket (gc-tracked, ≥ 0.5):")
    for name, count in types.most_common(40):
        if count / n >= 0.5:
            print(f"  {count / n:6.2f}  {name}")
    if not args.trace:
        return
    new = tracemalloc.Snapshot.load(str(Path(tmp, "dump1.trace")))
    new = new.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    old = new.filter_traces([tracemalloc.Filter(True, "/nothing/")])  # empty: all is new
    stats = new.compare_to(old, "lineno")
    total = sum(s.size_diff for s in stats)
    print(f"traced Python allocations: {total / n / 1024:.2f} KB/socket; by line (≥ 50 B):")
    for stat in stats[:60]:
        if stat.size_diff / n < 50:
            break
        frame = stat.traceback[0]
        where = frame.filename.split("site-packages/")[-1].replace(str(Path.cwd()) + "/", "")
        print(
            f"  {stat.size_diff / n:8.0f} B  {stat.count_diff / n:5.2f} blocks  "
            f"{where}:{frame.lineno}"
        )
    if args.trace > 1:
        print("by traceback (≥ 150 B), innermost last:")
        for stat in new.compare_to(old, "traceback")[:40]:
            if stat.size_diff / n < 150:
                break
            print(f"  {stat.size_diff / n:8.0f} B  {stat.count_diff / n:5.2f} blocks")
            for frame in stat.traceback:
                where = frame.filename.split("site-packages/")[-1].split("python3.11/")[-1]
                print(f"             {where}:{frame.lineno}")
    areas: collections.Counter[str] = collections.Counter()
    for stat in new.compare_to(old, "filename"):
        areas[_area(stat.traceback[0].filename)] += stat.size_diff
    print("by area (where the allocating line is):")
    for area, size in areas.most_common():
        print(f"  {size / n:8.0f} B  {area}")
    by_file = new.compare_to(old, "filename")
    print("by file:")
    for stat in by_file[:20]:
        if stat.size_diff / n < 50:
            break
        where = stat.traceback[0].filename.split("site-packages/")[-1]
        print(f"  {stat.size_diff / n:8.0f} B  {where}")


_AREAS = (
    ("uvicorn/protocols/websockets", "uvicorn's websocket protocol (its object, the scope)"),
    ("uvicorn/", "uvicorn, other (proxy headers middleware)"),
    ("websockets/", "websockets (sans-I/O parser, handshake objects)"),
    ("starlette/", "Starlette (app, middleware and routing frames, WebSocket)"),
    ("strawberry/", "Strawberry (view, graphql-transport-ws handler)"),
    ("/gateway/", "gateway (edge middleware frames, auth, database binding, protocol)"),
    ("/schema/", "schema (view, handler, fan-out member, context)"),
    ("asyncio/", "asyncio (transport, socket, tasks, timers, contexts)"),
    ("json/", "received frames, decoded (the last message, connection params)"),
)


def _area(filename: str) -> str:
    for marker, area in _AREAS:
        if marker in filename:
            return area
    return "other: " + filename.rsplit("/", 1)[-1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument(
        "--trace", type=int, default=1, help="tracemalloc with this many frames (0: off)"
    )
    parser.add_argument("--ws", default=None)
    parser.add_argument(
        "--stage", default="subscribed", choices=["open", "connected", "subscribed"]
    )
    parser.add_argument("--env", nargs="*", default=[])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.out, args.trace, args.ws)
    else:
        asyncio.run(probe(args))
