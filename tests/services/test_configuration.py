"""The seed's "Configuration Settings": 'Sync unit prices to HaloPSA', per seller, with its
seed message and a log entry of who changed it."""

from __future__ import annotations

from gateway.models import LogEntry


async def test_sync_unit_prices_toggle_answers_the_seed_message(gateway) -> None:
    mutation = """mutation ($on: Boolean!) { setSyncUnitPrices(enabled: $on) {
        message configuration { syncUnitPrices } } }"""
    result = (await gateway.gql(mutation, {"on": True}))["data"]["setSyncUnitPrices"]
    assert result == {
        "message": "Sync price setting updated.",
        "configuration": {"syncUnitPrices": True},
    }
    query = "{ configuration { syncUnitPrices } }"
    assert (await gateway.gql(query))["data"]["configuration"]["syncUnitPrices"] is True
    other = await gateway.gql(query, seller="seller-b")
    assert other["data"]["configuration"]["syncUnitPrices"] is False


async def test_each_change_is_in_the_logs_with_who_made_it(migrated_db, gateway) -> None:
    mutation = "mutation ($on: Boolean!) { setSyncUnitPrices(enabled: $on) { message } }"
    for on in (True, False):
        assert "errors" not in await gateway.gql(mutation, {"on": on})
    entries = await LogEntry.filter(seller_id="seller-a").order_by("id")
    assert [e.title for e in entries] == ["Sync price setting updated"] * 2
    assert "Sync unit prices to HaloPSA: On" in entries[0].details
    assert "Sync unit prices to HaloPSA: Off" in entries[1].details
    assert all("dev-user" in e.details for e in entries)
