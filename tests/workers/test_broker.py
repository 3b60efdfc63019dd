"""The Redis broker survives Redis going away under a worker (issue #13, item 2).

Dramatiq's ``Retries`` re-enqueues a failed message from the worker thread; when Redis was
away at that moment it logged CRITICAL "Unexpected failure in after_process_message of
Retries" and the retry was lost (the message was acked once Redis came back).
"""

from __future__ import annotations

import logging
import threading
import time

import dramatiq
import pytest

from tests.conftest import make_settings
from tests.support.redis_server import RedisServer
from workers.broker import WORKER_TIMEOUT_MS, build_broker

# Redis stays away this long after the failure, while the worker wants to re-enqueue.
OUTAGE_SECONDS = 2.0


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def test_a_message_failing_while_redis_is_away_is_retried_once_redis_is_back(
    own_redis, tmp_path, redis_namespace, caplog
) -> None:
    settings = make_settings(
        f"sqlite://{tmp_path / 'gateway.sqlite3'}",
        tmp_path,
        redis_url=own_redis.url,
        redis_namespace=redis_namespace,
    )
    broker = build_broker(settings)  # no actors of ours: only the one below
    calls: list[float] = []
    done = threading.Event()

    def fails_once_while_redis_is_away() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            own_redis.stop()
            threading.Timer(OUTAGE_SECONDS, own_redis.start).start()
            raise RuntimeError("the first try fails, with Redis gone")
        done.set()

    actor = dramatiq.actor(
        fails_once_while_redis_is_away,
        actor_name="fails_once_while_redis_is_away",
        broker=broker,
        max_retries=3,
        min_backoff=100,
        max_backoff=200,
    )
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=WORKER_TIMEOUT_MS)
    worker.start()
    caplog.set_level(logging.INFO)
    try:
        actor.send()
        assert done.wait(60), f"the message was not retried after Redis came back: {calls}"
    finally:
        worker.stop()
        broker.close()
    assert len(calls) == 2
    assert calls[1] - calls[0] >= OUTAGE_SECONDS
    unexpected = [r for r in caplog.records if "Unexpected failure" in r.getMessage()]
    assert unexpected == []
