"""The edge where domain errors become GraphQL errors, and everything else is masked.

* :class:`gateway.errors.DomainError` → its message, ``extensions.code`` and its data;
* GraphQL syntax / validation errors → ``GRAPHQL_PARSE_FAILED`` / ``GRAPHQL_VALIDATION_FAILED``
  (``BAD_USER_INPUT`` when a variable does not fit its type);
* anything else → "Internal error." with an ``errorId`` that is also in the process log with
  the stack trace, so a support ticket can be matched without leaking SQL or internals.

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

logger = logging.getLogger("gateway.errors")

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
    if message.startswith("Variable '$") or "got invalid value" in message:
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


ResponseT = TypeVar("ResponseT", bound=Mapping[str, Any])


def add_missing_codes(response: ResponseT) -> ResponseT:
    """Parse errors skip the extensions' result hooks; give them their code on the way out."""
    for error in response.get("errors") or []:
        extensions = error.setdefault("extensions", {})
        if "code" not in extensions:
            extensions["code"] = classify_without_original(GraphQLError(error.get("message", "")))
    return response


class DomainErrorExtension(MaskErrors):
    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._map(error) for error in errors]

    def _map(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        # Errors wrapped by graphql-core's located_error keep the cause one level down.
        while isinstance(original, GraphQLError) and original.original_error is not None:
            original = original.original_error
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
        # late. Listed after ValidationCache, which replaces the errors list with its own.
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
