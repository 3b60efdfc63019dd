"""The mapping grid, the PSA picker, map/unmap/remap, the 1:1 rule and Response Error."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from gateway.models import (
    ConnectionStatus,
    LogEntry,
    MappingChange,
    Organization,
    OrganizationMapping,
    PsaOrganization,
    RunState,
    SyncKind,
    SyncRun,
    SyncTrigger,
)
from tests.conftest import assert_error_code
from tests.support import data

GRID = """query ($search: String, $filter: OrganizationFilter, $sort: OrganizationSort,
$page: Int, $pageSize: Int) { organizations(search: $search, filter: $filter, sort: $sort,
page: $page, pageSize: $pageSize) { total page pageSize pageCount range rows { id name reference
status psaOrganizationId psaOrganizationName psaOrganizationStatus mappingStatus
mappingStatusTooltip canSyncSubscriptions } } }"""
MAP = """mutation ($org: ID!, $psa: ID!) { mapOrganization(organizationId: $org,
psaOrganizationId: $psa) { id mappingStatus psaOrganizationId psaOrganizationName } }"""
UNMAP = "mutation ($org: ID!) { unmapOrganization(organizationId: $org) { id mappingStatus } }"
PICKER = """query ($search: String, $only: Boolean) { psaOrganizations(search: $search,
onlyUnmapped: $only) { id name status mapped } }"""


@pytest.fixture
async def scene(migrated_db):
    """seller-a: verified, 30 organisations, 10 PSA organisations, 3 mapped."""
    await data.connection(
        migrated_db,
        "seller-a",
        resource_server="https://h.example/api",
        authorization_server="https://h.example/auth",
        client_id="c",
        client_secret="secret-0000",
    )
    orgs = [
        await data.organization(
            "seller-a",
            f"org-{i:02d}",
            f"Org {chr(65 + i % 26)}{i:02d}",
            reference=f"REF-{100 - i}",
            status="ACTIVE" if i % 5 else "SUSPENDED",
        )
        for i in range(30)
    ]
    psas = [
        await data.psa_organization("seller-a", 1000 + i, f"Halo Client {i}", inactive=i == 2)
        for i in range(10)
    ]
    for i in range(3):
        await data.mapping(orgs[i], psas[i])
    return orgs, psas


async def test_the_grid_lists_every_organization_with_its_mapping(gateway, scene) -> None:
    page = (await gateway.gql(GRID))["data"]["organizations"]
    assert (page["total"], page["pageSize"], page["pageCount"], page["range"]) == (
        30,
        20,
        2,
        "1 – 20 of 30",
    )
    first = page["rows"][0]
    assert first == {
        "id": "org-00",
        "name": "Org A00",
        "reference": "REF-100",
        "status": "SUSPENDED",
        "psaOrganizationId": 1000,
        "psaOrganizationName": "Halo Client 0",
        "psaOrganizationStatus": "ACTIVE",
        "mappingStatus": "MAPPED",
        "mappingStatusTooltip": None,
        "canSyncSubscriptions": True,
    }
    unmapped = page["rows"][5]
    assert (
        unmapped["mappingStatus"],
        unmapped["psaOrganizationName"],
        unmapped["canSyncSubscriptions"],
    ) == ("UNMAPPED", None, False)


@pytest.mark.parametrize(
    ("variables", "expected_ids"),
    [
        ({"search": "halo client 1"}, ["org-01"]),
        ({"search": "1002"}, ["org-02"]),
        ({"search": "REF-71"}, ["org-29"]),
        ({"search": "org b01"}, ["org-01"]),
        ({"filter": {"mappingStatus": ["MAPPED"]}}, ["org-00", "org-01", "org-02"]),
        ({"filter": {"psaStatus": ["INACTIVE"]}}, ["org-02"]),
        (
            {"filter": {"status": ["SUSPENDED"], "mappingStatus": ["UNMAPPED"]}},
            ["org-05", "org-10", "org-15", "org-20", "org-25"],
        ),
    ],
    ids=["psa-name", "psa-id", "reference", "name", "mapped", "psa-inactive", "status+unmapped"],
)
async def test_search_and_filters(gateway, scene, variables, expected_ids) -> None:
    rows = (await gateway.gql(GRID, {**variables, "pageSize": 100}))["data"]["organizations"]
    assert sorted(r["id"] for r in rows["rows"]) == expected_ids


async def test_a_search_follows_mapping_remapping_unmapping_and_a_psa_rename(
    gateway, scene
) -> None:
    async def found(term: str) -> list[str]:
        page = await gateway.gql(GRID, {"search": term, "pageSize": 100})
        return [r["id"] for r in page["data"]["organizations"]["rows"]]

    assert await found("halo client 5") == []
    await gateway.gql(MAP, {"org": "org-05", "psa": "1005"})
    assert await found("halo client 5") == ["org-05"]
    await gateway.gql(MAP, {"org": "org-05", "psa": "1006"})
    assert (await found("halo client 5"), await found("halo client 6")) == ([], ["org-05"])
    await gateway.gql(UNMAP, {"org": "org-05"})
    assert await found("halo client 6") == []
    # An organisations sync renames a HaloPSA client (bulk_update, as the pull writes it;
    # the unchanged clients of its batch are written too).
    _, psas = scene
    psas[0].name = "Northwind Traders"
    await PsaOrganization.bulk_update(psas[:2], fields=["name", "inactive"])
    assert (await found("NORTHWIND"), await found("halo client 0")) == (["org-00"], [])
    assert await found("halo client 1") == ["org-01"]


@pytest.fixture
async def many_ltd(migrated_db):
    """seller-a: 260 organisations "Company 000…259", the first 240 mapped to PSA
    organisations named like them plus "Ltd"."""
    await data.seller("seller-a")
    await Organization.bulk_create(
        [
            Organization(
                seller_id="seller-a",
                external_id=f"c{i:03d}",
                name=f"Company {i:03d}",
                reference=f"R{i:03d}",
                status="ACTIVE",
            )
            for i in range(260)
        ]
    )
    await PsaOrganization.bulk_create(
        [
            PsaOrganization(seller_id="seller-a", halo_id=5000 + i, name=f"Company {i:03d} Ltd")
            for i in range(240)
        ]
    )
    orgs = await Organization.filter(seller_id="seller-a").order_by("name")
    psas = await PsaOrganization.filter(seller_id="seller-a").order_by("name")
    await OrganizationMapping.bulk_create(
        [
            OrganizationMapping(
                seller_id="seller-a",
                organization_id=org.id,
                psa_organization_id=psa.id,
                mapped_by="test",
            )
            for org, psa in zip(orgs, psas, strict=False)
        ]
    )


async def test_a_broad_search_counts_every_match_and_pages_in_order(gateway, many_ltd) -> None:
    # Given: 240 matches of "ltd", more than a page and the 200 read ahead of it
    first = (await gateway.gql(GRID, {"search": "ltd"}))["data"]["organizations"]
    assert (first["total"], first["pageCount"]) == (240, 12)
    assert [r["name"] for r in first["rows"]][:2] == ["Company 000", "Company 001"]
    last = (await gateway.gql(GRID, {"search": "ltd", "page": 12}))["data"]["organizations"]
    assert last["range"] == "221 – 240 of 240"
    assert [r["name"] for r in last["rows"]] == [f"Company {i:03d}" for i in range(220, 240)]
    descending = {"search": "LTD", "sort": {"field": "NAME", "direction": "DESC"}}
    newest = (await gateway.gql(GRID, descending))["data"]["organizations"]
    assert [r["name"] for r in newest["rows"]][:2] == ["Company 239", "Company 238"]
    by_ref = {"search": "ltd", "sort": {"field": "REFERENCE", "direction": "DESC"}, "page": 2}
    page = (await gateway.gql(GRID, by_ref))["data"]["organizations"]
    assert (page["total"], page["rows"][0]["reference"]) == (240, "R219")
    # A deleted organisation leaves the search with its mapping.
    await Organization.filter(external_id="c000").update(deleted_at=datetime.now(UTC))
    again = (await gateway.gql(GRID, {"search": "ltd"}))["data"]["organizations"]
    assert (again["total"], again["rows"][0]["name"]) == (239, "Company 001")


async def test_sorting_by_reference_descending_and_status(gateway, scene) -> None:
    by_ref = await gateway.gql(
        GRID, {"sort": {"field": "REFERENCE", "direction": "ASC"}, "pageSize": 10}
    )
    refs = [r["reference"] for r in by_ref["data"]["organizations"]["rows"]]
    assert refs == sorted(refs)
    by_name = await gateway.gql(
        GRID, {"sort": {"field": "NAME", "direction": "DESC"}, "page": 3, "pageSize": 10}
    )
    rows = by_name["data"]["organizations"]
    assert rows["range"] == "21 – 30 of 30"
    names = [r["name"] for r in rows["rows"]]
    assert names == sorted(names, reverse=True)
    by_status = await gateway.gql(GRID, {"sort": {"field": "STATUS"}, "pageSize": 10})
    assert [r["status"] for r in by_status["data"]["organizations"]["rows"][:6]] == ["ACTIVE"] * 6


async def test_a_page_size_not_offered_is_bad_input(gateway, scene) -> None:
    error = assert_error_code(await gateway.gql(GRID, {"pageSize": 15}), "BAD_USER_INPUT")
    assert error["extensions"]["field"] == "pageSize"


async def test_the_picker_offers_only_unmapped_psa_organizations_searchable_by_name_or_id(
    gateway, scene
) -> None:
    rows = (await gateway.gql(PICKER))["data"]["psaOrganizations"]
    assert [r["id"] for r in rows] == [1003, 1004, 1005, 1006, 1007, 1008, 1009]
    assert (await gateway.gql(PICKER, {"search": "1005"}))["data"]["psaOrganizations"][0][
        "name"
    ] == "Halo Client 5"
    every = (await gateway.gql(PICKER, {"only": False}))["data"]["psaOrganizations"]
    assert len(every) == 10 and sum(r["mapped"] for r in every) == 3


async def test_map_remap_and_unmap_keep_a_history_and_an_audit_trail(gateway, scene) -> None:
    mapped = (await gateway.gql(MAP, {"org": "org-05", "psa": "1005"}))["data"]["mapOrganization"]
    assert mapped == {
        "id": "org-05",
        "mappingStatus": "MAPPED",
        "psaOrganizationId": 1005,
        "psaOrganizationName": "Halo Client 5",
    }
    remapped = (await gateway.gql(MAP, {"org": "org-05", "psa": "1006"}))["data"]
    assert remapped["mapOrganization"]["psaOrganizationId"] == 1006
    unmapped = (await gateway.gql(UNMAP, {"org": "org-05"}))["data"]["unmapOrganization"]
    assert unmapped["mappingStatus"] == "UNMAPPED"
    history = await MappingChange.filter(organization__external_id="org-05").order_by("id")
    assert [(h.halo_id, h.unmapped_at is not None) for h in history] == [(1005, True), (1006, True)]
    titles = (
        await LogEntry.filter(seller_id="seller-a").order_by("id").values_list("title", flat=True)
    )
    assert titles == ["Organization mapped", "Organization remapped", "Organization unmapped"]
    # The Logs page reads each with its code, the organisation by its public id and name
    logs = await gateway.gql("{ logs { entries { code params { name value } } } }")
    entries = logs["data"]["logs"]["entries"]  # newest first
    assert [e["code"] for e in entries] == [
        "ORGANIZATION_UNMAPPED",
        "ORGANIZATION_REMAPPED",
        "ORGANIZATION_MAPPED",
    ]
    remap = {p["name"]: p["value"] for p in entries[1]["params"]}
    assert (remap["organizationId"], remap["psaOrganizationId"]) == ("org-05", "1006")
    assert remap["previousPsaOrganizationId"] == "1005"


async def test_a_psa_organization_already_mapped_elsewhere_is_taken(gateway, scene) -> None:
    result = await gateway.gql(MAP, {"org": "org-05", "psa": "1000"})
    assert_error_code(result, "PSA_ORGANIZATION_TAKEN")


async def test_concurrent_attempts_to_map_one_psa_organization_have_one_winner(
    gateway, scene
) -> None:
    results = await asyncio.gather(
        *(gateway.gql(MAP, {"org": f"org-{i:02d}", "psa": "1009"}) for i in range(10, 16))
    )
    winners = [r for r in results if "errors" not in r]
    losers = [r["errors"][0]["extensions"]["code"] for r in results if "errors" in r]
    assert len(winners) == 1
    assert set(losers) == {"PSA_ORGANIZATION_TAKEN"}
    psa = await PsaOrganization.get(seller_id="seller-a", halo_id=1009)
    assert await OrganizationMapping.filter(psa_organization=psa).count() == 1


@pytest.mark.parametrize(
    ("org", "psa"), [("nope", "1005"), ("org-05", "4242"), ("org-05", "not-an-id")]
)
async def test_unknown_ids_are_not_found(gateway, scene, org, psa) -> None:
    result = await gateway.gql(MAP, {"org": org, "psa": psa})
    assert result["errors"][0]["extensions"]["code"] in ("NOT_FOUND", "BAD_USER_INPUT")


async def test_another_seller_can_neither_see_nor_map_seller_as_organizations(
    gateway, scene
) -> None:
    await data.connection(
        gateway.settings,
        "seller-b",
        resource_server="https://b.example/api",
        authorization_server="https://b.example/auth",
        client_id="b",
        client_secret="secret-bbbb",
    )
    assert (await gateway.gql(GRID, seller="seller-b"))["data"]["organizations"]["total"] == 0
    assert_error_code(
        await gateway.gql(MAP, {"org": "org-05", "psa": "1005"}, seller="seller-b"), "NOT_FOUND"
    )
    assert_error_code(await gateway.gql(UNMAP, {"org": "org-00"}, seller="seller-b"), "NOT_FOUND")
    assert (await gateway.gql(PICKER, seller="seller-b"))["data"]["psaOrganizations"] == []


async def test_mapping_before_a_verified_connection_is_not_configured(gateway, scene) -> None:
    from gateway.models import Connection

    await Connection.filter(seller_id="seller-a").update(status=ConnectionStatus.INVALID)
    assert_error_code(
        await gateway.gql(MAP, {"org": "org-05", "psa": "1005"}), "INTEGRATION_NOT_CONFIGURED"
    )


async def test_response_error_when_the_psa_organization_vanished_or_halopsa_is_unreachable(
    gateway, scene
) -> None:
    await PsaOrganization.filter(seller_id="seller-a", halo_id=1001).update(present=False)
    rows = await gateway.gql(GRID, {"filter": {"mappingStatus": ["RESPONSE_ERROR"]}})
    (row,) = rows["data"]["organizations"]["rows"]
    assert row["id"] == "org-01"
    assert row["mappingStatusTooltip"] == "Please refresh the page in a few minutes and try again."
    assert (row["psaOrganizationName"], row["canSyncSubscriptions"]) == (None, False)

    # The last organisations sync could not reach HaloPSA: every mapped row is a Response Error.
    from datetime import UTC, datetime

    await SyncRun.create(
        seller_id="seller-a",
        kind=SyncKind.ORGANIZATIONS,
        trigger=SyncTrigger.SCHEDULED,
        state=RunState.FAILED,
        finished_at=datetime.now(UTC),
    )
    rows = (await gateway.gql(GRID, {"pageSize": 100}))["data"]["organizations"]["rows"]
    by_id = {r["id"]: r["mappingStatus"] for r in rows}
    assert [by_id[f"org-{i:02d}"] for i in range(4)] == ["RESPONSE_ERROR"] * 3 + ["UNMAPPED"]


async def test_mapping_records_show_history_and_the_licences_written_under_each(
    gateway, scene
) -> None:
    from gateway.models import LedgerState, SyncedSubscription

    orgs, _ = scene
    sub = await data.subscription(orgs[5], "sub-1", name="M365")
    await gateway.gql(MAP, {"org": "org-05", "psa": "1005"})
    await SyncedSubscription.create(
        seller_id="seller-a",
        subscription=sub,
        halo_client_id=1005,
        halo_licence_id=77,
        state=LedgerState.WRITTEN,
    )
    await gateway.gql(MAP, {"org": "org-05", "psa": "1006"})
    query = """query ($org: ID, $history: Boolean!) { mappings(organizationId: $org,
        includeHistory: $history) { psaOrganizationId current unmappedBy
        licences { subscriptionId licenceId } } }"""
    now = (await gateway.gql(query, {"org": "org-05", "history": False}))["data"]["mappings"]
    assert now == [{"psaOrganizationId": 1006, "current": True, "unmappedBy": None, "licences": []}]
    everything = (await gateway.gql(query, {"org": "org-05", "history": True}))["data"]
    assert everything["mappings"][1] == {
        "psaOrganizationId": 1005,
        "current": False,
        "unmappedBy": "dev-user",
        "licences": [{"subscriptionId": "sub-1", "licenceId": 77}],
    }
    other = await gateway.gql(query, {"org": "org-05", "history": True}, seller="seller-b")
    assert_error_code(other, "NOT_FOUND")


ROW_STATE = """{ organizations { rows { id canSyncSubscriptions syncState syncInProgress
cooldownMinutes syncMessage syncMessageCode syncMessageParams { name value } } } }"""
# The message's code and parameters, for each message a row's button shows.
ROW_CODES = {
    None: (None, []),
    "Sync in progress": ("SYNC_IN_PROGRESS", []),
    "You can trigger the next sync in 50 minutes": (
        "SYNC_COOLDOWN",
        [{"name": "minutes", "value": "50"}],
    ),
}


def _state(row: dict) -> tuple:
    assert (row["syncMessageCode"], row["syncMessageParams"]) == ROW_CODES[row["syncMessage"]]
    return (
        row["canSyncSubscriptions"],
        row["syncState"],
        row["syncInProgress"],
        row["cooldownMinutes"],
        row["syncMessage"],
    )


async def test_a_row_tells_its_own_sync_state_cooldown_and_progress(gateway, scene) -> None:
    from datetime import UTC, datetime, timedelta

    from gateway.models import Seller, SyncScope

    orgs, _ = scene
    now = datetime.now(UTC)
    finished = {"state": RunState.SUCCEEDED, "trigger": SyncTrigger.MANUAL}
    # org-01's own sync ended 10 minutes ago; a seller-wide one 5 minutes ago cools no row.
    await SyncRun.create(
        seller_id="seller-a",
        kind=SyncKind.SUBSCRIPTIONS,
        scope=SyncScope.ORGANIZATION,
        organization=orgs[1],
        finished_at=now - timedelta(minutes=10),
        **finished,
    )
    await SyncRun.create(
        seller_id="seller-a",
        kind=SyncKind.SUBSCRIPTIONS,
        scope=SyncScope.ALL,
        finished_at=now - timedelta(minutes=5),
        **finished,
    )
    rows = {r["id"]: r for r in (await gateway.gql(ROW_STATE))["data"]["organizations"]["rows"]}
    assert _state(rows["org-01"]) == (
        False,
        "COOLDOWN",
        False,
        50,
        "You can trigger the next sync in 50 minutes",
    )
    assert _state(rows["org-00"]) == (True, "IDLE", False, None, None)
    assert _state(rows["org-05"]) == (False, "IDLE", False, None, None)  # not mapped

    # org-00's sync is running: every row's button waits (one sync per seller), org-00's
    # subscriptions are the ones in progress.
    run = await SyncRun.create(
        seller_id="seller-a",
        kind=SyncKind.SUBSCRIPTIONS,
        scope=SyncScope.ORGANIZATION,
        organization=orgs[0],
        trigger=SyncTrigger.MANUAL,
        state=RunState.RUNNING,
    )
    await Seller.filter(id="seller-a").update(
        active_run_id=run.id, lease_expires_at=now + timedelta(minutes=1)
    )
    rows = {r["id"]: r for r in (await gateway.gql(ROW_STATE))["data"]["organizations"]["rows"]}
    assert _state(rows["org-00"]) == (False, "IN_PROGRESS", True, None, "Sync in progress")
    assert _state(rows["org-02"]) == (False, "IN_PROGRESS", False, None, "Sync in progress")
    assert _state(rows["org-01"])[:3] == (False, "IN_PROGRESS", False)
