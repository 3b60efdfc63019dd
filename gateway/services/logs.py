"""The seller-visible log: INFO / WARNING / ERROR entries kept 30 days.

Writers (the sync engine, connection tests, mapping changes) call :func:`record`; the Logs &
Monitoring page reads them (queries live beside this in the logs area). These are product
data, not the process log: they are written to the database and shown to the seller.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.models import LogEntry, LogLevel

PROVIDER = "HALO"


async def record(
    seller_id: str,
    level: LogLevel,
    title: str,
    details: str = "",
    *,
    run_id: int | None = None,
    at: datetime | None = None,
) -> LogEntry:
    return await LogEntry.create(
        seller_id=seller_id,
        run_id=run_id,
        level=level,
        title=title,
        details=details,
        created_at=at or datetime.now(UTC),
    )


def format_details(**fields: object) -> str:
    """``Reseller ID: s-1, Provider: HALO, Created: 3`` — the seed's "details line"."""
    return ", ".join(f"{key}: {value}" for key, value in fields.items())
