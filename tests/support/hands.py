"""A person at HaloPSA: licences edited, deactivated, deleted or entered by hand.

Goes through the simulator's own API over HTTP (token, ``POST /api/SoftwareLicence`` with an
``id`` to edit — only the fields sent change —, without one to create, ``DELETE`` to
delete), the way an agent's screen or another integration would, not through its Python
state: the drift check must find what HaloPSA's API says, whoever changed it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.support.data import SIM_CLIENT_ID, SIM_CLIENT_SECRET


class HaloHand:
    def __init__(self, sim: Any, instance: str = "default") -> None:
        self.api, self.auth = sim.urls(instance)

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(timeout=10) as client:
            token = await client.post(
                f"{self.auth}/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": SIM_CLIENT_ID,
                    "client_secret": SIM_CLIENT_SECRET,
                    "scope": "all",
                },
            )
            token.raise_for_status()
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            yield client

    async def edit(self, licence_id: int, **fields: Any) -> dict[str, Any]:
        async with self._client() as client:
            answer = await client.post(
                f"{self.api}/SoftwareLicence", json=[{"id": licence_id, **fields}]
            )
            answer.raise_for_status()
            saved: dict[str, Any] = answer.json()
            return saved

    async def create(self, client_id: int, name: str, **fields: Any) -> dict[str, Any]:
        body = {"client_id": client_id, "name": name, "count": 1, **fields}
        async with self._client() as client:
            answer = await client.post(f"{self.api}/SoftwareLicence", json=[body])
            answer.raise_for_status()
            saved: dict[str, Any] = answer.json()
            return saved

    async def delete(self, licence_id: int) -> None:
        async with self._client() as client:
            answer = await client.delete(f"{self.api}/SoftwareLicence/{licence_id}")
            answer.raise_for_status()
