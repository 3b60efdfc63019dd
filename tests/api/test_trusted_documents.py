"""Trusted documents: the web app's documents are the allow-list, held to browser tokens.

The committed manifest (schema/allowlist/web-app.json) must be the web app's ``.graphql``
documents as they are now (like the web build's input hash), every one of them must still run
with ``TRUSTED_DOCUMENTS=enforce``, and what urql actually sends for them (by hash over HTTP,
as text over the websocket) must be recognised. Anything else from a browser token is refused
under enforcement, logged under log-only; an integrator's token is held to cost instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    OperationType,
    parse,
    visit,
)
from graphql.language import Visitor

from gateway.auth import ClientKind, mint_token
from gateway.settings import TrustedDocumentsMode
from schema.trusted_documents import (
    ALLOWLIST_DIR,
    TrustedDocuments,
    canonical_key,
    load_manifest,
)
from tests.conftest import TEST_JWT_SECRET, RunningGateway
from tests.support.node import run_node
from tests.support.ws import open_socket, receive, subscribe

ROOT = Path(__file__).resolve().parents[2]
WEB_DOCUMENTS = ROOT / "web" / "src" / "graphql"
GENERATED = ROOT / "web" / "src" / "gql" / "graphql.ts"
MANIFEST = ALLOWLIST_DIR / "web-app.json"
REBUILD = "the allow-list is stale: run `npm run build` in web/ and commit schema/allowlist"
REFUSALS = {
    "QUERY_NOT_IN_SAFELIST",
    "PERSISTED_QUERY_NOT_IN_LIST",
    "PERSISTED_QUERY_NOT_FOUND",
    "GRAPHQL_VALIDATION_FAILED",
    "QUERY_TOO_COMPLEX",
}
# Values for the web app's variables, by name: enough for each operation to run (a refused
# HaloPSA connection or an unknown organisation is an answer: the operation ran).
VARIABLES: dict[str, Any] = {
    "page": 1,
    "pageSize": 20,
    "first": 50,
    "days": 30,
    "utcOffsetMinutes": 0,
    "level": "ALL",
    "enabled": True,
    "search": None,
    "filter": None,
    "sort": None,
    "organizationId": "org-1",
    "psaOrganizationId": "1",
    "runId": "1",
    "pairs": [{"licenceId": 1, "subscriptionId": "s-1"}],
    "licenceIds": [1],
    "kind": None,  # the drift report: every kind
    "input": {
        "authorizationServer": "http://127.0.0.1:9/auth",
        "resourceServer": "http://127.0.0.1:9/api",
        "clientId": "id",
        "clientSecret": "secret",
        "tenant": None,
    },
}
UNTRUSTED = "query Mine { viewer { sellerId } }"


def _token(gateway: RunningGateway, kind: ClientKind | None = None) -> str:
    return mint_token(
        gateway.settings, seller_id="seller-a", roles=["SELLER_ADMIN"], client_kind=kind
    )


def _post(gateway: RunningGateway, body: dict[str, Any], token: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{gateway.base_url}/graphql", json=body, headers=headers, timeout=30)
    return response.json()


def _codes(answer: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in answer.get("errors") or []]


def _ran(answer: dict[str, Any]) -> bool:
    """It executed: data, or only errors raised by its fields (they carry a path)."""
    errors = answer.get("errors") or []
    return answer.get("data") is not None or (bool(errors) and all(e.get("path") for e in errors))


def _apq(document: str) -> dict[str, Any]:
    digest = hashlib.sha256(document.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def _web_operations() -> dict[str, DocumentNode]:
    """Each operation of web/src/graphql/*.graphql with the fragments it uses."""
    definitions = [
        d
        for path in sorted(WEB_DOCUMENTS.glob("*.graphql"))
        for d in parse(path.read_text()).definitions
    ]
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}

    def used(node: Any, seen: dict[str, FragmentDefinitionNode]) -> None:
        class Spreads(Visitor):
            def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
                name = spread.name.value
                if name not in seen:
                    seen[name] = fragments[name]
                    used(fragments[name], seen)

        visit(node, Spreads())

    operations = {}
    for d in definitions:
        if isinstance(d, OperationDefinitionNode):
            seen: dict[str, FragmentDefinitionNode] = {}
            used(d, seen)
            operations[d.name.value] = DocumentNode(definitions=(d, *seen.values()))
    return operations


def test_the_committed_allow_list_is_the_web_apps_documents() -> None:
    # Every key is the sha256 of its document (load_manifest checks) and the documents are
    # the app's operations, each with its fragments, up to formatting, order and __typename.
    manifest = load_manifest(MANIFEST)
    listed = {canonical_key(_without_typename(parse(body))) for body in manifest.values()}
    written = {canonical_key(document) for document in _web_operations().values()}
    assert listed == written, REBUILD


def _without_typename(document: DocumentNode) -> DocumentNode:
    class Drop(Visitor):
        def enter_field(self, node: Any, *_: Any) -> Any:
            return Visitor.REMOVE if node.name.value == "__typename" else None

    return visit(document, Drop())


def test_what_urql_sends_for_every_web_app_document_is_trusted() -> None:
    trusted = TrustedDocuments.load(TrustedDocumentsMode.ENFORCE)
    sent = run_node("urql_texts.mjs", str(GENERATED))
    assert sorted(sent) == sorted(_web_operations())
    for name, wire in sent.items():
        assert trusted.get(wire["hash"]) is not None, name  # the hash it sends over HTTP
        assert trusted.contains(wire["text"], parse(wire["text"])), name  # the websocket text


def test_every_web_app_document_runs_by_its_hash_with_enforcement_on(
    edge_gateway_factory,
) -> None:
    gateway = edge_gateway_factory(trusted_documents="enforce")
    browser = _token(gateway)
    manifest = load_manifest(MANIFEST)
    for digest, body in manifest.items():
        operation = next(
            d for d in parse(body).definitions if isinstance(d, OperationDefinitionNode)
        )
        if operation.operation is OperationType.SUBSCRIPTION:
            continue  # over the websocket, below
        variables = {
            v.variable.name.value: VARIABLES[v.variable.name.value]
            for v in operation.variable_definitions or ()
        }
        answer = _post(
            gateway,
            {
                "operationName": operation.name.value,
                "variables": variables,
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
            },
            browser,
        )
        assert _ran(answer), (operation.name.value, answer)
        assert not REFUSALS & set(_codes(answer)), (operation.name.value, answer)


async def test_a_web_app_subscription_runs_over_the_websocket_and_another_is_refused(
    edge_gateway_factory,
) -> None:
    gateway = edge_gateway_factory(trusted_documents="enforce")
    sent = run_node("urql_texts.mjs", str(GENERATED))
    socket = await open_socket(gateway.base_url, {"Authorization": f"Bearer {_token(gateway)}"})
    try:
        assert (await receive(socket))["type"] == "connection_ack"
        await subscribe(socket, "subscription { syncOverviewChanged { openIssues } }", op_id="1")
        refused = await receive(socket)
        assert (refused["type"], refused["id"]) == ("error", "1")
        assert [e["extensions"]["code"] for e in refused["payload"]] == ["QUERY_NOT_IN_SAFELIST"]

        await subscribe(socket, sent["SyncOverviewChanged"]["text"], op_id="2")
        first = await receive(socket)
        assert (first["type"], first["id"]) == ("next", "2")
        assert first["payload"]["data"]["syncOverviewChanged"]["organizations"]["state"]
    finally:
        await socket.close()


def test_an_unknown_query_from_a_browser_is_refused_and_from_an_integrator_runs(
    edge_gateway_factory,
) -> None:
    gateway = edge_gateway_factory(trusted_documents="enforce", query_cost_limit=50)
    browser, integrator = _token(gateway), _token(gateway, ClientKind.INTEGRATOR)

    refused = _post(gateway, {"query": UNTRUSTED}, browser)
    assert refused == {
        "errors": [
            {
                "message": "This operation is not one of the trusted documents: browser "
                "sessions may only send the operations their app registered.",
                "extensions": {"code": "QUERY_NOT_IN_SAFELIST"},
            }
        ]
    }
    # A token without the claim is a browser's; no token at all is held to the list too.
    assert _codes(_post(gateway, {"query": "{ __typename }"}, None)) == ["QUERY_NOT_IN_SAFELIST"]
    # What validation would say about an untrusted document is not said.
    assert _codes(_post(gateway, {"query": "{ secrets }"}, browser)) == ["QUERY_NOT_IN_SAFELIST"]

    assert _post(gateway, {"query": UNTRUSTED}, integrator) == {
        "data": {"viewer": {"sellerId": "seller-a"}}
    }
    # …under the cost cap: 100 rows cost 101 here, over this gateway's limit of 50.
    expensive = "{ organizations(pageSize: 100) { rows { id } } }"
    too_costly = _post(gateway, {"query": expensive}, integrator)
    assert too_costly["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": 101,
        "limit": 50,
    }


def test_registration_is_off_for_browsers_where_the_list_is_enforced(
    edge_gateway_factory,
) -> None:
    gateway = edge_gateway_factory(trusted_documents="enforce")
    browser, integrator = _token(gateway), _token(gateway, ClientKind.INTEGRATOR)
    # An unknown hash is not in the list: nothing to fall back to for a browser.
    assert _codes(_post(gateway, {"extensions": _apq(UNTRUSTED)}, browser)) == [
        "PERSISTED_QUERY_NOT_IN_LIST"
    ]
    # A browser sending the query with its hash registers nothing (and runs nothing) …
    registering = {"query": UNTRUSTED, "extensions": _apq(UNTRUSTED)}
    assert _codes(_post(gateway, registering, browser)) == ["QUERY_NOT_IN_SAFELIST"]
    assert _codes(_post(gateway, {"extensions": _apq(UNTRUSTED)}, integrator)) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]
    # … while an integrator's registration works for integrators, never for browsers.
    assert _post(gateway, registering, integrator)["data"] == {"viewer": {"sellerId": "seller-a"}}
    assert _post(gateway, {"extensions": _apq(UNTRUSTED)}, integrator)["data"]
    assert _codes(_post(gateway, {"extensions": _apq(UNTRUSTED)}, browser)) == [
        "PERSISTED_QUERY_NOT_IN_LIST"
    ]


def test_log_only_runs_an_untrusted_browser_operation_and_says_so(
    edge_gateway_factory, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.trusted_documents")
    gateway = edge_gateway_factory(trusted_documents="log-only")
    before = _untrusted(gateway, "logged")
    answer = _post(gateway, {"query": UNTRUSTED}, _token(gateway))
    assert answer == {"data": {"viewer": {"sellerId": "seller-a"}}}
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.trusted_documents"]
    digest = hashlib.sha256(UNTRUSTED.encode()).hexdigest()[:12]
    assert lines == [
        f"untrusted operation Mine (sha256 {digest}) from seller seller-a: runs now, refused "
        "with TRUSTED_DOCUMENTS=enforce"
    ]
    assert _untrusted(gateway, "logged") == before + 1
    # An integrator's own query is not untrusted: nothing logged.
    _post(gateway, {"query": UNTRUSTED}, _token(gateway, ClientKind.INTEGRATOR))
    assert len([r for r in caplog.records if r.name == "gateway.trusted_documents"]) == 1


def test_off_runs_anything_and_logs_nothing(edge_gateway_factory, caplog) -> None:
    caplog.set_level(logging.INFO, logger="gateway.trusted_documents")
    gateway = edge_gateway_factory(trusted_documents="off")
    assert _post(gateway, {"query": UNTRUSTED}, _token(gateway))["data"]
    assert not [r for r in caplog.records if r.name == "gateway.trusted_documents"]


def _untrusted(gateway: RunningGateway, outcome: str) -> float:
    text = httpx.get(f"{gateway.base_url}/metrics").text
    line = f'halo_gateway_untrusted_operations_total{{outcome="{outcome}"}} '
    return next((float(x.split(" ")[1]) for x in text.splitlines() if x.startswith(line)), 0.0)


@pytest.mark.parametrize("claim", ["Browser", "integrator"])
def test_the_client_kind_claim_is_read_case_insensitively(edge_gateway, claim) -> None:
    token = _claims_token(edge_gateway, client_kind=claim)
    assert _post(edge_gateway, {"query": "{ viewer { sellerId } }"}, token)["data"]


def test_an_unknown_client_kind_claim_is_unauthenticated(edge_gateway) -> None:
    token = _claims_token(edge_gateway, client_kind="integrater")
    answer = _post(edge_gateway, {"query": "{ viewer { sellerId } }"}, token)
    assert answer["errors"][0]["message"] == (
        "The token's client_kind claim must be 'browser' or 'integrator'."
    )
    assert _codes(answer) == ["UNAUTHENTICATED"]


def _claims_token(gateway: RunningGateway, **claims: Any) -> str:
    payload = jwt.decode(
        _token(gateway), TEST_JWT_SECRET, algorithms=["HS256"], audience="halo-gateway"
    )
    return jwt.encode({**payload, **claims}, TEST_JWT_SECRET, algorithm="HS256")


def test_a_session_token_is_a_browser_session_whoever_asked(edge_gateway) -> None:
    integrator = _token(edge_gateway, ClientKind.INTEGRATOR)
    answer = _post(edge_gateway, {"query": "mutation { issueSessionToken { token } }"}, integrator)
    session = answer["data"]["issueSessionToken"]["token"]
    claims = jwt.decode(session, TEST_JWT_SECRET, algorithms=["HS256"], audience="halo-gateway")
    assert claims["client_kind"] == "browser"


def test_a_manifest_whose_hash_is_not_its_documents_stops_the_gateway(tmp_path) -> None:
    bad = tmp_path / "team.json"
    bad.write_text(json.dumps({"00" * 32: "query A { viewer { sellerId } }"}))
    with pytest.raises(ValueError, match="is not the sha256 of its document"):
        TrustedDocuments.load(TrustedDocumentsMode.ENFORCE, [bad])


def test_apollos_persisted_query_manifest_is_read_too(tmp_path) -> None:
    body = "query Team { viewer { sellerId } }"
    manifest = tmp_path / "persisted-query-manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {
                        "id": hashlib.sha256(body.encode()).hexdigest(),
                        "name": "Team",
                        "type": "query",
                        "body": body,
                    }
                ],
            }
        )
    )
    trusted = TrustedDocuments.load(TrustedDocumentsMode.ENFORCE, [manifest])
    assert trusted.contains(body, parse(body))
    assert "Team" in trusted.operation_names
