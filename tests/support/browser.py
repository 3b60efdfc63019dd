"""Browser tests: Debian's chromium driven by Playwright, a gateway built like the demo, axe-core.

No browser is ever downloaded: Playwright launches ``/usr/bin/chromium`` (``.ci/run``
installs it with apt when missing). axe-core comes from the npm package in ``web/``
(``npm ci``), injected into the page from that local file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Mount

from gateway import db
from gateway.auth import ClientKind, mint_token
from gateway.demo_data import generate_halo_clients, generate_platform_data
from gateway.halopsa.simulator import SimulatorState, create_simulator_app
from gateway.models import LogEntry, LogLevel, Organization, Subscription
from gateway.settings import Settings
from tests.support import data
from tests.support.metrics import gauge
from tests.support.servers import free_port, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in CI and in the sandbox
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SIM_MOUNT = "/halosim"
SIM_CLIENT_ID = "browser-client"
SIM_CLIENT_SECRET = "browser-secret-7788"


def require(path: Path | str, what: str) -> None:
    """Missing tools fail in CI (they are installed by .ci/run) and skip elsewhere."""
    if Path(path).exists():
        return
    message = f"{what} not found at {path}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class WebGateway:
    base_url: str
    settings: Settings
    simulator: SimulatorState

    def token(self, seller_id: str, role: str = "SELLER_ADMIN") -> str:
        return mint_token(self.settings, seller_id=seller_id, roles=[role], subject="seller-user")

    def gql(self, seller_id: str, query: str, variables: dict | None = None) -> dict[str, Any]:
        """The test's own queries: a script's, with an integrator token (the pages' tokens
        are browser sessions, held to the trusted documents when they are enforced)."""
        token = mint_token(
            self.settings,
            seller_id=seller_id,
            roles=["SELLER_ADMIN"],
            subject="seller-user",
            client_kind=ClientKind.INTEGRATOR,
        )
        response = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        return response.json()

    def live_subscriptions(self) -> float:
        """The subscriptions the gateway serves live (``/metrics``), every socket's."""
        text = httpx.get(f"{self.base_url}/metrics", timeout=30).text
        return gauge(text, "halo_gateway_live_sockets")

    @property
    def halo_urls(self) -> tuple[str, str]:
        return f"{self.base_url}{SIM_MOUNT}/api", f"{self.base_url}{SIM_MOUNT}/auth"


async def _seed(settings: Settings, sellers: dict[str, dict[str, Any]], base_url: str) -> None:
    await db.migrate(settings)
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            for seller_id, spec in sellers.items():
                await data.seller(seller_id)
                if spec.get("connected"):
                    await data.connection(
                        settings,
                        seller_id,
                        resource_server=f"{base_url}{SIM_MOUNT}/api",
                        authorization_server=f"{base_url}{SIM_MOUNT}/auth",
                        client_id=SIM_CLIENT_ID,
                        client_secret=SIM_CLIENT_SECRET,
                    )
                orgs, subs = generate_platform_data(spec["organizations"], seed=7)
                await Organization.bulk_create(
                    [
                        Organization(
                            seller_id=seller_id,
                            external_id=o.external_id,
                            name=o.name,
                            reference=o.reference,
                            status=o.status,
                        )
                        for o in orgs
                    ]
                )
                ids = {
                    o.external_id: o.id
                    for o in await Organization.filter(seller_id=seller_id).only(
                        "id", "external_id"
                    )
                }
                await Subscription.bulk_create(
                    [
                        Subscription(
                            seller_id=seller_id,
                            organization_id=ids[s.organization_external_id],
                            **{
                                k: v
                                for k, v in asdict(s).items()
                                if k != "organization_external_id"
                            },
                        )
                        for s in subs
                    ]
                )
                now = datetime.now(UTC)
                levels = [LogLevel.INFO, LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR]
                await LogEntry.bulk_create(
                    [
                        LogEntry(
                            seller_id=seller_id,
                            level=levels[i % len(levels)],
                            title=f"Earlier event {i}",
                            details=f"Reseller ID: {seller_id}, Provider: HALO",
                            created_at=now - timedelta(days=2, minutes=i),
                        )
                        for i in range(spec.get("log_entries", 0))
                    ]
                )
    finally:
        await db.close_db(ctx)


@contextlib.contextmanager
def web_gateway(
    settings: Settings, sellers: dict[str, dict[str, Any]], halo_clients: int
) -> Iterator[WebGateway]:
    """A gateway with the HaloPSA simulator mounted, as ``halo-gateway demo`` runs it."""
    from gateway.app import create_app
    from gateway.cli import uvicorn_options

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    state = SimulatorState()
    instance = state.add_instance(client_id=SIM_CLIENT_ID, client_secret=SIM_CLIENT_SECRET)
    instance.set_faults(rate_limit=None)
    for client in generate_halo_clients(halo_clients, seed=7):
        instance.add_client(client.name, inactive=client.inactive)
    # In a thread of its own: Playwright's sync API runs an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _seed(settings, sellers, base_url)).result()
    app = create_app(settings, extra_routes=[Mount(SIM_MOUNT, app=create_simulator_app(state))])
    with serve_in_thread(app, port=port, **uvicorn_options(settings)) as url:
        yield WebGateway(base_url=url, settings=settings, simulator=state)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    require(CHROMIUM, "chromium (apt-get install -y chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core on the page; the violations of the given impacts, with their nodes.

    The page's CSP allows no inline script: open it in a context with ``bypass_csp=True``.
    """
    require(AXE, "axe-core (npm ci in web/)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]
