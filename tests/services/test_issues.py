"""Integration issues from real sync runs against the simulator's faults, through the API."""

from __future__ import annotations

import httpx
import pytest

from gateway.halopsa import (
    HaloAuthError,
    HaloOutcomeUnknown,
    HaloPermissionError,
    HaloRateLimited,
    HaloRequestError,
    HaloUnavailable,
)
from gateway.models import IssueKind, PsaOrganization
from gateway.services.issues import failure_kind
from tests.conftest import assert_error_code
from tests.support import data
from tests.support.runs import trigger, wait_for_run
from tests.support.ws import open_socket, receive, subscribe

SYNC_SUBS = "mutation { syncSubscriptions { id state } }"
SYNC_ONE = "mutation ($id: ID!) { syncOrganizationSubscriptions(organizationId: $id) { id } }"
ISSUE_FIELDS = """id kind subject severity state summary whatToDo detail occurrences sequence
firstSeenAt lastSeenAt resolvedAt muted mutedUntil firstRunId lastRunId
rejectedRecords { subscriptionId name organizationId message }"""
ISSUES = f"""query ($state: IssueState) {{
  integrationIssues(state: $state) {{ total range issues {{ {ISSUE_FIELDS} }} }}
}}"""


@pytest.fixture
async def connected(migrated_db, halo_sim):
    """seller-a: a verified connection to the simulator, one mapped organisation, two
    subscriptions."""
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    sim = halo_sim.instance()
    client = sim.add_client("Acme")
    org = await data.organization("seller-a", "org-a", "Acme")
    psa = await PsaOrganization.get_or_none(seller_id="seller-a", halo_id=client["id"])
    psa = psa or await data.psa_organization("seller-a", client["id"], "Acme")
    await data.mapping(org, psa)
    await data.subscription(org, "s1", name="M365 E3")
    await data.subscription(org, "s2", name="Azure Plan")
    return halo_sim


async def issues(gateway, state: str | None = None, seller: str = "seller-a") -> dict:
    result = await gateway.gql(ISSUES, {"state": state}, seller=seller)
    assert "errors" not in result, result
    return result["data"]["integrationIssues"]


async def open_issue_count(gateway) -> int:
    result = await gateway.gql("{ syncOverview { openIssues } }")
    return result["data"]["syncOverview"]["openIssues"]


async def test_a_revoked_api_app_opens_one_issue_in_three_failed_runs_and_a_good_run_resolves_it(
    connected, gateway
) -> None:
    sim = connected.instance()
    socket = await open_socket(
        gateway.base_url, {"Authorization": f"Bearer {gateway.token('seller-a')}"}
    )
    try:
        assert (await receive(socket))["type"] == "connection_ack"
        await subscribe(
            socket,
            "subscription { integrationIssueChanged { id kind state occurrences sequence } }",
        )
        # Given the API application was revoked in HaloPSA
        sim.set_faults(revoked=True)
        runs = []
        for _ in range(3):
            run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
            assert run["state"] == "FAILED", run
            runs.append(run["id"])

        # Then exactly one issue is open, seen three times, naming the runs
        ongoing = await issues(gateway, "ONGOING")
        assert ongoing["total"] == 1, ongoing
        (issue,) = ongoing["issues"]
        assert (issue["kind"], issue["severity"], issue["state"]) == (
            "CONNECTION_REJECTED",
            "CRITICAL",
            "ONGOING",
        )
        assert issue["occurrences"] == 3
        assert (issue["firstRunId"], issue["lastRunId"]) == (runs[0], runs[-1])
        assert "revoked" in issue["summary"] and "save" in issue["whatToDo"]
        assert "refused the credentials" in issue["detail"]
        assert await open_issue_count(gateway) == 1

        # When the API application works again and a sync succeeds
        sim.set_faults(revoked=False)
        good = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
        assert good["state"] == "SUCCEEDED"

        # Then the issue resolved itself
        assert (await issues(gateway, "ONGOING"))["total"] == 0
        (resolved,) = (await issues(gateway, "RESOLVED"))["issues"]
        assert resolved["id"] == issue["id"] and resolved["resolvedAt"] is not None
        assert (await issues(gateway))["total"] == 1  # never a second one
        assert await open_issue_count(gateway) == 0

        # And the seller's socket saw each change of that one issue, in order
        seen = []
        while len(seen) < 4:
            message = await receive(socket)
            assert message["type"] == "next", message
            seen.append(message["payload"]["data"]["integrationIssueChanged"])
        assert {s["id"] for s in seen} == {issue["id"]}
        assert [(s["state"], s["occurrences"]) for s in seen] == [
            ("ONGOING", 1),
            ("ONGOING", 2),
            ("ONGOING", 3),
            ("RESOLVED", 3),
        ]
        assert [s["sequence"] for s in seen] == sorted({s["sequence"] for s in seen})
    finally:
        await socket.close()


async def test_rejected_records_open_an_issue_listing_them_and_a_clean_full_run_resolves_it(
    connected, gateway
) -> None:
    sim = connected.instance()
    sim.set_faults(reject_names={"Azure Plan"})
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    assert (run["state"], run["failed"]) == ("SUCCEEDED", 1)

    (issue,) = (await issues(gateway, "ONGOING"))["issues"]
    assert (issue["kind"], issue["severity"], issue["lastRunId"]) == (
        "RECORDS_REJECTED",
        "WARNING",
        run["id"],
    )
    (record,) = issue["rejectedRecords"]
    assert (record["subscriptionId"], record["name"], record["organizationId"]) == (
        "s2",
        "Azure Plan",
        "org-a",
    )
    assert "is not allowed" in record["message"]

    # A run of one organisation does not prove the others are fixed: still open.
    sim.set_faults(reject_names=set())
    one = await wait_for_run(
        gateway, (await trigger(gateway, SYNC_ONE, variables={"id": "org-a"}))["id"]
    )
    assert one["state"] == "SUCCEEDED"
    assert (await issues(gateway, "ONGOING"))["total"] == 1


async def test_muting_quiets_an_issue_without_hiding_it_and_bad_input_is_refused(
    connected, gateway
) -> None:
    sim = connected.instance()
    sim.set_faults(revoked=True)
    await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    (issue,) = (await issues(gateway, "ONGOING"))["issues"]

    mute = """mutation ($id: ID!, $h: Int!) {
        muteIssue(issueId: $id, hours: $h) { id muted mutedUntil sequence } }"""
    muted = await gateway.gql(mute, {"id": issue["id"], "h": 24})
    assert muted["data"]["muteIssue"]["muted"] is True
    assert muted["data"]["muteIssue"]["sequence"] > issue["sequence"]
    assert (await issues(gateway, "ONGOING"))["total"] == 1  # still listed
    assert await open_issue_count(gateway) == 0  # not counted while muted

    assert_error_code(await gateway.gql(mute, {"id": issue["id"], "h": 0}), "BAD_USER_INPUT")
    assert_error_code(await gateway.gql(mute, {"id": issue["id"], "h": 721}), "BAD_USER_INPUT")
    assert_error_code(await gateway.gql(mute, {"id": "999999", "h": 1}), "NOT_FOUND")
    assert_error_code(await gateway.gql(mute, {"id": "x", "h": 1}), "NOT_FOUND")
    # Another seller cannot see or mute it.
    assert_error_code(
        await gateway.gql(mute, {"id": issue["id"], "h": 1}, seller="seller-b"), "NOT_FOUND"
    )
    assert (await issues(gateway, seller="seller-b"))["total"] == 0

    unmute = "mutation ($id: ID!) { unmuteIssue(issueId: $id) { muted } }"
    assert (await gateway.gql(unmute, {"id": issue["id"]}))["data"]["unmuteIssue"]["muted"] is False
    assert await open_issue_count(gateway) == 1
    assert_error_code(
        await gateway.gql("{ integrationIssues(pageSize: 7) { total } }"), "BAD_USER_INPUT"
    )


async def test_metrics_count_open_issues_by_kind(connected, gateway) -> None:
    connected.instance().set_faults(revoked=True)
    await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        text = (await client.get("/metrics")).text
    assert 'halo_gateway_open_issues{kind="CONNECTION_REJECTED"} 1.0' in text
    assert 'halo_gateway_open_issues{kind="SYNC_OVERDUE"} 0.0' in text


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (HaloAuthError("token refused"), IssueKind.CONNECTION_REJECTED),
        (HaloPermissionError("403"), IssueKind.CONNECTION_REJECTED),
        (HaloUnavailable("down"), IssueKind.HALO_UNREACHABLE),
        (HaloOutcomeUnknown("lost", cause="timeout"), IssueKind.HALO_UNREACHABLE),
        (HaloRateLimited("429"), IssueKind.RATE_LIMIT_EXHAUSTED),
        (HaloRequestError("400"), IssueKind.SYNC_FAILED),
        (RuntimeError("ours"), IssueKind.SYNC_FAILED),
        (None, None),
    ],
)
def test_a_failed_runs_exception_class_decides_the_issue_kind(error, kind) -> None:
    assert failure_kind(error) is kind
