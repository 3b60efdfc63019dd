"""The client against the simulator over real HTTP, one injected fault at a time."""

from __future__ import annotations

import asyncio

import pytest

from gateway.halopsa import HaloClient, HaloCredentials, InMemoryRateLimiter
from tests.halopsa.test_client import licence


@pytest.fixture
def sim(halo_sim):
    halo_sim.instance().add_client("Acme")
    return halo_sim


def _client(sim, **kw) -> HaloClient:
    api, auth = sim.urls()
    creds = HaloCredentials("halo-client", "halo-secret-1234", api, auth)
    return HaloClient(creds, backoff_base=0.01, backoff_max=0.05, timeout=5, **kw)


async def _write(sim, n: int, **kw) -> tuple[list, HaloClient]:
    async with _client(sim, **kw) as c:
        outcomes = await c.write_licences([licence(i) for i in range(n)])
    return outcomes, c


async def test_dropped_connections_are_retried_and_every_record_lands_once(sim) -> None:
    sim.instance().set_faults(drop_rate=0.3, seed=3)
    outcomes, client = await _write(sim, 120, max_retries=8)
    assert all(o.error is None for o in outcomes)
    assert client.stats.retries > 0
    # A dropped answer may hide a saved batch: the ledger (sync engine) guards against that;
    # here every POST that was dropped was dropped before the simulator saved it.
    assert len(sim.instance().licences) == 120


async def test_an_expiring_token_is_refreshed(sim) -> None:
    sim.instance().set_faults(token_ttl_seconds=1)
    async with _client(sim) as c:
        await c.get_client(1)
        await asyncio.sleep(1.1)
        assert (await c.get_client(1)).name == "Acme"
    assert sim.instance().counters["tokens"] >= 2


async def test_the_client_limiter_keeps_under_the_simulators_rolling_window(sim) -> None:
    sim.instance().set_faults(rate_limit=(5, 1.0))
    _, client = await _write(sim, 8, batch_size=1, rate_limiter=InMemoryRateLimiter(5, 1.05))
    assert client.stats.rate_limited == 0
    assert sim.instance().counters.get("rate_limited", 0) == 0
    assert len(sim.instance().licences) == 8


async def test_without_a_limiter_429s_are_backed_off_until_they_pass(sim) -> None:
    sim.instance().set_faults(rate_limit=(3, 0.3))
    _, client = await _write(sim, 6, batch_size=1, max_retries=20)
    assert client.stats.rate_limited > 0
    assert len(sim.instance().licences) == 6


async def test_5xx_answers_are_retried(sim) -> None:
    sim.instance().set_faults(error_rate=0.4, seed=11)
    outcomes, client = await _write(sim, 200, batch_size=10, max_retries=10)
    assert all(o.error is None for o in outcomes) and client.stats.retries > 0
    assert len(sim.instance().licences) == 200


async def test_licences_of_a_client_are_listed_for_recovery(sim) -> None:
    await _write(sim, 130)
    async with _client(sim) as c:
        listed = [lic async for lic in c.iter_licences(client_id=1)]
    assert len(listed) == 130 and listed[0].name == "L0"


async def test_a_tls_failure_is_reported_in_plain_words(sim) -> None:
    from gateway.halopsa import check_connection

    https = sim.base_url.replace("http://", "https://")
    creds = HaloCredentials("halo-client", "halo-secret-1234", f"{https}/api", f"{https}/auth")
    result = await check_connection(creds, timeout=5)
    assert (result.ok, result.code) == (False, "TLS_ERROR")
    assert "TLS certificate" in result.reason


async def test_the_admin_routes_inspect_set_faults_seed_and_reset(sim) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=sim.base_url) as admin:
        assert (await admin.post("/_sim/seed", json={"clients": [{"name": "Seeded"}]})).json() == {
            "created": 1
        }
        await admin.post("/_sim/faults", json={"reject_names": ["X"], "latency_ms": 1})
        state = (await admin.get("/_sim/state")).json()
        assert [c["name"] for c in state["clients"]] == ["Acme", "Seeded"]
        assert sim.instance().faults.reject_names == {"X"}
        await admin.post("/_sim/reset")
        assert (await admin.get("/_sim/state")).json() is None
