"""Persisted queries at the HTTP edge: Apollo's APQ protocol, which urql speaks too.

A request may carry ``extensions.persistedQuery = {"version": 1, "sha256Hash": …}``:

* **hash only** (no ``query``): the query is looked up — first in the trusted documents
  (``schema.trusted_documents``: the web app sends nothing else), then among the registered
  ones (``gateway.persisted_queries``). Unknown: ``PersistedQueryNotFound`` /
  ``PERSISTED_QUERY_NOT_FOUND``, the words Apollo's ``PersistedQueryLink`` and urql's
  ``persistedExchange`` wait for before they send the query with its hash. A browser under
  ``TRUSTED_DOCUMENTS=enforce`` looks up the trusted documents only, and an unknown hash is
  ``PERSISTED_QUERY_NOT_IN_LIST`` (nothing to fall back to: its app is not the one deployed).
* **query and hash**: registration. The hash must be the sha256 of the query's text, or the
  request is refused (``PERSISTED_QUERY_HASH_MISMATCH``), not run, and nothing is stored.
  A query is stored only after it ran (parse and validation passed), so the cache holds no
  junk, and never for a browser under enforcement: there the list is the list.

Malformed ``persistedQuery`` values answer 400 ``BAD_REQUEST`` like any malformed parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql.error import GraphQLError
from strawberry.types import ExecutionResult

from gateway.auth import Principal
from gateway.persisted_queries import PersistedQueryStore
from schema.http import RequestRefused
from schema.trusted_documents import TrustedDocuments, sha256_hex

# Apollo Server's words: urql's persistedExchange compares the message, Apollo's
# PersistedQueryLink the message or the code.
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
SUPPORTED_VERSION = 1

_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class PersistedQueryRefused(Exception):
    """The persisted-query part of a request cannot be honoured: answered with ``error``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.error = GraphQLError(message, extensions={"code": code})

    def result(self) -> ExecutionResult:
        return ExecutionResult(data=None, errors=[self.error])


@dataclass(frozen=True)
class Resolved:
    """The query to run, and the hash to store it under once it ran (if any)."""

    query: str | None
    register: str | None = None


def requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The ``sha256Hash`` a request names, lower-cased; None without ``persistedQuery``."""
    if not isinstance(extensions, Mapping) or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, Mapping):
        raise RequestRefused(400, "extensions.persistedQuery must be an object.")
    if persisted.get("version") != SUPPORTED_VERSION:
        raise RequestRefused(
            400, f"Unsupported persisted query version: only {SUPPORTED_VERSION} is served."
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256_HEX.match(digest):
        raise RequestRefused(
            400, "extensions.persistedQuery.sha256Hash must be 64 hexadecimal characters."
        )
    return digest.lower()


class PersistedQueries:
    def __init__(self, trusted: TrustedDocuments, store: PersistedQueryStore) -> None:
        self.trusted = trusted
        self.store = store

    async def resolve(
        self, query: str | None, extensions: Mapping[str, Any] | None, caller: Principal | None
    ) -> Resolved:
        digest = requested_hash(extensions)
        if digest is None:
            return Resolved(query)
        enforced = self.trusted.enforced_for(caller)
        if query is None:
            found = self.trusted.get(digest)
            if found is None and not enforced:
                found = await self.store.get(digest)
            if found is not None:
                return Resolved(found)
            if enforced:
                raise PersistedQueryRefused(
                    "This persisted query is not one of the trusted documents.", NOT_IN_LIST
                )
            raise PersistedQueryRefused(NOT_FOUND_MESSAGE, NOT_FOUND)
        if sha256_hex(query) != digest:
            raise PersistedQueryRefused(
                "The persisted query's sha256Hash is not the hash of its query: "
                "nothing was run or stored.",
                HASH_MISMATCH,
            )
        known = self.trusted.get(digest) is not None
        return Resolved(query, None if enforced or known else digest)

    async def remember(self, resolved: Resolved, result: ExecutionResult) -> None:
        """Store a registration once its query ran: a parse or validation failure has no
        data and no error with a path."""
        if resolved.register is None or resolved.query is None:
            return
        ran = result.data is not None or any(e.path for e in result.errors or [])
        if ran:
            await self.store.put(resolved.register, resolved.query)
