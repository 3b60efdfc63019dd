"""When each seller's daily runs are planned (gateway/services/daily_slots.py): pure, no
database, no clock."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from gateway.models import SyncKind
from gateway.services import daily_slots
from gateway.settings import Settings

DAY = date(2026, 11, 25)
SUBS = SyncKind.SUBSCRIPTIONS


def test_a_sellers_run_is_planned_at_the_same_time_every_day_within_the_window() -> None:
    settings = Settings()  # 18:00 UTC, spread over 45 minutes
    planned = [
        daily_slots.planned_at(settings, SUBS, "seller-a", DAY + timedelta(d)) for d in range(7)
    ]
    assert {p.time() for p in planned} == {daily_slots.time_of_day(settings, SUBS, "seller-a")}
    assert [p.date() for p in planned] == [DAY + timedelta(d) for d in range(7)]
    assert time(18, 0) <= planned[0].time() < time(18, 45)
    # the same hash for organisations, at their hour
    orgs = daily_slots.planned_at(settings, SyncKind.ORGANIZATIONS, "seller-a", DAY)
    assert planned[0] - orgs == timedelta(hours=10)


def test_10_000_sellers_are_spread_evenly_and_none_moves_when_others_join() -> None:
    settings = Settings()
    sellers = [f"seller-{i}" for i in range(10_000)]
    slot = daily_slots.slot_start(settings, SUBS, DAY)
    planned = {s: daily_slots.planned_at(settings, SUBS, s, DAY) for s in sellers}
    per_five_minutes = Counter((p - slot) // timedelta(minutes=5) for p in planned.values())
    assert sorted(per_five_minutes) == list(range(9))  # 18:00–18:45 and nothing after
    share = len(sellers) / 9
    assert all(0.9 * share < n < 1.1 * share for n in per_five_minutes.values())
    # The busiest minute holds a few dozen sellers, not the herd
    per_minute = Counter((p - slot) // timedelta(minutes=1) for p in planned.values())
    assert max(per_minute.values()) < 2 * len(sellers) / 45
    # A seller's time depends on its id alone
    assert daily_slots.planned_at(settings, SUBS, "seller-7", DAY) == planned["seller-7"]


def test_no_spread_puts_every_seller_at_the_hour() -> None:
    settings = Settings(scheduled_sync_spread_minutes=0)
    assert {daily_slots.planned_at(settings, SUBS, f"seller-{i}", DAY) for i in range(100)} == {
        datetime(2026, 11, 25, 18, tzinfo=UTC)
    }


def test_the_next_planned_run_is_todays_until_it_passes_then_tomorrows() -> None:
    settings = Settings()
    today = daily_slots.planned_at(settings, SUBS, "seller-a", DAY)
    tomorrow = daily_slots.planned_at(settings, SUBS, "seller-a", DAY + timedelta(days=1))
    for now, expected in (
        (datetime(2026, 11, 25, 0, 0, tzinfo=UTC), today),
        (today, today),
        (today + timedelta(seconds=1), tomorrow),
        (datetime(2026, 11, 25, 23, 59, tzinfo=UTC), tomorrow),
    ):
        assert daily_slots.next_planned_at(settings, SUBS, "seller-a", now) == expected
