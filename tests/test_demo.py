"""The README's first command: `halo-gateway demo` serves the app and GraphiQL and answers the
printed token."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx

from tests.support.servers import free_port

BIN = Path(sys.executable).parent / "halo-gateway"


async def test_demo_serves_the_app_and_graphiql_syncs_organizations_and_answers_the_printed_token(
    tmp_path,
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    process = await asyncio.create_subprocess_exec(
        str(BIN),
        "demo",
        "--port",
        str(port),
        "--organizations",
        "20",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        token = link = None
        while token is None:
            line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
            assert line, "demo exited before printing its token"
            if match := re.search(r"Token:\s+(\S+)", line):
                token = match.group(1)
            if match := re.search(r"Web app:\s+(\S+)", line):
                link = match.group(1)
        base = f"http://127.0.0.1:{port}"
        # the app's link carries the token in the fragment, never in the query string
        assert link == f"{base}/#token={token}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            for _ in range(200):
                try:
                    page = await client.get("/graphql", headers={"accept": "text/html"})
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            assert "GraphiQL" in page.text
            app = await client.get("/")
            assert "<title>HaloPSA integration</title>" in app.text
            query = "{ __typename syncOverview { organizations { lastRun { state created } } } }"
            for _ in range(100):
                answer = (
                    await client.post(
                        "/graphql",
                        json={"query": query},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                ).json()
                last = answer["data"]["syncOverview"]["organizations"]["lastRun"]
                if last and last["state"] == "SUCCEEDED":
                    break
                await asyncio.sleep(0.1)
        assert answer["data"]["__typename"] == "Query"
        assert last["state"] == "SUCCEEDED" and last["created"] > 10
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    assert (tmp_path / "data" / "demo" / "halo-gateway.sqlite3").exists()
