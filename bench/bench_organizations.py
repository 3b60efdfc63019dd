"""The mapping grid at 10,000 organisations: GraphQL vs the same rows as plain Starlette JSON.

    .venv/bin/python bench/bench_organizations.py [--organizations 10000] [--requests 200]

Both sides run in the same process against the same SQLite file, on real HTTP (uvicorn), and
serve page 1 (100 rows, sorted by name) and a search; the baseline endpoint calls the same
service function and dumps its dataclasses with ``json``. Printed: p50/p99 per side and the
ratio, i.e. what GraphQL costs on top of the data access.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from cryptography.fernet import Fernet
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.seeding import mapped_organizations, migrated
from gateway.auth import mint_token
from gateway.services import organizations
from gateway.settings import Settings
from tests.support.servers import serve_in_thread

QUERY = """query ($search: String) { organizations(search: $search, pageSize: 100) { total rows {
id name reference status psaOrganizationId psaOrganizationName psaOrganizationStatus
mappingStatus canSyncSubscriptions } } }"""


async def seed(settings: Settings, count: int) -> None:
    async with migrated(settings):
        await mapped_organizations(
            "bench",
            [f"Organization {i:05d}" for i in range(count)],
            [(i, f"Halo {i}") for i in range(count // 2)],
        )


async def baseline(request: Request) -> JSONResponse:
    page = await organizations.list_organizations(
        "bench", organizations.Filters(search=request.query_params.get("search")), page_size=100
    )
    return JSONResponse(
        {
            "total": page.total,
            "rows": [
                {
                    **asdict(r),
                    "mapping_status": r.mapping_status.value,
                    "can_sync_subscriptions": r.can_sync_subscriptions,
                }
                for r in page.items
            ],
        }
    )


async def timed(client: httpx.AsyncClient, n: int, call) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = await call(client)
        assert response.status_code == 200
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def pct(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1]


async def main(count: int, requests: int) -> None:
    from gateway.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite://{tmp}/bench.sqlite3",
            data_dir=Path(tmp),
            secrets_key=Fernet.generate_key().decode(),
            in_process_scheduler=False,
            log_level="WARNING",
        )
        await seed(settings, count)
        app = create_app(settings, extra_routes=[Route("/baseline", baseline)])
        token = mint_token(settings, seller_id="bench", roles=["SELLER_ADMIN"])
        with serve_in_thread(app) as base:
            async with httpx.AsyncClient(
                base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
            ) as client:
                for label, search in (("page 1", None), ("search", "Organization 0123")):
                    gql = await timed(
                        client,
                        requests,
                        lambda c, search=search: c.post(
                            "/graphql", json={"query": QUERY, "variables": {"search": search}}
                        ),
                    )
                    plain = await timed(
                        client,
                        requests,
                        lambda c, search=search: c.get(
                            "/baseline", params={"search": search} if search else {}
                        ),
                    )
                    print(
                        f"{label:7} graphql p50={pct(gql, 50):6.1f}ms p99={pct(gql, 99):6.1f}ms | "
                        f"plain json p50={pct(plain, 50):6.1f}ms p99={pct(plain, 99):6.1f}ms | "
                        f"ratio p50={pct(gql, 50) / pct(plain, 50):.2f}"
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--organizations", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.organizations, args.requests))
