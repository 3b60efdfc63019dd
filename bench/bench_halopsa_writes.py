"""Writing licences through the HaloPSA client to the simulator: batched vs one per request.

    .venv/bin/python bench/bench_halopsa_writes.py [--records 10000] [--naive 500]

The simulator runs over real HTTP with 50 ms latency per API call and a *scaled* rate limit
(300 requests per 3 s instead of per 300 s, so the run takes a minute, not hours); the client
keeps under it with its own limiter. Printed: wall time, calls, and the ratio to the lower
bound (calls needed ÷ allowed rate, or the latency-bound time if larger). The naive loop (one
licence per POST) is measured on fewer records in the same run and extrapolated.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.halopsa import HaloClient, HaloCredentials, InMemoryRateLimiter, LicenceWrite
from gateway.halopsa.simulator import SimulatorState, create_simulator_app
from tests.support.servers import serve_in_thread

LATENCY_MS = 50
LIMIT, WINDOW = 300, 3.0


def writes(n: int, client_id: int) -> list[LicenceWrite]:
    return [
        LicenceWrite(
            None,
            client_id,
            f"Licence {i}",
            date(2026, 1, 1),
            date(2026, 12, 31),
            5,
            "Monthly",
            "1 Year",
            "ACTIVE",
            True,
            Decimal("10.00"),
            Decimal("12.50"),
        )
        for i in range(n)
    ]


async def measure(base: str, items: list[LicenceWrite], batch: int) -> tuple[float, int]:
    creds = HaloCredentials("c", "s", f"{base}/api", f"{base}/auth")
    limiter = InMemoryRateLimiter(LIMIT, WINDOW)
    async with HaloClient(creds, rate_limiter=limiter, batch_size=batch) as client:
        started = time.perf_counter()
        outcomes = await client.write_licences(items)
        elapsed = time.perf_counter() - started
        assert all(o.error is None for o in outcomes)
        return elapsed, client.stats.calls


async def main(records: int, naive: int) -> None:
    state = SimulatorState()
    instance = state.add_instance(client_id="c", client_secret="s")
    instance.set_faults(latency_ms=LATENCY_MS, rate_limit=(LIMIT, WINDOW))
    client_id = instance.add_client("Bench")["id"]
    with serve_in_thread(create_simulator_app(state)) as base:
        batched_time, batched_calls = await measure(base, writes(records, client_id), 50)
        await asyncio.sleep(WINDOW)  # let the window empty
        naive_time, naive_calls = await measure(base, writes(naive, client_id), 1)

    # Calls are sequential: the floor is max(rate-limit bound, calls × latency).
    def floor(calls: int) -> float:
        return max(max(0, calls - LIMIT) / LIMIT * WINDOW, calls * LATENCY_MS / 1000)

    naive_extrapolated = naive_time * records / naive
    print(f"records={records} latency={LATENCY_MS}ms limit={LIMIT}/{WINDOW}s")
    print(
        f"batched(50): wall={batched_time:.2f}s calls={batched_calls} "
        f"lower_bound={floor(batched_calls):.2f}s ratio={batched_time / floor(batched_calls):.2f}"
    )
    print(
        f"naive(1):    wall={naive_time:.2f}s for {naive} calls={naive_calls} "
        f"→ {naive_extrapolated:.1f}s extrapolated to {records} "
        f"({naive_extrapolated / batched_time:.1f}x slower than batched)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.records, args.naive))
