"""A queued run whose message the broker lost is sent again; a spare sending drops itself.

On the real broker (Redis, the test's own namespace), with no worker: the test plays the
worker by calling ``execute_run`` as the actor does, and reads the broker's queue to see what
was sent. Losing a message is what a Redis restart without persistence does to the queue
(``broker.flush``). Time is given to the look (``now``), not waited for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import dramatiq
import pytest

from gateway.models import RunState, SyncKind, SyncRun, SyncTrigger
from gateway.services import build_deps
from gateway.services.sync import cancel_sync, execute_run, resend_lost_runs, trigger_sync
from gateway.services.sync.runs import QUEUED_LEASE_SECONDS, claim_lock
from tests.conftest import REDIS_URL
from tests.support import data
from tests.support.servers import free_port
from workers.broker import build_broker, register_actors
from workers.queue import DramatiqJobQueue

OUR_LOGGERS = ("gateway", "workers", "schema")


@asynccontextmanager
async def on_broker(settings: Any) -> AsyncIterator[tuple[Any, Any]]:
    """The services' Deps on the Redis broker of ``settings``, as the scheduler and the
    workers have them, and that broker; closed after the block."""
    broker = build_broker(settings)
    deps = build_deps(settings, queue=DramatiqJobQueue(broker))
    register_actors(broker, deps)
    try:
        yield deps, broker
    finally:
        broker.close()
        await deps.bus.close()
        await deps.aclose()


@pytest.fixture
async def scale_out(connected, settings, redis_namespace) -> AsyncIterator[tuple[Any, Any, Any]]:
    """The services' Deps on a Redis broker of the test's namespace (:func:`on_broker`), the
    broker, and the simulator instance seller-a is connected to."""
    settings = settings.model_copy(
        update={"redis_url": REDIS_URL, "redis_namespace": redis_namespace}
    )
    async with on_broker(settings) as (deps, broker):
        try:
            yield deps, broker, connected.instance()
        finally:
            broker.flush_all()


async def queued_run(deps: Any) -> SyncRun:
    """seller-a's manual organisations sync, QUEUED: its message sent, no worker takes it."""
    return await trigger_sync(deps, "seller-a", SyncKind.ORGANIZATIONS, trigger=SyncTrigger.MANUAL)


def past_interval(deps: Any, since: datetime) -> datetime:
    """A second past the re-send interval counted from ``since``: a look then re-sends."""
    return since + timedelta(seconds=deps.settings.sync_requeue_after_seconds + 1)


async def re_sent_run(deps: Any, broker: Any) -> SyncRun:
    """A queued run whose message was sent again (it waited past the interval; the original
    was only late: every worker was busy), both messages taken off the broker: the test
    delivers them."""
    run = await queued_run(deps)
    assert await resend_lost_runs(deps, past_interval(deps, run.queued_at)) == 1
    assert sent(broker) == [([run.id], {}), ([run.id], {"resend": 1})]
    lose_messages(broker)
    return run


async def deliver_one_while_the_other_runs(
    deps: Any, sim: Any, run_id: int, *, first: int, then: int
) -> SyncRun:
    """Sending ``first`` of the run's message is delivered, and sending ``then`` while the
    run goes on (its first HaloPSA call hangs); the run as it was when ``then`` returned."""
    sim.set_faults(stall_next=[3.0])
    running = asyncio.create_task(execute_run(run_id, deps, resend=first))
    await started(run_id)
    await execute_run(run_id, deps, resend=then)
    during = await SyncRun.get(id=run_id)
    await running
    return during


def sent(broker: Any) -> list[tuple[list[Any], dict[str, Any]]]:
    """The sync messages waiting in the broker, due now or later: (args, kwargs) each."""
    messages = []
    for key in (f"{broker.namespace}:sync.msgs", f"{broker.namespace}:sync.DQ.msgs"):
        for raw in broker.client.hvals(key):
            message = dramatiq.Message.decode(raw)
            messages.append((list(message.args), dict(message.kwargs)))
    return sorted(messages, key=lambda m: (m[0], sorted(m[1].items())))


def lose_messages(broker: Any) -> None:
    """What a Redis restart without persistence does to the queue."""
    broker.flush("sync")


async def started(run_id: int) -> None:
    """Until the run has left QUEUED (the task executing it runs on this loop)."""
    while (await SyncRun.get(id=run_id)).state is RunState.QUEUED:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def outcome(run_id: int) -> tuple[RunState, int, int]:
    """The stored run's state, attempts, and which sending of its message started it."""
    run = await SyncRun.get(id=run_id)
    return run.state, run.attempts, run.started_by_resend


def our_lines(caplog: Any, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == level and r.name.startswith(OUR_LOGGERS)
    ]


async def test_a_queued_run_whose_message_was_lost_is_sent_again_once_per_interval(
    scale_out, caplog
) -> None:
    deps, broker, _sim = scale_out
    caplog.set_level(logging.INFO)
    run = await queued_run(deps)
    assert sent(broker) == [([run.id], {})]
    # Given Redis restarted without persistence: the message is gone
    lose_messages(broker)
    queued = run.queued_at
    after = timedelta(seconds=deps.settings.sync_requeue_after_seconds)
    second = timedelta(seconds=1)

    # Within the interval a queued run may just be waiting for a free worker: nothing sent
    assert await resend_lost_runs(deps, queued + after - second) == 0
    assert sent(broker) == []
    # Past it, two schedulers look at the same moment: the message goes out once
    at = queued + after + second
    assert sorted(await asyncio.gather(*(resend_lost_runs(deps, at) for _ in range(2)))) == [0, 1]
    assert sent(broker) == [([run.id], {"resend": 1})]
    assert our_lines(caplog, logging.WARNING) == [
        f"re-sent run {run.id}'s message: QUEUED for {after.seconds + 1}s without starting "
        "(lost by the broker, or no worker free); re-send 1"
    ]
    # Lost again: not before another interval, then once more
    lose_messages(broker)
    assert await resend_lost_runs(deps, at + after - second) == 0
    assert await resend_lost_runs(deps, at + after + second) == 1
    assert sent(broker) == [([run.id], {"resend": 2})]
    # The last resort stays: once the queued run's lease has run out (15 minutes), it no
    # longer blocks the seller and is left alone
    lose_messages(broker)
    assert await resend_lost_runs(deps, queued + timedelta(seconds=QUEUED_LEASE_SECONDS)) == 0
    assert sent(broker) == []
    stored = await SyncRun.get(id=run.id)
    assert (stored.state, stored.requeues) == (RunState.QUEUED, 2)
    assert our_lines(caplog, logging.ERROR) == []


async def test_the_re_sent_message_runs_the_run_once_and_the_original_that_comes_late_drops(
    scale_out, caplog
) -> None:
    deps, broker, sim = scale_out
    caplog.set_level(logging.INFO)
    # Given the run waited too long and its message was sent again
    run = await re_sent_run(deps, broker)
    # When the re-sent one is delivered first, then the original while the run goes on
    during = await deliver_one_while_the_other_runs(deps, sim, run.id, first=1, then=0)

    # Then the original dropped itself: it neither ran nor came back to look again later
    assert during.state is RunState.RUNNING, "the original came after the run had finished"
    assert sent(broker) == []
    assert await outcome(run.id) == (RunState.SUCCEEDED, 1, 1)
    assert f"run {run.id} is under way (started by sending 1); sending 0 dropped" in our_lines(
        caplog, logging.INFO
    )
    assert our_lines(caplog, logging.ERROR) == []


async def test_a_re_sent_message_that_comes_while_the_original_runs_drops_itself(
    scale_out, caplog
) -> None:
    deps, broker, sim = scale_out
    caplog.set_level(logging.INFO)
    # Given the run waited too long and its message was sent again
    run = await re_sent_run(deps, broker)
    # When the original is delivered first and the re-sent one while it runs
    during = await deliver_one_while_the_other_runs(deps, sim, run.id, first=0, then=1)
    # Then the spare did nothing, and a spare after the end does nothing either
    await execute_run(run.id, deps, resend=1)
    assert during.state is RunState.RUNNING, "the spare came after the run had finished"
    assert sent(broker) == []
    assert await outcome(run.id) == (RunState.SUCCEEDED, 1, 0)
    assert our_lines(caplog, logging.ERROR) == []
    warnings = our_lines(caplog, logging.WARNING)
    assert [line for line in warnings if not line.startswith(f"re-sent run {run.id}'s")] == []


async def test_runs_started_cancelled_or_just_queued_again_are_not_re_sent(scale_out) -> None:
    deps, broker, _sim = scale_out
    # A run that ran
    ran = await queued_run(deps)
    await execute_run(ran.id, deps)
    assert await resend_lost_runs(deps, past_interval(deps, ran.queued_at)) == 0
    # A run cancelled before it started
    cancelled = await queued_run(deps)
    await cancel_sync(deps, "seller-a", cancelled.id)
    assert await resend_lost_runs(deps, past_interval(deps, cancelled.queued_at)) == 0
    lose_messages(broker)
    # A run queued long ago and queued again just now (an approved run holds the lock from
    # its approval): it waits from the moment it was queued again
    await data.seller("seller-b")
    old = await SyncRun.create(
        seller_id="seller-b",
        kind=SyncKind.SUBSCRIPTIONS,
        trigger=SyncTrigger.MANUAL,
        queued_at=ran.queued_at - timedelta(hours=1),
    )
    now = ran.queued_at
    assert await claim_lock("seller-b", old.id, now, QUEUED_LEASE_SECONDS)
    assert await resend_lost_runs(deps, past_interval(deps, now) - timedelta(seconds=2)) == 0
    assert await resend_lost_runs(deps, past_interval(deps, now)) == 1
    assert sent(broker) == [([old.id], {"resend": 1})]


async def test_a_re_send_the_broker_cannot_take_is_tried_again_at_the_next_look(
    scale_out, caplog
) -> None:
    deps, broker, _sim = scale_out
    caplog.set_level(logging.INFO)
    run = await queued_run(deps)
    lose_messages(broker)
    at = past_interval(deps, run.queued_at)
    # When the scheduler looks while Redis is still away (a broker on a port nobody serves)
    away = deps.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with on_broker(away) as (away_deps, _away_broker):
        assert await resend_lost_runs(away_deps, at) == 0
    # Then the next look, Redis back, sends it without waiting another interval; the number
    # the failed attempt took is not used again (the broker may have stored that message)
    assert await resend_lost_runs(deps, at + timedelta(seconds=1)) == 1
    assert sent(broker) == [([run.id], {"resend": 2})]
    assert our_lines(caplog, logging.ERROR) == []
