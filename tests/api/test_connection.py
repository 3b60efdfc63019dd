"""Connection settings and configuration through GraphQL, against the simulator over HTTP."""

from __future__ import annotations

import logging

import pytest

from gateway.models import Connection, LogEntry, SyncRun
from tests.conftest import assert_error_code
from tests.support.runs import wait_for_run
from tests.support.servers import free_port

SECRET = "halo-secret-1234"
CONNECTION = """{ connection { clientId secretSet secretLast4 resourceServer
authorizationServer tenant status verifiedAt } }"""
TEST = """mutation ($input: ConnectionInput!) { testConnection(input: $input) {
success message reason reasonCode } }"""
SAVE = """mutation ($input: ConnectionInput!) { saveConnection(input: $input) {
message organizationsSyncQueued connection { status secretSet secretLast4 clientId } } }"""


def _input(sim, **overrides):
    api, auth = sim.urls()
    values = {
        "clientId": "halo-client",
        "clientSecret": SECRET,
        "resourceServer": api,
        "authorizationServer": auth,
    }
    values.update(overrides)
    return {"input": {k: v for k, v in values.items() if v is not None}}


async def test_before_anything_is_saved_the_connection_is_not_configured(gateway) -> None:
    result = await gateway.gql(CONNECTION)
    assert result["data"]["connection"]["status"] == "NOT_CONFIGURED"
    assert result["data"]["connection"]["secretSet"] is False


async def test_a_working_configuration_tests_successful_and_saves_nothing(
    gateway, halo_sim
) -> None:
    halo_sim.instance().add_client("Acme")
    result = (await gateway.gql(TEST, _input(halo_sim)))["data"]["testConnection"]
    assert result == {
        "success": True,
        "message": "Test is successful.",
        "reason": "Connected to HaloPSA.",
        "reasonCode": "OK",
    }
    assert (await gateway.gql(CONNECTION))["data"]["connection"]["status"] == "NOT_CONFIGURED"


@pytest.mark.parametrize(
    ("overrides", "code", "words"),
    [
        ({"clientSecret": "wrong-secret"}, "TOKEN_REFUSED", "client secret"),
        ({"clientId": "someone-else"}, "TOKEN_REFUSED", "client ID"),
        (
            {
                "resourceServer": "http://127.0.0.1:{closed}/api",
                "authorizationServer": "http://127.0.0.1:{closed}/auth",
            },
            "UNREACHABLE",
            "reached",
        ),
        ({"resourceServer": "{sim}/nothing/here"}, "NOT_HALOPSA", "HaloPSA API"),
    ],
    ids=["bad-secret", "bad-client-id", "unreachable", "not-halopsa"],
)
async def test_a_failing_test_says_not_successful_and_why(
    gateway, halo_sim, overrides, code, words
) -> None:
    closed = free_port()
    overrides = {k: v.format(closed=closed, sim=halo_sim.base_url) for k, v in overrides.items()}
    result = (await gateway.gql(TEST, _input(halo_sim, **overrides)))["data"]["testConnection"]
    assert result["success"] is False
    assert result["message"] == "Test is not successful."
    assert result["reasonCode"] == code
    assert words in result["reason"]


PREFLIGHT = """mutation ($input: ConnectionInput!) { testConnection(input: $input) {
success reasonCode reason permissions { permission neededFor granted } } }"""


@pytest.mark.parametrize(
    ("granted", "missing"),
    [
        (["read:customers", "read:softwarelicensing"], "edit:softwarelicensing"),
        (["read:customers", "edit:softwarelicensing"], "read:softwarelicensing"),
        (["read:softwarelicensing", "edit:softwarelicensing"], "read:customers"),
    ],
    ids=["cannot-write-licences", "cannot-read-licences", "cannot-read-clients"],
)
async def test_the_test_names_a_missing_permission_in_halopsas_words_without_writing(
    gateway, halo_sim, granted, missing
) -> None:
    # Given an API application whose Permissions tab lacks one permission a sync needs
    sim = halo_sim.instance()
    sim.add_client("Acme")
    sim.set_permissions(granted)

    result = (await gateway.gql(PREFLIGHT, _input(halo_sim)))["data"]["testConnection"]

    # Then the test fails naming it as HaloPSA's settings do, and where to tick it
    assert (result["success"], result["reasonCode"]) == (False, "PERMISSION_DENIED")
    assert f'"{missing}"' in result["reason"]
    assert "Configuration > Integrations > HaloPSA API > View Applications" in result["reason"]
    assert {p["permission"]: p["granted"] for p in result["permissions"]} == {
        "read:customers": missing != "read:customers",
        "read:softwarelicensing": missing != "read:softwarelicensing",
        "edit:softwarelicensing": missing != "edit:softwarelicensing",
    }
    # And it proved it with reads only: no POST reached HaloPSA's API, nothing was created
    assert sim.counters.get("requests_post", 0) == 0 and sim.licences == {}
    saved = await gateway.gql(SAVE, _input(halo_sim))
    assert assert_error_code(saved, "INVALID_CONNECTION")["extensions"]["reasonCode"] == (
        "PERMISSION_DENIED"
    )


async def test_the_test_proves_every_permission_a_sync_needs(gateway, halo_sim) -> None:
    sim = halo_sim.instance()
    sim.add_client("Acme")
    sim.set_permissions(["all:standard"])
    result = (await gateway.gql(PREFLIGHT, _input(halo_sim)))["data"]["testConnection"]
    assert (result["success"], result["reasonCode"]) == (True, "OK")
    assert [(p["permission"], p["granted"]) for p in result["permissions"]] == [
        ("read:customers", True),
        ("read:softwarelicensing", True),
        ("edit:softwarelicensing", True),
    ]
    assert sim.counters.get("requests_post", 0) == 0


async def test_a_wrong_tenant_is_refused(gateway, halo_sim) -> None:
    halo_sim.state.add_instance("acme", client_id="c", client_secret="s3cret-x", tenant="acme")
    api, auth = halo_sim.urls("acme")
    base = {
        "clientId": "c",
        "clientSecret": "s3cret-x",
        "resourceServer": api,
        "authorizationServer": auth,
    }
    wrong = await gateway.gql(TEST, {"input": {**base, "tenant": "other"}})
    assert wrong["data"]["testConnection"]["reasonCode"] == "TOKEN_REFUSED"
    right = await gateway.gql(TEST, {"input": {**base, "tenant": "acme"}})
    assert right["data"]["testConnection"]["success"] is True
    assert right["data"]["testConnection"]["reasonCode"] == "NO_CLIENTS_VISIBLE"


async def test_saving_a_bad_configuration_is_refused_and_nothing_is_saved(
    gateway, halo_sim
) -> None:
    result = await gateway.gql(SAVE, _input(halo_sim, clientSecret="wrong-secret"))
    error = assert_error_code(result, "INVALID_CONNECTION")
    assert error["message"] == "Invalid connection configuration."
    assert error["extensions"]["reasonCode"] == "TOKEN_REFUSED"
    assert (await gateway.gql(CONNECTION))["data"]["connection"]["status"] == "NOT_CONFIGURED"


async def test_saving_a_working_configuration_encrypts_the_secret_and_queues_an_organizations_sync(
    gateway, halo_sim, migrated_db, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    halo_sim.instance().add_client("Acme")
    saved = (await gateway.gql(SAVE, _input(halo_sim)))["data"]["saveConnection"]
    assert saved["connection"] == {
        "status": "VERIFIED",
        "secretSet": True,
        "secretLast4": "1234",
        "clientId": "halo-client",
    }
    assert saved["organizationsSyncQueued"] is True
    shown = (await gateway.gql(CONNECTION))["data"]["connection"]
    assert shown["verifiedAt"] is not None and SECRET not in str(shown)

    row = await Connection.get(seller_id="seller-a")
    assert SECRET not in row.client_secret_encrypted
    run = await SyncRun.get(seller_id="seller-a")
    finished = await wait_for_run(gateway, str(run.id))
    assert (finished["kind"], finished["state"], finished["created"]) == (
        "ORGANIZATIONS",
        "SUCCEEDED",
        1,
    )
    assert finished["trigger"] == "AUTOMATIC"

    # Saving again without the secret keeps the stored one (and queues no second sync).
    again = await gateway.gql(SAVE, _input(halo_sim, clientSecret=None, tenant=None))
    assert again["data"]["saveConnection"]["connection"]["secretLast4"] == "1234"
    assert again["data"]["saveConnection"]["organizationsSyncQueued"] is False

    details = " ".join(
        await LogEntry.filter(seller_id="seller-a").values_list("details", flat=True)
    )
    assert SECRET not in details
    assert all(SECRET not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"resourceServer": "http://halo.example.com/api"}, "resourceServer"),
        ({"authorizationServer": "not a url"}, "authorizationServer"),
        ({"clientId": "  "}, "clientId"),
        ({"clientSecret": None}, "clientSecret"),
        ({"resourceServer": "https://user:pw@halo.example.com/api"}, "resourceServer"),
        ({"tenant": "t" * 300}, "tenant"),
    ],
)
async def test_invalid_input_is_bad_user_input_naming_the_field(
    gateway, halo_sim, overrides, field
) -> None:
    error = assert_error_code(
        await gateway.gql(SAVE, _input(halo_sim, **overrides)), "BAD_USER_INPUT"
    )
    assert error["extensions"]["field"] == field


async def test_another_seller_sees_nothing_of_the_saved_connection(gateway, halo_sim) -> None:
    await gateway.gql(SAVE, _input(halo_sim))
    other = await gateway.gql(CONNECTION, seller="seller-b")
    assert other["data"]["connection"]["status"] == "NOT_CONFIGURED"
    # …and cannot test with seller A's stored secret by omitting it.
    error = assert_error_code(
        await gateway.gql(TEST, _input(halo_sim, clientSecret=None), seller="seller-b"),
        "BAD_USER_INPUT",
    )
    assert error["extensions"]["field"] == "clientSecret"
