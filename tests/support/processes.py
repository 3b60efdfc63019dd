"""``halo-gateway`` processes (workers, gateways) for scale-out tests, with their log kept."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from gateway.settings import Settings

BIN = Path(sys.executable).parent / "halo-gateway"
# A worker asked to stop finishes its current message first; past this it is killed.
STOP_TIMEOUT_SECONDS = 20.0


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a ``halo-gateway`` command reads ``settings`` from."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(
        ENVIRONMENT="test",
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url or "",
        REDIS_NAMESPACE=settings.redis_namespace,
        JWT_SECRET=settings.jwt_secret.get_secret_value(),
        SECRETS_KEY=settings.secrets_key.get_secret_value(),
        DATA_DIR=str(settings.data_dir),
        BROKER_HEARTBEAT_TIMEOUT_MS=str(settings.broker_heartbeat_timeout_ms),
        BROKER_MAINTENANCE_CHANCE=str(settings.broker_maintenance_chance),
        HALO_TIMEOUT_SECONDS=str(settings.halo_timeout_seconds),
        HALO_READBACK_DELAY_SECONDS=str(settings.halo_readback_delay_seconds),
        HALO_RATE_LIMIT_REQUESTS=str(settings.halo_rate_limit_requests),
        HALO_RATE_LIMIT_WINDOW_SECONDS=str(settings.halo_rate_limit_window_seconds),
        SYNC_LEASE_SECONDS=str(settings.sync_lease_seconds),
        SYNC_REQUEUE_AFTER_SECONDS=str(settings.sync_requeue_after_seconds),
        ORGANIZATIONS_SYNC_CRON_HOUR=str(settings.organizations_sync_cron_hour),
        SUBSCRIPTIONS_SYNC_CRON_HOUR=str(settings.subscriptions_sync_cron_hour),
        WEBHOOK_RETRY_FIRST_DELAY_SECONDS=str(settings.webhook_retry_first_delay_seconds),
        WEBHOOK_RETRY_MAX_DELAY_SECONDS=str(settings.webhook_retry_max_delay_seconds),
        LOG_FORMAT="json",
        dramatiq_worker_timeout="100",
    )
    env.update(extra)
    return env


async def start_worker(settings: Settings, log_file: Path, threads: int = 1) -> Any:
    """A ``halo-gateway worker`` process whose log lines (JSON) go to ``log_file``."""
    return await _start(settings, log_file, "worker", "--threads", str(threads))


async def start_scheduler(settings: Settings, log_file: Path) -> Any:
    """A ``halo-gateway scheduler`` process whose log lines (JSON) go to ``log_file``."""
    return await _start(settings, log_file, "scheduler")


async def start_gateway(settings: Settings, log_file: Path, port: int) -> Any:
    """A ``halo-gateway serve`` process on ``port`` (the database is already migrated)."""
    return await _start(settings, log_file, "serve", "--port", str(port), MIGRATE_ON_START="false")


async def _start(settings: Settings, log_file: Path, *args: str, **env: str) -> Any:
    with log_file.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            str(BIN),
            *args,
            env=process_env(settings, **env),
            stdout=log,
            stderr=log,
        )


async def stop(process: Any) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()


def log_records(log_file: Path) -> list[dict[str, Any]]:
    """The JSON log lines of a process; other lines (a crash's raw traceback) as ``raw``."""
    records = []
    for line in log_file.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            records.append({"level": "RAW", "name": "", "event": line})
    return records
