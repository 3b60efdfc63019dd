"""The ``halo-gateway`` command: every process of the system starts here.

halo-gateway demo            everything in one process, with the simulator and demo data
halo-gateway serve           the GraphQL gateway (uvicorn)
halo-gateway worker          a Dramatiq worker (needs REDIS_URL)
halo-gateway scheduler       the daily 08:00 / 18:00 UTC sync triggers
halo-gateway migrate         apply database migrations
halo-gateway token           mint a JWT for a seller and role
halo-gateway export-schema   write schema.graphql
halo-gateway simulator       run the HaloPSA simulator alone
halo-gateway rotate-secrets  re-encrypt stored secrets with the newest key
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from pathlib import Path

import click

from gateway.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def main() -> None:
    """halo-gateway: the GraphQL gateway between the platform and HaloPSA."""


@main.command()
@click.option("--host", default=None, help="Bind address (default: HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: PORT or 8000).")
@click.option("--workers", "processes", type=int, default=1, help="uvicorn worker processes.")
def serve(host: str | None, port: int | None, processes: int) -> None:
    """Run the GraphQL gateway."""
    import uvicorn

    from gateway.logging import configure_logging

    settings = _settings()
    configure_logging(settings)
    if processes > 1 and settings.embedded:
        raise click.ClickException(
            "several processes need REDIS_URL (embedded mode keeps the queue in memory)"
        )
    uvicorn.run(
        "gateway.cli:app_from_environment",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=processes,
        loop="asyncio",
        lifespan="on",
        log_config=None,
        ws="websockets-sansio",
    )


def app_from_environment() -> object:
    from gateway.app import create_app

    return create_app(_settings())


@main.command()
@click.option("--threads", type=int, default=4, help="Concurrent sync runs in this process.")
def worker(threads: int) -> None:
    """Run a Dramatiq worker that executes sync runs (scale-out mode)."""
    import dramatiq

    from gateway.crypto import secret_box_from_settings
    from gateway.events import build_event_bus
    from gateway.logging import configure_logging
    from gateway.services import Deps
    from workers.broker import WORKER_TIMEOUT_MS, build_broker
    from workers.queue import DramatiqJobQueue

    settings = _settings()
    configure_logging(settings)
    if settings.embedded:
        raise click.ClickException(
            "halo-gateway worker needs REDIS_URL; in embedded mode the gateway runs its own worker"
        )
    deps = Deps(
        settings=settings,
        bus=build_event_bus(settings.redis_url, settings.redis_namespace),
        queue=None,  # type: ignore[arg-type]
        secret_box=secret_box_from_settings(settings),
    )
    broker, runtime = build_broker(settings, deps)
    deps.queue = DramatiqJobQueue(broker, runtime.actors)
    process_worker = dramatiq.Worker(
        broker, worker_threads=threads, worker_timeout=WORKER_TIMEOUT_MS
    )
    process_worker.start()
    click.echo(f"worker started ({threads} threads); Ctrl-C to stop", err=True)
    _wait_for_signal()
    process_worker.stop()
    broker.close()


@main.command()
def scheduler() -> None:
    """Run the daily sync schedule (organisations 08:00 UTC, subscriptions 18:00 UTC)."""
    from gateway.logging import configure_logging
    from workers.scheduler import run_scheduler_forever

    settings = _settings()
    configure_logging(settings)
    asyncio.run(run_scheduler_forever(settings))


@main.command()
def migrate() -> None:
    """Apply pending database migrations (SQLite or PostgreSQL, from DATABASE_URL)."""
    from gateway import db

    applied = asyncio.run(db.migrate(_settings()))
    click.echo("applied: " + ", ".join(applied) if applied else "database is up to date")


@main.command()
@click.option("--seller", "seller_id", required=True, help="The seller (reseller) id.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    default=["SELLER_ADMIN"],
    show_default=True,
    help="Role claim; repeat for several.",
)
@click.option("--subject", default="dev-user", show_default=True)
@click.option("--hours", type=float, default=12.0, show_default=True, help="Lifetime.")
def token(seller_id: str, roles: tuple[str, ...], subject: str, hours: float) -> None:
    """Mint a JWT for a seller and role (development and scripts)."""
    from datetime import timedelta

    from gateway.auth import mint_token

    click.echo(
        mint_token(
            _settings(),
            seller_id=seller_id,
            roles=list(roles),
            subject=subject,
            ttl=timedelta(hours=hours),
        )
    )


@main.command("export-schema")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("schema.graphql"))
def export_schema(output: Path) -> None:
    """Write the GraphQL SDL (schema.graphql) that CI compares with the code."""
    from schema import export_sdl

    output.write_text(export_sdl(), encoding="utf-8")
    click.echo(f"wrote {output}")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=8900)
@click.option("--seed-file", type=click.Path(exists=True, path_type=Path), default=None)
def simulator(host: str, port: int, seed_file: Path | None) -> None:
    """Run the HaloPSA simulator alone (for the scale-out recipe, tests and benchmarks)."""
    from gateway.halopsa.simulator import run_simulator

    run_simulator(host=host, port=port, seed_file=seed_file)


@main.command("rotate-secrets")
def rotate_secrets() -> None:
    """Re-encrypt every stored HaloPSA secret with the first key of SECRETS_KEY."""
    from gateway.services.connection import rotate_stored_secrets

    count = asyncio.run(rotate_stored_secrets(_settings()))
    click.echo(f"re-encrypted {count} secret(s)")


@main.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--organizations", type=int, default=60, show_default=True)
def demo(host: str | None, port: int | None, organizations: int) -> None:
    """Run everything in one process: gateway, worker, scheduler, simulator and demo data."""
    from gateway.demo import run_demo

    run_demo(_settings(), host=host, port=port, organizations=organizations)


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
