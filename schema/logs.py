"""Logs & Monitoring area: tiles and the paginated, filterable log list (last 30 days)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from gateway.messages import MessageCode
from gateway.services import logs as logs_service
from gateway.services.logs import LogLevel
from gateway.services.paging import DEFAULT_PAGE_SIZE
from gateway.services.sync import relative_time
from gateway.services.sync.activity import sync_activity
from schema.context import Context
from schema.ids import parse_int_id
from schema.messages import MessageParam, message_params
from schema.paging import page_totals


@strawberry.enum(description="Log level filter; ALL is the default.")
class LogLevelFilter(Enum):
    ALL = "ALL"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


# The core's enum, exposed as it is (the filter above adds ALL, which only a filter has).
strawberry.enum(LogLevel)


@strawberry.type
class LogOverview:
    total: int = strawberry.field(description="Total Logs (30d)")
    errors: int = strawberry.field(description="Errors (30d)")
    warnings: int = strawberry.field(description="Warnings (30d)")
    last_update: datetime | None = strawberry.field(description="Last Update (UTC)")
    last_update_relative: str | None = strawberry.field(description='e.g. "9h ago"')


@strawberry.type
class LogEntry:
    id: strawberry.ID
    level: LogLevel
    timestamp: datetime
    title: str
    details: str
    run_id: strawberry.ID | None
    code: MessageCode = strawberry.field(
        description="What the entry says, as a stable code (LEGACY: written before codes)."
    )
    params: list[MessageParam] = strawberry.field(
        description="The entry's parameters (see MessageCode); empty for LEGACY entries."
    )


@strawberry.type
class LogPage:
    entries: list[LogEntry]
    total: int
    page: int
    page_size: int
    page_count: int
    range: str = strawberry.field(description='e.g. "1 – 20 of 236"')


@strawberry.type(description="Finished sync runs of one day, by outcome, and what they wrote.")
class SyncActivityDay:
    day: date
    succeeded: int
    failed: int
    cancelled: int
    records_written: int = strawberry.field(description="Records created + updated.")


@strawberry.type
class Query:
    @strawberry.field(
        description="Sync runs per day (oldest first, today last) for the Logs & Monitoring "
        "chart; days are counted in the caller's UTC offset (minutes east of UTC)."
    )
    async def sync_activity(
        self, info: Info[Context, None], days: int = 30, utc_offset_minutes: int = 0
    ) -> list[SyncActivityDay]:
        rows = await sync_activity(
            info.context.seller_id, days=days, utc_offset_minutes=utc_offset_minutes
        )
        return [
            SyncActivityDay(
                day=r.day,
                succeeded=r.succeeded,
                failed=r.failed,
                cancelled=r.cancelled,
                records_written=r.records_written,
            )
            for r in rows
        ]

    @strawberry.field(description="The four tiles of the Logs & Monitoring page.")
    async def log_overview(self, info: Info[Context, None]) -> LogOverview:
        ctx = info.context
        view = await logs_service.log_overview(ctx.seller_id, ctx.deps.settings.log_retention_days)
        return LogOverview(
            total=view.total,
            errors=view.errors,
            warnings=view.warnings,
            last_update=view.last_update,
            last_update_relative=relative_time(view.last_update, view.now),
        )

    @strawberry.field(description="Log entries of the last 30 days, newest first.")
    async def logs(
        self,
        info: Info[Context, None],
        level: LogLevelFilter = LogLevelFilter.ALL,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        search: str | None = None,
        run_id: strawberry.ID | None = None,
    ) -> LogPage:
        ctx = info.context
        run = None
        if run_id is not None:
            from gateway.errors import BadUserInput

            run = parse_int_id(run_id, BadUserInput("runId must be a sync run id.", field="runId"))
        result = await logs_service.list_logs(
            ctx.seller_id,
            retention_days=ctx.deps.settings.log_retention_days,
            level=None if level is LogLevelFilter.ALL else LogLevel(level.value),
            page=page,
            page_size=page_size,
            search=search,
            run_id=run,
        )
        return LogPage(
            entries=[
                LogEntry(
                    id=strawberry.ID(str(e.id)),
                    level=e.level,
                    timestamp=e.timestamp,
                    title=e.title,
                    details=e.details,
                    run_id=strawberry.ID(str(e.run_id)) if e.run_id is not None else None,
                    code=e.code,
                    params=message_params(e.params),
                )
                for e in result.items
            ],
            **page_totals(result),
        )
