"""Hardening: generated inputs never break the API, Redis down, CORS."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.models import SyncRun
from tests.conftest import assert_error_code, make_settings
from tests.support import data

SNAPSHOT = """{ connection { status clientId secretLast4 resourceServer }
configuration { syncUnitPrices } organizations(pageSize: 100) { total rows { id mappingStatus
psaOrganizationId } } mappings(includeHistory: true) { organizationId psaOrganizationId current }
syncRuns(first: 100) { id state } logOverview { total } }"""

text = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "http://example.com/api",
            "https://",
            "ftp://x",
            "https://u:p@h/api",
            "ｈｔｔｐｓ://x",
            "https://127.0.0.1:1/api",
            "javascript:alert(1)",
            "\x00",
            "' OR 1=1 --",
            "9" * 40,
        ]
    ),
)
ident = st.one_of(
    st.text(max_size=40),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["org-00", "1000", "0", "-1", "1e9", "null"]),
)

MUTATIONS = {
    "testConnection": (
        "mutation ($i: ConnectionInput!) { testConnection(input: $i) { success } }",
        st.fixed_dictionaries(
            {
                "i": st.fixed_dictionaries(
                    {
                        "clientId": st.text(max_size=300),
                        "resourceServer": st.text(max_size=100),
                        "authorizationServer": st.text(max_size=100),
                    },
                    optional={"clientSecret": text, "tenant": text},
                )
            }
        ),
    ),
    "saveConnection": (
        "mutation ($i: ConnectionInput!) { saveConnection(input: $i) { message } }",
        st.fixed_dictionaries(
            {
                "i": st.fixed_dictionaries(
                    {
                        "clientId": st.text(max_size=300),
                        "resourceServer": text.map(lambda v: v or ""),
                        "authorizationServer": text.map(lambda v: v or ""),
                    },
                    optional={"clientSecret": text, "tenant": text},
                )
            }
        ),
    ),
    "mapOrganization": (
        "mutation ($o: ID!, $p: ID!) { mapOrganization(organizationId: $o, psaOrganizationId: $p)"
        " { id } }",
        st.fixed_dictionaries({"o": ident, "p": ident}),
    ),
    "unmapOrganization": (
        "mutation ($o: ID!) { unmapOrganization(organizationId: $o) { id } }",
        st.fixed_dictionaries({"o": ident}),
    ),
    "syncOrganizationSubscriptions": (
        "mutation ($o: ID!) { syncOrganizationSubscriptions(organizationId: $o) { id } }",
        st.fixed_dictionaries({"o": ident}),
    ),
    "cancelSync": (
        "mutation ($r: ID!) { cancelSync(runId: $r) { id } }",
        st.fixed_dictionaries({"r": ident}),
    ),
    "logs": (
        "query ($p: Int, $s: Int, $q: String) { logs(page: $p, pageSize: $s, search: $q) "
        "{ total } }",
        st.fixed_dictionaries({"p": st.integers(-5, 10**6), "s": st.integers(-5, 1000), "q": text}),
    ),
}


def test_generated_inputs_get_coded_rejections_and_change_nothing(gateway) -> None:
    import asyncio

    asyncio.run(_seed(gateway.settings))
    token = gateway.token()
    client = httpx.Client(
        base_url=gateway.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )

    def call(query: str, variables: dict) -> dict:
        response = client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    before = {"state": call(SNAPSHOT, {})}
    assert "errors" not in before["state"], before
    for name, (query, strategy) in MUTATIONS.items():
        _property(call, name, query, strategy, before)
    client.close()


def _property(call, name: str, query: str, strategy, before: dict) -> None:
    # Rejected calls must leave the snapshot as it was; accepted ones move it on.
    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(variables=strategy)
    def run(variables: dict) -> None:
        result = call(query, variables)
        for error in result.get("errors") or []:
            code = error.get("extensions", {}).get("code")
            assert code, f"{name}: error without a code: {error}"
            assert code != "INTERNAL_SERVER_ERROR", f"{name}{variables}: {error}"
        after = call(SNAPSHOT, {})
        if result.get("errors"):
            assert after == before["state"], f"{name}{variables} changed data"
        before["state"] = after  # accepted calls may change data; rejected ones never do

    run()


async def _seed(settings_) -> None:
    from gateway import db

    ctx = await db.open_db(settings_)
    with db.bound(ctx):
        await data.connection(
            settings_,
            "seller-a",
            resource_server="https://h.example/api",
            authorization_server="https://h.example/auth",
            client_id="c",
            client_secret="secret-0000",
        )
        org = await data.organization("seller-a", "org-00", "Acme")
        await data.mapping(org, await data.psa_organization("seller-a", 1000, "Acme PSA"))
    await db.close_db(ctx)


async def test_with_redis_down_queries_answer_and_syncs_say_broker_unavailable(
    gateway_factory, database_url, tmp_path, migrated_db
) -> None:
    settings = make_settings(database_url, tmp_path, redis_url="redis://127.0.0.1:1/0")
    await data.connection(
        settings,
        "seller-a",
        resource_server="https://h.example/api",
        authorization_server="https://h.example/auth",
        client_id="c",
        client_secret="secret-0000",
    )
    running = gateway_factory(settings)
    overview = await running.gql("{ syncOverview { organizations { state } } }")
    assert overview["data"]["syncOverview"]["organizations"]["state"] == "IDLE"
    result = await running.gql("mutation { syncOrganizations { id } }")
    assert_error_code(result, "BROKER_UNAVAILABLE")
    assert await SyncRun.all().count() == 0  # nothing half-written
    again = await running.gql("{ syncOverview { organizations { state } } }")
    assert again["data"]["syncOverview"]["organizations"]["state"] == "IDLE"


async def test_cors_allows_only_the_configured_origins(
    gateway_factory, database_url, tmp_path
) -> None:
    settings = make_settings(database_url, tmp_path, cors_origins=["https://app.example.com"])
    running = gateway_factory(settings)
    async with httpx.AsyncClient(base_url=running.base_url) as client:
        allowed = await client.options(
            "/graphql",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        denied = await client.options(
            "/graphql",
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in denied.headers
