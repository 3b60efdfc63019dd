"""The seller-visible log: INFO / WARNING / ERROR entries kept 30 days.

Writers (the sync engine, connection tests, mapping changes) call :func:`record`; the Logs &
Monitoring page reads them (queries live beside this in the logs area). These are product
data, not the process log: they are written to the database and shown to the seller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Subquery

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
from gateway.services.statements import (
    Statement,
    probed_total,
    statement_for,
    to_datetime,
)

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


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One entry of the Logs & Monitoring list, named as the GraphQL ``LogEntry`` names its
    fields: the schema returns these as they are."""

    id: int
    level: LogLevel
    timestamp: datetime
    title: str
    details: str
    run_id: int | None
    code: MessageCode
    params: dict[str, ParamValue]


def _log_where(
    s: Statement,
    seller_id: str,
    since: datetime,
    level: LogLevel | None,
    run_id: int | None,
    term: str,
) -> str:
    where = [f"seller_id = {s.param(seller_id)}", f"created_at >= {s.param(since)}"]
    if level is not None:
        where.append(f"level = {s.param(level.value)}")
    if run_id is not None:
        where.append(f"run_id = {s.param(run_id)}")
    if term:
        # title and details, lowered once when written (migration 0010): no case folding
        # per row; the seller's window entries read from an index alone (both databases).
        where.append(s.contains("search_text", term))
    return " AND ".join(where)


# The page's columns, and its order (newest first; the id breaks ties).
_LOG_COLUMNS = "id, level, created_at, title, details, run_id, code, params"
_NEWEST_FIRST = "ORDER BY created_at DESC, id DESC"


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
    """A page of entries, newest first, and the total, in one statement: the count is a
    scalar subquery beside the LIMITed page, LEFT JOINed so an empty page still has it.

    The page picks its ids first and reads only those rows ("deferred join"): the ids come
    from an index alone — with a search, from ``(seller_id, created_at, id, search_text)``,
    which SQLite would otherwise pass over for the narrower index and then read every
    window row of the seller from the table (28 ms → 4 ms at 1,000,000 entries).

    A search's page walks the window newest first and keeps its matches up to the end of the
    page (:func:`statements.probed_total`); only when that fills is the total counted: a rare
    term (one subscription's id) walks the seller's window once, not twice (for the count,
    and for a page it never fills).
    """
    offset = check_page(page, page_size)
    since = window_start(retention_days, now or datetime.now(UTC))
    s = statement_for(LogEntry)
    term = (search or "").strip()[:MAX_SEARCH_LENGTH]
    where = _log_where(s, seller_id, since, level, run_id, term)  # numbered: used twice
    count = f"SELECT COUNT(*) FROM log_entry WHERE {where}"
    limit, skip = s.param(page_size), s.param(offset)
    if term:
        size = s.param(offset + page_size)
        with_probe = (
            "WITH probe AS MATERIALIZED (SELECT id, created_at FROM log_entry"
            f" WHERE {where} {_NEWEST_FIRST} LIMIT {size}) "
        )
        total = probed_total("probe", size, count)
        ids = f"SELECT id FROM probe {_NEWEST_FIRST} LIMIT {limit} OFFSET {skip}"
    else:
        with_probe, total = "", count
        ids = f"SELECT id FROM log_entry WHERE {where} {_NEWEST_FIRST} LIMIT {limit} OFFSET {skip}"
    rows = await s.fetch(
        f"{with_probe}SELECT h.total, g.id, g.level, g.created_at, g.title, g.details, g.run_id,"
        " g.code, g.params"
        f" FROM (SELECT ({total}) AS total) h"
        f" LEFT JOIN (SELECT {_LOG_COLUMNS} FROM log_entry WHERE id IN ({ids})) g ON 1 = 1"
        " ORDER BY g.created_at DESC, g.id DESC"
    )
    items = [_log_record(r) for r in rows if r[1] is not None]
    return Page(items, rows[0][0], page, page_size)


def _log_record(r: Any) -> LogRecord:
    stored = json.loads(r[8]) if isinstance(r[8], str) else r[8]
    return LogRecord(
        r[1],
        LogLevel(r[2]),
        to_datetime(r[3]),
        r[4],
        r[5],
        r[6],
        MessageCode.of_stored(r[7]),
        read_params(stored),
    )


async def purge_expired_logs(retention_days: int, now: datetime | None = None) -> int:
    """Delete entries past retention (the daily job); queries hide them before it runs."""
    now = now or datetime.now(UTC)
    return await LogEntry.filter(created_at__lt=window_start(retention_days, now)).delete()
