"""The Logs & Monitoring chart: sync runs per day by outcome, and the records they wrote.

One small read of the finished runs in the window (a seller has a few runs a day, so tens to
hundreds of rows), bucketed here by day in the caller's UTC offset so the bars match the
seller's calendar. "Records written" is what HaloPSA or the platform actually changed:
created + updated (unchanged and skipped records are not writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gateway.errors import BadUserInput
from gateway.models import RunState, SyncRun

# The chart shows what the logs keep (30 days); 90 leaves room for a longer retention.
MAX_ACTIVITY_DAYS = 90
# Real offsets run from UTC-12:00 to UTC+14:00.
MAX_UTC_OFFSET_MINUTES = 14 * 60


@dataclass(frozen=True)
class ActivityDay:
    day: date
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    records_written: int = 0


async def sync_activity(
    seller_id: str, *, days: int, utc_offset_minutes: int = 0, now: datetime | None = None
) -> list[ActivityDay]:
    """One entry per day, oldest first, the last one being today (in the caller's offset)."""
    if not 1 <= days <= MAX_ACTIVITY_DAYS:
        raise BadUserInput(f"days must be between 1 and {MAX_ACTIVITY_DAYS}.", field="days")
    if abs(utc_offset_minutes) > MAX_UTC_OFFSET_MINUTES:
        raise BadUserInput("utcOffsetMinutes is not a real UTC offset.", field="utcOffsetMinutes")
    offset = timedelta(minutes=utc_offset_minutes)
    now = now or datetime.now(UTC)
    today = (now + offset).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC) - offset
    rows = await SyncRun.filter(
        seller_id=seller_id, finished_at__gte=since, finished_at__isnull=False
    ).values_list("finished_at", "state", "created", "updated")
    counts: dict[date, dict[str, int]] = {
        first_day + timedelta(days=i): {"succeeded": 0, "failed": 0, "cancelled": 0, "written": 0}
        for i in range(days)
    }
    for finished_at, state, created, updated in rows:
        bucket = counts.get((finished_at + offset).date())
        if bucket is None:
            continue
        if state == RunState.SUCCEEDED:
            bucket["succeeded"] += 1
        elif state == RunState.FAILED:
            bucket["failed"] += 1
        elif state == RunState.CANCELLED:
            bucket["cancelled"] += 1
        bucket["written"] += (created or 0) + (updated or 0)
    return [
        ActivityDay(
            day=day,
            succeeded=c["succeeded"],
            failed=c["failed"],
            cancelled=c["cancelled"],
            records_written=c["written"],
        )
        for day, c in counts.items()
    ]
