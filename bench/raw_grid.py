"""The baseline of bench/bench_organizations.py: the grid page from a raw Starlette app.

What a developer would write without GraphQL, an ORM or this project's code: one route, one
hand-written SQL statement straight on the driver (aiosqlite on SQLite, an asyncpg pool on
PostgreSQL), the rows turned into dicts and sent with Starlette's ``JSONResponse``. The
statement answers the same page as the gateway's ``organizations`` query — the total, the
rows with their PSA columns and mapping status, and each row's sync state (the seller's
running sync, the organisation's cooldown) — from the same database file, using the same
indexes. No authentication (the gateway verifies a JWT per request), no error handling.

    python bench/raw_grid.py DATABASE_URL PORT
"""

from __future__ import annotations

import math
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

COOLDOWN = timedelta(minutes=60)
TOOLTIP = "Please refresh the page in a few minutes and try again."

# Written with :name parameters (SQLite's own style); PostgreSQL gets $n (see Grid.statement).
SQL = """
SELECT
  (SELECT COUNT(*) FROM organization c {count_join}
   WHERE c.seller_id = :seller AND c.deleted_at IS NULL {count_filter}) AS total,
  COALESCE((SELECT state = 'FAILED' FROM sync_run WHERE seller_id = :seller
      AND kind = 'ORGANIZATIONS' AND finished_at IS NOT NULL
      ORDER BY finished_at DESC LIMIT 1), FALSE) AS unreachable,
  a.kind, a.scope, a.organization_id,
  o.id, o.external_id, o.name, o.reference, o.status, m.id, p.halo_id, p.name, p.inactive,
  p.present,
  (SELECT MAX(r.finished_at) FROM sync_run r WHERE r.organization_id = o.id
     AND r.kind = 'SUBSCRIPTIONS' AND r.scope = 'ORGANIZATION' AND r.trigger = 'MANUAL'
     AND r.state = 'SUCCEEDED' AND r.finished_at > :cooldown_start) AS cooled_at
FROM organization o
LEFT JOIN organization_mapping m ON m.organization_id = o.id
LEFT JOIN psa_organization p ON p.id = m.psa_organization_id
JOIN seller s ON s.id = :seller
LEFT JOIN sync_run a ON a.id = s.active_run_id AND a.state IN ('QUEUED', 'RUNNING')
  AND (s.lease_expires_at IS NULL OR s.lease_expires_at >= :now)
WHERE o.seller_id = :seller AND o.deleted_at IS NULL {page_filter}
ORDER BY o.name {direction}, o.id {direction}
LIMIT :limit OFFSET :offset
"""
# "Mapped" rows: a mapping whose PSA organisation is there, while HaloPSA answers.
UNREACHABLE = (
    "(SELECT state = 'FAILED' FROM sync_run WHERE seller_id = :seller AND kind = 'ORGANIZATIONS'"
    " AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1)"
)
MAPPED = " AND {t}m.id IS NOT NULL AND {t}p.present AND NOT COALESCE(" + UNREACHABLE + ", FALSE)"
JOIN = (
    "LEFT JOIN organization_mapping cm ON cm.organization_id = c.id"
    " LEFT JOIN psa_organization cp ON cp.id = cm.psa_organization_id"
)


class Grid:
    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.postgres = database_url.startswith("postgres")
        self.db: Any = None
        self.cache: dict[tuple[bool, bool], tuple[str, list[str]]] = {}

    async def open(self) -> None:
        if self.postgres:
            import asyncpg

            self.db = await asyncpg.create_pool(
                self.url.replace("postgres://", "postgresql://"), min_size=1, max_size=5
            )
        else:
            import aiosqlite

            self.db = await aiosqlite.connect(self.url.removeprefix("sqlite://"))

    async def close(self) -> None:
        await self.db.close()

    def statement(self, mapped: bool, descending: bool) -> tuple[str, list[str]]:
        key = (mapped, descending)
        if key not in self.cache:
            sql = SQL.format(
                count_join=JOIN if mapped else "",
                count_filter=MAPPED.format(t="c") if mapped else "",
                page_filter=MAPPED.format(t="") if mapped else "",
                direction="DESC" if descending else "ASC",
            )
            names: list[str] = []
            if self.postgres:

                def number(match: re.Match[str]) -> str:
                    if match[1] not in names:
                        names.append(match[1])
                    return f"${names.index(match[1]) + 1}"

                sql = re.sub(r":(\w+)", number, sql)
            self.cache[key] = (sql, names)
        return self.cache[key]

    async def page(self, request: Request) -> JSONResponse:
        q = request.query_params
        size = int(q.get("page_size", "20"))
        now = datetime.now(UTC)
        start = now - COOLDOWN
        values = {
            "seller": q.get("seller", "bench"),
            "now": now if self.postgres else now.isoformat(" "),
            "cooldown_start": start if self.postgres else start.isoformat(" "),
            "limit": size,
            "offset": (int(q.get("page", "1")) - 1) * size,
        }
        sql, names = self.statement(q.get("mapped") == "1", q.get("desc") == "1")
        if self.postgres:
            rows = await self.db.fetch(sql, *[values[n] for n in names])
        else:
            # One trip to aiosqlite's thread, as the gateway's driver makes (a cursor's
            # execute, fetchall and close were three, each waiting for the GIL behind the
            # other requests' work: at 20 connections that, not the work, set the pace).
            rows = await self.db.execute_fetchall(sql, values)
        out = []
        for r in rows:
            mapped = r[10] is not None
            error = mapped and (bool(r[1]) or not r[14])
            show = mapped and not error
            cooled = r[15]
            if cooled is not None and not isinstance(cooled, datetime):
                cooled = datetime.fromisoformat(cooled)
            left = max(0, math.ceil((cooled + COOLDOWN - now).total_seconds())) if cooled else 0
            status = "UNMAPPED" if not mapped else "RESPONSE_ERROR" if error else "MAPPED"
            state = "IN_PROGRESS" if r[2] is not None else "COOLDOWN" if left else "IDLE"
            out.append(
                {
                    "id": r[6],
                    "name": r[7],
                    "reference": r[8],
                    "status": r[9],
                    "psaOrganizationId": r[11] if show else None,
                    "psaOrganizationName": r[12] if show else None,
                    "psaOrganizationStatus": ("INACTIVE" if r[13] else "ACTIVE") if show else None,
                    "mappingStatus": status,
                    "mappingStatusTooltip": TOOLTIP if error else None,
                    "canSyncSubscriptions": status == "MAPPED" and state == "IDLE",
                    "syncState": state,
                    "syncInProgress": r[2] == "SUBSCRIPTIONS"
                    and (r[4] == r[5] or (r[3] == "ALL" and status == "MAPPED")),
                    "cooldownMinutes": max(1, -(-left // 60)) if left else None,
                }
            )
        return JSONResponse({"total": rows[0][0] if rows else 0, "rows": out})


def build(database_url: str) -> tuple[Starlette, Grid]:
    grid = Grid(database_url)

    async def lifespan(app: Starlette) -> Any:
        await grid.open()
        yield
        await grid.close()

    return Starlette(routes=[Route("/grid", grid.page)], lifespan=lifespan), grid


if __name__ == "__main__":
    app, _ = build(sys.argv[1])
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[2]),
        loop="asyncio",
        log_level="warning",
        lifespan="on",
    )
