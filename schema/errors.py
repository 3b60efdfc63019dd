"""The edge where domain errors become GraphQL errors, and everything else is masked.

* :class:`gateway.errors.DomainError` → its message, ``extensions.code`` and its data;
* GraphQL syntax / validation errors → ``GRAPHQL_PARSE_FAILED`` / ``GRAPHQL_VALIDATION_FAILED``
  (``BAD_USER_INPUT`` only when a variable's *value* does not fit its type: an unused or
  undefined variable is a mistake in the document, a validation failure);
* anything else → "Internal error." with an ``errorId`` that is also in the process log with
  the stack trace, so a support ticket can be matched without leaking SQL or internals.

Logging (:func:`log_client_errors`, Strawberry's ``process_errors`` hook): an error with a
code other than ``INTERNAL_SERVER_ERROR`` is the caller's, not ours. It is logged at INFO,
one short line without a traceback, and at most ``CLIENT_ERROR_LINES_PER_WINDOW`` lines per
client and minute, so bad input (a buggy page, a fuzzer, an attacker) can neither fill the
disk nor bury our own ERROR lines.

Subscriptions' events go through ``on_stream_result`` (inherited from ``MaskErrors``), so a
failing event is treated the same way as a failing query.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from gateway.errors import DomainError
from gateway.logging import KeyedLineBudget

logger = logging.getLogger("gateway.errors")
client_logger = logging.getLogger("gateway.client_errors")

# A page stuck in a loop repeats one error per render: 20 lines a minute per client show
# the pattern; the rest are counted and reported with the next line that is let through.
CLIENT_ERROR_LINES_PER_WINDOW = 20
CLIENT_ERROR_WINDOW_SECONDS = 60.0
# Client-supplied text (a huge variable echoed in a coercion message) is cut to this.
CLIENT_ERROR_MESSAGE_CHARS = 300

INTERNAL_MESSAGE = "Internal error."


# Messages of the query guards (strawberry's limiters and graphql-core's token cap).
_TOO_COMPLEX_MARKERS = (
    "exceeds maximum operation depth",
    "aliases found. Allowed:",
    "contains more than",
)


def classify_without_original(error: GraphQLError) -> str:
    message = error.message
    if any(marker in message for marker in _TOO_COMPLEX_MARKERS):
        return "QUERY_TOO_COMPLEX"
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if _is_variable_value_error(message):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def _is_variable_value_error(message: str) -> bool:
    """graphql-core's variable coercion messages ("Variable '$first' has invalid value: …");
    "is never used", "is not defined", "used in position expecting" are validation."""
    if message.startswith("Variable values are nested too deeply"):
        return True
    return message.startswith("Variable '$") and (
        "' has invalid value" in message or "' got invalid value" in message
    )


ResponseT = TypeVar("ResponseT", bound=Mapping[str, Any])


def add_missing_codes(response: ResponseT) -> ResponseT:
    """Parse errors skip the extensions' result hooks; give them their code on the way out."""
    for error in response.get("errors") or []:
        extensions = error.setdefault("extensions", {})
        if "code" not in extensions:
            extensions["code"] = classify_without_original(GraphQLError(error.get("message", "")))
    return response


def _cause(error: GraphQLError) -> BaseException | None:
    original = error.original_error
    # Errors wrapped by graphql-core's located_error keep the cause one level down.
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return original


def is_internal(error: GraphQLError) -> bool:
    """Our fault: raised by our code (or a library under it) and not a DomainError."""
    original = _cause(error)
    return original is not None and not isinstance(original, DomainError | GraphQLError)


def client_error_code(error: GraphQLError) -> str:
    original = _cause(error)
    if isinstance(original, DomainError):
        return original.code
    return (error.extensions or {}).get("code") or classify_without_original(error)


def client_error_budget() -> KeyedLineBudget:
    """One per schema (so per gateway), not per process: tests run several gateways."""
    return KeyedLineBudget(CLIENT_ERROR_LINES_PER_WINDOW, CLIENT_ERROR_WINDOW_SECONDS)


def _client_key(execution_context: Any) -> str:
    """Who to count a client error against: the seller if the token was good, else the
    address (an unauthenticated flood is one client per address)."""
    context = getattr(execution_context, "context", None)
    principal = getattr(context, "_principal", None)
    if principal is not None:
        return f"seller {principal.seller_id}"
    request = getattr(context, "request", None)
    client = getattr(request, "client", None)
    return f"address {client.host}" if client is not None else "address unknown"


def log_client_errors(
    errors: list[GraphQLError], execution_context: Any, budget: KeyedLineBudget
) -> None:
    """Strawberry's ``process_errors``: client errors at INFO, budgeted per client, no
    traceback. Internal errors are logged (at ERROR, with the trace) by the extension
    below, which gives them the ``errorId`` the client sees."""
    for error in errors:
        if is_internal(error):
            continue
        key = _client_key(execution_context)
        admitted, suppressed = budget.admit(key)
        if not admitted:
            continue
        message = error.message
        if len(message) > CLIENT_ERROR_MESSAGE_CHARS:
            message = message[:CLIENT_ERROR_MESSAGE_CHARS] + "…"
        path = ".".join(str(p) for p in error.path or []) or "operation"
        more = f" ({suppressed} more from this client not logged)" if suppressed else ""
        client_logger.info(
            "client error %s in %s from %s: %s%s",
            client_error_code(error),
            path,
            key,
            message,
            more,
        )


class DomainErrorExtension(MaskErrors):
    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._map(error) for error in errors]

    def _map(self, error: GraphQLError) -> GraphQLError:
        original = _cause(error)
        if isinstance(original, DomainError):
            return self._rebuild(error, original.message, original.extensions)
        if original is None or isinstance(original, GraphQLError):
            extensions = dict(error.extensions or {})
            extensions.setdefault("code", classify_without_original(error))
            return self._rebuild(error, error.message, extensions)
        error_id = uuid.uuid4().hex[:12]
        logger.error(
            "internal error %s in %s",
            error_id,
            ".".join(str(p) for p in (error.path or [])) or "operation",
            exc_info=original,
            extra={"error_id": error_id},
        )
        return self._rebuild(
            error, INTERNAL_MESSAGE, {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id}
        )

    @staticmethod
    def _rebuild(error: GraphQLError, message: str, extensions: dict) -> GraphQLError:
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions=extensions,
        )


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_nul(v) for v in value)
    return False


class RejectNulCharacters(SchemaExtension):
    """NUL characters are valid GraphQL but not storable (PostgreSQL refuses them in text):
    refuse them up front as bad input instead of failing deep inside a query."""

    def on_validate(self) -> Iterator[None]:
        # Before the yield: strawberry decides whether to execute inside the validation
        # step, right after the hooks' first halves; an error added after it would be too
        # late. Listed after DocumentValidationCache, which replaces the errors list with its own.
        context = self.execution_context
        document_text = context.query or ""
        if (
            _contains_nul(context.variables)
            or "\\u0000" in document_text
            or "\x00" in document_text
        ):
            error = GraphQLError(
                "String values must not contain NUL characters.",
                extensions={"code": "BAD_USER_INPUT"},
            )
            context.pre_execution_errors = [*(context.pre_execution_errors or []), error]
        yield
