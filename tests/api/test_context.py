"""Each request's context: the caller, resolved once from the token, and the seller every
answer is scoped to; websockets hand the token over in whichever shape their client sends."""

from __future__ import annotations

import pytest

from tests.conftest import RunningGateway, assert_error_code
from tests.support.ws import open_socket, receive

VIEWER = "{ viewer { subject sellerId roles } }"


async def test_a_request_without_a_token_is_unauthenticated(gateway: RunningGateway) -> None:
    result = await gateway.gql(VIEWER, seller=None)
    assert_error_code(result, "UNAUTHENTICATED")
    assert result["data"] is None


async def test_typename_answers_with_a_minted_token(gateway: RunningGateway) -> None:
    result = await gateway.gql("{ __typename }")
    assert result == {"data": {"__typename": "Query"}}


async def test_every_answer_is_scoped_to_the_sellers_own_token(gateway: RunningGateway) -> None:
    a = await gateway.gql(VIEWER, seller="seller-a")
    b = await gateway.gql(VIEWER, seller="seller-b", role="SELLER_AGENT_ADMIN")
    assert a["data"]["viewer"]["sellerId"] == "seller-a"
    assert b["data"]["viewer"]["sellerId"] == "seller-b"
    assert b["data"]["viewer"]["roles"] == ["SELLER_AGENT_ADMIN"]


async def test_a_bad_token_fails_only_the_fields_that_need_a_caller(
    gateway: RunningGateway,
) -> None:
    assert await gateway.gql("{ __typename }", token="not-a-jwt") == {
        "data": {"__typename": "Query"}
    }
    assert_error_code(await gateway.gql(VIEWER, token="not-a-jwt"), "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "shape",
    [
        lambda t: {"Authorization": f"Bearer {t}"},
        lambda t: {"authorization": f"Bearer {t}"},
        lambda t: {"token": t},
        lambda t: {"authToken": t},
        lambda t: {"headers": {"Authorization": f"Bearer {t}"}},
    ],
    ids=["Authorization", "authorization", "token", "authToken", "headers"],
)
async def test_a_socket_takes_the_token_in_each_shape_clients_send_it(
    gateway: RunningGateway, shape
) -> None:
    socket = await open_socket(gateway.base_url, shape(gateway.token()))
    try:
        assert (await receive(socket))["type"] == "connection_ack"
    finally:
        await socket.close()
