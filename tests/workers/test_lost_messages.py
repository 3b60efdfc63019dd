"""A queued run whose message Redis lost starts shortly after, and runs once (scale-out).

A gateway, two ``halo-gateway scheduler`` processes (two at once: a deploy overlap) and a
``halo-gateway worker`` on the shared Redis, in the test's own namespace. Losing the message
is what a Redis restart without persistence does to this deployment: every key of its
namespace gone (the shared server itself is never stopped). The interval after which a
queued run is re-sent is scaled down from 2 minutes to a few seconds; the queued run's
15-minute lease is not, so a run that finishes at all was started by a re-send.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from gateway.models import RunState, SyncRun
from tests.conftest import REDIS_URL, make_settings
from tests.support import data
from tests.support.processes import log_records, start_scheduler, start_worker, stop
from tests.support.runs import trigger, wait_for_run

SUBSCRIPTIONS = 60
REQUEUE_AFTER_SECONDS = 3.0
OUR_LOGGERS = ("gateway", "workers", "schema")
SYNC_SUBS = "mutation { syncSubscriptions { id state } }"


@pytest.fixture
def lost_settings(database_url, tmp_path, redis_namespace):
    # The daily slots far from now: the schedulers must queue nothing of their own here.
    hour = datetime.now(UTC).hour
    return make_settings(
        database_url,
        tmp_path,
        redis_url=REDIS_URL,
        redis_namespace=redis_namespace,
        broker_heartbeat_timeout_ms=1500,
        broker_maintenance_chance=1_000_000,
        halo_timeout_seconds=5.0,
        sync_lease_seconds=3,
        sync_requeue_after_seconds=REQUEUE_AFTER_SECONDS,
        organizations_sync_cron_hour=(hour + 4) % 24,
        subscriptions_sync_cron_hour=(hour + 8) % 24,
    )


async def _seller_with_subscriptions(settings: Any, halo_sim: Any, seller: str) -> int:
    """``seller`` connected to the simulator, one mapped organisation with SUBSCRIPTIONS
    subscriptions; returns its HaloPSA client's id."""
    sim = halo_sim.instance()
    await data.simulator_connection(settings, seller, halo_sim)
    client = sim.add_client(f"{seller} customer")
    org = await data.mapped_organization(seller, f"{seller}-org", client["name"], client)
    for i in range(SUBSCRIPTIONS):
        await data.subscription(org, f"{seller}-s{i:03d}", name=f"{seller} licence {i:03d}")
    return int(client["id"])


def _each_once(sim: Any, client_id: int) -> bool:
    names = Counter(lic["name"] for lic in sim.licences_of(client_id))
    return len(names) == SUBSCRIPTIONS and set(names.values()) == {1}


def _lose_everything(namespace: str) -> None:
    """What a Redis restart without persistence leaves of this deployment: nothing."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _sync_messages_left(namespace: str) -> int:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        prefix = f"{namespace}-dramatiq:sync"
        return int(client.hlen(f"{prefix}.msgs")) + int(client.hlen(f"{prefix}.DQ.msgs"))
    finally:
        client.close()


# A state the test waits for is looked at this often, up to this many times (a bound, so that
# a broken run fails the test instead of hanging it).
LOOK_EVERY_SECONDS = 0.05
LOOKS = 2400


async def _until(condition: Any) -> None:
    for _ in range(LOOKS):
        if condition():
            return
        await asyncio.sleep(LOOK_EVERY_SECONDS)
    raise AssertionError("the state the test waits for never came")


async def _until_async(condition: Any) -> Any:
    for _ in range(LOOKS):
        found = await condition()
        if found is not None:
            return found
        await asyncio.sleep(LOOK_EVERY_SECONDS)
    raise AssertionError("the state the test waits for never came")


async def _still_queued_or_re_sent(run_id: int) -> SyncRun | None:
    """The run once it was re-sent or left QUEUED (whichever comes first), else None."""
    run = await SyncRun.get(id=run_id)
    return run if run.requeues or run.state is not RunState.QUEUED else None


def _ours(records: list[dict[str, Any]], levels: set[str]) -> list[dict[str, Any]]:
    return [
        r
        for r in records
        if r.get("level") in levels and str(r.get("name", "")).startswith(OUR_LOGGERS)
    ]


def _re_sent(records: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
    return [
        r
        for r in _ours(records, {"WARNING"})
        if str(r.get("event", "")).startswith(f"re-sent run {run_id}'s message")
    ]


def _no_errors(logs: list[Path], caplog: Any) -> None:
    records = [r for log in logs for r in log_records(log)]
    assert _ours(records, {"ERROR", "CRITICAL"}) == [], records
    raw = [r["event"] for r in records if r["level"] == "RAW"]
    assert [line for line in raw if not line.startswith("worker started")] == [], raw
    ours = [r for r in caplog.records if r.name.startswith(OUR_LOGGERS)]
    assert [r.getMessage() for r in ours if r.levelno >= logging.ERROR] == []


@pytest.mark.databases("postgres")  # scale-out: several processes write at once
async def test_a_run_whose_message_redis_lost_starts_shortly_after_and_writes_each_licence_once(
    lost_settings, migrated_db, halo_sim, gateway_factory, tmp_path, caplog
) -> None:
    settings = lost_settings
    sim = halo_sim.instance()
    client_id = await _seller_with_subscriptions(settings, halo_sim, "seller-a")
    caplog.set_level(logging.INFO)
    gateway = gateway_factory(settings)
    logs = [tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log", tmp_path / "worker.log"]
    schedulers = [await start_scheduler(settings, log) for log in logs[:2]]
    worker = None
    try:
        # Given a run queued while no worker was there to take it
        run = await trigger(gateway, SYNC_SUBS)
        assert run["state"] == "QUEUED"
        # When Redis loses its message (a restart without persistence), then a worker comes
        _lose_everything(settings.redis_namespace)
        worker = await start_worker(settings, logs[2])
        # Then the run starts and finishes, long before its 15-minute lease would run out
        finished = await wait_for_run(gateway, run["id"], timeout=120)
    finally:
        for process in [*schedulers, worker]:
            if process is not None:
                await stop(process)

    assert finished["state"] == "SUCCEEDED", finished
    assert _each_once(sim, client_id), "a licence missing or written twice"
    assert finished["created"] == SUBSCRIPTIONS
    stored = await SyncRun.get(id=int(run["id"]))
    # One execution, started by a re-sent message; each re-send sent by one scheduler only
    assert stored.attempts == 1
    assert stored.requeues >= 1 and stored.started_by_resend >= 1
    scheduler_records = log_records(logs[0]) + log_records(logs[1])
    assert len(_re_sent(scheduler_records, run["id"])) == stored.requeues
    _no_errors(logs, caplog)


@pytest.mark.databases("postgres")
async def test_a_run_waiting_for_a_busy_worker_is_re_sent_and_the_spare_drops_itself(
    lost_settings, migrated_db, halo_sim, gateway_factory, tmp_path, caplog
) -> None:
    # HaloPSA's hang below outlasts no timeout of ours: it holds the worker, nothing else
    settings = lost_settings.model_copy(update={"halo_timeout_seconds": 30.0})
    sim = halo_sim.instance()
    client_a = await _seller_with_subscriptions(settings, halo_sim, "seller-a")
    client_b = await _seller_with_subscriptions(settings, halo_sim, "seller-b")
    caplog.set_level(logging.INFO)
    gateway = gateway_factory(settings)
    logs = [tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log", tmp_path / "worker.log"]
    schedulers = [await start_scheduler(settings, log) for log in logs[:2]]
    worker = await start_worker(settings, logs[2], threads=1)
    try:
        # Given the only worker thread busy with seller-b's run (HaloPSA hangs a while)
        sim.set_faults(stall_next=[4 * REQUEUE_AFTER_SECONDS])
        busy = await trigger(gateway, SYNC_SUBS, seller="seller-b")
        await _until(lambda: sim.counters.get("stalled"))
        # When seller-a's run waits behind it longer than the interval (its message is not
        # lost: it is sent again all the same)
        run = await trigger(gateway, SYNC_SUBS)
        waiting = await _until_async(lambda: _still_queued_or_re_sent(int(run["id"])))
        assert waiting.requeues >= 1, "seller-a's run started before it was re-sent"
        finished = await wait_for_run(gateway, run["id"], timeout=120)
        other = await wait_for_run(gateway, busy["id"], seller="seller-b", timeout=120)
        # (the worker takes the spare once it is free, and drops it)
        await _until(lambda: not _sync_messages_left(settings.redis_namespace))
    finally:
        for process in [*schedulers, worker]:
            await stop(process)

    # Then each run ran once, seller-a's by its original message, and nothing is left queued
    assert (finished["state"], other["state"]) == ("SUCCEEDED", "SUCCEEDED")
    assert _each_once(sim, client_a) and _each_once(sim, client_b)
    stored = await SyncRun.get(id=int(run["id"]))
    assert (stored.attempts, stored.started_by_resend) == (1, 0)
    assert stored.requeues >= 1
    _no_errors(logs, caplog)
