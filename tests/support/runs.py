"""Waiting for sync runs to finish, through the API."""

from __future__ import annotations

import asyncio
from typing import Any

RUN_FIELDS = """id kind scope state total processed created updated unchanged skipped failed
message haloCalls haloRateLimited haloRetries haloWaitSeconds organizationId trigger"""
FINISHED = {"SUCCEEDED", "FAILED", "CANCELLED"}


async def wait_for_run(
    gateway: Any, run_id: str, *, seller: str = "seller-a", timeout: float = 60.0
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await gateway.gql(f"{{ syncRuns(first: 50) {{ {RUN_FIELDS} }} }}", seller=seller)
        runs = {r["id"]: r for r in result["data"]["syncRuns"]}
        run = runs.get(run_id)
        if run is not None and run["state"] in FINISHED:
            return run
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"run {run_id} did not finish: {run}")
        await asyncio.sleep(0.05)


async def trigger(
    gateway: Any,
    mutation: str,
    *,
    seller: str = "seller-a",
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    result = await gateway.gql(mutation, variables, seller=seller)
    assert "errors" not in result, result
    return next(iter(result["data"].values()))
