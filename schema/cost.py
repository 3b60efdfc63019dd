"""Query cost: what an operation asks of the gateway, priced before it runs.

Depth, alias and token limits bound a document's shape; they let a small query ask for 100
pages' worth of rows. The price here is the demand-control model of Apollo Router and the
IBM cost spec, on our schema:

* every field that returns an object costs ``OBJECT_FIELD`` (1), scalars and enums 0, the
  introspection fields 0 (off in production; GraphiQL's query must not be priced out);
* a list multiplies the cost of each item by how many items it can hold: the page size the
  field asks for (``pageSize``, ``first``, ``days`` — literal, variable or default), which
  also sizes the page's list (``rows``, ``entries``, …: ``PAGED_LISTS``); lists nobody sizes
  are assumed ``LIST_SIZES`` items, else ``ASSUMED_LIST_SIZE``;
* a mutation field costs ``MUTATION_FIELD`` (10) plus one per item of its list arguments
  (an upsert of 1,000 items costs 1,010);
* fields that do much work whatever they return weigh more (``FIELD_WEIGHTS``).

Each operation's cost must stay under ``QUERY_COST_LIMIT`` and is then spent from its
seller's ``QUERY_COST_BUDGET_PER_MINUTE`` (fixed windows, in Redis when configured: the same
throttle as the sync triggers, so every replica spends from one budget). Either refusal is
``QUERY_TOO_COMPLEX`` stating the cost and the limit; a refused operation spends nothing.
Trusted documents are priced too: a page in a loop is as costly as a script. A price is
kept per document and the shape of the variables it reads (``Prices``), so a page asked for
again is not priced by walking its document again; the budget is spent every time.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_composite_type,
    is_list_type,
)
from strawberry.extensions import SchemaExtension

from gateway import metrics

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
OBJECT_FIELD = 1
MUTATION_FIELD = 10
SLICING_ARGUMENTS = ("pageSize", "first", "days")
# A paged field's object → its list that holds the page.
PAGED_LISTS = {
    "OrganizationPage": "rows",
    "LogPage": "entries",
    "MappingSuggestionPage": "suggestions",
    "IntegrationIssuePage": "issues",
    "WebhookDeliveryPage": "deliveries",
    "SyncPreview": "organizations",
}
ASSUMED_LIST_SIZE = 10
# Lists whose size is known better than the assumption.
LIST_SIZES = {
    ("SyncPreview", "money"): 3,  # one per currency
    ("OrganizationPreview", "money"): 3,
    ("IntegrationIssue", "rejectedRecords"): 100,  # at most 100 kept per issue
    ("Query", "webhookEndpoints"): 10,  # at most 10 per seller
}
# Work done whatever the selection: the whole sync plan for one preview page (~1.3 s for
# 20,000 subscriptions), the matching of every unmapped organisation for suggestions.
FIELD_WEIGHTS = {
    ("Query", "previewSync"): 100,
    ("Query", "suggestMappings"): 100,
}
BUDGET_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class CostLimits:
    """Defaults as in ``gateway.settings`` (QUERY_COST_LIMIT, QUERY_COST_BUDGET_PER_MINUTE)."""

    per_request: int = 15_000
    per_seller_per_minute: int = 100_000


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The price of the operation ``operation_name`` selects in a validated document."""
    return _price(schema, document, operation_name, variables or {})[0]


def _price(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
) -> tuple[int, tuple[str, ...]]:
    """The price, and the names of the variables it read (sorted)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0, ()
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0, ()
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    pricer = _Pricer(schema, fragments, variables, operation)
    return pricer.selections(root, operation.selection_set, None), tuple(sorted(pricer.read))


_ABSENT = object()


def _shape(value: Any) -> Any:
    """What the price reads of a variable's value: an int as it is, a list's length; for
    anything else only that it is not one of those (or null, or absent)."""
    if value is None or value is _ABSENT:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, list):
        return ("list", len(value))
    return ("other",)


class Prices:
    """Prices kept by document (its identity: the parser's cache hands out one document
    object per query text, and each entry keeps it alive), operation name and the shape of
    the variables the price reads — a page's size, an upsert's item count — so a page asked
    for again is not priced by walking its document again. Least recently used out first;
    at most ``SHAPES_PER_DOCUMENT`` variable shapes per document."""

    SHAPES_PER_DOCUMENT = 32

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._documents: OrderedDict[
            tuple[int, int, str | None], tuple[object, tuple[str, ...], dict[tuple, int]]
        ] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._documents)

    def cost(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:
        variables = variables or {}
        key = (id(schema), id(document), operation_name)
        with self._lock:
            entry = self._documents.get(key)
            if entry is not None:
                self._documents.move_to_end(key)
        if entry is not None:
            _, read, costs = entry
            shape = tuple(_shape(variables.get(name, _ABSENT)) for name in read)
            cost = costs.get(shape)
            if cost is not None:
                return cost
        cost, read = _price(schema, document, operation_name, variables)
        shape = tuple(_shape(variables.get(name, _ABSENT)) for name in read)
        with self._lock:
            if entry is None:
                entry = ((schema, document), read, {})
                self._documents[key] = entry
                while len(self._documents) > self.maxsize:
                    self._documents.popitem(last=False)
            costs = entry[2]
            if len(costs) >= self.SHAPES_PER_DOCUMENT:
                costs.clear()
            costs[shape] = cost
        return cost


class _Pricer:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        operation: Any,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = {
            v.variable.name.value: v.default_value for v in operation.variable_definitions or ()
        }
        self._spreading: set[str] = set()
        # The variables whose values the price read (which ones depends on the document
        # alone): what a kept price is keyed by (``Prices``).
        self.read: set[str] = set()

    def selections(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, page_size: int | None
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, page_size)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(inner or parent, selection.selection_set, page_size)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in self._spreading:
                    continue
                self._spreading.add(name)
                inner = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selections(inner or parent, fragment.selection_set, page_size)
                self._spreading.discard(name)
        return total

    def field(self, parent: GraphQLNamedType, node: FieldNode, page_size: int | None) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        is_list = is_list_type(get_nullable_type(definition.type))
        size = self._slice(definition, node)
        per_item = 0
        if is_composite_type(named):
            per_item = FIELD_WEIGHTS.get((parent.name, name), OBJECT_FIELD)
            if node.selection_set is not None:
                # A page object hands its size to the list that holds the page.
                inner_size = None if is_list else size
                per_item += self.selections(named, node.selection_set, inner_size)
        if parent is self.schema.mutation_type:
            per_item += MUTATION_FIELD + self._input_items(node)
        if not is_list:
            return per_item
        if size is None and page_size is not None and PAGED_LISTS.get(parent.name) == name:
            size = page_size
        if size is None:
            size = LIST_SIZES.get((parent.name, name), ASSUMED_LIST_SIZE)
        return size * per_item

    def _slice(self, definition: GraphQLField, node: FieldNode) -> int | None:
        for argument_name in SLICING_ARGUMENTS:
            if argument_name not in definition.args:
                continue
            given = [a.value for a in node.arguments or () if a.name.value == argument_name]
            value = self._value(given[0]) if given else None
            if value is None:
                value = definition.args[argument_name].default_value
            if isinstance(value, int) and not isinstance(value, bool):
                return max(0, value)
            return ASSUMED_LIST_SIZE
        return None

    def _input_items(self, node: FieldNode) -> int:
        items = 0
        for argument in node.arguments or ():
            value = self._value(argument.value)
            if isinstance(value, list):
                items += len(value)
        return items

    def _value(self, node: Any) -> Any:
        if isinstance(node, VariableNode):
            name = node.name.value
            self.read.add(name)
            if name in self.variables:
                return self.variables[name]
            default = self.defaults.get(name)
            return self._value(default) if default is not None else None
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        return None


class QueryCostGate(SchemaExtension):
    """Prices each operation once it validated (``on_validate``, after ``DocumentValidationCache``),
    on every transport, and refuses it before it runs."""

    def __init__(self, limits: CostLimits, prices: Prices | None = None) -> None:
        self.limits = limits
        self.prices = prices if prices is not None else Prices(maxsize=1)

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if not context.pre_execution_errors and document is not None:
            cost = self.prices.cost(
                context.schema._schema, document, context.operation_name, context.variables
            )
            refusal = self._over_limit(cost) or await self._over_budget(cost, context.context)
            metrics.observe_cost(cost, refusal[0] if refusal else None)
            if refusal is not None:
                context.pre_execution_errors = [refusal[1]]
        yield

    def _over_limit(self, cost: int) -> tuple[str, GraphQLError] | None:
        limit = self.limits.per_request
        if cost <= limit:
            return None
        return "request_limit", GraphQLError(
            f"This query costs {cost:,}; the limit is {limit:,} per request. Ask for smaller "
            "pages or fewer fields.",
            extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "limit": limit},
        )

    async def _over_budget(self, cost: int, context: Any) -> tuple[str, GraphQLError] | None:
        caller = getattr(context, "caller", None)
        deps = getattr(context, "deps", None)
        if caller is None or deps is None or cost == 0:
            return None
        budget = self.limits.per_seller_per_minute
        retry_after = await deps.throttle.spend(
            f"query_cost:{caller.seller_id}", cost, budget, BUDGET_WINDOW_SECONDS
        )
        if retry_after <= 0:
            return None
        seconds = max(1, math.ceil(retry_after))
        return "seller_budget", GraphQLError(
            f"This query costs {cost:,}, more than is left of this seller's budget of "
            f"{budget:,} per minute: retry in {seconds} s.",
            extensions={
                "code": QUERY_TOO_COMPLEX,
                "cost": cost,
                "limit": budget,
                "retryAfterSeconds": seconds,
            },
        )
