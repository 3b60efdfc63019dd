"""GraphQL over HTTP as the spec (graphql.github.io/graphql-over-http) and its clients expect it.

What Strawberry's view does not do by itself, kept here so the view stays wiring:

* **Media types.** A client that accepts ``application/graphql-response+json`` (Apollo Client
  4, urql and graphql-http send it first) gets it, with the spec's status codes: a request
  that never reached execution (parse, validation, variable coercion, a persisted-query hash)
  answers 400 and has no ``data`` entry. Under plain ``application/json`` such answers stay
  200, which is what older clients expect.
* **Malformed requests** (not JSON, ``query`` not a string, an unknown content type …) answer
  4xx with a GraphQL-shaped JSON body and a code, never ``text/plain``: a client shows the
  message instead of a network error. A mutation sent by GET answers 405 with ``Allow: POST``.

Persisted queries (Apollo's APQ, urql's ``persistedExchange``) are ``schema.persisted``;
subscriptions over HTTP (graphql-sse, Apollo's multipart) are Strawberry's transports,
configured in ``schema.view``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

# Operations one batched request may carry: Apollo's BatchHttpLink sends at most 10 by
# default (``batchMax``). Each runs as a request of its own, so the cap bounds the work one
# HTTP request can start; the body cap (2 MiB, gateway/edge.py) bounds its size.
MAX_BATCH_OPERATIONS = 10

# Codes of the answers that are not GraphQL results (the request itself was unusable).
BAD_REQUEST = "BAD_REQUEST"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
BATCH_TOO_LARGE = "BATCH_TOO_LARGE"


class RequestRefused(Exception):
    """A request that is not a usable GraphQL request: answered with ``status`` and a coded
    GraphQL error, not executed."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = BAD_REQUEST,
        headers: Mapping[str, str] | None = None,
        **data: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.data = data


def _accept_entries(accept: str | None) -> list[tuple[str, list[str], float]]:
    """``(media type, its parameters but q, weight)`` for each entry of an ``Accept`` header."""
    entries = []
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        weight, kept = 1.0, []
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
            elif param:
                kept.append(param)
        if media:
            entries.append((media, kept, weight))
    return entries


def negotiate(accept: str | None) -> str:
    """The response media type for an ``Accept`` header.

    ``application/graphql-response+json`` when the client lists it with a weight at least as
    high as ``application/json``'s; ``application/json`` otherwise (also for ``*/*``, no
    header, or only types we do not produce, as the spec allows).
    """
    weights: dict[str, float] = {}
    for media, _, weight in _accept_entries(accept):
        weights[media.lower()] = max(weight, weights.get(media.lower(), 0.0))
    graphql_weight = weights.get(GRAPHQL_RESPONSE_JSON, 0.0)
    if graphql_weight > 0 and graphql_weight >= weights.get(JSON, 0.0):
        return GRAPHQL_RESPONSE_JSON
    return JSON


def preferred_part(accept: str | None) -> str:
    """The ``Accept`` entry the client prefers most (the first of the highest weight), with
    its parameters but without ``q``. A streaming transport is used only when it is this
    one: urql lists ``text/event-stream`` and ``multipart/mixed`` after the JSON types on
    every request, and wants JSON for a query."""
    best, best_weight = "", -1.0
    for media, params, weight in _accept_entries(accept):
        if weight > best_weight:
            best, best_weight = ";".join([media, *params]), weight
    return best


# The media types of Strawberry's streaming transports (graphql-sse, multipart subscriptions).
_STREAMING_MEDIA = frozenset({"text/event-stream", "multipart/mixed"})


def may_stream(accept_part: str) -> bool:
    """Whether an ``Accept`` entry can choose a streaming transport at all: only then are
    Strawberry's transports asked (the multipart one parses the entry with the ``email``
    package, ~40 µs, on every request)."""
    return accept_part.split(";", 1)[0].strip().lower() in _STREAMING_MEDIA


def is_plain_json(content_type: str) -> bool:
    """``application/json``, with parameters or not, written as clients write it: read
    without the ``email`` package's parser, which reads the same media type from it."""
    return content_type == JSON or content_type.startswith(JSON + ";")


def content_type(media_type: str) -> str:
    return f"{media_type}; charset=utf-8"


def encode(data: object) -> bytes:
    """A response body as compact JSON, by orjson: ~10× faster than ``json.dumps`` on a
    grid page of 100 rows, where it was a tenth of the gateway's own work per request
    (bench/bench_organizations.py). Non-ASCII text is sent as UTF-8 (the content type says
    so) instead of ``\\u`` escapes. What orjson refuses (an integer beyond 64 bits in a JSON
    scalar, a key that is not a string) is encoded by ``json`` as before."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()


def refusal_response(refused: RequestRefused, media_type: str) -> Response:
    extensions = {"code": refused.code, **refused.data}
    body = {"errors": [{"message": refused.message, "extensions": extensions}]}
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=refused.status,
        headers={**refused.headers, "content-type": content_type(media_type)},
    )


def is_request_error(response: Mapping[str, Any]) -> bool:
    """True when the operation never ran: no data and only errors without a ``path``.

    Errors raised while executing always carry the path of their field; parse, validation
    and variable-coercion errors (and a persisted-query hash) never do.
    """
    errors = response.get("errors")
    return (
        response.get("data") is None
        and bool(errors)
        and all(not error.get("path") for error in errors or [])
    )


def check_operation_params(data: object, *, where: str = "") -> None:
    """The spec's parameter types (``query`` string, ``variables``/``extensions`` maps,
    ``operationName`` string, each or null); Strawberry checks some of them, not in a batch."""
    if not isinstance(data, dict):
        raise RequestRefused(400, f"A GraphQL request{where} must be a JSON object.")
    expected = {
        "query": (str, "a string"),
        "operationName": (str, "a string"),
        "variables": (dict, "an object"),
        "extensions": (dict, "an object"),
    }
    for name, (kind, described) in expected.items():
        value = data.get(name)
        if value is not None and not isinstance(value, kind):
            raise RequestRefused(
                400, f"The GraphQL request's `{name}`{where} must be {described} or null."
            )


def check_batch(items: list[Any]) -> None:
    if not items:
        raise RequestRefused(400, "A batched request must contain at least one operation.")
    if len(items) > MAX_BATCH_OPERATIONS:
        raise RequestRefused(
            400,
            f"A batched request may contain at most {MAX_BATCH_OPERATIONS} operations.",
            code=BATCH_TOO_LARGE,
            maxOperations=MAX_BATCH_OPERATIONS,
        )
    for index, item in enumerate(items):
        check_operation_params(item, where=f" (operation {index})")
