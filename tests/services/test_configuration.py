"""The seed's "Configuration Settings" ('Sync unit prices to HaloPSA') and the daily drift check,
per seller, with their messages and a log entry of who changed them."""

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


async def test_the_daily_drift_check_is_a_setting_of_each_seller_with_its_log_entry(
    migrated_db, gateway
) -> None:
    mutation = """mutation ($on: Boolean!) { setDailyDriftCheck(enabled: $on) {
        message configuration { syncUnitPrices dailyDriftCheck } } }"""
    query = "{ configuration { dailyDriftCheck } }"
    assert (await gateway.gql(query))["data"]["configuration"]["dailyDriftCheck"] is False
    result = (await gateway.gql(mutation, {"on": True}))["data"]["setDailyDriftCheck"]
    assert result == {
        "message": "Daily drift check setting updated.",
        "configuration": {"syncUnitPrices": False, "dailyDriftCheck": True},
    }
    assert (await gateway.gql(query))["data"]["configuration"]["dailyDriftCheck"] is True
    other = await gateway.gql(query, seller="seller-b")
    assert other["data"]["configuration"]["dailyDriftCheck"] is False
    entry = await LogEntry.get(seller_id="seller-a", title="Daily drift check setting updated")
    assert "Daily drift check: On" in entry.details and "dev-user" in entry.details
