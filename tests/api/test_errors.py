"""Errors at the GraphQL edge: every one coded, internals masked behind an id, NUL characters
refused; and a few hundred malformed requests give no 5xx and a quiet process log.

The corpus is hand-made and seeded (reproducible): broken JSON, wrong parameter types,
unknown fields, bad and missing tokens, huge variables, junk variables for every mutation,
bad batches, GET and content-type variants. Client errors are the caller's, so none may be
logged at ERROR or with a traceback, and one client cannot make the log grow without bound.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from schema.errors import CLIENT_ERROR_LINES_PER_WINDOW, CLIENT_ERROR_WINDOW_SECONDS
from tests.conftest import (
    assert_error_code,
    make_settings,
    running_gateway,
)
from tests.support import tokens
from tests.support.databases import vanishing_postgres

SEED = 16

DOCUMENTS = [
    "{ __typename }",
    "{ viewer { sellerId } }",
    "{ viewer { ",
    "{ nope }",
    "{ viewer { sellerId nope } }",
    "query ($unused: Int) { __typename }",
    "{ syncRuns(first: $undefined) { id } }",
    "query ($f: Int!) { syncRuns(first: $f) { id } }",
    "query ($f: String) { syncRuns(first: $f) { id } }",
    '{ syncRuns(first: "ten") { id } }',
    "{ syncRuns(first: 99999999999) { id } }",
    "{ organizations(pageSize: -1) { total } }",
    "{ logs(page: -5, pageSize: 100000) { total } }",
    "query A { __typename } query B { __typename }",
    "subscription { syncEvents { runId } }",
    "mutation { syncOrganizations { id } }",
    "mutation { setSyncUnitPrices(enabled: true) { message } }",
    "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }",
    "{ " + "viewer { " * 30 + "}" * 30 + " }",
    "{" + "a{" * 3000 + "}" * 3000 + "}",
    "{ " + "__typename " * 6000 + "}",
    "\x00{ __typename }",
    '{ __type(name: "\\u0000") { name } }',
    "fragment F on Query { ...F } { ...F }",
    "{ __schema { types { name } } }",
    "query ($i: [OrganizationInput!]!) { upsertOrganizations(input: $i) { created } }",
]

MUTATIONS = [
    "mutation ($o: ID!, $p: ID!) { mapOrganization(organizationId: $o, psaOrganizationId: $p) "
    "{ id } }",
    "mutation ($o: ID!) { unmapOrganization(organizationId: $o) { id } }",
    "mutation ($o: ID!) { syncOrganizationSubscriptions(organizationId: $o) { id } }",
    "mutation ($r: ID!) { cancelSync(runId: $r) { id } }",
    "mutation ($i: [OrganizationInput!]!) { upsertOrganizations(input: $i) { created } }",
    "mutation ($i: [SubscriptionInput!]!) { upsertSubscriptions(input: $i) { created } }",
    "mutation ($i: [ID!]!) { deleteOrganizations(ids: $i) { deleted } }",
    "mutation ($m: Int!) { applySuggestedMappings(minScore: $m) { mapped } }",
    "mutation ($e: Boolean!) { setSyncUnitPrices(enabled: $e) { message } }",
    "mutation ($o: String!, $i: [WebhookEventType!]) { addWebhookEndpoint(url: $o, events: $i) "
    "{ secret } }",
    "mutation ($o: ID!) { removeWebhookEndpoint(endpointId: $o) { id } }",
    "mutation ($o: ID!) { rotateWebhookSecret(endpointId: $o) { secret } }",
    "mutation ($o: ID!) { testWebhookEndpoint(endpointId: $o) { delivered } }",
    "mutation ($o: ID!, $m: Int!) { muteIssue(issueId: $o, hours: $m) { id } }",
    "mutation ($o: ID!) { unmuteIssue(issueId: $o) { id } }",
]
VARIABLE_NAMES = ["o", "p", "r", "i", "m", "e", "extra"]


def _junk(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(12 if depth < 3 else 8)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([0, -1, 2**31, -(2**63), 2**70])
    if choice == 2:
        return rng.choice([1.5, -0.0, 1e308])
    if choice == 3:
        return rng.choice([True, False])
    if choice == 4:
        return rng.choice(["", " ", "org-1", "1", "null", "\x00", "é" * 50, "x" * 5000])
    if choice == 5:
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(1, 40)))
    if choice in (6, 7):
        return rng.choice(["ACTIVE", "Monthly", "12.50", "NaN", "2026-02-30", "1e999"])
    if choice in (8, 9):
        return [_junk(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    keys = ["id", "name", "organizationId", "quantity", "status", "costPrice", "zz", ""]
    return {rng.choice(keys): _junk(rng, depth + 1) for _ in range(rng.randrange(0, 5))}


# Signed when the tests are collected: valid for longer than any whole run of the suite.
_VALID_FOR_THE_RUN = datetime.now(UTC) + timedelta(hours=6)
AUTH_HEADERS = [
    None,
    "Bearer " + tokens.token(sub="fuzz", exp=_VALID_FOR_THE_RUN),
    "Bearer not-a-jwt",
    "Bearer " + tokens.token(sub="fuzz", exp=datetime.now(UTC) - timedelta(hours=1)),
    "Bearer " + tokens.token(sub="fuzz", exp=_VALID_FOR_THE_RUN, roles=["SELLER_USER"]),
    "Bearer " + tokens.token(sub="fuzz", exp=_VALID_FOR_THE_RUN, seller_id=""),
    "Bearer " + tokens.token(sub="fuzz", exp=_VALID_FOR_THE_RUN, aud="someone-else"),
    "Basic dXNlcjpwYXNz",
    "Bearer " + "x" * 8000,
    "bearer",
]


def corpus(rng: random.Random) -> Iterator[dict[str, Any]]:
    """Requests as keyword arguments of ``httpx.Client.request``."""
    post = {"method": "POST", "url": "/graphql"}
    json_headers = {"content-type": "application/json"}
    raw_bodies = [
        "",
        "{",
        "[",
        "null",
        '"x"',
        "1",
        "true",
        '{"query": ',
        "\x00",
        "[" * 100_000,
        '{"query": "{ __typename }"',
        '{"query": "{ __typename }"}garbage',
        "{'query': '{ __typename }'}",
    ]
    for body in raw_bodies:
        yield {**post, "content": body, "headers": json_headers}
    yield {**post, "content": b"\xff\xfe\x00{", "headers": json_headers}
    for field in ("query", "variables", "operationName", "extensions"):
        for value in (None, 1, 1.5, True, [], {}, "x", [1], {"a": 1}):
            body = {"query": "{ __typename }", field: value}
            for accept in ("application/json", "application/graphql-response+json"):
                yield {**post, "json": body, "headers": {"accept": accept}}
    yield {**post, "json": {"qeury": "{ __typename }"}}
    yield {**post, "json": {"query": "{ __typename }", "unknownField": {"deep": [1, 2]}}}
    for document in DOCUMENTS:
        for auth in rng.sample(AUTH_HEADERS, 4):
            headers = {"authorization": auth} if auth else {}
            variables = rng.choice([None, {}, {"f": _junk(rng)}, {"unused": 1}])
            yield {**post, "json": {"query": document, "variables": variables}, "headers": headers}
    for document in MUTATIONS:
        for _ in range(12):
            variables = {name: _junk(rng) for name in rng.sample(VARIABLE_NAMES, 3)}
            auth = rng.choice([AUTH_HEADERS[1], AUTH_HEADERS[1], AUTH_HEADERS[2], None])
            headers = {"authorization": auth} if auth else {}
            yield {**post, "json": {"query": document, "variables": variables}, "headers": headers}
    huge_string = "x" * 1_900_000
    big_list = [{"id": f"org-{i}", "name": "n"} for i in range(20_000)]
    yield {**post, "json": {"query": DOCUMENTS[1], "variables": {"f": huge_string}}}
    yield {**post, "json": {"query": MUTATIONS[4], "variables": {"i": big_list}}}
    yield {**post, "json": {"query": MUTATIONS[4], "variables": {"i": "x" * 3_000_000}}}
    deep: Any = 1
    for _ in range(500):
        deep = [deep]
    yield {**post, "json": {"query": DOCUMENTS[7], "variables": {"f": deep}}}
    for batch in (
        [],
        [{"query": "{ __typename }"}] * 11,
        [{"query": "{ __typename }"}, "x"],
        [[{"query": "{ __typename }"}]],
        [{"query": 5}],
        [{"query": d} for d in DOCUMENTS[:10]],
        [{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}],
        [None],
    ):
        yield {**post, "json": batch}
    for document in DOCUMENTS[:12]:
        yield {"method": "GET", "url": "/graphql", "params": {"query": document}}
    for params in (
        {"query": "mutation { syncOrganizations { id } }"},
        {"query": "{ __typename }", "variables": "{nope"},
        {"query": "{ __typename }", "variables": "[1]"},
        {"query": "{ __typename }", "extensions": "1"},
        {"extensions": '{"persistedQuery": {"version": 1, "sha256Hash": "00"}}'},
        {},
    ):
        yield {
            "method": "GET",
            "url": "/graphql",
            "params": params,
            "headers": {"accept": "application/json"},
        }
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql",
        "",
        "application/json; charset=latin-1",
    ):
        yield {
            **post,
            "content": '{"query": "{ __typename }"}',
            "headers": {"content-type": content_type},
        }


def _coded(response: httpx.Response) -> list[str]:
    """Every GraphQL error in a JSON answer has a code; returns them."""
    body = response.json()
    answers = body if isinstance(body, list) else [body]
    codes = []
    for answer in answers:
        for error in answer.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code, f"an error without a code: {error}"
            codes.append(code)
    return codes


def test_malformed_requests_get_coded_4xx_answers_and_leave_no_error_in_the_log(
    edge_gateway, caplog
) -> None:
    caplog.set_level(logging.INFO)
    rng = random.Random(SEED)
    requests = list(corpus(rng))
    assert len(requests) >= 300
    started = time.monotonic()
    seen_codes: set[str] = set()
    with httpx.Client(base_url=edge_gateway.base_url, timeout=60) as client:
        for request in requests:
            response = client.request(**request)
            where = f"{request.get('method')} {str(request)[:300]}"
            assert response.status_code < 500, f"{response.status_code} for {where}"
            assert "json" in response.headers.get("content-type", ""), where
            codes = _coded(response)
            assert "INTERNAL_SERVER_ERROR" not in codes, f"{response.text[:500]} for {where}"
            seen_codes.update(codes)
    elapsed = time.monotonic() - started

    # Then the bad input was recognised as such …
    assert {
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "BAD_USER_INPUT",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "BAD_REQUEST",
        "QUERY_TOO_COMPLEX",
    } <= seen_codes
    # … nothing of it is an ERROR or carries a traceback …
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage()[:300] for r in errors]
    with_trace = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not with_trace, [r.getMessage()[:300] for r in with_trace]
    # … and the client-error lines stay within the budget per client (two here: the
    # address for unauthenticated calls, the seller for authenticated ones).
    client_lines = [r for r in caplog.records if r.name == "gateway.client_errors"]
    assert client_lines, "client errors are logged (at INFO)"
    assert {r.levelno for r in client_lines} == {logging.INFO}
    windows = 1 + int(elapsed // CLIENT_ERROR_WINDOW_SECONDS)
    assert len(client_lines) <= 2 * CLIENT_ERROR_LINES_PER_WINDOW * windows
    assert all(len(r.getMessage()) < 600 for r in client_lines)


def test_a_huge_variable_is_not_echoed_back_or_logged_in_full(edge_gateway, caplog) -> None:
    caplog.set_level(logging.INFO)
    with httpx.Client(base_url=edge_gateway.base_url, timeout=60) as client:
        response = client.post(
            "/graphql",
            json={"query": DOCUMENTS[7], "variables": {"f": "x" * 1_000_000}},
        )
    assert json.loads(response.text)["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(response.content) < 10_000
    (line,) = [r for r in caplog.records if r.name == "gateway.client_errors"]
    assert line.getMessage().startswith("client error BAD_USER_INPUT in operation from address")
    assert len(line.getMessage()) < 600


async def test_a_syntax_error_is_a_parse_failure(gateway) -> None:
    assert_error_code(await gateway.gql("{ viewer { "), "GRAPHQL_PARSE_FAILED")


async def test_an_unknown_field_is_a_validation_failure(gateway) -> None:
    assert_error_code(await gateway.gql("{ nope }"), "GRAPHQL_VALIDATION_FAILED")


async def test_a_wrongly_typed_variable_is_bad_user_input(gateway) -> None:
    result = await gateway.gql(
        "query ($first: Int!) { syncRuns(first: $first) { id } }", {"first": "ten"}
    )
    assert_error_code(result, "BAD_USER_INPUT")


async def test_an_unexpected_failure_is_an_internal_error_with_an_id_and_no_internals(
    tmp_path, caplog
) -> None:
    async with vanishing_postgres() as (url, drop):
        with running_gateway(make_settings(url, tmp_path)) as running:
            await running.gql("{ viewer { sellerId } }")  # seller known before the DB goes
            await drop()
            result = await running.gql("{ syncOverview { organizations { state } } }")
    error = assert_error_code(result, "INTERNAL_SERVER_ERROR")
    assert error["message"] == "Internal error."
    error_id = error["extensions"]["errorId"]
    assert len(error_id) == 12
    assert "database" not in str(result).lower()
    assert any(error_id in record.getMessage() for record in caplog.records)


async def test_nul_characters_anywhere_are_refused_as_bad_input_before_any_query(
    gateway,
) -> None:
    # Given: the same document sent twice, so the second answer comes from the caches.
    upsert = "mutation ($i: [OrganizationInput!]!) { upsertOrganizations(input: $i) { created } }"
    bad = {"i": [{"id": "org-1", "name": "Acme\x00", "reference": "R-1", "status": "ACTIVE"}]}
    for _ in range(2):
        assert_error_code(await gateway.gql(upsert, bad), "BAD_USER_INPUT")
    for _ in range(2):
        result = await gateway.gql(
            "mutation ($o: ID!) { unmapOrganization(organizationId: $o) { id } }", {"o": "\x00"}
        )
        assert_error_code(result, "BAD_USER_INPUT")
    literal = 'mutation { deleteOrganizations(ids: ["\\u0000"]) { deleted } }'
    assert_error_code(await gateway.gql(literal), "BAD_USER_INPUT")
    # Then: nothing was written.
    grid = await gateway.gql("{ organizations { total } }")
    assert grid["data"]["organizations"]["total"] == 0
