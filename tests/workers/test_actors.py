"""The actors: deliveries never take more than their slots, a message dropped while every
slot is busy is not lost (its row waits, and the busy slot takes it when it is done), and
syncs keep threads of their own."""

from __future__ import annotations

from gateway.services import webhooks
from tests.support import data
from tests.support.receiver import running_receiver
from tests.support.runs import trigger, wait_for_run

ADD = """mutation ($url: String!) { addWebhookEndpoint(url: $url, events: [SYNC_COMPLETED]) {
secret } }"""


async def test_one_delivery_slot_delivers_every_event_one_at_a_time(
    migrated_db, halo_sim, gateway_factory, settings
) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    gateway = gateway_factory(settings.model_copy(update={"webhook_delivery_concurrency": 1}))
    deps = gateway.app.state.halo.deps
    with running_receiver(delay=0.05) as receiver:
        added = await gateway.gql(ADD, {"url": receiver.url()})
        receiver.secrets.append(added["data"]["addWebhookEndpoint"]["secret"])
        for i in range(6):  # all at once: five of the messages find the one slot busy
            await webhooks.emit(
                deps, "seller-a", webhooks.SYNC_COMPLETED, {"n": i}, key=f"slot-test:{i}"
            )
        # A sync meanwhile runs on a thread of its own.
        run = await wait_for_run(
            gateway, (await trigger(gateway, "mutation { syncOrganizations { id } }"))["id"]
        )
        await receiver.wait_until(lambda r: len(r.accepted()) == 7)
    assert run["state"] == "SUCCEEDED"
    assert receiver.max_in_flight == 1
    assert sorted(r.json["data"].get("n", -1) for r in receiver.accepted()) == [
        -1,
        0,
        1,
        2,
        3,
        4,
        5,
    ]
