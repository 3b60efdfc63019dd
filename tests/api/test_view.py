"""The GraphQL view: websockets authenticate on connection_init and are closed with a code
that tells the client what to do (4401: get a token, 4403: this role may not)."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import RunningGateway
from tests.support import tokens
from tests.support.ws import open_socket, receive


async def test_websocket_with_a_valid_token_is_acknowledged(gateway: RunningGateway) -> None:
    socket = await open_socket(gateway.base_url, {"Authorization": f"Bearer {gateway.token()}"})
    try:
        assert (await receive(socket))["type"] == "connection_ack"
    finally:
        await socket.close()


@pytest.mark.parametrize(
    ("payload", "close_code"),
    [
        ({}, 4401),
        ({"Authorization": "Bearer nonsense"}, 4401),
        # minted in the test (not at collection): a slow suite must not expire it first
        ({"token": "SELLER_USER"}, 4403),
    ],
    ids=["no-token", "bad-token", "wrong-role"],
)
async def test_websocket_with_a_bad_token_is_closed(
    gateway: RunningGateway, payload: dict[str, str], close_code: int
) -> None:
    if payload.get("token") == "SELLER_USER":
        payload = {"token": tokens.token(roles=["SELLER_USER"])}
    socket = await open_socket(gateway.base_url, payload)
    with pytest.raises(ConnectionClosed) as closed:
        await receive(socket)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == close_code
