"""The simulator keeps HaloPSA's contract: the client against it over real HTTP, one injected
fault at a time (and the admin routes tests use to set it up)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from gateway.halopsa import (
    HaloClient,
    HaloCredentials,
    HaloOutcomeUnknown,
    HaloRecordRejected,
    InMemoryRateLimiter,
)
from tests.halopsa.test_client import licence


@pytest.fixture
def sim(halo_sim):
    halo_sim.instance().add_client("Acme")
    return halo_sim


def _client(sim, **kw) -> HaloClient:
    api, auth = sim.urls()
    creds = HaloCredentials("halo-client", "halo-secret-1234", api, auth)
    return HaloClient(creds, **{"backoff_base": 0.01, "backoff_max": 0.05, "timeout": 5, **kw})


async def _write(sim, n: int, **kw) -> tuple[list, HaloClient]:
    async with _client(sim, **kw) as c:
        outcomes = await c.write_licences([licence(i) for i in range(n)])
    return outcomes, c


async def test_dropped_connections_are_retried_for_updates_and_every_record_lands_once(
    sim,
) -> None:
    await _write(sim, 120)
    sim.instance().set_faults(drop_rate=0.3, seed=3)
    updates = [dataclasses.replace(licence(i, f"M{i}"), id=i + 1) for i in range(120)]
    async with _client(sim, max_retries=8) as c:
        outcomes = await c.write_licences(updates)
    assert all(o.error is None for o in outcomes) and c.stats.retries > 0
    assert sorted(lic["name"] for lic in sim.instance().licences.values()) == sorted(
        f"M{i}" for i in range(120)
    )


@pytest.mark.parametrize("fault", ["reset", "timeout", "500", "502", "504"])
async def test_a_create_stored_then_answered_badly_is_reported_unknown_not_resent(
    sim, fault
) -> None:
    sim.instance().set_faults(write_faults={1: fault}, lost_answer_stall_seconds=5)
    async with _client(sim, timeout=0.5) as c:
        with pytest.raises(HaloOutcomeUnknown):
            await c.post_licences([licence(i) for i in range(3)])
        assert [lic.name for lic in await c.read_licences(client_id=1)] == ["L0", "L1", "L2"]
    assert sim.instance().counters["licence_posts"] == 1


async def test_a_late_commit_appears_after_the_lost_answer(sim) -> None:
    sim.instance().set_faults(write_faults={1: "late"}, late_commit_seconds=0.8)
    async with _client(sim, timeout=0.3) as c:
        with pytest.raises(HaloOutcomeUnknown, match="timeout"):
            await c.post_licences([licence(0), licence(1)])
        assert await c.read_licences(client_id=1) == []
        await asyncio.sleep(0.8)
        assert len(await c.read_licences(client_id=1)) == 2


async def test_a_partly_stored_array_is_rejected_without_bisecting(sim) -> None:
    sim.instance().set_faults(write_faults={1: "partial"})
    async with _client(sim) as c:
        with pytest.raises(HaloRecordRejected):
            await c.post_licences([licence(i) for i in range(4)])
        stored = await c.read_licences(client_id=1)
        assert [lic.name for lic in stored] == ["L0", "L1"]
        assert await c.highest_licence_id() == stored[-1].id
    assert sim.instance().counters["licence_posts"] == 1


async def test_write_faults_come_at_a_rate_with_the_kinds_asked_for(sim) -> None:
    sim.instance().set_faults(write_fault_rate=0.5, write_fault_kinds=["502"], seed=5)
    async with _client(sim) as c:
        unknown = 0
        for i in range(20):
            try:
                await c.post_licences([licence(i)])
            except HaloOutcomeUnknown:
                unknown += 1
    # every POST stored its licence, about half of the answers were lost
    assert len(sim.instance().licences) == 20 and 4 <= unknown <= 16
    assert sim.instance().counters["write_fault_502"] == unknown


async def test_an_expiring_token_is_refreshed(sim) -> None:
    sim.instance().set_faults(token_ttl_seconds=1)
    async with _client(sim) as c:
        await c.get_client(1)
        await asyncio.sleep(1.1)
        assert (await c.get_client(1)).name == "Acme"
    assert sim.instance().counters["tokens"] >= 2


async def test_held_requests_are_answered_once_released(sim) -> None:
    sim.instance().set_faults(hold=True)
    async with _client(sim) as c:
        request = asyncio.create_task(c.get_client(1))
        done, _ = await asyncio.wait({request}, timeout=0.3)
        assert not done  # held, however long
        sim.instance().set_faults(hold=False)
        assert (await request).name == "Acme"


async def test_the_client_limiter_keeps_under_the_simulators_rolling_window(sim) -> None:
    # The client counts when it sends, HaloPSA when a request arrives: on a loaded machine
    # the two differ by tens of ms, so the client's window keeps a margin over HaloPSA's.
    sim.instance().set_faults(rate_limit=(5, 1.0))
    _, client = await _write(sim, 8, batch_size=1, rate_limiter=InMemoryRateLimiter(5, 1.5))
    assert client.stats.rate_limited == 0
    assert sim.instance().counters.get("rate_limited", 0) == 0
    assert len(sim.instance().licences) == 8


async def test_429s_wait_for_the_rolling_window_beyond_the_retry_budget(sim) -> None:
    # HaloPSA's window (0.3 s) is shared with another integration we cannot see: our limiter
    # knows the window length but believes there is budget left.
    sim.instance().set_faults(rate_limit=(3, 0.3))
    _, client = await _write(
        sim, 6, batch_size=1, max_retries=0, rate_limiter=InMemoryRateLimiter(1000, 0.3)
    )
    assert client.stats.rate_limited > 0
    assert len(sim.instance().licences) == 6


async def test_another_integration_fills_the_window_from_the_nth_created_licence(sim) -> None:
    # Given an instance whose other integration wakes up once 2 licences exist, for 0.2 s
    instance = sim.instance()
    instance.set_faults(rate_limit=(100, 0.3), busy_after_creates=(2, 0.2))
    outcomes, client = await _write(
        sim,
        4,
        batch_size=1,
        max_retries=0,
        rate_limiter=InMemoryRateLimiter(1000, 0.3),
        rate_limit_patience=30,  # the spell lasts 0.2 s + a window, longer than one window
    )
    # Then the third write met 429s (though our own budget was far from spent), waited for the
    # window, and every licence landed once
    assert client.stats.rate_limited > 0 and instance.counters["rate_limited"] > 0
    assert len(instance.licences) == 4 and len(outcomes) == 4


async def test_5xx_answers_are_retried_where_nothing_was_stored(sim) -> None:
    # 503 says nothing was done, so even creates are sent again; reads retry on any 5xx.
    sim.instance().set_faults(error_rate=0.4, error_statuses=[503], seed=11)
    outcomes, client = await _write(sim, 200, batch_size=10, max_retries=10)
    assert all(o.error is None for o in outcomes) and client.stats.retries > 0
    assert len(sim.instance().licences) == 200
    sim.instance().set_faults(error_statuses=[500, 502, 503, 504])
    async with _client(sim, max_retries=20) as c:
        assert len(await c.read_licences(client_id=1)) == 200
        assert c.stats.retries > 0


async def test_licences_of_a_client_are_listed_for_recovery(sim) -> None:
    await _write(sim, 130)
    async with _client(sim) as c:
        listed = [lic async for lic in c.iter_licences(client_id=1)]
    assert len(listed) == 130 and listed[0].name == "L0"


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


async def test_several_clients_licences_are_read_by_the_fewer_requests(sim) -> None:
    instance = sim.instance()
    a, b, c = (instance.add_client(name) for name in ("A", "B", "C"))
    for n in range(3):
        instance.add_licence(a["id"], f"A{n}")
    instance.add_licence(c["id"], "C0", is_active=False)
    # Few licences in the instance: one count, then the whole instance in one page
    async with _client(sim) as client:
        found = await client.read_licences_of([a["id"], b["id"], c["id"]])
    assert {cid: sorted(lic.name for lic in lics) for cid, lics in found.items()} == {
        a["id"]: ["A0", "A1", "A2"],
        b["id"]: [],
        c["id"]: ["C0"],  # inactive ones too: the caller decides what they mean
    }
    assert instance.counters["requests"] == 2
    # Many licences elsewhere (3 pages): client by client is fewer
    for n in range(250):
        instance.add_licence(1, f"Acme {n}")
    async with _client(sim) as client:
        again = await client.read_licences_of([a["id"], b["id"]])
    assert [len(again[a["id"]]), len(again[b["id"]])] == [3, 0]
    assert instance.counters["requests"] == 2 + 1 + 2
