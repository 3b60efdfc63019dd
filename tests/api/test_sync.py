"""Live sync progress over graphql-transport-ws, with a real websocket client."""

from __future__ import annotations

import asyncio
import json

from tests.support import data
from tests.support.runs import trigger, wait_for_run
from tests.support.ws import open_socket, receive, subscribe

EVENTS = """subscription { syncEvents { runId kind phase processed total created updated
skipped failed message } }"""
OVERVIEW = """subscription { syncOverviewChanged { organizations { state message
currentRun { id } } lastSyncToPlatform { relative } } }"""


async def _connected(gateway, seller="seller-a"):
    socket = await open_socket(
        gateway.base_url, {"Authorization": f"Bearer {gateway.token(seller)}"}
    )
    assert (await receive(socket))["type"] == "connection_ack"
    return socket


async def _drain(socket, until_phase: str, timeout: float = 30.0) -> list[dict]:
    events = []
    while True:
        message = await receive(socket, timeout=timeout)
        assert message["type"] == "next", message
        event = message["payload"]["data"]["syncEvents"]
        events.append(event)
        if event["phase"] == until_phase:
            return events


async def test_a_sync_streams_queued_started_progress_completed_to_its_seller_only(
    migrated_db, halo_sim, gateway
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    sim = halo_sim.instance()
    for i in range(250):
        sim.add_client(f"Customer {i:03d}")
    sim.set_faults(latency_ms=30)

    mine = await _connected(gateway)
    other = await _connected(gateway, "seller-b")
    overview = await _connected(gateway)
    try:
        await subscribe(mine, EVENTS)
        await subscribe(other, EVENTS)
        await subscribe(overview, OVERVIEW)
        first = await receive(overview)
        assert first["payload"]["data"]["syncOverviewChanged"]["organizations"]["state"] == "IDLE"
        await asyncio.sleep(0.2)  # subscriptions registered on the bus

        run = await trigger(gateway, "mutation { syncOrganizations { id } }")
        events = await _drain(mine, "COMPLETED")
        phases = [e["phase"] for e in events]
        assert phases[:2] == ["QUEUED", "STARTED"] and phases[-1] == "COMPLETED"
        assert "PROGRESS" in phases
        assert all(e["runId"] == run["id"] and e["kind"] == "ORGANIZATIONS" for e in events)
        progress = [e["processed"] for e in events if e["phase"] == "PROGRESS"]
        assert progress == sorted(progress)
        finished = await wait_for_run(gateway, run["id"])
        assert (events[-1]["created"], events[-1]["processed"]) == (finished["created"], 250)
        assert events[1]["message"] == "Sync in progress"

        states = []
        while "IDLE" not in states[1:]:
            message = await receive(overview)
            states.append(
                message["payload"]["data"]["syncOverviewChanged"]["organizations"]["state"]
            )
        assert "IN_PROGRESS" in states

        # The other seller's socket got nothing.
        try:
            raw = await asyncio.wait_for(other.recv(), 0.5)
        except TimeoutError:
            raw = None
        assert raw is None or json.loads(raw)["type"] in ("ping", "pong")
    finally:
        for socket in (mine, other, overview):
            await socket.close()
