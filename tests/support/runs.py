"""Waiting for sync runs to finish, through the API: on the run's own events, not by polling."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.ws import open_socket, receive, subscribe

RUN_FIELDS = """id kind scope state total processed created updated unchanged skipped failed
message messageCode messageParams { name value } haloCalls haloRateLimited haloRetries
haloWaitSeconds organizationId organizationName trigger"""
FINISHED = {"SUCCEEDED", "FAILED", "CANCELLED"}
# A run the safety valve holds has stopped too (until it is approved).
STOPPED = {*FINISHED, "NEEDS_APPROVAL"}


# Terminal phases of a run's events, and RESYNC (events may have been lost: read again).
_READ_AGAIN = {"COMPLETED", "FAILED", "CANCELLED", "NEEDS_APPROVAL", "RESYNC"}
# A safety net only: if no event at all comes for this long, read the run once more (an
# event bus that lost a message must not hang a test until its timeout).
_QUIET_SECONDS = 5.0


async def wait_for_run(
    gateway: Any,
    run_id: str,
    *,
    seller: str = "seller-a",
    timeout: float = 60.0,
    until: set[str] = FINISHED,
) -> dict[str, Any]:
    """The run once it has finished, woken by its terminal event on a real websocket.

    Subscribes first and reads the run after, so an event cannot slip between the two.
    """
    socket = await open_socket(
        gateway.base_url, {"Authorization": f"Bearer {gateway.token(seller)}"}
    )
    try:
        ack = await receive(socket)
        assert ack["type"] == "connection_ack", ack
        await subscribe(socket, "subscription { syncEvents { runId phase } }")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        run = await _read_run(gateway, run_id, seller)
        while run is None or run["state"] not in until:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"run {run_id} did not finish: {run}")
            try:
                message = await receive(socket, timeout=min(remaining, _QUIET_SECONDS))
            except TimeoutError:
                run = await _read_run(gateway, run_id, seller)
                continue
            assert message["type"] == "next", message
            event = message["payload"]["data"]["syncEvents"]
            if event["phase"] in _READ_AGAIN and event["runId"] in (run_id, None):
                run = await _read_run(gateway, run_id, seller)
        return run
    finally:
        await socket.close()


async def _read_run(gateway: Any, run_id: str, seller: str) -> dict[str, Any] | None:
    result = await gateway.gql(f"{{ syncRuns(first: 50) {{ {RUN_FIELDS} }} }}", seller=seller)
    runs = {r["id"]: r for r in result["data"]["syncRuns"]}
    return runs.get(run_id)


async def trigger(
    gateway: Any,
    mutation: str,
    *,
    seller: str = "seller-a",
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    result = await gateway.gql(mutation, variables, seller=seller)
    assert "errors" not in result, result
    return next(iter(result["data"].values()))
