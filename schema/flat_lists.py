"""Lists of plain objects completed in one loop instead of field by field.

graphql-core completes every field of every object on its own: a ``Path``, a
``GraphQLResolveInfo``, the resolver call, then the non-null, list and leaf checks — a few
microseconds per field, i.e. several milliseconds for a grid page of 100 rows × 10 fields,
more than the SQL statement behind it (``bench/bench_organizations.py``). For a field that
Strawberry resolves by reading an attribute (no resolver, no permission, no extension, no
arguments) and whose type is a scalar or an enum, none of that machinery does anything: the
value is ``getattr(row, name)`` coerced by its type. So a list whose items select only such
fields (and ``__typename``, and nested objects made of them) is completed here in one loop
per row, with the same ``coerce_output_value`` graphql-core would call.

Anything irregular — a null where the type says non-null, a value its type refuses, a
missing attribute, ``@defer``/``@stream``, a field with a resolver or arguments, an abstract
type, middleware — sends the whole list back to graphql-core's own path, which produces the
result and the errors exactly as before. ``tests/api/test_flat_lists.py`` compares the two
paths on the same documents.

The plan of a list is made once per document, not per request: compiled into one function
(a dict display per row, no loop over fields) and kept by the list field's nodes, which the
parser's cache hands out again for the same query text. Planning and the per-field loop had
been a third of the gateway's own work on a grid page of 100 rows.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar, cast

from graphql import (
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    Undefined,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetails
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import get_object_definition

# One selected field of a plan: (response key, attribute, coerce, non-null, nested plan,
# exact type, names). ``attribute`` None marks ``__typename``, whose value (the type's name)
# sits in ``coerce``. A value of exactly ``exact type`` needs no coercion: a ``str`` for
# String and ID, a ``bool`` for Boolean are returned as they are, an enum member is looked
# up in ``names`` (what Strawberry's enum coercion finds by scanning its values).
_Entry = tuple[
    str, str | None, Any, bool, "tuple[_Entry, ...] | None", type | None, dict[Any, str] | None
]
_Plan = tuple[_Entry, ...]
_Complete = Callable[[Any], dict[str, Any]]
_AS_THEY_ARE = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}
# Int's range (graphql-core's serialize_int refuses the rest): a plain int inside it is
# returned as it is.
_INT_RANGE = (-(2**31), 2**31 - 1)
# Completers kept per process, by the list field's nodes (the parsed document is cached
# too, so a page's document brings the same nodes each time): a few dozen documents.
PLANS_KEPT = 256


class _Irregular(Exception):
    """A row the loop does not complete: graphql-core's path takes the list."""


def _compile(plan: _Plan) -> _Complete:
    """The plan as one generated function: a row's fields read, checked and put into one
    dict display, without a loop over the plan's entries per row (what ``dataclasses``
    does for ``__init__``). Response keys are GraphQL names or aliases, attributes Python
    names of our types; both enter the source through ``repr`` only."""
    namespace: dict[str, Any] = {"Irregular": _Irregular, "Undefined": Undefined}
    lines = ["def complete(source):"]
    keys = []
    for i, (key, attribute, coerce, non_null, nested, exact, names) in enumerate(plan):
        keys.append(f"{key!r}: v{i}")
        if attribute is None:  # __typename: its value is in ``coerce``
            namespace[f"c{i}"] = coerce
            lines.append(f"    v{i} = c{i}")
            continue
        lines.append(f"    v{i} = getattr(source, {attribute!r})")
        lines.append(f"    if v{i} is None:")
        lines.append("        raise Irregular" if non_null else "        pass")
        if nested is not None:
            namespace[f"f{i}"] = _compile(nested)
            lines.append(f"    else:\n        v{i} = f{i}(v{i})")
            continue
        namespace[f"c{i}"] = coerce
        if exact is int:
            low, high = _INT_RANGE
            lines.append(f"    elif type(v{i}) is int and {low} <= v{i} <= {high}:\n        pass")
        elif exact is not None:
            namespace[f"t{i}"] = exact
            lines.append(f"    elif type(v{i}) is t{i}:")
            if names is None:
                lines.append("        pass")
            else:
                namespace[f"n{i}"] = names
                lines.append(f"        v{i} = n{i}[v{i}]")
        lines.append("    else:")
        lines.append(f"        v{i} = c{i}(v{i})")
        lines.append(f"        if v{i} is None or v{i} is Undefined:")
        lines.append("            raise Irregular")
    lines.append("    return {" + ", ".join(keys) + "}")
    exec("\n".join(lines), namespace)  # our own source, see the docstring
    return cast("_Complete", namespace["complete"])


def _exact(leaf: Any) -> tuple[type | None, dict[Any, str] | None]:
    """The type whose values a leaf returns without coercion, and an enum's names."""
    if leaf in _AS_THEY_ARE:
        return _AS_THEY_ARE[leaf], None
    if leaf is GraphQLInt:
        return int, None
    wrapped = getattr(leaf, "wrapped_cls", None)  # a Strawberry enum
    if (
        isinstance(leaf, GraphQLEnumType)
        and isinstance(wrapped, type)
        and issubclass(wrapped, Enum)
    ):
        names = {m: leaf.coerce_output_value(m) for m in wrapped}
        return wrapped, names
    return None, None


class _Completers:
    """Compiled plans by the list field's nodes and item type, kept with them (so no other
    node can take their ids), least recently used out first. Only plans that no variable
    can change are kept: a selection with directives (``@skip(if: $x)``) is planned anew
    each time."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[int, ...], tuple[object, _Complete]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(object_type: GraphQLObjectType, details: list[FieldDetails]) -> tuple[int, ...]:
        return (id(object_type), *(id(d.node) for d in details))

    def get(self, key: tuple[int, ...]) -> _Complete | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
        return entry[1]

    def put(
        self,
        key: tuple[int, ...],
        object_type: GraphQLObjectType,
        details: list[FieldDetails],
        complete: _Complete,
    ) -> None:
        with self._lock:
            self._entries[key] = ((object_type, [d.node for d in details]), complete)
            while len(self._entries) > PLANS_KEPT:
                self._entries.popitem(last=False)


_completers = _Completers()


def _has_directives(nodes: Iterable[Any], fragments: Mapping[str, Any]) -> bool:
    """Any directive on these fields, their subselections or the fragments they spread."""
    pending = list(nodes)
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if node.directives:
            return True
        if isinstance(node, FragmentSpreadNode):
            name = node.name.value
            if name in seen or name not in fragments:
                continue
            seen.add(name)
            node = fragments[name].definition
            if node.directives or node.variable_definitions:
                return True
        selection_set = node.selection_set
        if selection_set is not None:
            pending.extend(selection_set.selections)
    return False


class FlatListsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor with the one-loop path for lists of plain objects."""

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: list[FieldDetails],
        info: GraphQLResolveInfo,
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> Any:
        complete = self._list_plan(item_type, field_details_list, path, items, position_context)
        if complete is not None:
            nullable_items = not is_non_null_type(item_type)
            completed: list[Any] = []
            try:
                for item in items:
                    if item is None:
                        if not nullable_items:
                            raise _Irregular
                        completed.append(None)
                    else:
                        completed.append(complete(item))
            except Exception:  # any surprise: graphql-core's path decides
                pass
            else:
                return completed
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    def _list_plan(
        self,
        item_type: GraphQLOutputType,
        field_details_list: list[FieldDetails],
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> _Complete | None:
        if position_context is not None or not isinstance(items, list | tuple):
            return None
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None
        if any(d.defer_usage is not None or d.fragment_variable_values for d in field_details_list):
            return None
        object_type = item_type.of_type if is_non_null_type(item_type) else item_type
        if not is_object_type(object_type):
            return None
        key = _completers.key(object_type, field_details_list)
        complete = _completers.get(key)
        if complete is not None:
            return complete
        if self.get_stream_usage(field_details_list, path) is not None:
            return None
        plan = self._object_plan(object_type, field_details_list)
        if plan is None:
            return None
        complete = _compile(plan)
        if not _has_directives((d.node for d in field_details_list), self.fragments):
            _completers.put(key, object_type, field_details_list, complete)
        return complete

    def _object_plan(
        self, object_type: GraphQLObjectType, field_details_list: list[FieldDetails]
    ) -> _Plan | None:
        if object_type.is_type_of is not None:
            return None
        collected = self.collect_subfields(object_type, field_details_list)
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            return None
        plan: list[_Entry] = []
        for key, details in collected.grouped_field_set.items():
            if any(d.defer_usage is not None or d.fragment_variable_values for d in details):
                return None
            node = details[0].node
            name = node.name.value
            if name == "__typename":
                plan.append((key, None, object_type.name, True, None, None, None))
                continue
            entry = self._field_entry(object_type, key, name, node.arguments, details)
            if entry is None:
                return None
            plan.append(entry)
        return tuple(plan)

    def _field_entry(
        self,
        object_type: GraphQLObjectType,
        key: str,
        name: str,
        arguments: Any,
        details: list[FieldDetails],
    ) -> _Entry | None:
        field_def = object_type.fields.get(name)
        if field_def is None or field_def.args or arguments:
            return None
        definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        resolve: Callable[..., Any] | None = field_def.resolve
        if (
            definition is None
            or not getattr(definition, "is_basic_field", False)
            or getattr(definition, "default_resolver", None) is not getattr
            or not getattr(resolve, "_is_default", False)
        ):
            return None
        field_type = field_def.type
        non_null = is_non_null_type(field_type)
        inner = field_type.of_type if non_null else field_type
        attribute = definition.python_name
        if is_leaf_type(inner):
            exact, names = _exact(inner)
            return (key, attribute, inner.coerce_output_value, non_null, None, exact, names)
        if is_object_type(inner):
            nested = self._object_plan(inner, details)
            if nested is None:
                return None
            return (key, attribute, None, non_null, nested, None, None)
        return None


T = TypeVar("T")


def served_as(graphql_type: type[T], rows: Sequence[Any]) -> list[T]:
    """Service rows whose attributes are ``graphql_type``'s fields, served as they are.

    Strawberry reads a field by attribute, so a service dataclass named field for field like
    the GraphQL type needs no copy into the type (and no per-field work, above). The first
    row of each kind is checked to carry every field the type declares: a renamed field
    fails loudly here instead of answering nulls.
    """
    if rows and (graphql_type, type(rows[0])) not in _CHECKED:
        _check_names(graphql_type, type(rows[0]))
        _CHECKED.add((graphql_type, type(rows[0])))
    return cast("list[T]", list(rows))


_CHECKED: set[tuple[type, type]] = set()


def _check_names(graphql_type: type, row_type: type) -> None:
    wanted = {f.python_name for f in get_object_definition(graphql_type, strict=True).fields}
    has = (
        {f.name for f in dataclasses.fields(row_type)}
        if dataclasses.is_dataclass(row_type)
        else set(dir(row_type))
    )
    missing = sorted(wanted - has)
    if missing:
        raise TypeError(f"{row_type.__name__} lacks {', '.join(missing)} of {graphql_type}")
