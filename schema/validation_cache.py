"""Validation results kept per parsed document, found by the document's identity.

Strawberry's ``ValidationCache`` keys an ``lru_cache`` by the document, and a graphql-core
node hashes by its whole structure (every node and every location): ~50 µs per request for
the grid's document, to find a result the parser's cache had already found by the query
text. ``ParserCache`` hands out the same document object for the same text, so here the
result is found by the document's identity; each entry keeps its document (and schema)
alive, so no other object can take their ids while it is kept. What is validated, and by
which rules, is Strawberry's own ``validate_document``, as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

_Key = tuple[int, int, tuple[Any, ...]]


class ValidationResults:
    """Validation errors by (schema, document, rules), least recently used out first."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[_Key, tuple[object, object, list[GraphQLError]]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def validate(
        self, schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]
    ) -> list[GraphQLError]:
        key = (id(schema), id(document), rules)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[2]
        errors = validate_document(schema, document, rules)
        with self._lock:
            self._entries[key] = (schema, document, errors)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return errors


class DocumentValidationCache(SchemaExtension):
    """In place of Strawberry's ``ValidationCache``: the same results, found by identity."""

    def __init__(self, results: ValidationResults) -> None:
        self.results = results

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            context.pre_execution_errors = self.results.validate(
                context.schema._schema, document, tuple(context.validation_rules)
            )
        yield
