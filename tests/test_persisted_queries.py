"""Where registered persisted queries live: bounded in memory, in Redis in scale-out."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

from gateway.persisted_queries import (
    MAX_DOCUMENT_BYTES,
    REDIS_TTL_SECONDS,
    InMemoryPersistedQueries,
    RedisPersistedQueries,
)
from tests.conftest import REDIS_URL


async def test_the_least_recently_used_query_leaves_first_when_the_count_is_full() -> None:
    store = InMemoryPersistedQueries(max_documents=3)
    for name in "abc":
        await store.put(name, f"query {name} {{ __typename }}")
    assert await store.get("a")  # used: "b" is now the oldest
    await store.put("d", "query d { __typename }")
    assert [await store.get(k) is not None for k in "abcd"] == [True, False, True, True]
    assert len(store) == 3


async def test_the_store_never_holds_more_bytes_than_its_bound() -> None:
    store = InMemoryPersistedQueries(max_documents=1000, max_bytes=10_000)
    for i in range(100):
        await store.put(f"{i:064x}", "x" * 1_000)
    assert store.bytes <= 10_000 and len(store) == 10
    assert await store.get(f"{99:064x}") is not None
    assert await store.get(f"{0:064x}") is None


async def test_a_document_over_the_size_cap_is_not_stored() -> None:
    store = InMemoryPersistedQueries()
    await store.put("big", "x" * (MAX_DOCUMENT_BYTES + 1))
    assert await store.get("big") is None


async def test_redis_shares_registrations_between_replicas_and_expires_them(
    redis_namespace: str,
) -> None:
    one = RedisPersistedQueries(REDIS_URL, redis_namespace)
    other = RedisPersistedQueries(REDIS_URL, redis_namespace)
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        await one.put("ab" * 32, "query A { __typename }")
        assert await other.get("ab" * 32) == "query A { __typename }"
        ttl = await admin.ttl(f"{redis_namespace}:apq:{'ab' * 32}")
        assert 0 < ttl <= REDIS_TTL_SECONDS
    finally:
        await admin.delete(f"{redis_namespace}:apq:{'ab' * 32}")
        await admin.aclose()
        await one.aclose()
        await other.aclose()


async def test_a_redis_that_does_not_answer_is_a_miss_and_one_warning(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.persisted_queries")
    store = RedisPersistedQueries("redis://127.0.0.1:1/0", "nowhere")
    try:
        assert await store.get("cd" * 32) is None
        assert await store.get("ef" * 32) is None
        await store.put("01" * 32, "query B { __typename }")  # kept in this process
        assert await store.get("01" * 32) == "query B { __typename }"
    finally:
        await store.aclose()
    warnings = [r for r in caplog.records if r.name == "gateway.persisted_queries"]
    assert len(warnings) == 1
    assert "Redis did not answer" in warnings[0].getMessage()
