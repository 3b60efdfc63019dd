"""The Strawberry ASGI view: builds the context, authenticates HTTP and websocket callers.

HTTP follows GraphQL over HTTP (media types, status codes, coded refusals: ``schema.http``)
and serves persisted queries (``schema.persisted``). Subscriptions are served on three
transports with the same context, auth and resolvers: websockets speaking graphql-transport-ws
only (``schema.websocket``: frames checked, token expiry; the unmaintained
subscriptions-transport-ws protocol is refused at the handshake with 4406, so no second,
unchecked frame parser is reachable), and over HTTP with Strawberry's own streaming
transports — graphql-sse in its distinct connections mode (``Accept: text/event-stream``)
and Apollo's multipart subscriptions (``Accept: multipart/mixed;subscriptionSpec=1.0``), for
networks that block websockets. A stream ends with an ``UNAUTHENTICATED`` "Token expired"
error when its token would no longer pass, as the websocket closes with 4401.

Websocket auth happens on ``connection_init`` (the token in its payload): a missing or bad
token closes the socket with 4401, a token without an allowed role with 4403.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cross_web import HTTPException
from graphql.error import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from gateway.auth import Principal
from gateway.errors import Unauthenticated
from gateway.services import Deps
from schema import http, operation_metrics
from schema.context import Context, token_from_connection_params
from schema.errors import add_missing_codes
from schema.fanout import FanOut
from schema.persisted import PersistedQueries, PersistedQueryRefused, Resolved
from schema.websocket import TOKEN_EXPIRED, SocketAuthRejected, TransportWSHandler

_STATE_REQUEST_ERROR = "graphql_request_error"
# What each method may run (GraphQL over HTTP: GET never mutates).
_HTTP_OPERATIONS = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}
# graphql-transport-ws on the websocket; graphql-sse and Apollo's multipart subscriptions
# over HTTP (Strawberry's transports, chosen by the request's Accept header).
SUBSCRIPTION_PROTOCOLS = (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_SSE_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)


class GraphQLView(GraphQL[Context, None]):
    # schema.websocket declares its handler without type arguments, which Strawberry's
    # TypeVar defaults read as [None, None]; it serves this view's Context.
    graphql_transport_ws_handler_class = TransportWSHandler  # type: ignore[assignment]

    def __init__(
        self,
        schema: Any,
        deps: Deps,
        *,
        ide_page: Callable[[Request], Response] | None = None,
        persisted: PersistedQueries | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subscription_protocols", SUBSCRIPTION_PROTOCOLS)
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
        self.persisted = persisted

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Not for a persisted query sent by GET (a hash, no query) from a client that
        accepts anything."""
        return super().should_render_graphql_ide(request) and (
            request.query_params.get("extensions") is None
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.ide_page is not None:
            return self.ide_page(request)
        return await super().render_graphql_ide(request)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
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

    def encode_json(self, data: object) -> str:
        """Websocket messages and streamed events, as text: Strawberry sends bytes as
        binary websocket frames, and graphql-transport-ws clients read text frames only."""
        return http.encode(data).decode()

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """Strawberry's, with the body as the encoder's bytes (no round trip through str)."""
        response = Response(http.encode(response_data), media_type=http.JSON)
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

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
        """Strawberry's, for what this API serves (GET parameters, a JSON body; no uploads),
        with every parameter's type checked: Strawberry indexed into bodies such as ``null``
        or ``1`` and into batch items, which answered 500. A streaming transport is picked
        as Strawberry's own parser does, but from the client's preferred ``Accept`` entry
        only (``http.preferred_part``)."""
        preferred = http.preferred_part(request.headers.get("accept"))
        transport = None
        if http.may_stream(preferred):
            transport = self._get_stream_transport_from_headers({"accept": preferred})
        protocol = transport.protocol if transport is not None else "http"
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
        else:
            content_type = request.content_type or ""
            if http.is_plain_json(content_type):
                media = http.JSON
            else:
                media, _ = parse_content_type(content_type)
            if media != http.JSON:
                raise http.RequestRefused(
                    415,
                    "Send GraphQL requests as 'Content-Type: application/json'.",
                    code=http.UNSUPPORTED_MEDIA_TYPE,
                )
            data = self.parse_json(await request.get_body())
        if isinstance(data, list):
            self._validate_batch_request(data, protocol=protocol)
            return [_request_data(item, protocol) for item in data]
        http.check_operation_params(data)
        return _request_data(data, protocol)

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
        """Strawberry's, with persisted queries and the operation types plain HTTP may run:
        Strawberry also lets subscriptions through GET and POST without a streaming
        ``Accept``, and they then failed as internal errors."""
        resolved = await self._resolve_persisted(request_data, context)
        if isinstance(resolved, ExecutionResult):
            return resolved
        method = request_adapter.method
        try:
            result = await self.schema.execute(
                resolved.query,
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
                    "Subscriptions are served over the websocket (graphql-transport-ws) and "
                    "over HTTP with 'Accept: text/event-stream' (graphql-sse) or Apollo's "
                    "multipart subscriptions.",
                ) from exc
            raise http.RequestRefused(
                405,
                "Mutations must be sent with POST.",
                code=http.METHOD_NOT_ALLOWED,
                headers={"Allow": "POST"},
            ) from exc
        if self.persisted is not None:
            await self.persisted.remember(resolved, result)
        return result

    async def execute_operation(
        self,
        request: Any,
        request_adapter: Any,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Any,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        """Strawberry's, with persisted queries and token expiry on the streaming transports
        (single requests whose ``Accept`` chose graphql-sse or multipart)."""
        if isinstance(request_data, list) or request_data.protocol == "http":
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        resolved = await self._resolve_persisted(request_data, context)
        if isinstance(resolved, ExecutionResult):
            return resolved
        results = await super().execute_operation(
            request,
            request_adapter,
            dataclasses.replace(request_data, query=resolved.query),
            context,
            root_value,
            sub_response,
        )
        return _until_token_expires(results, context.caller)

    async def _resolve_persisted(
        self, request_data: GraphQLRequestData, context: Context
    ) -> Resolved | ExecutionResult:
        if self.persisted is None:
            return Resolved(request_data.query)
        try:
            return await self.persisted.resolve(
                request_data.query, request_data.extensions, context.caller
            )
        except PersistedQueryRefused as refused:
            operation_metrics.observe_refused(context, request_data.operation_name, refused.error)
            return refused.result()

    async def process_result(self, request: Any, result: Any) -> Any:
        response = add_missing_codes(await super().process_result(request, result))
        if http.is_request_error(response):
            # The operation never ran: the GraphQL spec leaves ``data`` out.
            response.pop("data", None)
            setattr(request.state, _STATE_REQUEST_ERROR, True)
        return response

    # --- websocket ----------------------------------------------------------------------

    async def on_ws_connect(self, context: Context) -> Any:
        token = token_from_connection_params(context.connection_params)
        if token is None:
            raise SocketAuthRejected(Unauthenticated())
        await context.authenticate(token)
        if context._principal is None:
            raise SocketAuthRejected(context._auth_error or Unauthenticated())
        # Read once: the socket keeps the principal (seller, roles, expiry), not the token.
        context.connection_params = None
        return UNSET


def _request_data(data: dict[str, Any], protocol: Any) -> GraphQLRequestData:
    return GraphQLRequestData(
        query=data.get("query"),
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
        protocol=protocol,
    )


def _until_token_expires(results: Any, caller: Principal | None) -> Any:
    """A stream over HTTP that ends, like the websocket, when its token would no longer
    pass: its last event is an ``UNAUTHENTICATED`` "Token expired" error."""
    expires_at = caller.expires_at if caller is not None else None
    if expires_at is None or not isinstance(results, AsyncGenerator):
        return results

    async def stream() -> AsyncGenerator[Any, None]:
        async with contextlib.aclosing(results):
            while True:
                left = (expires_at - datetime.now(UTC)).total_seconds()
                try:
                    async with asyncio.timeout(max(0.0, left)):
                        result = await anext(results)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    error = GraphQLError(TOKEN_EXPIRED, extensions={"code": "UNAUTHENTICATED"})
                    yield ExecutionResult(data=None, errors=[error])
                    return
                yield result

    return stream()
