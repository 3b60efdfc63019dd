"""Live sync progress over graphql-transport-ws, with a real websocket client."""

from __future__ import annotations

import asyncio
import json

from tests.support import data
from tests.support.runs import trigger, wait_for_run
from tests.support.ws import open_socket, receive, subscribe

EVENTS = """subscription { syncEvents { runId kind scope phase processed total created updated
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
        assert {(e["runId"], e["kind"], e["scope"]) for e in events} == {
            (run["id"], "ORGANIZATIONS", "ALL")
        }
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


ORG_EVENTS = """subscription { syncEvents { runId phase organizationId organizationName message
code params { name value } } }"""
SYNC_ONE = """mutation ($id: ID!) { syncOrganizationSubscriptions(organizationId: $id) {
id organizationId organizationName } }"""
RUN_LOGS = """query ($runId: ID) { logs(runId: $runId, pageSize: 100) { entries { title details
code params { name value } } } }"""


def _params(item: dict) -> dict:
    return {p["name"]: p["value"] for p in item["params"]}


async def test_a_one_organisation_sync_names_it_by_the_grid_id_in_events_runs_and_logs(
    migrated_db, halo_sim, gateway
) -> None:
    # Given: an organisation whose database id is not its public id (others came first)
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    sim = halo_sim.instance()
    for i in range(3):
        await data.organization("seller-a", f"other-{i}", f"Other {i}")
    org = await data.mapped_organization(
        "seller-a", "acme-7", "Acme Corp", sim.add_client("Acme Ltd")
    )
    await data.subscription(org, "sub-1")
    await data.subscription(org, "sub-0", quantity=0)  # skipped: a WARNING entry naming it
    grid = await gateway.gql('{ organizations(search: "Acme") { rows { id name } } }')
    row = grid["data"]["organizations"]["rows"][0]
    socket = await _connected(gateway)
    try:
        await subscribe(socket, ORG_EVENTS)
        await asyncio.sleep(0.2)  # subscription registered on the bus

        # When: the seller syncs that row's subscriptions
        run = await trigger(gateway, SYNC_ONE, variables={"id": row["id"]})
        events = await _drain(socket, "COMPLETED")
    finally:
        await socket.close()

    # Then: every event names the organisation as the grid does, by id and name
    assert {(e["organizationId"], e["organizationName"]) for e in events} == {
        (row["id"], "Acme Corp")
    }
    assert (run["organizationId"], run["organizationName"]) == (row["id"], "Acme Corp")
    codes = {e["phase"]: e["code"] for e in events}
    assert codes["QUEUED"] == "SYNC_QUEUED"
    assert codes["STARTED"] == "SYNC_IN_PROGRESS"
    assert codes["COMPLETED"] == "SYNC_COMPLETED"
    history = await gateway.gql("{ syncRuns(first: 1) { id organizationId organizationName } }")
    assert history["data"]["syncRuns"] == [
        {"id": run["id"], "organizationId": "acme-7", "organizationName": "Acme Corp"}
    ]

    # And: the run's Logs entries carry codes and params beside the seed's words, and name
    # the organisation by name and public id, never by its database id
    entries = (await gateway.gql(RUN_LOGS, {"runId": run["id"]}))["data"]["logs"]["entries"]
    by_code = {e["code"]: e for e in entries}
    assert set(by_code) == {
        "SUBSCRIPTIONS_SYNC_STARTED",
        "SUBSCRIPTION_SKIPPED",
        "SUBSCRIPTIONS_SYNC_COMPLETED",
    }
    started = by_code["SUBSCRIPTIONS_SYNC_STARTED"]
    assert started["title"] == "Subscriptions sync started"
    assert "Scope: organization 'Acme Corp' (acme-7)" in started["details"]
    assert _params(started) == {
        "resellerId": "seller-a",
        "provider": "HALO",
        "trigger": "MANUAL",
        "scope": "ORGANIZATION",
        "organizationId": "acme-7",
        "organizationName": "Acme Corp",
    }
    skipped = by_code["SUBSCRIPTION_SKIPPED"]
    assert _params(skipped) == {
        "subscriptionName": "Microsoft 365 Business Premium",
        "subscriptionId": "sub-0",
        "organizationName": "Acme Corp",
        "organizationId": "acme-7",
    }
    completed = _params(by_code["SUBSCRIPTIONS_SYNC_COMPLETED"])
    assert (completed["created"], completed["skipped"]) == ("1", "1")
    assert all(f"organization {org.id}" not in e["details"] for e in entries)
