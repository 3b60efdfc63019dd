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
halo-gateway import          load organisations or subscriptions from a CSV / JSON-lines file
halo-gateway export          write a seller's mappings or sync ledger as CSV
halo-gateway preview         what the next subscriptions sync would do, as CSV
halo-gateway drift           the latest drift check's report, as CSV
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from gateway.messages import counted
from gateway.settings import Settings

T = TypeVar("T")

# `halo-gateway import`: some rows were bad (reported, not written) vs the file refused whole.
EXIT_BAD_ROWS = 1
EXIT_FILE_REFUSED = 2


# Options that several commands take, worded once.
_seller_option = click.option(
    "--seller", "seller_id", required=True, help="The seller (reseller) id."
)
_csv_output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV file to write (default: stdout).",
)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


async def _in_db(
    settings: Settings, work: Callable[[], Awaitable[T]], *, migrate: bool = False
) -> T:
    """Run ``work`` inside a Tortoise context opened from DATABASE_URL, closed afterwards."""
    from gateway import db

    if migrate:
        await db.migrate(settings)
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            return await work()
    finally:
        await db.close_db(ctx)


def _run_in_db(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """``_in_db`` for a command: a refusal (unknown seller, organisation) is its message and
    exit code 1, not a traceback."""
    from gateway.errors import DomainError

    try:
        return asyncio.run(_in_db(settings, work))
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc


@contextmanager
def _csv_output(output: Path | None) -> Iterator[TextIO]:
    """The CSV file to write, or stdout."""
    if output is None:
        yield sys.stdout
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        yield handle


class _FileRefused(click.ClickException):
    exit_code = EXIT_FILE_REFUSED


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
        log_config=None,
        **uvicorn_options(settings),
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the gateway (``serve``, ``demo``, the tests' servers, the
    benchmarks): one place. Websockets go through uvicorn's websockets-sansio protocol with
    less kept per socket (``gateway.websocket_protocol``, issue #15); permessage-deflate
    only when ``WS_PER_MESSAGE_DEFLATE`` asks for it (uvicorn's own default is on)."""
    from gateway.websocket_protocol import PROTOCOL

    return {
        "loop": "asyncio",
        "lifespan": "on",
        "ws": PROTOCOL,
        "ws_per_message_deflate": settings.ws_per_message_deflate,
    }


def app_from_environment() -> object:
    from gateway.app import create_app

    return create_app(_settings())


@main.command()
@click.option("--threads", type=int, default=4, help="Concurrent sync runs in this process.")
def worker(threads: int) -> None:
    """Run a Dramatiq worker that executes sync runs (scale-out mode)."""

    from gateway.logging import configure_logging
    from gateway.services import build_deps
    from workers.actors import worker_threads
    from workers.broker import build_broker, build_worker, register_actors
    from workers.queue import DramatiqJobQueue

    settings = _settings()
    configure_logging(settings)
    if settings.embedded:
        raise click.ClickException(
            "halo-gateway worker needs REDIS_URL; in embedded mode the gateway runs its own worker"
        )
    broker = build_broker(settings)
    # The Deps' Redis clients live on the worker's loop, which closes them at shutdown.
    register_actors(broker, build_deps(settings, queue=DramatiqJobQueue(broker)))
    process_worker = build_worker(
        broker,
        worker_threads(threads, settings.webhook_delivery_concurrency),
        prefetch=threads,
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

    try:
        applied = asyncio.run(db.migrate(_settings()))
    except db.MigrationRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("applied: " + ", ".join(applied) if applied else "database is up to date")


@main.command()
@_seller_option
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
@click.option(
    "--client-kind",
    type=click.Choice(["integrator", "browser"]),
    default="integrator",
    show_default=True,
    help="client_kind claim: a script is an integrator (its own queries, priced by cost); a "
    "browser session runs only trusted documents when TRUSTED_DOCUMENTS=enforce.",
)
@click.option("--client-name", default=None, help="client_name claim (per-operation metrics).")
def token(
    seller_id: str,
    roles: tuple[str, ...],
    subject: str,
    hours: float,
    client_kind: str,
    client_name: str | None,
) -> None:
    """Mint a JWT for a seller and role (development and scripts)."""
    from datetime import timedelta

    from gateway.auth import ClientKind, mint_token

    click.echo(
        mint_token(
            _settings(),
            seller_id=seller_id,
            roles=list(roles),
            subject=subject,
            ttl=timedelta(hours=hours),
            client_kind=ClientKind(client_kind),
            client_name=client_name,
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


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_seller_option
@click.option(
    "--kind",
    type=click.Choice(["organizations", "subscriptions"]),
    default=None,
    help="What the rows are (default: told by the columns).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="File format (default: by extension, .csv / .jsonl / .ndjson).",
)
@click.option("--dry-run", is_flag=True, help="Validate and count; write nothing.")
@click.option(
    "--all-or-nothing",
    is_flag=True,
    help="Validate the whole file first; write nothing if any row is bad.",
)
def import_command(
    file: Path,
    seller_id: str,
    kind: str | None,
    fmt: str | None,
    dry_run: bool,
    all_or_nothing: bool,
) -> None:
    """Import organisations or subscriptions for a seller from a CSV or JSON-lines file.

    Rows go through the checks of the upsertOrganizations / upsertSubscriptions mutations,
    1,000 per transaction. By default valid rows are written and each bad row is reported
    (line, field, message) and skipped; the exit code is 1 if any row was bad, 2 if the file
    could not be read as records.
    """
    from rich.console import Console

    from gateway.errors import DomainError
    from gateway.services import bulk_import as bulk

    settings = _settings()
    mode = (
        bulk.ImportMode.DRY_RUN
        if dry_run
        else bulk.ImportMode.ALL_OR_NOTHING
        if all_or_nothing
        else bulk.ImportMode.VALID_ROWS
    )
    out = Console(highlight=False, soft_wrap=True)
    progress = _ImportProgress(Console(stderr=True), stdout_is_terminal=out.is_terminal)

    def problem(p: bulk.RowProblem) -> None:
        progress.print(f"line {p.line}: {p.field}: {p.message}")

    async def work() -> bulk.ImportReport:
        return await bulk.import_file(
            seller_id,
            file,
            kind=bulk.Kind(kind) if kind else None,
            fmt=bulk.FileFormat(fmt) if fmt else None,
            mode=mode,
            on_problem=problem,
            on_progress=progress.update,
        )

    try:
        with progress, bulk.fewer_collections():
            report = asyncio.run(_in_db(settings, work, migrate=settings.migrate_on_start))
    except DomainError as exc:
        raise _FileRefused(exc.message) from exc
    out.print(_import_summary(report))
    if report.invalid:
        sys.exit(EXIT_BAD_ROWS)


class _ImportProgress:
    """A rich progress bar on stderr (bytes read, rows, rows/s); off when stderr is no TTY,
    so logs and pipes stay clean."""

    def __init__(self, console: Any, *, stdout_is_terminal: bool) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.bar = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:>9,} rows"),
            TextColumn("{task.fields[rate]:>7,.0f} rows/s"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        # Problems belong on stdout; on a shared terminal they print above the live bar.
        self.above_bar = stdout_is_terminal and not self.bar.disable
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _ImportProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def print(self, line: str) -> None:
        if self.above_bar:
            self.bar.console.print(line, highlight=False, markup=False, soft_wrap=True)
        else:
            click.echo(line)

    def update(self, p: Any) -> None:
        task = self.tasks.get(p.phase)
        if task is None:
            task = self.bar.add_task(str(p.phase), total=p.total_bytes or 1, rows=0, rate=0.0)
            self.tasks[p.phase] = task
        elapsed = self.bar.tasks[task].elapsed or 0.0
        rate = p.rows / elapsed if elapsed > 0 else 0.0
        self.bar.update(task, completed=p.bytes_read, rows=p.rows, rate=rate)


def _import_summary(report: Any) -> Any:
    from rich.table import Table

    from gateway.services.bulk_import import ImportMode

    verb = {
        ImportMode.DRY_RUN: "would be (dry run, nothing written)",
        ImportMode.ALL_OR_NOTHING: "",
        ImportMode.VALID_ROWS: "",
    }[report.mode]
    title = f"{report.kind}: {report.rows:,} rows in {report.seconds:.1f} s"
    if report.mode is ImportMode.ALL_OR_NOTHING and not report.written:
        title += " (all or nothing: nothing written)"
    table = Table(title=title, title_justify="left")
    table.add_column(verb or "result")
    table.add_column("rows", justify="right")
    for label, value in (
        ("created", report.created),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("invalid (not written)", report.invalid),
    ):
        table.add_row(label, f"{value:,}")
    table.add_row("rows/s", f"{report.rows_per_second:,.0f}")
    return table


@main.command("export")
@_seller_option
@click.option(
    "--what",
    type=click.Choice(["mappings", "ledger"]),
    required=True,
    help="mappings: platform organisation ↔ HaloPSA client; ledger: synced subscriptions.",
)
@_csv_output_option
def export_command(seller_id: str, what: str, output: Path | None) -> None:
    """Write a seller's mappings or sync ledger as CSV (for their accountant)."""
    from gateway.services.exports import ExportKind, export_csv

    async def work() -> int:
        with _csv_output(output) as handle:
            return await export_csv(seller_id, ExportKind(what), handle)

    count = _run_in_db(_settings(), work)
    if output is not None:
        click.echo(f"wrote {counted(count, what + ' row')} to {output}", err=True)


@main.command("preview")
@_seller_option
@click.option(
    "--organization",
    "organization_id",
    default=None,
    help="Only this organisation (the platform's organisation id).",
)
@_csv_output_option
def preview_command(seller_id: str, organization_id: str | None, output: Path | None) -> None:
    """Write what the next subscriptions sync would do as CSV: one row per subscription
    (create, update with the fields old → new, mark deleted, unchanged, skipped and why) with
    its monthly cost and customer price in HaloPSA before and after. Nothing is written and
    HaloPSA is not called. Totals per currency go to stderr."""
    from gateway.services.sync import (
        organization_by_external_id,
        preview_sync,
        write_preview_csv,
    )

    async def work() -> tuple[Any, int]:
        org_pk = None
        if organization_id is not None:
            org_pk = (await organization_by_external_id(seller_id, organization_id)).id
        preview = await preview_sync(seller_id, org_pk)
        with _csv_output(output) as handle:
            return preview, write_preview_csv(preview, handle)

    preview, count = _run_in_db(_settings(), work)
    for line in _preview_summary(preview, count, output):
        click.echo(line, err=True)


def _preview_summary(preview: Any, rows: int, output: Path | None) -> list[str]:
    c = preview.counts
    lines = [
        f"{rows:,} subscription(s){f' written to {output}' if output else ''}: "
        f"create {c.create:,}, update {c.update:,}, mark deleted {c.mark_deleted:,}, "
        f"unchanged {c.unchanged:,}, skipped {c.skipped:,} "
        f"(unit prices {'on' if preview.unit_prices else 'off'})"
    ]
    for currency, impact in preview.money.items():
        shown = impact.shown
        line = (
            f"{currency} monthly: cost {shown.cost_before} → {shown.cost_after} "
            f"({_signed(shown.cost_change)}), customer price {shown.price_before} → "
            f"{shown.price_after} ({_signed(shown.price_change)})"
        )
        if impact.unknown_before or impact.unknown_after:
            line += (
                f"; not counted (values unknown): {impact.unknown_before} before, "
                f"{impact.unknown_after} after"
            )
        lines.append(line)
    return lines


def _signed(amount: str) -> str:
    return amount if amount.startswith("-") else f"+{amount}"


@main.command("drift")
@_seller_option
@click.option(
    "--kind",
    type=click.Choice(["EDITED", "DEACTIVATED", "DELETED", "FOREIGN"], case_sensitive=False),
    default=None,
    help="Only findings of this kind.",
)
@_csv_output_option
def drift_command(seller_id: str, kind: str | None, output: Path | None) -> None:
    """Write the latest drift check's report as CSV: one row per licence edited,
    deactivated or deleted in HaloPSA since this integration wrote it (fields, ours →
    theirs), or under a mapped organisation and never written by it. Reads the stored
    report (the reconcile mutation or the daily check makes it); HaloPSA is not called. A
    summary goes to stderr."""
    from gateway.services.sync import DriftKind, drift_report, write_drift_csv

    only = DriftKind(kind.upper()) if kind else None

    async def work() -> tuple[Any, int]:
        report = await drift_report(seller_id)
        if report.run is None:
            raise click.ClickException(
                f"No drift check of seller {seller_id!r} has succeeded yet: start one with the "
                "reconcile mutation (or turn on the daily drift check)."
            )
        with _csv_output(output) as handle:
            return report, write_drift_csv(report, handle, only)

    report, count = _run_in_db(_settings(), work)
    c = report.counts
    click.echo(
        f"Drift check of {report.checked_at:%Y-%m-%d %H:%M} UTC (run {report.run.id}): "
        f"{counted(report.licences_read, 'licence')} read in HaloPSA; edited {c.edited:,}, "
        f"deactivated {c.deactivated:,}, deleted {c.deleted:,}, not written by this "
        f"integration {c.foreign:,}; {counted(count, 'row')}"
        f"{f' written to {output}' if output else ''}",
        err=True,
    )


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
