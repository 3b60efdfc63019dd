"""Unit tests of the HaloPSA client's behaviours, with HTTP faked at the route level (respx)."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import httpx
import pytest
import respx

from gateway.halopsa import (
    HaloAuthError,
    HaloClient,
    HaloCredentials,
    HaloIncompleteRead,
    HaloNotFound,
    HaloOutcomeUnknown,
    HaloPermissionError,
    HaloRateLimited,
    HaloUnavailable,
    InMemoryRateLimiter,
    LicenceWrite,
)

API, AUTH = "https://halo.test/api", "https://halo.test/auth"
SECRET, TOKEN = "very-secret-value-9999", "tok-abcdefghijklmnop"
CREDS = HaloCredentials("cid", SECRET, API, AUTH, tenant="acme")


def client(**kw) -> HaloClient:
    return HaloClient(CREDS, backoff_base=0.001, backoff_max=0.01, **kw)


def token_route(mock: respx.MockRouter, token: str = TOKEN, expires_in: int = 3600):
    return mock.post(f"{AUTH}/token").mock(
        return_value=httpx.Response(
            200, json={"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
        )
    )


def licence(i: int, name: str | None = None) -> LicenceWrite:
    return LicenceWrite(
        None,
        1,
        name or f"L{i}",
        date(2026, 1, 1),
        None,
        1,
        "Monthly",
        "1 Year",
        "ACTIVE",
        True,
        Decimal("1.50"),
        Decimal("2.00"),
    )


def paged(
    envelope: str, rows: list[dict], record_count: int | None
) -> Callable[[httpx.Request], httpx.Response]:
    """A listing as HaloPSA pages it: 100 rows a page by ``page_no``, with ``record_count``
    (left out when None)."""

    def page(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params["page_no"])
        body: dict = {envelope: rows[(n - 1) * 100 : n * 100]}
        if record_count is not None:
            body["record_count"] = record_count
        return httpx.Response(200, json=body)

    return page


@respx.mock
async def test_the_token_is_requested_once_with_the_tenant_and_reused() -> None:
    token = token_route(respx.mock)
    respx.get(f"{API}/Client/1").mock(return_value=httpx.Response(200, json={"id": 1, "name": "A"}))
    async with client() as c:
        await asyncio.gather(*(c.get_client(1) for _ in range(5)))
    assert token.call_count == 1
    request = token.calls[0].request
    assert request.url.params["tenant"] == "acme"
    form = dict(x.split("=") for x in request.content.decode().split("&"))
    assert form["grant_type"] == "client_credentials" and form["scope"] == "all"


@respx.mock
async def test_a_401_refreshes_the_token_once_then_gives_up() -> None:
    tokens = (f"t{n}" for n in itertools.count(1))
    respx.post(f"{AUTH}/token").mock(
        side_effect=lambda r: httpx.Response(
            200, json={"access_token": next(tokens), "expires_in": 3600}
        )
    )
    route = respx.get(f"{API}/Client/1").mock(
        side_effect=[httpx.Response(401), httpx.Response(200, json={"id": 1, "name": "A"})]
    )
    async with client() as c:
        assert (await c.get_client(1)).name == "A"
    assert route.calls[1].request.headers["authorization"] == "Bearer t2"
    respx.get(f"{API}/Client/2").mock(return_value=httpx.Response(401))
    async with client() as c:
        with pytest.raises(HaloAuthError):
            await c.get_client(2)


@respx.mock
async def test_a_refused_token_is_an_auth_error_without_the_secret() -> None:
    respx.post(f"{AUTH}/token").mock(
        return_value=httpx.Response(
            401, json={"error": "invalid_client", "error_description": "Invalid client credentials"}
        )
    )
    async with client() as c:
        with pytest.raises(HaloAuthError) as raised:
            await c.get_client(1)
    assert "Invalid client credentials" in str(raised.value)
    assert SECRET not in str(raised.value)


@respx.mock
async def test_clients_are_paged_past_the_100_row_cap_including_inactive() -> None:
    token_route(respx.mock)
    rows = [{"id": i, "name": f"C{i}", "inactive": i % 2 == 0} for i in range(1, 251)]

    route = respx.get(f"{API}/Client").mock(side_effect=paged("clients", rows, 250))
    async with client() as c:
        got = [x async for x in c.iter_clients(include_inactive=True)]
    assert [x.id for x in got] == list(range(1, 251))
    assert route.call_count == 3
    params = route.calls[0].request.url.params
    assert (params["pageinate"], params["includeinactive"], params["page_size"]) == (
        "true",
        "true",
        "100",
    )


@respx.mock
async def test_a_server_repeating_the_same_page_does_not_loop_forever() -> None:
    token_route(respx.mock)
    same = {"record_count": 1000, "clients": [{"id": i, "name": "x"} for i in range(100)]}
    route = respx.get(f"{API}/Client").mock(return_value=httpx.Response(200, json=same))
    async with client() as c:
        got = [x async for x in c.iter_clients()]
    assert len(got) == 100 and route.call_count == 2


@respx.mock
async def test_licences_are_written_in_batches_and_ids_come_back_in_order() -> None:
    token_route(respx.mock)
    next_id = iter(range(1, 1000))

    def save(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)
        saved = [{**item, "id": next(next_id)} for item in items]
        return httpx.Response(200, json=saved[0] if len(saved) == 1 else saved)

    route = respx.post(f"{API}/SoftwareLicence").mock(side_effect=save)
    async with client(batch_size=50) as c:
        outcomes = await c.write_licences([licence(i) for i in range(101)])
    assert route.call_count == 3
    assert [o.licence_id for o in outcomes] == list(range(1, 102))
    body = json.loads(route.calls[0].request.content)[0]
    assert (body["purchase_price"], body["start_date"]) == (1.5, "2026-01-01T00:00:00")


@respx.mock
async def test_a_write_whose_fence_refuses_never_leaves_and_reads_are_not_fenced() -> None:
    # Given a client whose sync asks, before each write, whether the run is still its own
    token_route(respx.mock)
    route = respx.post(f"{API}/SoftwareLicence").mock(
        side_effect=lambda r: httpx.Response(200, json={**json.loads(r.content)[0], "id": 7})
    )
    respx.get(f"{API}/SoftwareLicence").mock(
        return_value=httpx.Response(200, json={"licences": [{"id": 3}]})
    )
    asked: list[str] = []

    class TakenOver(Exception):
        pass

    async def fence() -> None:
        asked.append("write")
        if len(asked) > 1:
            raise TakenOver()

    async with client() as c:
        c.before_write = fence
        assert await c.post_licences([licence(1)]) == [7]
        assert await c.highest_licence_id() == 3
        # When another execution took the run over before the second write
        with pytest.raises(TakenOver):
            await c.post_licences([licence(2)])
    # Then that write never reached HaloPSA; the read asked nothing
    assert route.call_count == 1 and asked == ["write", "write"]


@respx.mock
async def test_a_rejected_batch_is_bisected_to_isolate_the_bad_record() -> None:
    token_route(respx.mock)

    def save(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)
        if any(i["name"] == "BAD" for i in items):
            return httpx.Response(400, json={"[0].name": ["The name field is not allowed."]})
        saved = [{**item, "id": 7} for item in items]
        return httpx.Response(200, json=saved[0] if len(saved) == 1 else saved)

    respx.post(f"{API}/SoftwareLicence").mock(side_effect=save)
    async with client() as c:
        outcomes = await c.write_licences([licence(i, "BAD" if i == 5 else None) for i in range(8)])
    assert [o.error is not None for o in outcomes] == [i == 5 for i in range(8)]
    assert "not allowed" in outcomes[5].error.message


@respx.mock
async def test_429_and_5xx_are_retried_with_retry_after_honoured_and_counted() -> None:
    token_route(respx.mock)
    route = respx.get(f"{API}/Client/1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0.01"}, text="Rate Limit Reached"),
            httpx.Response(503),
            httpx.ConnectTimeout("slow"),
            httpx.Response(200, json={"id": 1, "name": "A"}),
        ]
    )
    async with client() as c:
        assert (await c.get_client(1)).id == 1
        assert (c.stats.retries, c.stats.rate_limited, c.stats.calls) == (3, 1, 5)
        assert c.stats.wait_seconds >= 0.01
    assert route.call_count == 4


@respx.mock
async def test_retries_are_bounded_and_429s_by_the_clients_patience() -> None:
    token_route(respx.mock)
    respx.get(f"{API}/Client/1").mock(return_value=httpx.Response(429))
    respx.get(f"{API}/Client/2").mock(side_effect=httpx.ReadError("dropped"))
    # A limiter that restricts nothing but knows HaloPSA's window: 0.2 s here.
    limiter = InMemoryRateLimiter(1000, 0.2)
    async with client(max_retries=2, rate_limiter=limiter, rate_limit_patience=0.5) as c:
        with pytest.raises(HaloRateLimited) as limited:
            await c.get_client(1)
        with pytest.raises(HaloUnavailable, match=r"3 tries \(connection lost \(reset\)\)"):
            await c.get_client(2)
    # Waited slices of the window (~0.02 s each) up to the patience, then said when to retry.
    assert 0.0 < limited.value.retry_after <= 0.05  # type: ignore[operator]
    assert c.stats.rate_limited >= 10


@respx.mock
async def test_a_create_whose_answer_is_lost_is_never_sent_again() -> None:
    token_route(respx.mock)
    route = respx.post(f"{API}/SoftwareLicence").mock(
        side_effect=[httpx.ReadTimeout("no answer"), httpx.Response(502), httpx.ReadError("reset")]
    )
    async with client(max_retries=5) as c:
        for cause in ("timeout", "HTTP 502", "reset"):
            with pytest.raises(HaloOutcomeUnknown, match=cause):
                await c.post_licences([licence(1)])
    assert route.call_count == 3  # one POST each, none repeated


@respx.mock
async def test_updates_and_creates_refused_before_sending_are_retried() -> None:
    token_route(respx.mock)
    saved = httpx.Response(200, json={"id": 7, "name": "L1"})
    route = respx.post(f"{API}/SoftwareLicence").mock(
        side_effect=[httpx.ReadTimeout("slow"), saved, httpx.ConnectError("refused"), saved]
    )
    update = dataclasses.replace(licence(1), id=7)
    async with client() as c:
        assert await c.post_licences([update]) == [7]  # by id: safe to repeat
        assert await c.post_licences([licence(1)]) == [7]  # never left: safe too
    assert route.call_count == 4


@respx.mock
async def test_a_licence_list_that_changes_between_pages_is_not_trusted() -> None:
    token_route(respx.mock)
    rows = [{"id": i, "client_id": 1, "name": f"L{i}", "count": 1} for i in range(1, 151)]
    respx.get(f"{API}/SoftwareLicence").mock(
        side_effect=[
            httpx.Response(200, json={"record_count": 150, "licences": rows[:100]}),
            httpx.Response(200, json={"record_count": 151, "licences": rows[100:]}),
        ]
    )
    async with client() as c:
        with pytest.raises(HaloIncompleteRead, match="150 → 151"):
            await c.read_licences(client_id=1)


@respx.mock
@pytest.mark.parametrize(("status", "error"), [(403, HaloPermissionError), (404, HaloNotFound)])
async def test_other_4xx_are_not_retried(status, error) -> None:
    token_route(respx.mock)
    route = respx.get(f"{API}/Client/1").mock(return_value=httpx.Response(status))
    async with client() as c:
        with pytest.raises(error):
            await c.get_client(1)
    assert route.call_count == 1


@respx.mock
async def test_the_secret_and_token_never_reach_the_log(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    token_route(respx.mock)
    respx.get(f"{API}/Client/1").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"id": 1, "name": "A"})]
    )
    async with client() as c:
        await c.get_client(1)
    text = " ".join(r.getMessage() for r in caplog.records)
    assert SECRET not in text and TOKEN not in text
    assert SECRET not in repr(CREDS)


@respx.mock
async def test_every_licence_of_the_instance_is_listed_in_id_order_100_a_page() -> None:
    token_route(respx.mock)
    rows = [{"id": i, "client_id": i % 7, "name": f"L{i}", "count": 1} for i in range(1, 201)]

    route = respx.get(f"{API}/SoftwareLicence").mock(side_effect=paged("licences", rows, 200))
    async with client() as c:
        pages = [p async for p in c.iter_licence_pages()]
    # Two pages for 200 licences (no third call to find the end), every client at once
    assert [len(p.licences) for p in pages] == [100, 100]
    assert [lic.id for p in pages for lic in p.licences] == list(range(1, 201))
    assert route.call_count == 2
    params = route.calls[0].request.url.params
    assert "client_id" not in params
    assert (params["includeinactive"], params["order"], params["page_size"]) == (
        "true",
        "id",
        "100",
    )


@respx.mock
async def test_a_licence_listing_that_goes_back_in_id_order_is_not_trusted() -> None:
    token_route(respx.mock)
    same = {"record_count": 300, "licences": [{"id": i, "name": "x"} for i in range(1, 101)]}
    respx.get(f"{API}/SoftwareLicence").mock(return_value=httpx.Response(200, json=same))
    async with client() as c:
        with pytest.raises(HaloIncompleteRead, match="not in id order"):
            _ = [p async for p in c.iter_licence_pages()]


@pytest.mark.parametrize(
    ("answer", "granted"),
    [
        (
            {"scope": "read:customers read:softwarelicensing"},
            {"read:customers", "read:softwarelicensing"},
        ),
        ({"scope": "all"}, {"all"}),
        ({}, None),
    ],
    ids=["listed", "all", "unsaid"],
)
@respx.mock
async def test_the_permissions_a_token_was_granted_are_read_from_its_scope(answer, granted) -> None:
    respx.post(f"{AUTH}/token").mock(
        return_value=httpx.Response(
            200, json={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600, **answer}
        )
    )
    async with client() as c:
        await c._access_token()
    assert c.granted_scopes == (frozenset(granted) if granted is not None else None)


@respx.mock
async def test_a_jwt_tokens_scope_claim_tells_the_permissions_when_the_answer_does_not() -> None:
    import base64

    claims = base64.urlsafe_b64encode(json.dumps({"scope": ["edit:softwarelicensing"]}).encode())
    jwt = f"eyJhbGciOiJIUzI1NiJ9.{claims.decode().rstrip('=')}.signature"
    token_route(respx.mock, token=jwt)
    async with client() as c:
        await c._access_token()
    assert c.granted_scopes == frozenset({"edit:softwarelicensing"})


@respx.mock
async def test_a_licence_listing_without_record_count_ends_at_its_short_page() -> None:
    token_route(respx.mock)
    rows = [{"id": i, "name": f"L{i}"} for i in range(1, 151)]

    route = respx.get(f"{API}/SoftwareLicence").mock(side_effect=paged("licences", rows, None))
    async with client() as c:
        pages = [p async for p in c.iter_licence_pages()]
    assert [len(p.licences) for p in pages] == [100, 50] and route.call_count == 2
    assert pages[0].record_count is None


@respx.mock
async def test_every_way_of_listing_a_clients_licences_sends_the_same_paged_request() -> None:
    # Given a client with 150 licences (two pages)
    token_route(respx.mock)
    rows = [{"id": i, "client_id": 3, "name": f"L{i}", "count": 1} for i in range(1, 151)]

    route = respx.get(f"{API}/SoftwareLicence").mock(side_effect=paged("licences", rows, 150))
    async with client() as c:
        # When it is read whole, record by record and page by page
        whole = await c.read_licences(client_id=3)
        one_by_one = [lic async for lic in c.iter_licences(client_id=3)]
        by_page = [lic async for p in c.iter_licence_pages(client_id=3) for lic in p.licences]
    # Then each read the same 150 licences with the same two requests
    assert [lic.id for lic in whole] == [lic.id for lic in one_by_one] == list(range(1, 151))
    assert [lic.id for lic in by_page] == list(range(1, 151))
    sent = [dict(call.request.url.params) for call in route.calls]
    assert len(sent) == 6 and sent[0:2] == sent[2:4] == sent[4:6]
    assert sent[1] == {
        "includeinactive": "true",
        "order": "id",
        "pageinate": "true",
        "page_size": "100",
        "page_no": "2",
        "client_id": "3",
    }


@respx.mock
async def test_the_licence_listing_of_a_client_that_leaves_slots_gives_way_to_the_writers() -> None:
    # Given a rate window of 10 of which 4 are taken, and a reader that leaves 4 to others
    token_route(respx.mock)
    rows = [{"id": i, "client_id": 1, "name": f"L{i}", "count": 1} for i in range(1, 301)]

    route = respx.get(f"{API}/SoftwareLicence").mock(side_effect=paged("licences", rows, 300))
    limiter = InMemoryRateLimiter(10, 300.0)
    for _ in range(4):
        await limiter.acquire("halo.test")
    async with client(rate_limiter=limiter, leave_for_others=4) as c:
        pages = c.iter_licence_pages()
        # When it has read its first page (the token and the page: 6 of 10 taken) …
        first = await anext(pages)
        second = asyncio.create_task(anext(pages))
        for _ in range(10):
            await asyncio.sleep(0)
        # … then the writers still get the 4 slots it left them, and its next page waits
        assert [await limiter.acquire("halo.test") for _ in range(4)] == [0.0] * 4
        for _ in range(10):
            await asyncio.sleep(0)
        assert len(first.licences) == 100
        assert route.call_count == 1 and not second.done()
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
