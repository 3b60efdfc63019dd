"""The Dramatiq job queue: a trigger whose message Redis cannot take answers
BROKER_UNAVAILABLE and leaves nothing half-written."""

from __future__ import annotations

from gateway.models import SyncRun
from tests.conftest import assert_error_code, make_settings
from tests.support import data


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
