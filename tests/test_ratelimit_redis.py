"""Two processes sharing one HaloPSA budget through Redis never exceed it together."""

from __future__ import annotations

import asyncio
import sys

from tests.conftest import REDIS_URL

LIMIT, WINDOW, PER_PROCESS = 10, 1.0, 15
# A printed stamp lags its admission by the child's scheduling delay (on a loaded machine,
# tens of ms), which can make two admissions a full window apart look closer: the check
# counts within the window less this slack. A limiter that let both processes take the
# whole budget (20 per window) still fails it by far.
PRINT_LAG_SLACK = 0.2

CHILD = """
import asyncio, sys, time
from gateway.ratelimit_redis import RedisRateLimiter
async def main():
    limiter = RedisRateLimiter.from_url(sys.argv[1], limit=int(sys.argv[3]),
                                        window_seconds=float(sys.argv[4]), prefix=sys.argv[2])
    for _ in range(int(sys.argv[5])):
        await limiter.acquire("halo.example.com")
        print(time.time(), flush=True)
asyncio.run(main())
"""


async def test_two_processes_sharing_the_redis_limiter_stay_under_the_limit(
    redis_namespace,
) -> None:
    args = [REDIS_URL, redis_namespace, str(LIMIT), str(WINDOW), str(PER_PROCESS)]
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, *args, stdout=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(c.communicate() for c in children)), 60)
    assert all(c.returncode == 0 for c in children)
    stamps = sorted(float(line) for out, _ in outputs for line in out.decode().split())
    assert len(stamps) == 2 * PER_PROCESS
    for i, start in enumerate(stamps):
        in_window = [t for t in stamps[i:] if t < start + WINDOW - PRINT_LAG_SLACK]
        assert len(in_window) <= LIMIT, f"{len(in_window)} requests within {WINDOW}s"
    # And the budget was used, not wasted: 30 requests at 10/s take about 2 s, not 3+.
    assert stamps[-1] - stamps[0] < 3 * WINDOW


async def test_without_redis_each_process_keeps_to_a_cautious_share_never_to_no_limit(
    caplog,
) -> None:
    from gateway.ratelimit_redis import FALLBACK_SHARE, RedisRateLimiter
    from tests.support.servers import free_port

    # Given a limiter whose Redis does not answer (nothing listens on that port)
    limiter = RedisRateLimiter.from_url(
        f"redis://127.0.0.1:{free_port()}/0", limit=8, window_seconds=0.5, prefix="down"
    )
    share = 8 // FALLBACK_SHARE
    # When more requests than the local share are made in one window
    waits = [await limiter.acquire("halo.example.com") for _ in range(share + 1)]
    # Then the share goes at once and the next one waits for the window
    assert waits[:share] == [0.0] * share and waits[share] > 0.3
    assert any("local budget of 2 requests" in r.getMessage() for r in caplog.records)
    await limiter.aclose()


async def test_a_reader_leaving_slots_to_others_gives_way_in_the_shared_window(
    redis_namespace,
) -> None:
    from gateway.ratelimit_redis import RedisRateLimiter

    # Given a shared window of 10 with 7 slots taken by another process's pushes
    pushes = RedisRateLimiter.from_url(
        REDIS_URL, limit=10, window_seconds=300, prefix=redis_namespace
    )
    reader = RedisRateLimiter.from_url(
        REDIS_URL, limit=10, window_seconds=300, prefix=redis_namespace
    )
    for _ in range(7):
        await pushes.acquire("halo.example.com")
    # When the drift check's reader (leaving 4 slots) asks, it waits …
    waiting = asyncio.create_task(reader.acquire("halo.example.com", leave=4))
    await asyncio.sleep(0.2)
    # … and the pushes still get the 3 slots it left them
    assert [await pushes.acquire("halo.example.com") for _ in range(3)] == [0.0] * 3
    assert not waiting.done()
    waiting.cancel()
    await pushes.aclose()
    await reader.aclose()
