"""Hardening: generated inputs never break the API and leave nothing half-written."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.models import Organization, Subscription
from tests.conftest import REDIS_URL, make_settings
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


def _one_of_or_junk(*valid: str) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(valid), st.sampled_from([v.lower() for v in valid]), text)


money = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["12.50", "0", "-1", "1e999", "NaN", "1.23456", "1000000001", " 5 ", "5,00"]),
    text,
)
day = st.one_of(
    st.none(),
    st.dates().map(str),
    st.sampled_from(["2026-02-30", "2026-13-01", "26-1-1", "2026-01-01T00:00:00"]),
    st.text(max_size=12),
)
organization_input = st.fixed_dictionaries(
    {
        "id": ident,
        "name": text,
        "reference": text,
        "status": _one_of_or_junk("ACTIVE", "SUSPENDED", "INACTIVE", "PENDING"),
    }
)
subscription_input = st.fixed_dictionaries(
    {
        "id": ident,
        "organizationId": st.one_of(st.just("org-00"), ident),
        "name": text,
        "quantity": st.integers(-(2**33), 2**33),
        "billingCycle": _one_of_or_junk("Monthly", "Annual", "Quarterly", "One-time"),
        "termDuration": _one_of_or_junk("1 Month", "1 Year", "2 Years", "3 Years", "None"),
        "status": _one_of_or_junk("ACTIVE", "SUSPENDED", "CANCELLED", "PENDING", "EXPIRED"),
        "costPrice": money,
        "customerPrice": money,
    },
    optional={
        "currency": st.one_of(st.sampled_from(["EUR", "usd", "EURO", "€"]), text),
        "startDate": day,
        "endDate": day,
    },
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
    "upsertOrganizations": (
        "mutation ($i: [OrganizationInput!]!) { upsertOrganizations(input: $i) { created } }",
        st.fixed_dictionaries({"i": st.lists(organization_input, max_size=4)}),
    ),
    "upsertSubscriptions": (
        "mutation ($i: [SubscriptionInput!]!) { upsertSubscriptions(input: $i) { created } }",
        st.fixed_dictionaries({"i": st.lists(subscription_input, max_size=4)}),
    ),
    "deleteOrganizations": (
        "mutation ($i: [ID!]!) { deleteOrganizations(ids: $i) { deleted } }",
        st.fixed_dictionaries({"i": st.lists(ident, max_size=4)}),
    ),
    "deleteSubscriptions": (
        "mutation ($i: [ID!]!) { deleteSubscriptions(ids: $i) { deleted } }",
        st.fixed_dictionaries({"i": st.lists(ident, max_size=4)}),
    ),
    "applySuggestedMappings": (
        "mutation ($m: Int!) { applySuggestedMappings(minScore: $m) { mapped } }",
        st.fixed_dictionaries({"m": st.integers(-(2**33), 2**33)}),
    ),
    "suggestMappings": (
        "query ($m: Int, $p: Int, $s: Int) { suggestMappings(minScore: $m, page: $p, "
        "pageSize: $s) { total } }",
        st.fixed_dictionaries(
            {"m": st.integers(-5, 200), "p": st.integers(-5, 10**6), "s": st.integers(-5, 1000)}
        ),
    ),
    "logs": (
        "query ($p: Int, $s: Int, $q: String) { logs(page: $p, pageSize: $s, search: $q) "
        "{ total } }",
        st.fixed_dictionaries({"p": st.integers(-5, 10**6), "s": st.integers(-5, 1000), "q": text}),
    ),
}


def test_generated_inputs_get_coded_rejections_and_change_nothing(
    gateway_factory, database_url, tmp_path, redis_namespace
) -> None:
    import asyncio

    # A gateway on Redis with no worker process: accepted sync triggers stay queued, so the
    # snapshot moves only with the calls themselves, never with a run in the background.
    gateway = gateway_factory(
        make_settings(database_url, tmp_path, redis_url=REDIS_URL, redis_namespace=redis_namespace)
    )
    asyncio.run(_seed(gateway.settings))
    token = gateway.token()
    client = httpx.Client(
        base_url=gateway.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )

    def call(query: str, variables: dict) -> dict:
        response = client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    def snapshot() -> dict:
        api = call(SNAPSHOT, {})
        assert "errors" not in api, api
        # No query lists the platform's subscriptions: read them (and deleted organisations)
        # from the database, so a half-written upsert or delete cannot hide.
        return {"api": api, "rows": asyncio.run(_platform_rows(gateway.settings))}

    before = {"state": snapshot()}
    for name, (query, strategy) in MUTATIONS.items():
        _property(call, snapshot, name, query, strategy, before)
    client.close()


def _property(call, snapshot, name: str, query: str, strategy, before: dict) -> None:
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
        after = snapshot()
        if result.get("errors"):
            assert after == before["state"], f"{name}{variables} changed data"
        before["state"] = after  # accepted calls may change data; rejected ones never do

    run()


async def _platform_rows(settings_) -> list:
    from gateway import db

    ctx = await db.open_db(settings_)
    with db.bound(ctx):
        organizations = (
            await Organization.all()
            .order_by("id")
            .values_list("external_id", "name", "reference", "status", "deleted_at")
        )
        subscriptions = (
            await Subscription.all()
            .order_by("id")
            .values_list(
                "external_id",
                "organization_id",
                "name",
                "quantity",
                "billing_cycle",
                "term_duration",
                "status",
                "cost_price",
                "customer_price",
                "currency",
                "start_date",
                "end_date",
                "deleted_at",
            )
        )
    await db.close_db(ctx)
    return [list(map(str, row)) for row in [*organizations, *subscriptions]]


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
        # An unmapped pair for the suggestions to find.
        await data.organization("seller-a", "org-01", "Globex Ltd")
        await data.psa_organization("seller-a", 1001, "Globex Limited")
    await db.close_db(ctx)
