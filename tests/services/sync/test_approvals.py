"""A run the safety valve holds (gateway/services/sync/approvals.py): approved, it runs the plan
it showed, once; if the data changed meanwhile it asks again; cancelled, it is dropped; and
"sync needs approval" is an integration issue while any run waits.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from gateway.models import LogEntry, SyncedSubscription
from tests.conftest import assert_error_code
from tests.services.sync.test_push import FAST
from tests.services.sync.test_valve import RUNS, _customer, _sync
from tests.services.test_webhooks import add_endpoint
from tests.support.receiver import running_receiver
from tests.support.runs import STOPPED, wait_for_run

APPROVE = "mutation ($id: ID!) { approveSync(runId: $id) { id state approval { planHash } } }"
CANCEL = "mutation ($id: ID!) { cancelSync(runId: $id) { id state message } }"
ISSUES = "{ integrationIssues { issues { kind state lastRunId summary detail } } }"


@pytest.fixture
def gateway(gateway_factory, settings):
    return gateway_factory(settings.model_copy(update=FAST))


async def _held(gateway: Any, sim: Any) -> tuple[list[Any], dict[str, Any]]:
    """100 seats in HaloPSA, then a run that would cut 27 of them: held."""
    subs = await _customer(sim, "org-a", 10)
    await _sync(gateway)
    for sub in subs[:3]:
        sub.quantity = 1
        await sub.save()
    run = await _sync(gateway)
    assert run["state"] == "NEEDS_APPROVAL", run
    return subs, run


async def _issues(gateway: Any) -> list[dict[str, Any]]:
    return (await gateway.gql(ISSUES))["data"]["integrationIssues"]["issues"]


async def _plan_hash(gateway: Any, run_id: str) -> str:
    runs = (await gateway.gql(RUNS))["data"]["syncRuns"]
    return next(r for r in runs if r["id"] == run_id)["approval"]["planHash"]


async def test_approval_runs_the_held_plan_exactly_once(connected, gateway) -> None:
    sim = connected.instance()
    with running_receiver() as receiver:
        await add_endpoint(gateway, receiver, events=["ISSUE_OPENED"])
        _, held = await _held(gateway, sim)
        # The seller is told: an issue names the run, and a signed webhook says so
        [issue] = await _issues(gateway)
        assert (issue["kind"], issue["state"], issue["lastRunId"]) == (
            "SYNC_NEEDS_APPROVAL",
            "ONGOING",
            held["id"],
        )
        assert "lower seats from 100 to 73" in issue["detail"]
        await receiver.wait_until(lambda r: len(r.accepted()) == 1)
        notice = receiver.accepted()[0].json
        assert (notice["type"], notice["data"]["issue"]["kind"]) == (
            "issue.opened",
            "SYNC_NEEDS_APPROVAL",
        )
    posts = sim.counters["licence_posts"]
    plan = await _plan_hash(gateway, held["id"])
    # When two approvals arrive at once
    answers = await asyncio.gather(*(gateway.gql(APPROVE, {"id": held["id"]}) for _ in range(2)))
    # Then one queues the run again, with the plan it showed; the other is told it is not held
    ok = [a for a in answers if "errors" not in a]
    assert len(ok) == 1 and ok[0]["data"]["approveSync"]["approval"]["planHash"] == plan
    refused = next(a for a in answers if "errors" in a)
    assert refused["errors"][0]["extensions"]["code"] in {
        "SYNC_NOT_AWAITING_APPROVAL",
        "SYNC_IN_PROGRESS",
    }
    # And the same run does exactly what it planned, once
    run = await wait_for_run(gateway, held["id"])
    assert (run["state"], run["updated"], run["unchanged"], run["created"]) == (
        "SUCCEEDED",
        3,
        7,
        0,
    )
    assert sim.counters["licence_posts"] == posts + 1
    assert sorted(lic["count"] for lic in sim.licences.values()) == [1, 1, 1] + [10] * 7
    assert len(sim.licences) == 10
    stamped = await SyncedSubscription.filter(last_run_id=int(held["id"])).count()
    assert stamped == 10
    # and the issue closed itself; approving again is refused
    assert [i["state"] for i in await _issues(gateway)] == ["RESOLVED"]
    assert_error_code(await gateway.gql(APPROVE, {"id": held["id"]}), "SYNC_NOT_AWAITING_APPROVAL")
    titles = await LogEntry.filter(run_id=int(held["id"])).values_list("title", flat=True)
    assert "Subscriptions sync approved" in titles and "Subscriptions sync completed" in titles


async def test_data_changed_after_the_preview_plans_again_and_asks_again(
    connected, gateway
) -> None:
    sim = connected.instance()
    subs, held = await _held(gateway, sim)
    first_plan = await _plan_hash(gateway, held["id"])
    licences = copy.deepcopy(sim.licences)
    # When a fourth subscription drops after the seller saw the preview, then it is approved
    subs[3].quantity = 2
    await subs[3].save()
    assert "errors" not in await gateway.gql(APPROVE, {"id": held["id"]})
    # Then the run plans again, finds another plan, and waits again, having written nothing
    again = await wait_for_run(gateway, held["id"], until=STOPPED)
    assert again["state"] == "NEEDS_APPROVAL"
    second_plan = await _plan_hash(gateway, held["id"])
    assert second_plan != first_plan and sim.licences == licences
    preview = await gateway.gql("{ previewSync { planHash } }")
    assert preview["data"]["previewSync"]["planHash"] == second_plan
    # And approved once more, it runs the new plan
    assert "errors" not in await gateway.gql(APPROVE, {"id": held["id"]})
    run = await wait_for_run(gateway, held["id"])
    assert (run["state"], run["updated"]) == ("SUCCEEDED", 4)


async def test_cancel_drops_a_held_run_and_a_newer_run_supersedes_an_older_one(
    connected, gateway
) -> None:
    sim = connected.instance()
    _, held = await _held(gateway, sim)
    licences = copy.deepcopy(sim.licences)
    # When the seller starts the sync again, the new run is held and the old one superseded
    newer = await _sync(gateway)
    assert newer["state"] == "NEEDS_APPROVAL"
    older = await wait_for_run(gateway, held["id"])
    assert (older["state"], older["message"]) == (
        "CANCELLED",
        f"Superseded by run {newer['id']}, which planned again.",
    )
    # and pages read why as codes: the newer run is held, the older superseded by it
    assert (older["messageCode"], older["messageParams"]) == (
        "SUPERSEDED",
        [{"name": "runId", "value": newer["id"]}],
    )
    held_entry = await LogEntry.get(
        run_id=int(newer["id"]), title="Subscriptions sync needs approval"
    )
    assert held_entry.code == "SUBSCRIPTIONS_SYNC_NEEDS_APPROVAL"
    params = dict(held_entry.params)
    assert params["runId"] == int(newer["id"]) and params["reasonCode"] == "NEEDS_APPROVAL"
    assert (params["seatsBefore"], params["seatsAfter"]) == (100, 73)
    [issue] = await _issues(gateway)
    assert (issue["state"], issue["lastRunId"]) == ("ONGOING", newer["id"])
    # When the seller cancels the newer one
    result = await gateway.gql(CANCEL, {"id": newer["id"]})
    assert result["data"]["cancelSync"] == {
        "id": newer["id"],
        "state": "CANCELLED",
        "message": "Not approved: cancelled by the user.",
    }
    dropped = await LogEntry.get(run_id=int(newer["id"]), title="Subscriptions sync cancelled")
    assert (dropped.code, dict(dropped.params)["reasonCode"]) == (
        "SUBSCRIPTIONS_SYNC_CANCELLED",
        "NOT_APPROVED",
    )
    # Then nothing was written, nothing waits, and it cannot be approved any more
    assert sim.licences == licences
    assert [i["state"] for i in await _issues(gateway)] == ["RESOLVED"]
    assert_error_code(await gateway.gql(APPROVE, {"id": newer["id"]}), "SYNC_NOT_AWAITING_APPROVAL")


async def test_approving_an_unknown_or_running_sync_is_refused_with_a_code(
    connected, gateway
) -> None:
    assert_error_code(await gateway.gql(APPROVE, {"id": "999999"}), "NOT_FOUND")
    assert_error_code(await gateway.gql(APPROVE, {"id": "abc"}), "NOT_FOUND")
    sim = connected.instance()
    _, held = await _held(gateway, sim)
    # Another seller's run is not found
    assert_error_code(
        await gateway.gql(APPROVE, {"id": held["id"]}, seller="seller-b"), "NOT_FOUND"
    )
    # While another sync runs, approval waits its turn
    sim.set_faults(latency_ms=300)
    sim.add_client("Later")
    organizations = await gateway.gql("mutation { syncOrganizations { id } }")
    assert_error_code(await gateway.gql(APPROVE, {"id": held["id"]}), "SYNC_IN_PROGRESS")
    await wait_for_run(gateway, organizations["data"]["syncOrganizations"]["id"])
    runs = (await gateway.gql(RUNS))["data"]["syncRuns"]
    assert next(r for r in runs if r["id"] == held["id"])["state"] == "NEEDS_APPROVAL"
