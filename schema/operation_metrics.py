"""Per-operation metrics: operations, errors by code and latency, by operation and client name.

The client name is the ``apollographql-client-name`` header (Apollo Client's client
awareness; the web app sends it), else the token's ``client_name`` claim. Both are the
client's to choose, so ``gateway.metrics`` bounds the values each label can take.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway import metrics
from schema.errors import client_error_code

CLIENT_NAME_HEADER = "apollographql-client-name"


def client_name(context: Any) -> str | None:
    headers = getattr(getattr(context, "request", None), "headers", None)
    name = headers.get(CLIENT_NAME_HEADER) if headers is not None else None
    if name:
        return str(name)
    caller = getattr(context, "caller", None)
    return caller.client_name if caller is not None else None


def observe_refused(context: Any, operation_name: str | None, error: GraphQLError) -> None:
    """An operation refused before Strawberry saw it (persisted-query answers)."""
    metrics.observe_operation(
        operation_name, client_name(context), [client_error_code(error)], seconds=None
    )


class OperationMetrics(SchemaExtension):
    """Listed first, so it finishes last: the errors it counts carry their final codes."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            streamed = context.operation_type is OperationType.SUBSCRIPTION
        except Exception:  # no document, or no such operation: it never ran
            streamed = False
        result = context.result
        errors = (result.errors if result is not None else None) or context.pre_execution_errors
        metrics.observe_operation(
            context.operation_name,
            client_name(context.context),
            [client_error_code(error) for error in errors or []],
            seconds=None if streamed else time.perf_counter() - started,
        )
