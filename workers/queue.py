"""``gateway.jobs.JobQueue`` over Dramatiq: how the gateway hands a sync run to a worker."""

from __future__ import annotations

import asyncio
import logging
import math

import dramatiq
from redis.exceptions import RedisError

from gateway.errors import BrokerUnavailable

logger = logging.getLogger(__name__)


class DramatiqJobQueue:
    def __init__(self, broker: dramatiq.Broker, actors: dict[str, dramatiq.Actor]) -> None:
        self.broker = broker
        self.actors = actors

    async def enqueue_sync(self, run_id: int, *, delay_seconds: float | None = None) -> None:
        actor = self.actors["run_sync"]
        delay = None if delay_seconds is None else max(0, math.ceil(delay_seconds * 1000))
        try:
            # The Redis client is synchronous: keep it off the event loop.
            await asyncio.to_thread(actor.send_with_options, args=(run_id,), delay=delay)
        except (RedisError, OSError) as exc:
            logger.warning(
                "could not enqueue sync run %s: %s", run_id, exc, extra={"run_id": run_id}
            )
            raise BrokerUnavailable() from exc

    async def ping(self) -> bool:
        client = getattr(self.broker, "client", None)
        if client is None:
            return True
        try:
            return bool(await asyncio.to_thread(client.ping))
        except (RedisError, OSError):
            return False
