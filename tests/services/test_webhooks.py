"""Webhooks end to end: endpoints through GraphQL, events from real sync runs, delivered by the
embedded Dramatiq worker to a real receiver that checks each signature with the Standard
Webhooks reference library."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os

import httpx
import psutil
import pytest
import time_machine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from gateway.services import webhooks
from tests.conftest import assert_error_code
from tests.support import data
from tests.support.receiver import Receiver, running_receiver
from tests.support.runs import trigger, wait_for_run

SYNC_ORGS = "mutation { syncOrganizations { id state } }"
SYNC_SUBS = "mutation { syncSubscriptions { id state } }"
ADD = """mutation ($url: String!, $events: [WebhookEventType!], $description: String) {
  addWebhookEndpoint(url: $url, events: $events, description: $description) {
    secret endpoint { id url events description }
  }
}"""
DELIVERIES = """query ($endpoint: ID, $status: WebhookDeliveryStatus) {
  webhookDeliveries(endpointId: $endpoint, status: $status) {
    total deliveries { id endpointId messageId eventType status attempts lastStatusCode
      lastError latencyMs nextAttemptAt deliveredAt }
  }
}"""
TEST = "mutation ($id: ID!) { testWebhookEndpoint(endpointId: $id) { delivered } }"

# Retries scaled down from 30 s … 4 h over 24 h, so a test sees several in a second.
FAST_RETRIES = {
    "webhook_retry_first_delay_seconds": 0.05,
    "webhook_retry_max_delay_seconds": 0.2,
}


@pytest.fixture
def receiver():
    with running_receiver() as running:
        yield running


@pytest.fixture
async def connected(migrated_db, halo_sim):
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    halo_sim.instance().add_client("Acme")
    return halo_sim


async def add_endpoint(gateway, receiver: Receiver, events=None, path="/hook") -> dict:
    result = await gateway.gql(ADD, {"url": receiver.url(path), "events": events})
    assert "errors" not in result, result
    added = result["data"]["addWebhookEndpoint"]
    receiver.secrets.append(added["secret"])
    return added


async def deliveries(gateway, **variables) -> list[dict]:
    result = await gateway.gql(DELIVERIES, variables)
    assert "errors" not in result, result
    return result["data"]["webhookDeliveries"]["deliveries"]


async def settled(gateway, count: int) -> list[dict]:
    """The delivery log once ``count`` deliveries are no longer PENDING."""
    for _ in range(1200):
        rows = await deliveries(gateway)
        if len(rows) >= count and all(r["status"] != "PENDING" for r in rows):
            return rows
        await asyncio.sleep(0.05)
    raise TimeoutError(f"deliveries still pending: {rows}")


async def delivery_metrics(gateway) -> dict[str, float]:
    """``halo_gateway_webhook_deliveries_total`` by outcome, from ``GET /metrics``."""
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        text = (await client.get("/metrics")).text
    found = {"delivered": 0.0, "retry": 0.0, "failed": 0.0, "refused": 0.0}
    for line in text.splitlines():
        if line.startswith("halo_gateway_webhook_deliveries_total{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            found[outcome] = float(line.rsplit(" ", 1)[1])
    return found


def reference_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """The spec's algorithm, written out: HMAC-SHA256 over ``id.timestamp.body`` with the
    base64-decoded part of the secret after ``whsec_``."""
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


async def test_issue_and_sync_events_arrive_signed_per_standard_webhooks(
    connected, gateway, receiver
) -> None:
    added = await add_endpoint(gateway, receiver)
    assert added["secret"].startswith("whsec_")
    assert added["endpoint"]["events"] == [
        "ISSUE_OPENED",
        "ISSUE_RESOLVED",
        "SYNC_COMPLETED",
        "SYNC_FAILED",
    ]
    sim = connected.instance()
    sim.set_faults(revoked=True)
    failed = await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])
    sim.set_faults(revoked=False)
    good = await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])

    await receiver.wait_until(lambda r: len(r.accepted()) == 4)
    got = {r.json["type"]: r for r in receiver.requests}
    assert set(got) == {"sync.failed", "issue.opened", "sync.completed", "issue.resolved"}
    for request in receiver.requests:
        assert request.verified  # the reference library accepted the signature
        headers = request.headers
        assert headers["webhook-id"].startswith("msg_")
        assert headers["webhook-signature"] == reference_signature(
            added["secret"], headers["webhook-id"], headers["webhook-timestamp"], request.body
        )
        assert request.json["data"]["sellerId"] == "seller-a"
    assert got["sync.failed"].json["data"]["run"]["id"] == failed["id"]
    assert got["sync.failed"].json["data"]["run"]["state"] == "FAILED"
    assert got["sync.completed"].json["data"]["run"]["id"] == good["id"]
    opened = got["issue.opened"].json["data"]["issue"]
    resolved = got["issue.resolved"].json["data"]["issue"]
    assert opened["id"] == resolved["id"]
    assert (opened["kind"], opened["state"], resolved["state"]) == (
        "CONNECTION_REJECTED",
        "ONGOING",
        "RESOLVED",
    )
    # Retries may reorder them: the sequence says which is newer.
    assert resolved["sequence"] > opened["sequence"]
    assert opened["summary"] and opened["whatToDo"]

    # A tampered body or another secret fails the reference check.
    request = receiver.requests[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(added["secret"]).verify(request.body + b" ", request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(request.body, request.headers)

    log = await settled(gateway, 4)
    assert {(d["status"], d["attempts"], d["lastStatusCode"]) for d in log} == {
        ("DELIVERED", 1, 200)
    }
    assert all(d["latencyMs"] is not None and d["deliveredAt"] for d in log)


async def test_sync_events_carry_the_runs_message_with_its_code_and_params(
    connected, gateway, receiver
) -> None:
    # Given a receiver of sync events, and HaloPSA refusing the organisations read with a 422
    await add_endpoint(gateway, receiver, events=["SYNC_FAILED", "SYNC_COMPLETED"])
    sim = connected.instance()
    sim.set_faults(fail_next=[422] * 3)
    failed = await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])
    sim.set_faults(fail_next=[])
    good = await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])

    await receiver.wait_until(lambda r: len(r.accepted()) == 2)
    got = {r.json["type"]: r.json["data"]["run"] for r in receiver.requests}
    # Then each body says what the API says about its run: the same words, code and
    # parameters (as a JSON object in the text's order).
    for run, seen in ((got["sync.failed"], failed), (got["sync.completed"], good)):
        assert run["id"] == seen["id"]
        assert run["message"] == seen["message"]
        assert run["messageCode"] == seen["messageCode"]
        assert [
            {"name": name, "value": None if value is None else str(value)}
            for name, value in run["messageParams"].items()
        ] == seen["messageParams"]
    assert got["sync.failed"]["messageCode"] == "HALO_ERROR"
    assert list(got["sync.failed"]["messageParams"]) == ["error"]
    assert got["sync.failed"]["messageParams"]["error"] in got["sync.failed"]["message"]
    assert got["sync.completed"]["messageCode"] is None  # a run that succeeded says nothing
    assert got["sync.completed"]["messageParams"] == {}


async def test_a_receiver_answering_500_five_times_then_200_gets_the_event_once_with_one_id(
    connected, gateway_factory, settings, receiver
) -> None:
    gateway = gateway_factory(settings.model_copy(update=FAST_RETRIES))
    await add_endpoint(gateway, receiver, events=["SYNC_COMPLETED"])
    receiver.script = [500] * 5
    before = await delivery_metrics(gateway)
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])
    assert run["state"] == "SUCCEEDED"

    await receiver.wait_until(lambda r: len(r.accepted()) == 1)
    (delivery,) = await settled(gateway, 1)
    assert [r.answered for r in receiver.requests] == [500] * 5 + [200]
    assert len({r.message_id for r in receiver.requests}) == 1  # the same webhook-id each time
    assert all(r.verified for r in receiver.requests)  # each attempt freshly signed
    assert (delivery["status"], delivery["attempts"], delivery["lastStatusCode"]) == (
        "DELIVERED",
        6,
        200,
    )
    assert delivery["messageId"] == receiver.requests[0].message_id
    assert delivery["eventType"] == "sync.completed"
    after = await delivery_metrics(gateway)
    assert (after["retry"] - before["retry"], after["delivered"] - before["delivered"]) == (5, 1)


async def test_a_delivery_that_never_succeeds_is_failed_after_the_retry_window(
    connected, gateway_factory, settings, receiver
) -> None:
    gateway = gateway_factory(
        settings.model_copy(update={**FAST_RETRIES, "webhook_retry_window_seconds": 1.0})
    )
    await add_endpoint(gateway, receiver, events=["SYNC_COMPLETED"])
    receiver.status = 503
    await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])
    (delivery,) = await settled(gateway, 1)
    assert (delivery["status"], delivery["lastStatusCode"], delivery["lastError"]) == (
        "FAILED",
        503,
        "HTTP 503",
    )
    assert delivery["attempts"] >= 3 and delivery["nextAttemptAt"] is None
    assert len(receiver.requests) == delivery["attempts"]
    failed = await deliveries(gateway, status="FAILED")
    assert [d["id"] for d in failed] == [delivery["id"]]


async def test_a_hanging_receiver_does_not_slow_a_sync(
    connected, gateway_factory, settings
) -> None:
    gateway = gateway_factory(
        settings.model_copy(
            update={"webhook_timeout_seconds": 120.0, "webhook_delivery_concurrency": 2}
        )
    )
    with running_receiver(hang=True) as receiver:
        await add_endpoint(gateway, receiver, events=["SYNC_COMPLETED"])
        # Given every delivery slot of the worker is stuck on a receiver that never answers
        runs = []
        for _ in range(4):
            run = await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])
            runs.append(run["state"])
        await receiver.wait_until(lambda r: r.hanging == 2)
        # Then syncs kept running to the end while the deliveries hang
        run = await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])
        assert [*runs, run["state"]] == ["SUCCEEDED"] * 5
        assert receiver.hanging == 2 and receiver.requests == []  # still hanging
        pending = await deliveries(gateway, status="PENDING")
        assert len(pending) == 5
        receiver.released.set()
        await receiver.wait_until(lambda r: len(r.accepted()) == 5)


@pytest.mark.slow
async def test_a_thousand_events_to_a_slow_receiver_keep_memory_flat(
    connected, gateway_factory, settings, migrated_db
) -> None:
    gateway = gateway_factory(settings.model_copy(update={"webhook_delivery_concurrency": 2}))
    deps = gateway.app.state.halo.deps
    process = psutil.Process(os.getpid())
    # ~20 KB per event: were the backlog held in memory, 1,000 of them would show (≥ 20 MB).
    padding = "x" * 20_000
    with running_receiver(delay=0.005, keep_bodies=False) as receiver:
        await add_endpoint(gateway, receiver, events=["SYNC_COMPLETED"])

        async def emit(start: int, count: int) -> None:
            for i in range(start, start + count):
                await webhooks.emit(
                    deps,
                    "seller-a",
                    webhooks.SYNC_COMPLETED,
                    {"sellerId": "seller-a", "n": i, "padding": padding},
                    key=f"load:{i}",
                )

        await emit(0, 200)
        await receiver.wait_until(lambda r: len(r.accepted()) == 200, timeout=120)
        baseline = process.memory_info().rss
        await emit(200, 800)
        # The backlog waits in the database, not in the process.
        assert await WebhookDelivery.filter(status=DeliveryStatus.PENDING).count() > 2
        await receiver.wait_until(lambda r: len(r.accepted()) == 1000, timeout=300)
        grown = process.memory_info().rss - baseline
    assert receiver.max_in_flight <= 2  # never more than the delivery slots at once
    assert len({r.message_id for r in receiver.requests}) == 1000
    assert grown < 12 * 2**20, f"RSS grew {grown / 2**20:.1f} MiB for 800 more events"


async def test_test_endpoint_answers_delivered_or_not_and_never_the_receivers_body(
    connected, gateway, receiver
) -> None:
    added = await add_endpoint(gateway, receiver)
    endpoint_id = added["endpoint"]["id"]
    receiver.status = 500
    receiver.body = "internal-admin-panel-secret"
    result = await gateway.gql(TEST, {"id": endpoint_id})
    assert result == {"data": {"testWebhookEndpoint": {"delivered": False}}}
    receiver.status = 200
    result = await gateway.gql(TEST, {"id": endpoint_id})
    assert result == {"data": {"testWebhookEndpoint": {"delivered": True}}}
    sent = receiver.requests[-1]
    assert sent.verified and sent.json["type"] == "webhook.test"
    log = await deliveries(gateway)
    assert [(d["eventType"], d["status"]) for d in log] == [
        ("webhook.test", "DELIVERED"),
        ("webhook.test", "FAILED"),
    ]
    assert_error_code(await gateway.gql(TEST, {"id": "999999"}), "NOT_FOUND")
    assert_error_code(await gateway.gql(TEST, {"id": endpoint_id}, seller="seller-b"), "NOT_FOUND")


async def test_redirects_are_not_followed(connected, gateway, receiver) -> None:
    added = await add_endpoint(gateway, receiver)
    receiver.redirect_to = receiver.url("/elsewhere")
    result = await gateway.gql(TEST, {"id": added["endpoint"]["id"]})
    assert result["data"]["testWebhookEndpoint"]["delivered"] is False
    assert [r.path for r in receiver.requests] == ["/hook"]  # /elsewhere never called
    (delivery,) = await deliveries(gateway)
    assert delivery["lastStatusCode"] == 307


async def test_a_rotated_secret_and_the_previous_one_both_verify_during_the_overlap(
    connected, gateway, receiver
) -> None:
    added = await add_endpoint(gateway, receiver)
    old = added["secret"]
    rotate = """mutation ($id: ID!) { rotateWebhookSecret(endpointId: $id) {
        secret endpoint { secretRotatedAt previousSecretExpiresAt } } }"""
    rotated = (await gateway.gql(rotate, {"id": added["endpoint"]["id"]}))["data"]
    new = rotated["rotateWebhookSecret"]["secret"]
    assert new != old and new.startswith("whsec_")
    assert rotated["rotateWebhookSecret"]["endpoint"]["previousSecretExpiresAt"] is not None
    receiver.secrets = [new]
    assert (await gateway.gql(TEST, {"id": added["endpoint"]["id"]}))["data"][
        "testWebhookEndpoint"
    ]["delivered"]
    sent = receiver.requests[-1]
    assert len(sent.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(sent.body, sent.headers)  # the receiver that switched
    Webhook(old).verify(sent.body, sent.headers)  # and the one that has not yet

    # After the overlap only the new secret signs.
    with time_machine.travel("2099-01-01", tick=True):
        endpoint = await WebhookEndpoint.get(id=int(added["endpoint"]["id"]))
        deps = gateway.app.state.halo.deps
        signing = webhooks._signing_secrets(deps, endpoint, webhooks._now())
    assert signing == [new]


async def test_endpoints_are_listed_without_secrets_and_removed_ones_get_nothing(
    connected, gateway, receiver, migrated_db
) -> None:
    added = await add_endpoint(gateway, receiver, events=["SYNC_COMPLETED"])
    listed = await gateway.gql("{ webhookEndpoints { id url events } }")
    assert listed["data"]["webhookEndpoints"] == [
        {"id": added["endpoint"]["id"], "url": receiver.url(), "events": ["SYNC_COMPLETED"]}
    ]
    row = await WebhookEndpoint.get(id=int(added["endpoint"]["id"]))
    assert added["secret"] not in row.secret_encrypted  # encrypted at rest
    assert (await gateway.gql("{ webhookEndpoints { id } }", seller="seller-b"))["data"][
        "webhookEndpoints"
    ] == []

    remove = "mutation ($id: ID!) { removeWebhookEndpoint(endpointId: $id) { id } }"
    assert_error_code(
        await gateway.gql(remove, {"id": added["endpoint"]["id"]}, seller="seller-b"), "NOT_FOUND"
    )
    assert "errors" not in await gateway.gql(remove, {"id": added["endpoint"]["id"]})
    assert (await gateway.gql("{ webhookEndpoints { id } }"))["data"]["webhookEndpoints"] == []
    await wait_for_run(gateway, (await trigger(gateway, SYNC_ORGS))["id"])
    assert await deliveries(gateway) == []
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "events", "words"),
    [
        ("ftp://example.com/hook", None, "must be http(s)"),
        ("http://user:pw@127.0.0.1/hook", None, "user name or password"),
        ("not a url", None, "must be http(s)"),
        ("http://169.254.169.254/latest/meta-data", None, "cloud metadata"),
        ("http://[fd00:ec2::254]/", None, "cloud metadata"),
        ("http://127.0.0.1/hook", [], "events must be"),
    ],
)
async def test_bad_endpoints_are_refused_with_the_field(gateway, url, events, words) -> None:
    error = assert_error_code(
        await gateway.gql(ADD, {"url": url, "events": events}), "BAD_USER_INPUT"
    )
    assert words in error["message"], error
    assert error["extensions"]["field"] in ("url", "events")


async def test_private_addresses_are_refused_when_not_allowed_at_adding_and_at_sending(
    connected, gateway_factory, settings, receiver
) -> None:
    gateway = gateway_factory(
        settings.model_copy(update={"webhook_allow_private_addresses": False})
    )
    # Given an endpoint stored while its name resolved to a public address (DNS changes)
    secret = webhooks.new_secret()
    endpoint = await WebhookEndpoint.create(
        seller_id="seller-a",
        url=receiver.url(),
        events=list(webhooks.EVENT_TYPES),
        secret_encrypted=gateway.app.state.halo.deps.secret_box.encrypt(secret),
        created_by="test",
    )
    receiver.secrets.append(secret)

    for url, words in (
        (receiver.url(), "loopback"),
        (receiver.url().replace("127.0.0.1", "localhost"), "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
        ("http://[fd12::1]/hook", "unique-local"),
        ("http://100.64.0.1/hook", "shared"),
    ):
        error = assert_error_code(await gateway.gql(ADD, {"url": url}), "BAD_USER_INPUT")
        assert words in error["message"], (url, error)

    # When a gateway that refuses them sends an event to it: the receiver is never contacted
    result = await gateway.gql(TEST, {"id": str(endpoint.id)})
    assert result["data"]["testWebhookEndpoint"]["delivered"] is False
    assert receiver.requests == []
    (delivery,) = await deliveries(gateway)
    assert delivery["lastError"] == "not sent: the host resolves to a loopback address"
    assert delivery["lastStatusCode"] is None


async def test_the_host_header_keeps_the_name_while_the_connection_goes_to_the_pinned_address(
    connected, gateway, receiver
) -> None:
    result = await gateway.gql(ADD, {"url": receiver.url().replace("127.0.0.1", "localhost")})
    added = result["data"]["addWebhookEndpoint"]
    receiver.secrets.append(added["secret"])
    assert (await gateway.gql(TEST, {"id": added["endpoint"]["id"]}))["data"][
        "testWebhookEndpoint"
    ]["delivered"]
    port = receiver.base_url.rsplit(":", 1)[1]
    assert receiver.requests[-1].headers["host"] == f"localhost:{port}"


async def test_the_delivery_log_keeps_thirty_days(connected, gateway, receiver) -> None:
    added = await add_endpoint(gateway, receiver)
    await gateway.gql(TEST, {"id": added["endpoint"]["id"]})
    assert len(await deliveries(gateway)) == 1
    deps = gateway.app.state.halo.deps
    with time_machine.travel("2099-01-01", tick=True):
        assert await webhooks.purge_expired(deps) == 1
        assert await deliveries(gateway) == []
