"""Operators scrape /metrics: sync runs, records, HaloPSA calls, live subscribers (each GraphQL
operation by name and client: tests/api/test_operation_metrics.py)."""

from __future__ import annotations

import httpx

from tests.support import data
from tests.support.runs import trigger, wait_for_run


async def test_metrics_count_sync_runs_and_haloPSA_calls(migrated_db, halo_sim, gateway) -> None:
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    halo_sim.instance().add_client("Acme")

    async def scrape() -> str:
        async with httpx.AsyncClient(base_url=gateway.base_url) as client:
            response = await client.get("/metrics")
        assert response.status_code == 200
        return response.text

    def value(text: str, name: str) -> float:
        for line in text.splitlines():
            if line.startswith(name + " ") or (
                line.startswith(name + "{") and line.split(" ")[0] == name
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    label = 'halo_gateway_sync_runs_total{kind="ORGANIZATIONS",state="SUCCEEDED"}'
    before = await scrape()
    run = await trigger(gateway, "mutation { syncOrganizations { id } }")
    await wait_for_run(gateway, run["id"])
    after = await scrape()
    assert value(after, label) == value(before, label) + 1
    assert value(after, "halo_gateway_halo_calls_total") > value(
        before, "halo_gateway_halo_calls_total"
    )
    assert "halo_gateway_event_subscribers" in after
    assert "halo-secret-1234" not in after
