"""Prometheus metrics for operators (``GET /metrics``).

One registry per process. In embedded mode the worker runs inside the gateway, so its
numbers show up on the gateway's ``/metrics``; in scale-out each worker process counts its
own runs (scrape them with `prometheus_client`'s HTTP server if needed; the gateway exposes
the request side and websocket clients).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)

SYNC_RUNS = Counter(
    "halo_gateway_sync_runs",
    "Sync runs finished, by kind and final state",
    ["kind", "state"],
    registry=REGISTRY,
)
RECORDS = Counter(
    "halo_gateway_sync_records",
    "Records handled by sync runs, by kind and outcome",
    ["kind", "outcome"],
    registry=REGISTRY,
)
HALO_CALLS = Counter("halo_gateway_halo_calls", "HaloPSA HTTP calls made", registry=REGISTRY)
HALO_RATE_LIMITED = Counter(
    "halo_gateway_halo_rate_limited", "HaloPSA 429 answers", registry=REGISTRY
)
HALO_RETRIES = Counter("halo_gateway_halo_retries", "HaloPSA retries", registry=REGISTRY)
HALO_WAIT = Counter(
    "halo_gateway_halo_wait_seconds",
    "Seconds spent waiting on HaloPSA limits and back-off",
    registry=REGISTRY,
)
SYNC_DURATION = Counter(
    "halo_gateway_sync_duration_seconds",
    "Total seconds spent in sync runs",
    ["kind"],
    registry=REGISTRY,
)
WEBSOCKET_SUBSCRIBERS = Gauge(
    "halo_gateway_event_subscribers",
    "Live event subscriptions held by this process",
    registry=REGISTRY,
)
LIVE_GROUPS = Gauge(
    "halo_gateway_live_groups",
    "Distinct live selections (seller, roles, document, variables) this process executes; "
    "each event is executed once per selection, whatever the number of sockets",
    registry=REGISTRY,
)
LIVE_SOCKETS = Gauge(
    "halo_gateway_live_sockets",
    "Websocket subscriptions served by those shared executions",
    registry=REGISTRY,
)
LIVE_EXECUTIONS = Counter(
    "halo_gateway_live_executions",
    "Results of shared live executions (each written to every socket of its selection)",
    registry=REGISTRY,
)
LIVE_CATCH_UPS = Counter(
    "halo_gateway_live_catch_ups",
    "Sockets that fell further behind than their backlog and were brought up to date "
    "(missed events replayed, or RESYNC when they were gone)",
    registry=REGISTRY,
)

OPEN_ISSUES = Gauge(
    "halo_gateway_open_issues",
    "Integration issues ONGOING now, all sellers, by kind (read from the database at scrape "
    "time: every gateway reports the same numbers, so aggregate with max, not sum)",
    ["kind"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "halo_gateway_webhook_deliveries",
    "Webhook delivery attempts made by this process, by outcome (delivered; retry: failed, "
    "another attempt is scheduled; failed: given up after the retry window; refused: the "
    "address is not allowed)",
    ["outcome"],
    registry=REGISTRY,
)


# --- per operation --------------------------------------------------------------------------
# Label values come from clients (operation names, client names), so each label admits a
# bounded number of values per process: the trusted documents' operation names always, the
# first OTHER_OPERATIONS other names as they are and the rest as "__other__"; the first
# CLIENTS client names likewise. At most (trusted + 52) × 12 (operation, client) pairs, each
# a counter, a histogram (12 series) and an error counter per code seen.
OTHER_OPERATIONS = 50
CLIENTS = 10
CODES = 50
OTHER = "__other__"
ANONYMOUS = "__anonymous__"
UNKNOWN_CLIENT = "__unknown__"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

OPERATIONS = Counter(
    "halo_gateway_operations",
    "GraphQL operations answered, by operation name and client name (apollographql-client-name "
    "header, else the token's client_name claim); a subscription is counted when it ends",
    ["operation", "client"],
    registry=REGISTRY,
)
OPERATION_ERRORS = Counter(
    "halo_gateway_operation_errors",
    "GraphQL errors answered, by operation name, client name and extensions.code",
    ["operation", "client", "code"],
    registry=REGISTRY,
)
OPERATION_SECONDS = Histogram(
    "halo_gateway_operation_seconds",
    "Time to answer a query or mutation (parse to result), by operation name and client name",
    ["operation", "client"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
UNTRUSTED_OPERATIONS = Counter(
    "halo_gateway_untrusted_operations",
    "Operations outside the trusted documents sent with a browser token: logged "
    "(TRUSTED_DOCUMENTS=log-only, they ran) or refused (enforce)",
    ["outcome"],
    registry=REGISTRY,
)
QUERY_COST = Histogram(
    "halo_gateway_query_cost",
    "Cost of the operations priced (schema/cost.py), refused ones included",
    buckets=(1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000),
    registry=REGISTRY,
)
QUERY_COST_REFUSED = Counter(
    "halo_gateway_query_cost_refused",
    "Operations refused for their cost: over the per-request limit, or over the seller's "
    "budget for the minute",
    ["reason"],
    registry=REGISTRY,
)

_OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
_CLIENT_NAME = re.compile(r"^[\w.@/:+-]{1,64}$")


class BoundedLabel:
    """The first ``limit`` distinct values as they are, the rest as ``__other__``; values
    in ``always`` are admitted without counting, values not matching ``shape`` are other."""

    def __init__(self, limit: int, shape: re.Pattern[str], missing: str) -> None:
        self.limit = limit
        self.shape = shape
        self.missing = missing
        self.always: frozenset[str] = frozenset()
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        if not value:
            return self.missing
        if value in self.always:
            return value
        if not self.shape.match(value):
            return OTHER
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self.limit:
                self._seen.add(value)
                return value
        return OTHER


operation_label = BoundedLabel(OTHER_OPERATIONS, _OPERATION_NAME, ANONYMOUS)
client_label = BoundedLabel(CLIENTS, _CLIENT_NAME, UNKNOWN_CLIENT)
code_label = BoundedLabel(CODES, re.compile(r"^[A-Z][A-Z0-9_]{0,63}$"), "UNKNOWN")


def set_known_operations(names: Iterable[str]) -> None:
    """The trusted documents' operation names: labelled as they are, beyond the bound."""
    operation_label.always = operation_label.always | frozenset(names)


def observe_operation(
    operation: str | None,
    client: str | None,
    codes: Iterable[str],
    seconds: float | None,
) -> None:
    """One operation answered; ``seconds`` is None for a subscription (a stream has no
    latency to speak of)."""
    op, who = operation_label(operation), client_label(client)
    OPERATIONS.labels(op, who).inc()
    for code in codes:
        OPERATION_ERRORS.labels(op, who, code_label(code)).inc()
    if seconds is not None:
        OPERATION_SECONDS.labels(op, who).observe(seconds)


def observe_untrusted(outcome: str) -> None:
    UNTRUSTED_OPERATIONS.labels(outcome).inc()


def observe_cost(cost: int, refused: str | None) -> None:
    QUERY_COST.observe(cost)
    if refused is not None:
        QUERY_COST_REFUSED.labels(refused).inc()


def observe_run(
    kind: str, state: str, counts: dict[str, int], halo: dict[str, float], duration_ms: int | None
) -> None:
    SYNC_RUNS.labels(kind, state).inc()
    for outcome, value in counts.items():
        if value:
            RECORDS.labels(kind, outcome).inc(value)
    HALO_CALLS.inc(halo.get("calls", 0))
    HALO_RATE_LIMITED.inc(halo.get("rate_limited", 0))
    HALO_RETRIES.inc(halo.get("retries", 0))
    HALO_WAIT.inc(halo.get("wait_seconds", 0.0))
    if duration_ms:
        SYNC_DURATION.labels(kind).inc(duration_ms / 1000)


def set_open_issues(counts: dict[str, int]) -> None:
    """Every kind gets a value (0 when none is open), so a resolved kind drops to 0."""
    for kind, count in counts.items():
        OPEN_ISSUES.labels(kind).set(count)


def observe_delivery(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def track_subscribers(count: Callable[[], int]) -> None:
    WEBSOCKET_SUBSCRIBERS.set_function(count)


def track_live(groups: Callable[[], int], sockets: Callable[[], int]) -> None:
    LIVE_GROUPS.set_function(groups)
    LIVE_SOCKETS.set_function(sockets)


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
