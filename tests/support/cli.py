"""Run the real ``halo-gateway`` command (click's CliRunner) against a test's database.

The command reads its settings from the environment like in production, so the test's
``Settings`` are passed as environment variables. It runs in a worker thread: the command
calls ``asyncio.run`` and opens its own Tortoise context, while the test keeps its own loop
and context (``migrated_db``) to set the scene and look at the result.
"""

from __future__ import annotations

import asyncio

from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.settings import Settings


def cli_env(settings: Settings) -> dict[str, str | None]:
    return {
        "ENVIRONMENT": settings.environment.value,
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(settings.data_dir),
        "REDIS_URL": None,
        "MIGRATE_ON_START": "true",
    }


async def run_cli(settings: Settings, *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, main, list(args), env=cli_env(settings), catch_exceptions=False
    )
