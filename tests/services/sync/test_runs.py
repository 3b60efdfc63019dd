"""A run's hold on its seller: one run per seller, one execution of a run at a time, and a
lease that lets a stuck or killed run go. The conditional UPDATEs on the seller row, on the
real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest

from gateway.models import RunState, SyncKind, SyncRun, SyncTrigger
from gateway.services.sync.runs import (
    LostLock,
    Progress,
    active_run,
    claim_lock,
    lease_held_elsewhere,
    now_utc,
    park_lease,
    release_lock,
    renew_lease,
)
from tests.support import data

LEASE = 30.0


async def _run(seller_id: str = "seller-a") -> SyncRun:
    await data.seller(seller_id)
    return await SyncRun.create(
        seller_id=seller_id, kind=SyncKind.SUBSCRIPTIONS, trigger=SyncTrigger.MANUAL
    )


async def test_a_seller_has_one_run_at_a_time_until_it_is_released(migrated_db) -> None:
    first, second = await _run(), await _run()
    now = now_utc()
    assert await claim_lock("seller-a", first.id, now, LEASE)
    assert not await claim_lock("seller-a", second.id, now, LEASE)
    assert await claim_lock("seller-b", (await _run("seller-b")).id, now, LEASE)  # not shared
    assert (await active_run("seller-a", now)).id == first.id
    await release_lock("seller-a", first.id)
    assert await active_run("seller-a", now) is None
    assert await claim_lock("seller-a", second.id, now, LEASE)


async def test_a_run_whose_lease_expired_no_longer_blocks_the_seller(migrated_db) -> None:
    stuck, next_run = await _run(), await _run()
    now = now_utc()
    assert await claim_lock("seller-a", stuck.id, now, LEASE, owner="worker-1")
    later = now + timedelta(seconds=LEASE + 1)
    assert await active_run("seller-a", later) is None
    assert await claim_lock("seller-a", next_run.id, later, LEASE)
    # The stuck execution finds out when it next renews: the lease is not its any more.
    assert not await renew_lease("seller-a", stuck.id, LEASE, owner="worker-1")


async def test_a_second_execution_of_a_run_waits_while_the_first_is_alive(migrated_db) -> None:
    run = await _run()
    now = now_utc()
    assert await claim_lock("seller-a", run.id, now, LEASE)  # the trigger: queued, no owner
    assert await claim_lock("seller-a", run.id, now, LEASE, owner="first")  # it starts
    # The broker delivers the message again (the first worker's heartbeat looked stale).
    assert not await claim_lock("seller-a", run.id, now, LEASE, owner="second")
    left = await lease_held_elsewhere("seller-a", run.id, now)
    assert left is not None and 0 < left <= LEASE
    assert await renew_lease("seller-a", run.id, LEASE, owner="first")
    # The first worker was killed: once its lease ran out, the redelivery takes the run on.
    later = now + timedelta(seconds=LEASE + 1)
    assert await lease_held_elsewhere("seller-a", run.id, later) is None
    assert await claim_lock("seller-a", run.id, later, LEASE, owner="second")
    assert not await renew_lease("seller-a", run.id, LEASE, owner="first")


async def test_a_parked_run_keeps_the_seller_for_its_next_execution_only(migrated_db) -> None:
    run, other = await _run(), await _run()
    now = now_utc()
    assert await claim_lock("seller-a", run.id, now, LEASE, owner="first")
    until = now + timedelta(minutes=5)
    assert await park_lease("seller-a", run.id, "first", until)  # re-queued with a delay
    assert await lease_held_elsewhere("seller-a", run.id, now) is None  # nobody works on it
    assert not await claim_lock("seller-a", other.id, now, LEASE)
    assert await claim_lock("seller-a", run.id, now + timedelta(minutes=4), LEASE, owner="next")
    assert not await park_lease("seller-a", run.id, "first", until)  # not the first's any more


async def test_a_finished_run_is_not_the_active_one_even_while_it_holds_the_lock(
    migrated_db,
) -> None:
    run = await _run()
    now = now_utc()
    assert await claim_lock("seller-a", run.id, now, LEASE)
    await SyncRun.filter(id=run.id).update(state=RunState.SUCCEEDED, finished_at=now)
    assert await active_run("seller-a", now) is None


async def test_the_fence_before_a_write_stops_an_execution_that_was_taken_over(migrated_db) -> None:
    # Given an execution that holds its run, then freezes past its lease
    run = await _run()
    now = now_utc()
    assert await claim_lock("seller-a", run.id, now, LEASE, owner="first")
    first = Progress(run, cast(Any, None), LEASE, owner="first")
    await first.fence()  # still its own: the write may leave (and the lease is renewed)
    later = now_utc() + timedelta(seconds=LEASE + 1)
    # When the redelivered message takes the run over
    assert await claim_lock("seller-a", run.id, later, LEASE, owner="second")
    # Then the frozen one, waking, is stopped before its write; the successor is not
    with pytest.raises(LostLock):
        await first.fence()
    await Progress(run, cast(Any, None), LEASE, owner="second").fence()
