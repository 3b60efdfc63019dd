"""Fixtures of the sync run's tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import data


@pytest.fixture
async def connected(migrated_db: Any, halo_sim: Any) -> Any:
    """seller-a has a verified connection to the simulator's default instance."""
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    return halo_sim
