"""Worker processes for scale-out tests and benchmarks: `halo-gateway worker` on real Redis.

A :class:`WorkerProcess` keeps what the worker wrote to stderr (JSON log lines, parsed), so
a test can say which worker is running a run (the engine logs "sync run N started … attempt
K") and assert that a fault of HaloPSA's left no ERROR line in our logs. ``kill()`` is
SIGKILL: no shutdown hook runs, the broker redelivers the message after the heartbeat
timeout, as after a crashed machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.settings import Settings

BIN = Path(sys.executable).parent / "halo-gateway"
# A worker asked to stop (SIGTERM) finishes its message first; past this it is killed.
STOP_TIMEOUT_SECONDS = 20.0
_STARTED = re.compile(r"^sync run (\d+) started: .*attempt (\d+)$")


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a worker process sharing ``settings``' database and Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(
        ENVIRONMENT="test",
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url or "",
        REDIS_NAMESPACE=settings.redis_namespace,
        JWT_SECRET=settings.jwt_secret.get_secret_value(),
        SECRETS_KEY=settings.secrets_key.get_secret_value() if settings.secrets_key else "",
        DATA_DIR=str(settings.data_dir),
        BROKER_HEARTBEAT_TIMEOUT_MS=str(settings.broker_heartbeat_timeout_ms),
        BROKER_MAINTENANCE_CHANCE=str(settings.broker_maintenance_chance),
        HALO_TIMEOUT_SECONDS=str(settings.halo_timeout_seconds),
        HALO_READBACK_DELAY_SECONDS=str(settings.halo_readback_delay_seconds),
        HALO_RATE_LIMIT_REQUESTS=str(settings.halo_rate_limit_requests),
        HALO_RATE_LIMIT_WINDOW_SECONDS=str(settings.halo_rate_limit_window_seconds),
        SYNC_COOLDOWN_MINUTES=str(settings.sync_cooldown_minutes),
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


@dataclass
class WorkerProcess:
    """One `halo-gateway worker` process and the log lines it has written so far."""

    process: asyncio.subprocess.Process
    name: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None
    killed: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            text = raw.decode(errors="replace").rstrip("\n")
            try:
                line = json.loads(text)
            except ValueError:
                line = None
            if not isinstance(line, dict):
                line = {"level": "RAW", "name": "", "event": text}
            line["worker"] = self.name
            self.lines.append(line)

    def attempts(self, run_id: int) -> list[int]:
        """The attempts of ``run_id`` this worker started."""
        found = []
        for line in self.lines:
            match = _STARTED.match(str(line.get("event", "")))
            if match and int(match.group(1)) == run_id:
                found.append(int(match.group(2)))
        return found

    async def kill(self) -> None:
        """SIGKILL: the worker dies wherever it is, its message still unacknowledged."""
        if self.alive:
            self.killed = True
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        await self._drain()

    async def stop(self) -> None:
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self._drain()

    async def _drain(self) -> None:
        if self.reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.reader, 5)


async def start_worker(settings: Settings, name: str, **env: str) -> WorkerProcess:
    process = await asyncio.create_subprocess_exec(
        str(BIN),
        "worker",
        "--threads",
        "1",
        env=worker_env(settings, **env),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    worker = WorkerProcess(process, name)
    worker.reader = asyncio.create_task(worker._read())
    return worker


def serious_lines(workers: list[WorkerProcess]) -> list[dict[str, Any]]:
    """ERROR and CRITICAL log lines and anything that is not a log line (a traceback
    printed past the logging, say) — except the worker's own start-up banner."""
    found = []
    for worker in workers:
        for line in worker.lines:
            level = line.get("level")
            banner = str(line.get("event", "")).startswith("worker started")
            if level in ("ERROR", "CRITICAL") or (level == "RAW" and not banner):
                found.append(line)
    return found


def warnings_by_logger(workers: list[WorkerProcess]) -> dict[str, int]:
    """How many WARNING lines each logger wrote (for a report of what faults looked like)."""
    counts: dict[str, int] = {}
    for worker in workers:
        for line in worker.lines:
            if line.get("level") == "WARNING":
                counts[str(line.get("name"))] = counts.get(str(line.get("name")), 0) + 1
    return counts
