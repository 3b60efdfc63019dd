"""Prometheus metrics for operators (``GET /metrics``).

One registry per process. In embedded mode the worker runs inside the gateway, so its
numbers show up on the gateway's ``/metrics``; in scale-out each worker process counts its
own runs (scrape them with `prometheus_client`'s HTTP server if needed; the gateway exposes
the request side and websocket clients).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
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
