"""Scale-out: a gateway and separate worker processes on a real Redis broker.

The headline fault: the worker is killed with SIGKILL in the middle of a subscriptions sync;
a new worker picks the redelivered message up, resumes the same run, and every subscription
ends up in HaloPSA exactly once.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import pytest

from gateway.models import LedgerState, SyncedSubscription, SyncRun
from tests.conftest import REDIS_URL, make_settings
from tests.support import data
from tests.support.processes import start_gateway, start_worker, stop
from tests.support.runs import trigger, wait_for_run

SUBSCRIPTIONS = 150


@pytest.fixture
def scale_out_settings(database_url, tmp_path, redis_namespace):
    return make_settings(
        database_url,
        tmp_path,
        redis_url=REDIS_URL,
        redis_namespace=redis_namespace,
        broker_heartbeat_timeout_ms=1500,
        broker_maintenance_chance=1_000_000,
        halo_timeout_seconds=5.0,
        # A killed worker's run is taken over once its lease runs out: seconds, not 30.
        sync_lease_seconds=3,
    )


async def test_a_worker_killed_mid_sync_is_resumed_and_writes_every_subscription_once(
    scale_out_settings, migrated_db, halo_sim, gateway_factory, tmp_path
) -> None:
    settings = scale_out_settings
    sim = halo_sim.instance()
    await data.simulator_connection(settings, "seller-a", halo_sim)
    client = sim.add_client("Acme")
    org = await data.organization("seller-a", "org-a", "Acme")
    await data.mapping(org, await data.psa_organization("seller-a", client["id"], "Acme"))
    for i in range(SUBSCRIPTIONS):
        await data.subscription(org, f"s{i:03d}", name=f"Licence {i:03d}", quantity=i % 7 + 1)
    sim.set_faults(latency_ms=250)  # each HaloPSA call is slow enough to die in the middle

    gateway = gateway_factory(settings)
    worker = await start_worker(settings, tmp_path / "worker.log")
    replacement = None
    try:
        run = await trigger(gateway, "mutation { syncSubscriptions { id } }")
        # When HaloPSA has saved the first batch, kill the worker without warning.
        for _ in range(600):
            if sim.counters.get("licence_creates", 0) >= 50:
                break
            await asyncio.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        assert len(sim.licences) < SUBSCRIPTIONS, "the run finished before the kill"
        replacement = await start_worker(settings, tmp_path / "replacement.log")
        finished = await wait_for_run(gateway, run["id"], timeout=120)
    finally:
        await stop(worker)
        if replacement is not None:
            await stop(replacement)

    assert finished["state"] == "SUCCEEDED", finished
    names = Counter(lic["name"] for lic in sim.licences.values())
    assert len(names) == SUBSCRIPTIONS and set(names.values()) == {1}, "duplicates in HaloPSA"
    written = await SyncedSubscription.filter(state=LedgerState.WRITTEN).count()
    assert written == SUBSCRIPTIONS
    stored = await SyncRun.get(id=int(run["id"]))
    assert stored.attempts == 2  # the same run, resumed — not a second run


async def test_two_concurrent_triggers_create_one_run(
    scale_out_settings, migrated_db, halo_sim, gateway_factory
) -> None:
    settings = scale_out_settings
    await data.simulator_connection(settings, "seller-a", halo_sim)
    first, second = gateway_factory(settings), gateway_factory(settings)
    results = await asyncio.gather(
        *(g.gql("mutation { syncOrganizations { id } }") for g in (first, second, first, second))
    )
    ok = [r for r in results if "errors" not in r]
    refused = [r["errors"][0]["extensions"]["code"] for r in results if "errors" in r]
    assert len(ok) == 1
    assert refused == ["SYNC_IN_PROGRESS"] * 3
    assert await SyncRun.all().count() == 1


async def test_clients_on_two_gateways_get_every_event_of_a_worker_process(
    scale_out_settings, migrated_db, halo_sim, gateway_factory, tmp_path
) -> None:
    from tests.support.ws import open_socket, receive, subscribe

    settings = scale_out_settings
    await data.simulator_connection(settings, "seller-a", halo_sim)
    for i in range(120):
        halo_sim.instance().add_client(f"Customer {i}")
    halo_sim.instance().set_faults(latency_ms=20)
    gateways = [gateway_factory(settings), gateway_factory(settings)]
    sockets = []
    for gateway in gateways:
        socket = await open_socket(gateway.base_url, {"token": gateway.token()})
        assert (await receive(socket))["type"] == "connection_ack"
        await subscribe(socket, "subscription { syncEvents { runId phase processed } }")
        sockets.append(socket)
    await asyncio.sleep(0.3)
    worker = await start_worker(settings, tmp_path / "worker.log")
    try:
        run = await trigger(gateways[0], "mutation { syncOrganizations { id } }")
        seen = []
        for socket in sockets:
            phases = []
            while "COMPLETED" not in phases:
                message = await receive(socket, timeout=60)
                event = message["payload"]["data"]["syncEvents"]
                assert event["runId"] == run["id"]
                phases.append(event["phase"])
            seen.append(phases)
    finally:
        await stop(worker)
        for socket in sockets:
            await socket.close()
    assert seen[0] == seen[1]
    assert seen[0][0] == "QUEUED" and seen[0][1] == "STARTED" and seen[0][-1] == "COMPLETED"


async def test_two_gateway_processes_and_a_worker_process_deliver_every_event_to_both(
    scale_out_settings, migrated_db, halo_sim, tmp_path
) -> None:
    import httpx

    from gateway.auth import mint_token
    from tests.support.servers import free_port
    from tests.support.ws import open_socket, receive, subscribe

    settings = scale_out_settings
    await data.simulator_connection(settings, "seller-a", halo_sim)
    for i in range(60):
        halo_sim.instance().add_client(f"Customer {i}")
    ports = [free_port(), free_port()]
    processes = [
        *[await start_gateway(settings, tmp_path / f"gateway-{port}.log", port) for port in ports],
        await start_worker(settings, tmp_path / "worker.log"),
    ]
    token = mint_token(settings, seller_id="seller-a", roles=["SELLER_ADMIN"])
    sockets = []
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for port in ports:
                for _ in range(300):
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                            break
                    except httpx.ConnectError:
                        pass
                    await asyncio.sleep(0.1)
            for port in ports:
                socket = await open_socket(f"http://127.0.0.1:{port}", {"token": token})
                assert (await receive(socket))["type"] == "connection_ack"
                await subscribe(socket, "subscription { syncEvents { runId phase } }")
                sockets.append(socket)
            await asyncio.sleep(0.5)
            answer = await client.post(
                f"http://127.0.0.1:{ports[1]}/graphql",
                json={"query": "mutation { syncOrganizations { id } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
        run_id = answer.json()["data"]["syncOrganizations"]["id"]
        seen = []
        for socket in sockets:
            phases = []
            while "COMPLETED" not in phases:
                event = (await receive(socket, timeout=60))["payload"]["data"]["syncEvents"]
                assert event["runId"] == run_id
                phases.append(event["phase"])
            seen.append(phases)
    finally:
        for socket in sockets:
            await socket.close()
        for process in processes:
            await stop(process)
    assert seen[0] == seen[1] and seen[0][:2] == ["QUEUED", "STARTED"]
