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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any, TypeVar, cast

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
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
_AS_THEY_ARE = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


class _Irregular(Exception):
    """A row the loop does not complete: graphql-core's path takes the list."""


def _complete(plan: _Plan, source: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, attribute, coerce, non_null, nested, exact, names in plan:
        if attribute is None:
            result[key] = coerce
            continue
        value = getattr(source, attribute)
        if value is None:
            if non_null:
                raise _Irregular
            result[key] = None
        elif nested is not None:
            result[key] = _complete(nested, value)
        elif type(value) is exact:
            result[key] = value if names is None else names[value]
        else:
            coerced = coerce(value)
            if coerced is None or coerced is Undefined:
                raise _Irregular
            result[key] = coerced
    return result


def _exact(leaf: Any) -> tuple[type | None, dict[Any, str] | None]:
    """The type whose values a leaf returns without coercion, and an enum's names."""
    if leaf in _AS_THEY_ARE:
        return _AS_THEY_ARE[leaf], None
    wrapped = getattr(leaf, "wrapped_cls", None)  # a Strawberry enum
    if (
        isinstance(leaf, GraphQLEnumType)
        and isinstance(wrapped, type)
        and issubclass(wrapped, Enum)
    ):
        names = {m: leaf.coerce_output_value(m) for m in wrapped}
        return wrapped, names
    return None, None


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
        plan = self._list_plan(item_type, field_details_list, path, items, position_context)
        if plan is not None:
            nullable_items = not is_non_null_type(item_type)
            completed: list[Any] = []
            try:
                for item in items:
                    if item is None:
                        if not nullable_items:
                            raise _Irregular
                        completed.append(None)
                    else:
                        completed.append(_complete(plan, item))
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
    ) -> _Plan | None:
        if position_context is not None or not isinstance(items, list | tuple):
            return None
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None
        if self.get_stream_usage(field_details_list, path) is not None:
            return None
        object_type = item_type.of_type if is_non_null_type(item_type) else item_type
        if not is_object_type(object_type):
            return None
        return self._object_plan(object_type, field_details_list)

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
