"""The GraphQL schema: one module per area, merged here with the extensions that guard it.

Each area module (``schema.viewer``, ``schema.connection``, …) exposes ``Query`` and, where it
has them, ``Mutation`` and ``Subscription`` classes; :func:`build_schema` merges them. The
exported SDL is ``schema.graphql`` at the project root (``halo-gateway export-schema``), and
a test fails when it is stale.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema import (
    connection,
    drift,
    existing_licences,
    flat_lists,
    graphql_core_patches,
    imports,
    issues,
    logs,
    organizations,
    preview,
    suggestions,
    sync,
    viewer,
    webhooks,
)
from schema.cost import CostLimits, Prices, QueryCostGate
from schema.errors import (
    DomainErrorExtension,
    RejectNulCharacters,
    client_error_budget,
    log_client_errors,
)
from schema.http import MAX_BATCH_OPERATIONS
from schema.operation_metrics import OperationMetrics
from schema.trusted_documents import TrustedDocuments, TrustedDocumentsGate, log_budget
from schema.validation_cache import DocumentValidationCache, ValidationResults

# The areas of the API, in the order their fields appear in the SDL.
AREAS: list[ModuleType] = [
    viewer,
    connection,
    organizations,
    suggestions,
    sync,
    preview,
    drift,
    existing_licences,
    issues,
    webhooks,
    logs,
    imports,
]

# Guards against abusive queries (see README "Limits").
MAX_QUERY_DEPTH = 12
MAX_ALIASES = 30
# Tokens in one document: the largest frontend query is a few hundred; bulk upserts travel
# in variables, not in the document.
MAX_TOKENS = 5000
# Parsed documents and validation results kept per process: the frontend sends a few
# dozen distinct documents; caching them halves the cost of small queries (pitfalls.md #2).
DOCUMENT_CACHE_SIZE = 512


def _merged(name: str) -> type | None:
    parts = tuple(getattr(area, name) for area in AREAS if hasattr(area, name))
    if not parts:
        return None
    return merge_types(name, parts)


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema with our error logging: Strawberry logs every error at ERROR
    (with a traceback for resolver errors); client errors are INFO and budgeted here."""

    def __init__(self, query: type, **kwargs: Any) -> None:
        super().__init__(query, **kwargs)
        self.client_error_budget = client_error_budget()

    def process_errors(self, errors: list, execution_context: object = None) -> None:
        log_client_errors(errors, execution_context, self.client_error_budget)


def build_schema(
    *,
    introspection: bool = True,
    max_depth: int = MAX_QUERY_DEPTH,
    trusted_documents: TrustedDocuments | None = None,
    cost_limits: CostLimits | None = None,
) -> strawberry.Schema:
    graphql_core_patches.apply()
    # The limiters' rule classes are built once, here: each QueryDepthLimiter or
    # MaxAliasesLimiter instance defines a new rule class, and DocumentValidationCache is keyed by
    # the rule classes, so a limiter built per request made every validation a cache miss
    # (found by bench/bench_load.py: ~5 ms of an ~18 ms grid request was re-validation).
    limits = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    ]
    untrusted_lines = log_budget()
    costs = cost_limits or CostLimits()
    validated = ValidationResults(maxsize=DOCUMENT_CACHE_SIZE)
    prices = Prices(maxsize=DOCUMENT_CACHE_SIZE)
    extensions: list = [
        OperationMetrics,  # first, so it finishes last and counts the final codes
        DomainErrorExtension,
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: DocumentValidationCache(validated),
        RejectNulCharacters,  # after DocumentValidationCache: see its on_validate
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
    if trusted_documents is not None:
        # After DocumentValidationCache too: a refusal replaces what validation said.
        extensions.append(lambda: TrustedDocumentsGate(trusted_documents, untrusted_lines))
    extensions.append(lambda: QueryCostGate(costs, prices))
    if not introspection:
        extensions.append(DisableIntrospection)
    query = _merged("Query")
    if query is None:  # pragma: no cover - the viewer area always has one
        raise RuntimeError("no schema area defines a Query")
    return GatewaySchema(
        query=query,
        mutation=_merged("Mutation"),
        subscription=_merged("Subscription"),
        extensions=extensions,
        # Batched requests (Apollo's BatchHttpLink): a JSON array of operations, each run
        # as a request of its own, at most MAX_BATCH_OPERATIONS (schema/http.py).
        config=StrawberryConfig(batching_config={"max_operations": MAX_BATCH_OPERATIONS}),
        # Lists of plain rows (the grid, the logs) completed one loop per row, not field by
        # field (schema/flat_lists.py).
        execution_context_class=flat_lists.FlatListsExecutor,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
