"""Trusted documents: the operations the platform's own pages send, and what becomes of others.

The allow-list is built from the repository's ``.graphql`` documents. The web app's build
(graphql-codegen's client preset with ``persistedDocuments``, ``web/codegen.ts``) writes
``schema/allowlist/web-app.json``: ``{sha256 of the document: document}``, committed like
``schema.graphql`` and checked by ``tests/api/test_trusted_documents.py``. Other frontends add
their manifest next to it (or list it in ``TRUSTED_DOCUMENTS_FILES``); Apollo's
``persisted-query-manifest.json`` format is read too. A manifest whose key is not the sha256 of
its document, or whose document does not parse, stops the gateway at start.

Every listed document is a persisted query in every mode (its hash alone runs it). What
``TRUSTED_DOCUMENTS`` changes is what happens to any *other* operation sent with a browser
token (``client_kind`` claim, ``gateway.auth``): ``off`` nothing, ``log-only`` it runs and is
logged and counted (``halo_gateway_untrusted_operations_total``), ``enforce`` it is refused
with ``QUERY_NOT_IN_SAFELIST`` before anything about the schema is said. Integrator tokens
are never held to the list: their queries are priced instead (``schema.cost``).

A full query text is trusted when it is a listed document up to formatting and order: both
are compared in a canonical form (parsed, every selection, argument, variable and definition
sorted, printed), so the query text a client library prints from the same document (urql
over the websocket) matches the manifest's normalised one. The top-level fields of a
mutation keep their order: they run in it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
    print_ast,
)
from strawberry.extensions import SchemaExtension

from gateway import metrics
from gateway.auth import ClientKind, Principal
from gateway.logging import KeyedLineBudget
from gateway.settings import TrustedDocumentsMode

logger = logging.getLogger("gateway.trusted_documents")

ALLOWLIST_DIR = Path(__file__).parent / "allowlist"

QUERY_NOT_IN_SAFELIST = "QUERY_NOT_IN_SAFELIST"
NOT_TRUSTED_MESSAGE = (
    "This operation is not one of the trusted documents: browser sessions may only send "
    "the operations their app registered."
)
APOLLO_MANIFEST_FORMAT = "apollo-persisted-query-manifest"
# Verdicts on query texts that are not a listed document verbatim (urql's websocket text).
VERDICT_CACHE_SIZE = 1024
# Log-only: what enforcing would refuse, at most this many lines per client and minute.
LOG_LINES_PER_MINUTE = 20


class ManifestError(ValueError):
    """A trusted-documents manifest the gateway cannot use."""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """``{sha256 hex: document}`` from a client-preset or Apollo manifest, every entry checked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: cannot be read as JSON ({exc})") from exc
    entries: Iterable[tuple[Any, Any]]
    if isinstance(data, dict) and data.get("format") == APOLLO_MANIFEST_FORMAT:
        entries = ((op.get("id"), op.get("body")) for op in data.get("operations") or [])
    elif isinstance(data, dict):
        entries = data.items()
    else:
        raise ManifestError(f"{path}: expected an object of hash → document")
    documents: dict[str, str] = {}
    for key, body in entries:
        if not isinstance(key, str) or not isinstance(body, str):
            raise ManifestError(f"{path}: every entry needs a hash and a document text")
        digest = key.removeprefix("sha256:").lower()
        if sha256_hex(body) != digest:
            raise ManifestError(f"{path}: {key} is not the sha256 of its document")
        try:
            parse(body)
        except GraphQLError as exc:
            raise ManifestError(f"{path}: {key} does not parse: {exc.message}") from exc
        documents[digest] = body
    return documents


def canonical_key(document: DocumentNode) -> str:
    """The same for two documents that differ only in formatting and order (see above)."""
    definitions = sorted(
        (_sorted_definition(d) for d in document.definitions),
        key=lambda d: (d.kind, getattr(getattr(d, "name", None), "value", "")),
    )
    return sha256_hex(print_ast(replace(document, definitions=tuple(definitions))))


def _sorted_definition(definition: Any) -> Any:
    if isinstance(definition, OperationDefinitionNode):
        return replace(
            definition,
            variable_definitions=tuple(
                sorted(definition.variable_definitions or (), key=lambda v: v.variable.name.value)
            ),
            directives=_sorted_by_name(definition.directives),
            selection_set=_sorted_selections(
                definition.selection_set,
                keep_order=definition.operation is OperationType.MUTATION,
            ),
        )
    if isinstance(definition, FragmentDefinitionNode):
        return replace(
            definition,
            directives=_sorted_by_name(definition.directives),
            selection_set=_sorted_selections(definition.selection_set),
        )
    return definition


def _sorted_selections(selection_set: SelectionSetNode, keep_order: bool = False) -> Any:
    selections = []
    for node in selection_set.selections:
        changes: dict[str, Any] = {"directives": _sorted_by_name(node.directives)}
        if isinstance(node, FieldNode):
            changes["arguments"] = _sorted_by_name(node.arguments)
        if isinstance(node, FieldNode | InlineFragmentNode) and node.selection_set is not None:
            changes["selection_set"] = _sorted_selections(node.selection_set)
        selections.append(replace(node, **changes))
    if not keep_order:
        selections.sort(key=print_ast)
    return replace(selection_set, selections=tuple(selections))


def _sorted_by_name(nodes: Iterable[Any] | None) -> tuple[Any, ...]:
    """Arguments, or directives with their arguments sorted, by name."""
    sorted_nodes = [
        replace(n, arguments=_sorted_by_name(n.arguments)) if getattr(n, "arguments", None) else n
        for n in nodes or ()
    ]
    return tuple(sorted(sorted_nodes, key=lambda n: n.name.value))


class TrustedDocuments:
    """The allow-list and the mode it is held in."""

    def __init__(
        self,
        documents: Mapping[str, str],
        mode: TrustedDocumentsMode = TrustedDocumentsMode.LOG_ONLY,
    ) -> None:
        self.mode = mode
        self._documents = dict(documents)
        parsed = [parse(body) for body in self._documents.values()]
        self._canonical = {canonical_key(document) for document in parsed}
        self.operation_names = frozenset(
            d.name.value
            for document in parsed
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode) and d.name is not None
        )
        self._verdicts: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, mode: TrustedDocumentsMode, extra_files: Iterable[Path] = ()) -> TrustedDocuments:
        documents: dict[str, str] = {}
        for path in [*sorted(ALLOWLIST_DIR.glob("*.json")), *extra_files]:
            documents.update(load_manifest(path))
        return cls(documents, mode)

    def __len__(self) -> int:
        return len(self._documents)

    def get(self, sha256_hash: str) -> str | None:
        return self._documents.get(sha256_hash)

    def holds(self, principal: Principal | None) -> bool:
        """Whether this caller is held to the list: browser sessions, and callers without a
        valid token (the stricter side). Integrators never are."""
        return principal is None or principal.client_kind is ClientKind.BROWSER

    def enforced_for(self, principal: Principal | None) -> bool:
        return self.mode is TrustedDocumentsMode.ENFORCE and self.holds(principal)

    def contains(self, query: str | None, document: DocumentNode) -> bool:
        text_hash = sha256_hex(query) if query is not None else None
        if text_hash in self._documents:
            return True
        if text_hash is not None:
            with self._lock:
                verdict = self._verdicts.get(text_hash)
                if verdict is not None:
                    self._verdicts.move_to_end(text_hash)
                    return verdict
        verdict = canonical_key(document) in self._canonical
        if text_hash is not None:
            with self._lock:
                self._verdicts[text_hash] = verdict
                while len(self._verdicts) > VERDICT_CACHE_SIZE:
                    self._verdicts.popitem(last=False)
        return verdict


def log_budget() -> KeyedLineBudget:
    return KeyedLineBudget(LOG_LINES_PER_MINUTE, 60.0)


class TrustedDocumentsGate(SchemaExtension):
    """Holds browser operations to the list, on every transport (HTTP, SSE, websocket).

    In ``on_validate``, after ``DocumentValidationCache`` has validated: a refused operation's
    validation errors are replaced by the refusal, so an untrusted page learns nothing
    about the schema from them.
    """

    def __init__(self, trusted: TrustedDocuments, budget: KeyedLineBudget) -> None:
        self.trusted = trusted
        self.budget = budget

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        principal = getattr(context.context, "caller", None)
        document = context.graphql_document
        if (
            self.trusted.mode is not TrustedDocumentsMode.OFF
            and document is not None
            and self.trusted.holds(principal)
            and not self.trusted.contains(context.query, document)
        ):
            if self.trusted.mode is TrustedDocumentsMode.ENFORCE:
                metrics.observe_untrusted("refused")
                context.pre_execution_errors = [
                    GraphQLError(NOT_TRUSTED_MESSAGE, extensions={"code": QUERY_NOT_IN_SAFELIST})
                ]
            elif not context.pre_execution_errors:  # refused anyway otherwise
                metrics.observe_untrusted("logged")
                self._log(principal, context)
        yield

    def _log(self, principal: Principal | None, context: Any) -> None:
        who = f"seller {principal.seller_id}" if principal is not None else "no valid token"
        admitted, held_back = self.budget.admit(who)
        if not admitted:
            return
        more = f" ({held_back} more not logged)" if held_back else ""
        logger.info(
            "untrusted operation %s (sha256 %s) from %s: runs now, refused with "
            "TRUSTED_DOCUMENTS=enforce%s",
            context.operation_name or "(anonymous)",
            sha256_hex(context.query or "")[:12],
            who,
            more,
        )
