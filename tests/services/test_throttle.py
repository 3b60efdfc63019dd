"""Per-seller throttling of the mutations that cost HaloPSA calls: loops are stopped, refused
triggers are not counted, and other sellers are not affected."""

from __future__ import annotations

import httpx

from gateway.services.throttle import LIMITS
from tests.conftest import assert_error_code
from tests.support import data


async def test_sync_triggers_that_would_start_a_run_are_rate_limited_per_seller(
    migrated_db, halo_sim, gateway
) -> None:
    mutation = "mutation { syncOrganizations { id } }"
    limit, _window = LIMITS["sync_trigger"]
    # Refused triggers get the rules' answer and are not counted.
    for _ in range(limit + 5):
        assert_error_code(await gateway.gql(mutation), "INTEGRATION_NOT_CONFIGURED")
    # Given a connection (no HaloPSA clients: each organisations sync is over at once)
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    headers = {"Authorization": f"Bearer {gateway.token()}"}
    overview = "{ syncOverview { organizations { state } } }"
    # One client for the loop: the limit must be reached well inside the throttle's window.
    async with httpx.AsyncClient(base_url=gateway.base_url, headers=headers, timeout=30) as http:
        for _ in range(limit):
            started = (await http.post("/graphql", json={"query": mutation})).json()
            assert "errors" not in started, started
            while True:
                state = (await http.post("/graphql", json={"query": overview})).json()
                if state["data"]["syncOverview"]["organizations"]["state"] == "IDLE":
                    break
        limited = assert_error_code(
            (await http.post("/graphql", json={"query": mutation})).json(), "RATE_LIMITED"
        )
    assert limited["message"].startswith("Too many sync triggers")
    assert limited["extensions"]["retryAfterSeconds"] > 0
    # Another seller is not affected.
    other = await gateway.gql(mutation, seller="seller-b")
    assert_error_code(other, "INTEGRATION_NOT_CONFIGURED")
