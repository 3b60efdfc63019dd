"""The ASGI application: one constructor call that wires settings, database, bus and broker.

``create_app(settings)`` returns a Starlette app serving GraphQL at ``/graphql`` (POST, GET
for GraphiQL, websocket with graphql-transport-ws), ``/healthz``, ``/readyz``, ``/metrics``
and the seller's pages on ``/`` (``gateway.web``). The lifespan opens and closes, in order:
migrations (if enabled), the database, the event bus, the broker and, in embedded mode, a
Dramatiq worker and the scheduler inside this process.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from gateway import db, metrics
from gateway.edge import ExposeServerSend, LimitBodySize, SecurityHeaders
from gateway.persisted_queries import build_persisted_query_store
from gateway.services import Deps, build_deps, issues
from gateway.settings import Environment, Settings
from gateway.web import WebPages
from schema import build_schema
from schema.cost import CostLimits
from schema.persisted import PersistedQueries
from schema.trusted_documents import TrustedDocuments
from schema.view import GraphQLView
from workers.actors import worker_threads
from workers.broker import (
    build_broker,
    register_actors,
    start_embedded_worker,
    stop_embedded_worker,
)
from workers.queue import DramatiqJobQueue

logger = logging.getLogger(__name__)

# Websocket keep-alive: browsers and proxies drop idle sockets after ~60 s.
WS_KEEP_ALIVE_SECONDS = 15.0


@dataclass
class AppState:
    """What the lifespan opened, for the health endpoints and for tests."""

    deps: Deps
    holder: db.DatabaseHolder
    broker: dramatiq.Broker
    worker: dramatiq.Worker | None = None
    background: list[Any] = field(default_factory=list)


def create_app(
    settings: Settings,
    *,
    halo_transport: Any = None,
    extra_routes: Sequence[BaseRoute] = (),
    on_started: Callable[[Deps], Awaitable[None]] | None = None,
) -> Starlette:
    # Built here, opened by the lifespan: nothing below connects before it runs.
    broker = build_broker(settings)
    deps = build_deps(settings, queue=DramatiqJobQueue(broker), halo_transport=halo_transport)
    register_actors(broker, deps)
    bus = deps.bus
    state = AppState(deps=deps, holder=db.DatabaseHolder(), broker=broker)
    pages = WebPages(settings)
    trusted = TrustedDocuments.load(settings.trusted_documents, settings.trusted_documents_files)
    metrics.set_known_operations(trusted.operation_names)
    persisted_store = build_persisted_query_store(settings.redis_url, settings.redis_namespace)
    view = GraphQLView(
        build_schema(
            introspection=settings.introspection_enabled,
            max_depth=settings.graphql_max_depth,
            trusted_documents=trusted,
            cost_limits=CostLimits(
                per_request=settings.query_cost_limit,
                per_seller_per_minute=settings.query_cost_budget_per_minute,
            ),
        ),
        deps,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        ide_page=pages.ide,
        persisted=PersistedQueries(trusted, persisted_store),
        keep_alive=True,
        keep_alive_interval=WS_KEEP_ALIVE_SECONDS,
        # Browsers apply no CORS to websockets: Strawberry checks the handshake's Origin
        # (no Origin, i.e. a script, and the same origin always pass) against the same
        # list, and refuses the others with 403 before accepting.
        allowed_origins=settings.cors_origins,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            applied = await db.migrate(settings)
            if applied:
                logger.info("applied migrations: %s", ", ".join(applied))
        ctx = await db.open_db(settings)
        state.holder.context = ctx
        with db.bound(ctx):
            await bus.start()
            if settings.embedded:
                state.worker = start_embedded_worker(
                    broker,
                    worker_threads(
                        settings.embedded_worker_threads, settings.webhook_delivery_concurrency
                    ),
                )
            if settings.scheduler_runs_in_process:
                from workers.scheduler import start_in_process_scheduler

                state.background.append(start_in_process_scheduler(settings, deps, ctx))
            if on_started is not None:
                await on_started(deps)
            try:
                yield
            finally:
                for item in reversed(state.background):
                    item.shutdown(wait=False)
                if state.worker is not None:
                    stop_embedded_worker(state.worker)
                broker.close()
                await bus.close()
                await deps.aclose()
                await persisted_store.aclose()
                state.holder.context = None
                await db.close_db(ctx)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        checks = {"database": await _database_ready(), "broker": await _broker_ready(deps)}
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    async def metrics_endpoint(request: Request) -> Response:
        await issues.refresh_metrics()
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    metrics.track_subscribers(lambda: bus.subscriber_count)
    metrics.track_live(lambda: len(view.fanout.groups), lambda: view.fanout.sockets)
    routes: list[BaseRoute] = [
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        *pages.routes(),
        *extra_routes,
    ]
    middleware = [
        Middleware(ExposeServerSend),
        Middleware(SecurityHeaders, hsts=settings.environment is Environment.PRODUCTION),
        Middleware(LimitBodySize),
        Middleware(db.BindDatabase, holder=state.holder),
    ]
    if settings.cors_origins:
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                # Tracing and client headers included by default (settings.py): a
                # preflight refused for one header blocks every request of the page.
                allow_headers=settings.cors_allow_headers,
                expose_headers=settings.cors_expose_headers,
                max_age=settings.cors_max_age_seconds,
            ),
        )
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.halo = state
    return app


async def _database_ready() -> bool:
    from tortoise.context import get_current_context

    ctx = get_current_context()
    if ctx is None:
        return False
    try:
        await ctx.db().execute_query("SELECT 1")
    except Exception:  # any driver error means "not ready"
        logger.warning("readiness: database check failed", exc_info=True)
        return False
    return True


async def _broker_ready(deps: Deps) -> bool:
    return await deps.queue.ping()
