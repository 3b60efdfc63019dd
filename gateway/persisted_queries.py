"""Where automatic persisted queries (APQ) live: sha256 hash → query text, bounded.

A client registers a query by sending it with its hash once; afterwards the hash alone is
enough. The edge (``schema.persisted``) checks that the hash is the query's sha256 before it
stores anything, so an entry can never make a hash stand for another query, and stores only
queries that passed validation.

* embedded: in this process, least recently used first out, at most ``MAX_DOCUMENTS``
  documents and ``MAX_BYTES`` of text;
* scale-out: in Redis (``{namespace}:apq:{hash}``), shared by the replicas, each entry
  expiring ``REDIS_TTL_SECONDS`` after its last registration, with a small in-process LRU in
  front. A Redis that does not answer makes a lookup a miss (the client sends the full query
  again) and a registration a no-op: persisted queries save bytes, they never fail a request.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any, Protocol

from gateway.logging import KeyedLineBudget
from gateway.redis_clients import LoopClients

logger = logging.getLogger(__name__)

# A few hundred distinct operations is a big frontend; the bounds keep a client that
# registers junk from growing the process (8 MiB of text at most).
MAX_DOCUMENTS = 2_000
MAX_BYTES = 8 * 1024 * 1024
# A document larger than this is run but not stored (the token limit makes real ones small).
MAX_DOCUMENT_BYTES = 64 * 1024
REDIS_TTL_SECONDS = 24 * 3600
LOCAL_DOCUMENTS_IN_FRONT_OF_REDIS = 256
REDIS_TIMEOUT_SECONDS = 1.0


class PersistedQueryStore(Protocol):
    async def get(self, sha256_hash: str) -> str | None: ...

    async def put(self, sha256_hash: str, query: str) -> None:
        """Store a query whose sha256 the caller has checked is ``sha256_hash``."""
        ...

    async def aclose(self) -> None: ...


class InMemoryPersistedQueries:
    """An LRU bounded by documents and bytes; safe from several threads (embedded worker)."""

    def __init__(self, max_documents: int = MAX_DOCUMENTS, max_bytes: int = MAX_BYTES) -> None:
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._documents)

    @property
    def bytes(self) -> int:
        return self._bytes

    def get_now(self, sha256_hash: str) -> str | None:
        with self._lock:
            query = self._documents.get(sha256_hash)
            if query is not None:
                self._documents.move_to_end(sha256_hash)
            return query

    def put_now(self, sha256_hash: str, query: str) -> None:
        size = len(query.encode())
        if size > MAX_DOCUMENT_BYTES:
            return
        with self._lock:
            previous = self._documents.pop(sha256_hash, None)
            if previous is not None:
                self._bytes -= len(previous.encode())
            self._documents[sha256_hash] = query
            self._bytes += size
            while len(self._documents) > self.max_documents or self._bytes > self.max_bytes:
                _, evicted = self._documents.popitem(last=False)
                self._bytes -= len(evicted.encode())

    async def get(self, sha256_hash: str) -> str | None:
        return self.get_now(sha256_hash)

    async def put(self, sha256_hash: str, query: str) -> None:
        self.put_now(sha256_hash, query)

    async def aclose(self) -> None:
        """Nothing to close."""


class RedisPersistedQueries:
    def __init__(self, redis_url: str, namespace: str) -> None:
        self._prefix = f"{namespace}:apq:"
        self._local = InMemoryPersistedQueries(LOCAL_DOCUMENTS_IN_FRONT_OF_REDIS)
        self._redis = LoopClients(
            redis_url,
            name=self._prefix.rstrip(":"),
            timeout=REDIS_TIMEOUT_SECONDS,
            decode_responses=True,
        )
        # One line a minute while Redis is away, not one per request.
        self._outage_lines = KeyedLineBudget(1, 60.0)

    def _warn(self, what: str) -> None:
        admitted, held_back = self._outage_lines.admit("redis")
        if admitted:
            more = f" ({held_back} more since the last line)" if held_back else ""
            logger.warning("persisted queries: Redis did not answer; %s%s", what, more)

    def _client(self) -> Any:
        return self._redis.get()

    async def get(self, sha256_hash: str) -> str | None:
        from redis.exceptions import RedisError

        query = self._local.get_now(sha256_hash)
        if query is not None:
            return query
        try:
            query = await self._client().get(self._prefix + sha256_hash)
        except (RedisError, OSError):
            self._warn("lookups are misses (clients send the full query)")
            return None
        if query is not None:
            self._local.put_now(sha256_hash, query)
        return query

    async def put(self, sha256_hash: str, query: str) -> None:
        from redis.exceptions import RedisError

        if len(query.encode()) > MAX_DOCUMENT_BYTES:
            return
        self._local.put_now(sha256_hash, query)
        try:
            await self._client().set(self._prefix + sha256_hash, query, ex=REDIS_TTL_SECONDS)
        except (RedisError, OSError):
            self._warn("registrations are kept in this process only")

    async def aclose(self) -> None:
        await self._redis.aclose()


def build_persisted_query_store(redis_url: str | None, namespace: str) -> PersistedQueryStore:
    return RedisPersistedQueries(redis_url, namespace) if redis_url else InMemoryPersistedQueries()
