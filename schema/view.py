"""The Strawberry ASGI view: builds the context, authenticates HTTP and websocket callers.

Websocket auth happens on ``connection_init`` (the token in its payload): a missing or bad
token closes the socket with 4401, a token without an allowed role with 4403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.unset import UNSET

from gateway.errors import DomainError, Forbidden, Unauthenticated
from gateway.services import Deps
from schema.context import Context, token_from_connection_params
from schema.errors import add_missing_codes

WS_UNAUTHORIZED = 4401
WS_FORBIDDEN = 4403


class SocketAuthRejected(Exception):
    def __init__(self, error: DomainError) -> None:
        self.close_code = WS_FORBIDDEN if isinstance(error, Forbidden) else WS_UNAUTHORIZED
        self.reason = "Forbidden" if self.close_code == WS_FORBIDDEN else "Unauthorized"
        super().__init__(self.reason)


class _TransportWSHandler(BaseGraphQLTransportWSHandler):
    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketAuthRejected as exc:
            await self.websocket.close(code=exc.close_code, reason=exc.reason)


class _LegacyWSHandler(BaseGraphQLWSHandler):
    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketAuthRejected as exc:
            await self.websocket.close(code=exc.close_code, reason=exc.reason)


class GraphQLView(GraphQL):
    graphql_transport_ws_handler_class = _TransportWSHandler
    graphql_ws_handler_class = _LegacyWSHandler

    def __init__(
        self,
        schema: Any,
        deps: Deps,
        *,
        ide_page: Callable[[Request], Response] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        self.deps = deps
        # The IDE page from local files (gateway.web), instead of Strawberry's CDN page.
        self.ide_page = ide_page

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.ide_page is not None:
            return self.ide_page(request)
        return await super().render_graphql_ide(request)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:  # type: ignore[override]
        context = Context(request=request, response=response, deps=self.deps)
        if isinstance(request, Request):
            await context.authenticate(request.headers.get("authorization"))
        return context

    async def process_result(self, request: Any, result: Any) -> Any:
        return add_missing_codes(await super().process_result(request, result))

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        token = token_from_connection_params(context.connection_params)
        if token is None:
            raise SocketAuthRejected(Unauthenticated())
        await context.authenticate(token)
        if context._principal is None:
            raise SocketAuthRejected(context._auth_error or Unauthenticated())
        return UNSET
