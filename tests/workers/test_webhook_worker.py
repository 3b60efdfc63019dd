"""Scale-out: a `halo-gateway worker` process delivers webhooks over the Redis broker, retries
through Redis's delayed messages."""

from __future__ import annotations

import pytest

from tests.conftest import REDIS_URL, make_settings
from tests.support import data
from tests.support.processes import start_worker, stop
from tests.support.receiver import running_receiver
from tests.support.runs import trigger, wait_for_run


@pytest.fixture
def scale_out_settings(database_url, tmp_path, redis_namespace):
    return make_settings(
        database_url,
        tmp_path,
        redis_url=REDIS_URL,
        redis_namespace=redis_namespace,
        broker_heartbeat_timeout_ms=1500,
        webhook_retry_first_delay_seconds=0.2,
        webhook_retry_max_delay_seconds=0.5,
    )


async def test_a_worker_process_delivers_and_retries_webhooks_through_redis(
    scale_out_settings, migrated_db, halo_sim, gateway_factory, tmp_path
) -> None:
    settings = scale_out_settings
    await data.simulator_connection(settings, "seller-a", halo_sim)
    halo_sim.instance().add_client("Acme")
    gateway = gateway_factory(settings)
    worker = await start_worker(settings, tmp_path / "worker.log")
    try:
        with running_receiver(script=[500, 502]) as receiver:
            added = await gateway.gql(
                """mutation ($url: String!) { addWebhookEndpoint(url: $url,
                   events: [SYNC_COMPLETED]) { secret } }""",
                {"url": receiver.url()},
            )
            receiver.secrets.append(added["data"]["addWebhookEndpoint"]["secret"])
            run = await wait_for_run(
                gateway, (await trigger(gateway, "mutation { syncOrganizations { id } }"))["id"]
            )
            assert run["state"] == "SUCCEEDED"
            await receiver.wait_until(lambda r: len(r.accepted()) == 1)
            assert [r.answered for r in receiver.requests] == [500, 502, 200]
            assert len({r.message_id for r in receiver.requests}) == 1
            assert all(r.verified for r in receiver.requests)
            assert receiver.requests[-1].json["data"]["run"]["id"] == run["id"]
    finally:
        await stop(worker)
