"""The daily schedule's runs (gateway/services/sync/schedules.py): every verified seller once
per day, even with two schedulers; a run that cannot start leaves a warning."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.models import LogEntry, LogLevel, SyncKind, SyncRun, SyncTrigger
from gateway.services.sync import ScheduledCounts, trigger_scheduled
from tests.support import data
from tests.support.runs import wait_for_run


async def test_two_schedulers_firing_the_same_day_queue_one_run_per_seller(
    migrated_db, halo_sim, gateway
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    await data.simulator_connection(migrated_db, "seller-b", halo_sim)
    await data.seller("seller-c")  # no connection: never scheduled
    deps = gateway.app.state.halo.deps
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    first = await trigger_scheduled(deps, SyncKind.ORGANIZATIONS, now)
    second = await trigger_scheduled(deps, SyncKind.ORGANIZATIONS, now)
    assert first == ScheduledCounts(queued=2)
    assert second.queued == 0 and second.already_queued + second.skipped == 2
    runs = await SyncRun.filter(trigger=SyncTrigger.SCHEDULED).order_by("seller_id")
    assert [r.seller_id for r in runs] == ["seller-a", "seller-b"]
    for run in runs:
        assert (await wait_for_run(gateway, str(run.id), seller=run.seller_id))["state"] == (
            "SUCCEEDED"
        )
    # The next day is a new run.
    nextday = await trigger_scheduled(
        deps, SyncKind.ORGANIZATIONS, datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    )
    assert nextday.queued == 2


async def test_a_scheduled_run_meeting_a_running_sync_is_skipped_with_a_warning(
    migrated_db, halo_sim, gateway
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    halo_sim.instance().set_faults(latency_ms=400)
    halo_sim.instance().add_client("Acme")
    manual = await gateway.gql("mutation { syncOrganizations { id } }")
    deps = gateway.app.state.halo.deps
    counts = await trigger_scheduled(deps, SyncKind.SUBSCRIPTIONS)
    assert counts.skipped == 1
    warning = await LogEntry.get(seller_id="seller-a", level=LogLevel.WARNING)
    assert warning.title == "Scheduled subscriptions sync skipped"
    assert warning.details == (
        "Sync in progress. The next scheduled sync or a manual one will catch up."
    )
    await wait_for_run(gateway, manual["data"]["syncOrganizations"]["id"])
