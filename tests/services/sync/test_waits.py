"""A run that waits for HaloPSA's rate limit is re-queued, not failed, up to a deadline.

Time is scaled down: HaloPSA's rolling window is 2 s instead of 5 minutes (the simulator's
and ours), so the client's patience is 2 s and the run's deadline 4 s. Another integration
using the instance's budget is played by the simulator (``busy_after_creates``), which keeps
its window full from the moment the run has stored 50 licences, decided on the request itself
(a test task polling for that moment can lose the race on a loaded machine, the run's next
batches going through first: once seen as a run that was never rate limited):
a spell of 429s longer than any fixed retry budget, as in issue #13 (a 6-minute spell with
5-minute windows, here 1.5 windows).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from gateway.models import LogEntry, LogLevel, SyncRun
from gateway.services.sync import journal
from gateway.services.sync.waits import RATE_LIMIT_DEADLINE_WINDOWS
from tests.services.sync.test_engine import SYNC_SUBS
from tests.support import data
from tests.support.runs import trigger, wait_for_run

WINDOW_SECONDS = 2.0
LIMIT = 30
SUBSCRIPTIONS = 120
SCALED = {
    "halo_rate_limit_requests": LIMIT,
    "halo_rate_limit_window_seconds": WINDOW_SECONDS,
    "sync_cooldown_minutes": 0,
    # A re-queued attempt finds the intents of the batch that met the 429 and first waits out
    # a possible late commit (timeout + read-back delay): scaled down like the window.
    "halo_timeout_seconds": 0.5,
    "halo_readback_delay_seconds": 0.5,
}


@pytest.fixture
async def connected(migrated_db, halo_sim):
    await data.simulator_connection(migrated_db, "seller-a", halo_sim)
    sim = halo_sim.instance()
    sim.set_faults(rate_limit=(LIMIT, WINDOW_SECONDS))
    org = await data.mapped_organization("seller-a", "org-a", "Acme", sim.add_client("Acme"))
    subs = [
        await data.subscription(org, f"s{i:03d}", name=f"Licence {i:03d}")
        for i in range(SUBSCRIPTIONS)
    ]
    return halo_sim, subs


def _each_once(sim: Any, subs: list[Any]) -> bool:
    names = Counter(lic["name"] for lic in sim.licences.values())
    return {s.name: names[s.name] for s in subs} == {s.name: 1 for s in subs}


async def test_a_429_spell_longer_than_the_clients_patience_requeues_the_run_and_it_succeeds(
    connected, gateway_factory, settings
) -> None:
    halo_sim, subs = connected
    sim = halo_sim.instance()
    gateway = gateway_factory(settings.model_copy(update=SCALED))
    # When another integration fills HaloPSA's window for 1.5 windows in the middle of the run
    sim.set_faults(busy_after_creates=(50, WINDOW_SECONDS / 2))
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"], timeout=60)
    # Then the run waited (re-queued, not asleep in a worker) and finished, every licence once
    assert run["state"] == "SUCCEEDED", run
    assert _each_once(sim, subs)
    assert (run["created"], run["processed"], run["total"]) == (SUBSCRIPTIONS,) * 3
    assert run["haloRateLimited"] >= 1
    stored = await SyncRun.get(id=int(run["id"]))
    assert stored.attempts >= 2
    waiting = await LogEntry.filter(seller_id="seller-a", title=journal.RATE_LIMIT_WAITING)
    assert waiting and waiting[0].level is LogLevel.WARNING
    assert "continues in 1 second" in waiting[0].details
    assert waiting[0].code == "RATE_LIMIT_WAITING"
    assert dict(waiting[0].params)["resumeInSeconds"] == 1
    assert not await LogEntry.filter(seller_id="seller-a", level=LogLevel.ERROR).exists()


async def test_a_429_spell_past_the_deadline_fails_the_run_with_the_numbers(
    connected, gateway_factory, settings
) -> None:
    halo_sim, _subs = connected
    sim = halo_sim.instance()
    gateway = gateway_factory(settings.model_copy(update=SCALED))
    # When the window stays full far longer than the deadline (2 windows from the first 429)
    deadline = RATE_LIMIT_DEADLINE_WINDOWS * WINDOW_SECONDS
    sim.set_faults(busy_after_creates=(50, deadline * 3))
    run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"], timeout=60)
    # Then the run fails, saying in a seller's words how long it waited and how far it got
    assert run["state"] == "FAILED", run
    message = run["message"]
    assert message.startswith("HaloPSA answered 'rate limit reached' for "), message
    assert f"longer than the {deadline:.0f} seconds a sync waits for it" in message
    assert f"{run['haloRateLimited']} requests refused" in message
    assert f"{run['processed']} of {SUBSCRIPTIONS} subscriptions were processed" in message
    assert 50 <= run["processed"] < SUBSCRIPTIONS
    # And its code and parameters carry the same numbers for pages that render their own words
    assert run["messageCode"] == "RATE_LIMIT_GAVE_UP"
    params = {p["name"]: p["value"] for p in run["messageParams"]}
    assert params["refused"] == str(run["haloRateLimited"])
    assert params["processed"] == str(run["processed"]) and params["total"] == str(SUBSCRIPTIONS)
    assert params["limitSeconds"] == str(round(deadline)) and params["kind"] == "SUBSCRIPTIONS"
    failed = await LogEntry.filter(seller_id="seller-a", level=LogLevel.ERROR)
    assert len(failed) == 1 and message in failed[0].details
    # What was sent is in HaloPSA once; nothing else
    names = Counter(lic["name"] for lic in sim.licences.values())
    assert set(names.values()) == {1} and len(names) == run["created"]
