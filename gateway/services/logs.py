"""The seller-visible log: INFO / WARNING / ERROR entries kept 30 days.

Writers (the sync engine, connection tests, mapping changes) call :func:`record`; the Logs &
Monitoring page reads them (queries live beside this in the logs area). These are product
data, not the process log: they are written to the database and shown to the seller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery

from gateway.messages import (
    Message,
    MessageCode,
    Params,
    ParamValue,
    merge_params,
    read_params,
    stored_params,
)
from gateway.models import LogEntry, LogLevel, Seller
from gateway.services.paging import DEFAULT_PAGE_SIZE, Page, check_page

PROVIDER = "HALO"


async def record(
    seller_id: str,
    level: LogLevel,
    title: str,
    details: Message,
    *,
    run_id: int | None = None,
    at: datetime | None = None,
) -> LogEntry:
    """An entry: its title (the seed's words for what happened) and its details, whose code
    and parameters are stored beside the text (``gateway.messages``)."""
    return await LogEntry.create(
        seller_id=seller_id,
        run_id=run_id,
        level=level,
        title=title,
        details=details.text,
        code=details.code.value,
        params=stored_params(details.params),
        created_at=at or datetime.now(UTC),
    )


@dataclass(frozen=True)
class Detail:
    """One ``Label: value`` of a details line, and the parameter it is (``shown``: how the
    line writes the value, when not as it is)."""

    name: str
    label: str
    value: ParamValue
    shown: str | None = None


def details_line(code: MessageCode, *fields: Detail, extra: Params | None = None) -> Message:
    """``Reseller ID: s-1, Provider: HALO, Created: 3`` — the seed's "details line"; its
    parameters are the fields, then ``extra`` (what a field's shown value says in words,
    e.g. the organisation a scope names)."""
    text = ", ".join(f"{f.label}: {f.value if f.shown is None else f.shown}" for f in fields)
    return Message(code, text, merge_params({f.name: f.value for f in fields}, extra or {}))


def reseller(seller_id: str) -> Detail:
    return Detail("resellerId", "Reseller ID", seller_id)


def provider() -> Detail:
    return Detail("provider", "Provider", PROVIDER)


def by(subject: str) -> Detail:
    return Detail("by", "By", subject)


# --- the Logs & Monitoring page -------------------------------------------------------------

MAX_SEARCH_LENGTH = 200


@dataclass(frozen=True)
class LogOverview:
    total: int
    errors: int
    warnings: int
    last_update: datetime | None
    now: datetime


def window_start(settings_days: int, now: datetime) -> datetime:
    return now - timedelta(days=settings_days)


async def log_overview(
    seller_id: str, retention_days: int, now: datetime | None = None
) -> LogOverview:
    """The four tiles in one statement: three counts and the newest entry, as subqueries.

    Each subquery is answered from an index alone (SQLite and PostgreSQL); one round trip
    instead of four halved the tiles' time on PostgreSQL in bench/bench_logs.py. (A single
    GROUP BY level was slower on SQLite: it reads every index entry's columns, where
    COUNT(*) over an index range does not.)
    """
    now = now or datetime.now(UTC)
    window = LogEntry.filter(seller_id=seller_id, created_at__gte=window_start(retention_days, now))
    rows = (
        await Seller.filter(id=seller_id)
        .annotate(
            total=Subquery(window.count()),
            errors=Subquery(window.filter(level=LogLevel.ERROR).count()),
            warnings=Subquery(window.filter(level=LogLevel.WARNING).count()),
            last=Subquery(window.order_by("-created_at").limit(1).values("created_at")),
        )
        .values("total", "errors", "warnings", "last")
    )
    if not rows:  # no seller row, so no entries either
        return LogOverview(0, 0, 0, None, now)
    row = rows[0]
    return LogOverview(
        total=row["total"],
        errors=row["errors"],
        warnings=row["warnings"],
        # A subquery's value comes back raw (text on SQLite): convert it as the field would.
        last_update=LogEntry._meta.fields_map["created_at"].to_python_value(row["last"]),
        now=now,
    )


@dataclass(frozen=True)
class LogRecord:
    """One entry of the Logs & Monitoring list."""

    id: int
    level: LogLevel
    created_at: datetime
    title: str
    details: str
    run_id: int | None
    code: MessageCode
    params: dict[str, ParamValue]


async def list_logs(
    seller_id: str,
    *,
    retention_days: int,
    level: LogLevel | None = None,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    search: str | None = None,
    run_id: int | None = None,
    now: datetime | None = None,
) -> Page[LogRecord]:
    offset = check_page(page, page_size)
    now = now or datetime.now(UTC)
    query = LogEntry.filter(seller_id=seller_id, created_at__gte=window_start(retention_days, now))
    if level is not None:
        query = query.filter(level=level)
    if run_id is not None:
        query = query.filter(run_id=run_id)
    if search:
        term = search.strip()[:MAX_SEARCH_LENGTH]
        if term:
            query = query.filter(Q(title__icontains=term) | Q(details__icontains=term))
    total = await query.count()
    rows = (
        await query.order_by("-created_at", "-id")
        .offset(offset)
        .limit(page_size)
        .values("id", "level", "created_at", "title", "details", "run_id", "code", "params")
    )
    return Page([_log_record(row) for row in rows], total, page, page_size)


def _log_record(row: dict[str, Any]) -> LogRecord:
    return LogRecord(
        id=row["id"],
        level=row["level"],
        created_at=row["created_at"],
        title=row["title"],
        details=row["details"],
        run_id=row["run_id"],
        code=MessageCode.of_stored(row["code"]),
        params=read_params(row["params"]),
    )


async def purge_expired_logs(retention_days: int, now: datetime | None = None) -> int:
    """Delete entries past retention (the daily job); queries hide them before it runs."""
    now = now or datetime.now(UTC)
    return await LogEntry.filter(created_at__lt=window_start(retention_days, now)).delete()
