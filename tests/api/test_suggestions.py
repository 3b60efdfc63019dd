"""Mapping suggestions: what is proposed (demo books and hand-made names), applying them like
manual maps, the 1:1 rule under concurrent manual mapping, seller isolation, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from gateway.demo_data import generate_halo_clients, generate_platform_data
from gateway.models import ConnectionStatus, Organization, PsaOrganization
from tests.conftest import POSTGRES_ADMIN_DSN, assert_error_code
from tests.support import data

SUGGEST = """query ($min: Int, $page: Int, $pageSize: Int) { suggestMappings(minScore: $min,
page: $page, pageSize: $pageSize) { total page pageSize pageCount range suggestions {
score reason organization { id name reference status } psaOrganization { id name status } } } }"""
APPLY = """mutation ($min: Int) { applySuggestedMappings(minScore: $min) { mapped skipped
mappings { id name mappingStatus psaOrganizationId psaOrganizationName } } }"""
GRID = """query ($filter: OrganizationFilter, $page: Int) { organizations(filter: $filter,
page: $page, pageSize: 100) { total rows { id name mappingStatus psaOrganizationId
psaOrganizationName } } }"""
LOGS = """query ($search: String, $page: Int) { logs(search: $search, page: $page,
pageSize: 100) { total entries { title details } } }"""
MAP = """mutation ($org: ID!, $psa: ID!) { mapOrganization(organizationId: $org,
psaOrganizationId: $psa) { id psaOrganizationId } }"""

DEMO_ORGANIZATIONS = 120
# How the demo generator varies a HaloPSA client's name (gateway/demo_data.py), written out
# here so the test has its own oracle: the prefix in capitals, the legal form spelled out.
DEMO_VARIATIONS = {"Ltd": "Limited", "Inc": "Incorporated", "LLC": "L.L.C."}


async def all_suggestions(gateway: Any, min_score: int = 80, **kw: Any) -> list[dict]:
    found: list[dict] = []
    page = 1
    while True:
        result = await gateway.gql(SUGGEST, {"min": min_score, "page": page, "pageSize": 100}, **kw)
        body = result["data"]["suggestMappings"]
        found += body["suggestions"]
        if page >= body["pageCount"]:
            return found
        page += 1


async def verified(settings: Any, seller_id: str = "seller-a") -> None:
    await data.connection(
        settings,
        seller_id,
        resource_server="https://h.example/api",
        authorization_server="https://h.example/auth",
        client_id="c",
        client_secret="secret-0000",
    )


def demo_origin(halo_name: str, platform_names: set[str]) -> str | None:
    """The platform organisation a demo HaloPSA client was made from (None: HaloPSA-only)."""
    if halo_name in platform_names:
        return halo_name
    for name in platform_names:
        prefix, _, suffix = name.rpartition(" ")
        if f"{prefix.upper()} {DEMO_VARIATIONS.get(suffix, suffix)}" == halo_name:
            return name
    return None


@pytest.fixture
async def demo_books(migrated_db):
    """seller-a: verified, the demo generator's organisations and HaloPSA clients (ids 1…)."""
    await verified(migrated_db)
    orgs, _ = generate_platform_data(DEMO_ORGANIZATIONS)
    await Organization.bulk_create(
        [
            Organization(
                seller_id="seller-a",
                external_id=o.external_id,
                name=o.name,
                reference=o.reference,
                status=o.status,
            )
            for o in orgs
        ]
    )
    clients = generate_halo_clients(DEMO_ORGANIZATIONS)
    await PsaOrganization.bulk_create(
        [
            PsaOrganization(seller_id="seller-a", halo_id=i, name=c.name, inactive=c.inactive)
            for i, c in enumerate(clients, start=1)
        ]
    )
    names = {o.name for o in orgs}
    origin = {c.name: demo_origin(c.name, names) for c in clients}
    return orgs, clients, origin


async def mapped_rows(gateway: Any) -> list[dict]:
    rows: list[dict] = []
    page = 1
    while True:
        grid = await gateway.gql(GRID, {"filter": {"mappingStatus": ["MAPPED"]}, "page": page})
        body = grid["data"]["organizations"]
        rows += body["rows"]
        if len(rows) >= body["total"]:
            return rows
        page += 1


def pairs(suggestions: list[dict]) -> set[tuple[str, str]]:
    return {(s["organization"]["name"], s["psaOrganization"]["name"]) for s in suggestions}


async def test_demo_books_pair_each_halopsa_client_with_the_organisation_it_came_from(
    gateway, demo_books
) -> None:
    orgs, _, origin = demo_books
    expected = {(o, h) for h, o in origin.items() if o is not None}
    # The books exercise every variation the normalisation must see through.
    varied = {h for o, h in expected if o != h}
    for spelled_out in ("Limited", "Incorporated", "L.L.C."):
        assert any(h.endswith(spelled_out) for h in varied), spelled_out

    found = await all_suggestions(gateway)

    assert pairs(found) == expected
    assert {(s["score"], s["reason"]) for s in found} == {(100, "exact name after normalisation")}
    acme = next(s for s in found if s["psaOrganization"]["name"] == "ACME Incorporated")
    assert acme["organization"]["name"] == "Acme Inc"
    assert {s["psaOrganization"]["status"] for s in found} == {"ACTIVE", "INACTIVE"}
    org = next(o for o in orgs if o.name == acme["organization"]["name"])
    assert acme["organization"] == {
        "id": org.external_id,
        "name": org.name,
        "reference": org.reference,
        "status": org.status,
    }


async def test_halopsa_only_clients_are_not_forced_onto_unrelated_organisations(
    gateway, demo_books
) -> None:
    _, _, origin = demo_books
    halo_only = {h for h, o in origin.items() if o is None}
    assert len(halo_only) >= 10  # "Internal Account 1" …

    found = await all_suggestions(gateway, min_score=50)

    assert halo_only.isdisjoint({s["psaOrganization"]["name"] for s in found})
    # Whatever else scores 50+ is never a wrong pairing of a client with its own organisation.
    assert {p for p in pairs(found) if origin[p[1]] is not None} == {
        (o, h) for h, o in origin.items() if o is not None
    }


async def test_each_organisation_and_each_psa_organisation_appears_at_most_once(
    gateway, demo_books
) -> None:
    # Given: two platform organisations that both read "zenith ltd", one HaloPSA client.
    await data.organization("seller-a", "x-1", "ZENITH LIMITED")
    await data.organization("seller-a", "x-2", "Zenith Ltd.")
    await data.psa_organization("seller-a", 9001, "Zenith, Ltd")

    found = await all_suggestions(gateway, min_score=50)

    org_ids = [s["organization"]["id"] for s in found]
    psa_ids = [s["psaOrganization"]["id"] for s in found]
    assert len(org_ids) == len(set(org_ids)) and len(psa_ids) == len(set(psa_ids))
    (to_9001,) = [s for s in found if s["psaOrganization"]["id"] == 9001]
    assert (to_9001["organization"]["id"], to_9001["score"]) == ("x-2", 100)  # closest spelling


@pytest.fixture
async def small_books(migrated_db):
    """seller-a: verified; names that exercise the score's rules, one deleted, one vanished."""
    await verified(migrated_db)
    names = [
        ("o-initech", "Initech", 501, "Initech LLC"),
        ("o-hooli", "Hooli Ltd", 502, "Hooli Inc"),
        ("o-piper", "Pied Piper Solutions", 503, "Pied Pipr Solutions"),
        ("o-unit4", "Unit 4 Ltd", 504, "Unit 5 Ltd"),
        ("o-cafe", "Café Müller GmbH", 505, "CAFE MULLER GMBH"),
        ("o-smith", "The Smith & Co", 506, "Smith and Company"),
        ("o-gone", "Vanished Corp", 507, "Vanished Corporation"),
        ("o-brown", "Brown Consulting Group", 509, "Green Consulting Group"),
    ]
    for external_id, name, halo_id, halo_name in names:
        await data.organization("seller-a", external_id, name)
        await data.psa_organization(
            "seller-a", halo_id, halo_name, inactive=halo_id == 505, present=halo_id != 507
        )
    deleted = await data.organization("seller-a", "o-deleted", "Deleted Partners")
    await data.psa_organization("seller-a", 508, "Deleted Partners")
    from datetime import UTC, datetime

    await Organization.filter(id=deleted.id).update(deleted_at=datetime.now(UTC))


async def test_scores_and_reasons_follow_the_documented_rules(gateway, small_books) -> None:
    found = await all_suggestions(gateway, min_score=50)

    by_org = {s["organization"]["id"]: s for s in found}
    assert {
        k: (v["psaOrganization"]["id"], v["score"], v["reason"]) for k, v in by_org.items()
    } == {
        "o-cafe": (505, 100, "exact name after normalisation"),
        "o-smith": (506, 100, "exact name after normalisation"),
        "o-piper": (503, 97, "similar name"),
        "o-initech": (501, 95, "same name, legal form only on one side"),
        "o-hooli": (502, 85, "same name, different legal form"),
        "o-unit4": (504, 50, "similar name, different numbers"),
        "o-brown": (509, 51, "similar name, different distinctive word"),
    }
    assert by_org["o-cafe"]["psaOrganization"]["status"] == "INACTIVE"
    # The default threshold keeps the doubtful ones out; a deleted organisation and a client
    # gone from HaloPSA are never proposed.
    default = await all_suggestions(gateway)
    assert [s["organization"]["id"] for s in default] == [
        "o-cafe",
        "o-smith",
        "o-piper",
        "o-initech",
        "o-hooli",
    ]


async def test_suggestions_page_like_the_grid(gateway, demo_books) -> None:
    first = (await gateway.gql(SUGGEST, {"pageSize": 10}))["data"]["suggestMappings"]
    total = first["total"]
    assert (first["page"], first["pageSize"], first["range"]) == (1, 10, f"1 – 10 of {total}")
    last = (await gateway.gql(SUGGEST, {"pageSize": 10, "page": first["pageCount"]}))["data"]
    rest = last["suggestMappings"]["suggestions"]
    assert 1 <= len(rest) <= 10
    names = [s["organization"]["name"] for s in first["suggestions"]]
    assert names == sorted(names, key=str.casefold)  # all score 100: by organisation name
    beyond = (await gateway.gql(SUGGEST, {"page": 99}))["data"]["suggestMappings"]
    assert (beyond["suggestions"], beyond["range"]) == ([], f"0 of {total}")


async def test_already_mapped_organisations_and_clients_are_left_out(gateway, demo_books) -> None:
    orgs, clients, origin = demo_books
    by_name = {o.name: o for o in orgs}
    psa_by_name = {c.name: i for i, c in enumerate(clients, start=1)}
    pair = sorted((o, h) for h, o in origin.items() if o is not None and o != h)[0]
    internal = psa_by_name["Internal Account 1"]
    # Given: one organisation mapped to its own client, another by hand to an unrelated one.
    await gateway.gql(MAP, {"org": by_name[pair[0]].external_id, "psa": psa_by_name[pair[1]]})
    other = sorted((o, h) for h, o in origin.items() if o is not None and o == h)[0]
    await gateway.gql(MAP, {"org": by_name[other[0]].external_id, "psa": internal})

    found = await all_suggestions(gateway)

    named = {s["organization"]["name"] for s in found}
    psa_ids = {s["psaOrganization"]["id"] for s in found}
    assert pair[0] not in named and other[0] not in named
    assert psa_by_name[pair[1]] not in psa_ids and internal not in psa_ids
    expected = {(o, h) for h, o in origin.items() if o is not None} - {pair, other}
    assert {p for p in pairs(found) if origin[p[1]] is not None} == expected


async def test_applying_maps_like_a_manual_map_and_a_second_apply_maps_nothing(
    gateway, demo_books
) -> None:
    _, _, origin = demo_books
    expected = {(o, h) for h, o in origin.items() if o is not None}

    applied = (await gateway.gql(APPLY))["data"]["applySuggestedMappings"]

    assert (applied["mapped"], applied["skipped"]) == (len(expected), 0)
    assert {(r["name"], r["psaOrganizationName"]) for r in applied["mappings"]} == expected
    assert {r["mappingStatus"] for r in applied["mappings"]} == {"MAPPED"}
    rows = await mapped_rows(gateway)
    assert {(r["name"], r["psaOrganizationName"]) for r in rows} == expected
    # The audit trail: one "Organization mapped" entry per mapping, who mapped what to what.
    mapped_logs = (await gateway.gql(LOGS, {"search": "Organization mapped"}))["data"]["logs"]
    assert mapped_logs["total"] == len(expected)
    acme = next(h for o, h in expected if o == "Acme Inc")
    (entry,) = (await gateway.gql(LOGS, {"search": "Organization 'Acme Inc' ("}))["data"]["logs"][
        "entries"
    ]
    assert entry["title"] == "Organization mapped"
    assert f"mapped to HaloPSA '{acme}' (ID " in entry["details"]
    assert entry["details"].endswith(" by dev-user.")
    summary = (await gateway.gql(LOGS, {"search": "Suggested mappings applied"}))["data"]["logs"]
    assert summary["total"] == 1
    assert summary["entries"][0]["details"].startswith(f"{len(expected)} organizations mapped")
    history = await gateway.gql("{ mappings(includeHistory: true) { organizationName current } }")
    assert len(history["data"]["mappings"]) == len(expected)

    again = (await gateway.gql(APPLY))["data"]["applySuggestedMappings"]

    assert again == {"mapped": 0, "skipped": 0, "mappings": []}
    assert (await gateway.gql(SUGGEST))["data"]["suggestMappings"]["total"] == 0
    assert (await gateway.gql(LOGS, {"search": "Suggested mappings"}))["data"]["logs"]["total"] == 1


async def test_applying_takes_only_suggestions_at_or_above_the_threshold(
    gateway, small_books
) -> None:
    applied = (await gateway.gql(APPLY))["data"]["applySuggestedMappings"]

    assert sorted(r["id"] for r in applied["mappings"]) == [
        "o-cafe",
        "o-initech",
        "o-piper",
        "o-smith",
    ]
    left = await all_suggestions(gateway)
    assert [(s["organization"]["id"], s["score"]) for s in left] == [("o-hooli", 85)]
    at_85 = (await gateway.gql(APPLY, {"min": 85}))["data"]["applySuggestedMappings"]
    assert [r["psaOrganizationId"] for r in at_85["mappings"]] == [502]


async def test_manual_maps_racing_an_apply_are_kept_and_never_remapped(gateway, demo_books) -> None:
    orgs, clients, origin = demo_books
    psa_by_name = {c.name: i for i, c in enumerate(clients, start=1)}
    internal = [i for c, i in psa_by_name.items() if c.startswith("Internal Account")]
    last_named = sorted(
        (o for o in orgs if o.name in set(origin.values())), key=lambda o: o.name.casefold()
    )[-len(internal) :]
    manual = dict(zip((o.external_id for o in last_named), internal, strict=True))

    # When: a person maps organisations by hand while the apply runs.
    async def by_hand() -> list[dict]:
        await asyncio.sleep(0)
        return [await gateway.gql(MAP, {"org": org, "psa": psa}) for org, psa in manual.items()]

    applied, manual_results = await asyncio.gather(gateway.gql(APPLY), by_hand())

    # Then: the apply fails nothing; a hand-made mapping either came first (the apply skips
    # that organisation) or came after (a remap, as a person may do): it stands either way.
    # (Mapping the very organisation the apply is writing is refused, as between two people.)
    assert "errors" not in applied
    kept = {}
    for (org, psa), outcome in zip(manual.items(), manual_results, strict=True):
        if "errors" in outcome:
            assert_error_code(outcome, "PSA_ORGANIZATION_TAKEN")
        else:
            kept[org] = psa
    result = applied["data"]["applySuggestedMappings"]
    partners = {o.name: o.external_id for o in orgs}
    expected = {partners[o]: psa_by_name[h] for h, o in origin.items() if o is not None}
    assert len(expected) - len(manual) <= result["mapped"] + result["skipped"] <= len(expected)
    final = {r["id"]: r["psaOrganizationId"] for r in await mapped_rows(gateway)}
    assert final == {**expected, **kept}
    assert len(set(final.values())) == len(final)


async def _wait_for_a_blocked_query(admin: asyncpg.Connection, database: str) -> None:
    for _ in range(500):
        waiting = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
            database,
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the apply never waited on the locked organisation")


async def test_an_organisation_mapped_by_hand_mid_apply_is_skipped_not_remapped(
    gateway, small_books, db_backend, database_url
) -> None:
    if db_backend != "postgres":
        pytest.skip("row locks: on SQLite one process's writers are already serialised")
    database = database_url.rsplit("/", 1)[1]
    dsn = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database
    person = await asyncpg.connect(dsn)
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        # Given: a person's mapping of o-cafe (by hand, to another client) has begun: its
        # insert will reference the organisation, which takes a key-share lock on it.
        tx = person.transaction()
        await tx.start()
        org_id = await person.fetchval(
            "SELECT id FROM organization WHERE external_id = 'o-cafe' FOR KEY SHARE"
        )
        # When: the apply runs and reaches o-cafe; it has to wait for the person, who then
        # writes the mapping and commits.
        apply = asyncio.create_task(gateway.gql(APPLY))
        await _wait_for_a_blocked_query(admin, database)
        psa_id = await person.fetchval("SELECT id FROM psa_organization WHERE halo_id = 502")
        await person.execute(
            "INSERT INTO organization_mapping (seller_id, organization_id, psa_organization_id,"
            " mapped_by, mapped_at) VALUES ('seller-a', $1, $2, 'person', now())",
            org_id,
            psa_id,
        )
        await tx.commit()
        applied = (await apply)["data"]["applySuggestedMappings"]
    finally:
        await person.close()
        await admin.close()

    # Then: o-cafe is skipped (not remapped to 505), the others are mapped.
    assert (applied["mapped"], applied["skipped"]) == (3, 1)
    assert "o-cafe" not in {r["id"] for r in applied["mappings"]}
    final = {r["id"]: r["psaOrganizationId"] for r in await mapped_rows(gateway)}
    assert final["o-cafe"] == 502


async def test_another_seller_sees_and_applies_nothing_of_seller_as(gateway, demo_books) -> None:
    await verified(gateway.settings, "seller-b")
    await data.organization("seller-b", "b-1", "Acme Inc")

    assert (await gateway.gql(SUGGEST, seller="seller-b"))["data"]["suggestMappings"]["total"] == 0
    applied = (await gateway.gql(APPLY, seller="seller-b"))["data"]["applySuggestedMappings"]
    assert applied["mapped"] == 0
    assert (await gateway.gql(SUGGEST))["data"]["suggestMappings"]["total"] > 0


@pytest.mark.parametrize("min_score", [49, 101, -1])
async def test_a_min_score_out_of_range_is_bad_input(gateway, small_books, min_score) -> None:
    for document in (SUGGEST, APPLY):
        error = assert_error_code(await gateway.gql(document, {"min": min_score}), "BAD_USER_INPUT")
        assert error["extensions"]["field"] == "minScore"


async def test_a_page_size_not_offered_is_bad_input(gateway, small_books) -> None:
    error = assert_error_code(await gateway.gql(SUGGEST, {"pageSize": 15}), "BAD_USER_INPUT")
    assert error["extensions"]["field"] == "pageSize"


async def test_applying_needs_a_verified_connection_and_the_right_role(
    gateway, small_books
) -> None:
    assert_error_code(await gateway.gql(APPLY, role="SELLER_USER"), "FORBIDDEN")
    assert_error_code(await gateway.gql(SUGGEST, role="SELLER_USER"), "FORBIDDEN")
    assert_error_code(await gateway.gql(APPLY, seller=None), "UNAUTHENTICATED")
    from gateway.models import Connection

    await Connection.filter(seller_id="seller-a").update(status=ConnectionStatus.INVALID)
    assert_error_code(await gateway.gql(APPLY), "INTEGRATION_NOT_CONFIGURED")
    # Reading suggestions is like the PSA picker: it needs no verified connection.
    assert (await gateway.gql(SUGGEST))["data"]["suggestMappings"]["total"] == 5
