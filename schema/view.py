"""The Strawberry ASGI view: builds the context, authenticates HTTP and websocket callers.

HTTP follows GraphQL over HTTP (media types, status codes, coded refusals, persisted-query
fallback: ``schema.http``). Websockets speak graphql-transport-ws only (``schema.websocket``:
frames checked, token expiry); the unmaintained subscriptions-transport-ws protocol is
refused at the handshake (4406), so no second, unchecked frame parser is reachable.

Websocket auth happens on ``connection_init`` (the token in its payload): a missing or bad
token closes the socket with 4401, a token without an allowed role with 4403.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from gateway.errors import Unauthenticated
from gateway.services import Deps
from schema import http
from schema.context import Context, token_from_connection_params
from schema.errors import add_missing_codes
from schema.fanout import FanOut
from schema.websocket import SocketAuthRejected, TransportWSHandler

_STATE_REQUEST_ERROR = "graphql_request_error"
# What each method may run (GraphQL over HTTP: GET never mutates).
_HTTP_OPERATIONS = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}


class GraphQLView(GraphQL):
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self,
        schema: Any,
        deps: Deps,
        *,
        ide_page: Callable[[Request], Response] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        kwargs.setdefault(
            "connection_init_wait_timeout",
            timedelta(seconds=deps.settings.ws_connection_init_timeout_seconds),
        )
        super().__init__(schema, **kwargs)
        self.deps = deps
        # Live subscriptions executed once per selection for all of this process's sockets.
        self.fanout = FanOut()
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

    def decode_json(self, data: str | bytes) -> object:
        """Request bodies and websocket frames. JSON nested deeper than Python's recursion
        limit (``[[[[…`` × 100,000) raises RecursionError, bytes that are not UTF-8 a
        UnicodeDecodeError; nothing above expects either (a 500, a dropped socket): they are
        malformed JSON like any other here."""
        try:
            return json.loads(data)
        except (RecursionError, UnicodeDecodeError) as exc:
            raise json.JSONDecodeError("JSON nested too deeply or not UTF-8", "", 0) from exc

    # --- HTTP ---------------------------------------------------------------------------

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if self.is_websocket_request(request):
            return await super().run(request, context, root_value)
        media_type = http.negotiate(request.headers.get("accept"))
        try:
            response = await super().run(request, context, root_value)
        except http.RequestRefused as refused:
            return http.refusal_response(refused, media_type)
        except HTTPException as exc:
            if exc.status_code == 404:  # the IDE asked for while it is off: a page's 404
                raise
            not_allowed = exc.status_code == 405  # HEAD: Starlette routes it with GET
            answer = http.RequestRefused(
                exc.status_code,
                exc.reason,
                code=http.METHOD_NOT_ALLOWED if not_allowed else http.BAD_REQUEST,
                headers={"Allow": "GET, POST"} if not_allowed else None,
            )
            return http.refusal_response(answer, media_type)
        if isinstance(response, Response) and response.media_type == http.JSON:
            response.headers["content-type"] = http.content_type(media_type)
            batch = response.body[:1] == b"["
            if (
                media_type == http.GRAPHQL_RESPONSE_JSON
                and not batch
                and getattr(request.state, _STATE_REQUEST_ERROR, False)
            ):
                response.status_code = 400
        return response

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's, for what this API serves (GET parameters, a JSON body; no uploads,
        no HTTP streaming), with every parameter's type checked: Strawberry indexed into
        bodies such as ``null`` or ``1`` and into batch items, which answered 500."""
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
        else:
            media, _ = parse_content_type(request.content_type or "")
            if media != http.JSON:
                raise http.RequestRefused(
                    415,
                    "Send GraphQL requests as 'Content-Type: application/json'.",
                    code=http.UNSUPPORTED_MEDIA_TYPE,
                )
            data = self.parse_json(await request.get_body())
        if isinstance(data, list):
            self._validate_batch_request(data, protocol="http")
            return [_request_data(item) for item in data]
        http.check_operation_params(data)
        return _request_data(data)

    def _validate_batch_request(self, request_data: list[Any], protocol: Any) -> None:
        http.check_batch(request_data)
        super()._validate_batch_request(request_data, protocol)

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's, with the operation types HTTP may run here: Strawberry also lets
        subscriptions through GET and POST (for its SSE and multipart transports, which are
        not enabled), and they then failed as internal errors. Subscriptions are served over
        the websocket."""
        if http.persisted_query_hash_only(request_data.query, request_data.extensions):
            return ExecutionResult(data=None, errors=[http.persisted_query_error()])
        method = request_adapter.method
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=_HTTP_OPERATIONS[method],
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as exc:
            raise http.RequestRefused(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise http.RequestRefused(400, "No GraphQL query found in the request.") from exc
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise http.RequestRefused(
                    400,
                    "Subscriptions are served over the websocket (graphql-transport-ws).",
                ) from exc
            raise http.RequestRefused(
                405,
                "Mutations must be sent with POST.",
                code=http.METHOD_NOT_ALLOWED,
                headers={"Allow": "POST"},
            ) from exc

    async def process_result(self, request: Any, result: Any) -> Any:
        response = add_missing_codes(await super().process_result(request, result))
        if http.is_request_error(response):
            # The operation never ran: the GraphQL spec leaves ``data`` out.
            response.pop("data", None)
            setattr(request.state, _STATE_REQUEST_ERROR, True)
        return response

    # --- websocket ----------------------------------------------------------------------

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        token = token_from_connection_params(context.connection_params)
        if token is None:
            raise SocketAuthRejected(Unauthenticated())
        await context.authenticate(token)
        if context._principal is None:
            raise SocketAuthRejected(context._auth_error or Unauthenticated())
        return UNSET


def _request_data(data: dict[str, Any]) -> GraphQLRequestData:
    return GraphQLRequestData(
        query=data.get("query"),
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
        protocol="http",
    )
