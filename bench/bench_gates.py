"""What trusted documents, query cost and per-operation metrics add to each operation.

    python bench/bench_gates.py [--runs 3000]

In process, no HTTP and no database: the same small operation (``viewer``, resolved from
the token) executed by the gateway's schema as built now (metrics, trusted-documents gate,
cost gate with a per-seller budget) and by a baseline schema with the extensions the gateway
had before (error mapping, parser and validation caches, NUL check, depth/alias/token
limits), interleaved, for a browser token sending a trusted document, an integrator sending
its own query, and a browser's untrusted query under log-only. Prints p50/p99 and the
ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import statistics
import time
from types import SimpleNamespace
from typing import Any

from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from gateway.auth import ClientKind, Principal
from gateway.services.throttle import InMemoryThrottle
from gateway.settings import TrustedDocumentsMode
from schema import (
    DOCUMENT_CACHE_SIZE,
    MAX_ALIASES,
    MAX_QUERY_DEPTH,
    MAX_TOKENS,
    GatewaySchema,
    _merged,
    build_schema,
)
from schema.cost import CostLimits
from schema.errors import DomainErrorExtension, RejectNulCharacters
from schema.trusted_documents import ALLOWLIST_DIR, TrustedDocuments, load_manifest

QUERY = "query Viewer { viewer { subject sellerId roles } }"


def baseline_schema() -> Any:
    limits = [
        *QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH).validation_rules,
        *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    ]
    return GatewaySchema(
        query=_merged("Query"),
        mutation=_merged("Mutation"),
        subscription=_merged("Subscription"),
        extensions=[
            DomainErrorExtension,
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
            RejectNulCharacters,
            lambda: AddValidationRules(limits),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        ],
    )


def context(kind: ClientKind) -> Any:
    principal = Principal("bench", "seller-bench", frozenset({"SELLER_ADMIN"}), client_kind=kind)
    deps = SimpleNamespace(throttle=InMemoryThrottle())
    return SimpleNamespace(
        caller=principal, principal=principal, _principal=principal, deps=deps, request=None
    )


async def main(runs: int) -> None:
    logging.disable(logging.INFO)  # log-only's lines are budgeted; not what is measured
    # The shipped allow-list, plus a trusted document that needs no database (registered as
    # a frontend team would).
    documents = {
        h: d for path in ALLOWLIST_DIR.glob("*.json") for h, d in load_manifest(path).items()
    }
    documents[hashlib.sha256(QUERY.encode()).hexdigest()] = QUERY
    trusted = TrustedDocuments(documents, TrustedDocumentsMode.LOG_ONLY)
    gates = build_schema(
        trusted_documents=trusted,
        cost_limits=CostLimits(per_request=15_000, per_seller_per_minute=10**12),
    )
    baseline = baseline_schema()
    cases = {
        "browser, trusted document": (QUERY, ClientKind.BROWSER),
        "integrator, own query": ("{ viewer { sellerId roles subject } }", ClientKind.INTEGRATOR),
        "browser, untrusted (log-only)": ("{ viewer { roles sellerId } }", ClientKind.BROWSER),
    }
    print(f"{runs} executions per case and schema, interleaved")
    print(f"{'case':32} {'baseline p50/p99 µs':>22} {'gates p50/p99 µs':>20} {'ratio p50':>10}")
    for name, (query, kind) in cases.items():
        timings: dict[str, list[float]] = {"baseline": [], "gates": []}
        ctx = context(kind)
        for i in range(runs + 100):
            for label, schema in (("baseline", baseline), ("gates", gates)):
                started = time.perf_counter()
                result = await schema.execute(query, context_value=ctx)
                elapsed = time.perf_counter() - started
                assert not result.errors, result.errors
                if i >= 100:  # warm-up
                    timings[label].append(elapsed * 1e6)
        base, gate = (sorted(timings[k]) for k in ("baseline", "gates"))
        p = lambda xs, q: xs[int(len(xs) * q)]  # noqa: E731
        print(
            f"{name:32} {statistics.median(base):10.0f} / {p(base, 0.99):<8.0f}"
            f" {statistics.median(gate):10.0f} / {p(gate, 0.99):<8.0f}"
            f" {statistics.median(gate) / statistics.median(base):9.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3000)
    asyncio.run(main(parser.parse_args().runs))
