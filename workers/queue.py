"""``gateway.jobs.JobQueue`` over Dramatiq: how the services hand a sync run or a webhook
delivery to a worker."""

from __future__ import annotations

import asyncio
import logging
import math

import dramatiq
from redis.exceptions import RedisError

from gateway.errors import BrokerUnavailable

logger = logging.getLogger(__name__)


class DramatiqJobQueue:
    """Made on the broker before the actors exist (they need the Deps this queue is part of);
    an actor is looked up by name when a message is sent."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    async def enqueue_sync(
        self, run_id: int, *, delay_seconds: float | None = None, resend: int = 0
    ) -> None:
        delay = None if delay_seconds is None else max(0, math.ceil(delay_seconds * 1000))
        # A first sending's message is what it always was (``run_sync(run_id)``).
        kwargs = {"resend": resend} if resend else None
        await self._send("run_sync", run_id, delay, "sync run", {"run_id": run_id}, kwargs)

    async def enqueue_webhook(self, delivery_id: int | None, delay_seconds: float = 0) -> None:
        delay_ms = int(delay_seconds * 1000) or None
        await self._send("deliver_webhook", delivery_id, delay_ms, "webhook delivery", {})

    async def _send(
        self,
        actor_name: str,
        arg: int | None,
        delay_ms: int | None,
        what: str,
        extra: dict[str, int],
        kwargs: dict[str, int] | None = None,
    ) -> None:
        actor = self.broker.get_actor(actor_name)
        try:
            # The Redis client is synchronous: keep it off the event loop.
            await asyncio.to_thread(
                actor.send_with_options, args=(arg,), kwargs=kwargs, delay=delay_ms
            )
        except (RedisError, OSError) as exc:
            logger.warning("could not enqueue %s %s: %s", what, arg, exc, extra=extra)
            raise BrokerUnavailable() from exc

    async def ping(self) -> bool:
        client = getattr(self.broker, "client", None)
        if client is None:
            return True
        try:
            return bool(await asyncio.to_thread(client.ping))
        except (RedisError, OSError):
            return False
