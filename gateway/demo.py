"""``halo-gateway demo``: the whole product in one process, with data to look at.

Starts from a fresh ``data/demo/`` each time (the simulator keeps its state in memory, so an
old database would point at licences that no longer exist). What runs:

* the gateway with an in-process Dramatiq worker, event bus and scheduler (embedded mode);
* the HaloPSA simulator mounted at ``/halosim`` (50 ms latency, the real rate limit);
* seller ``demo-seller`` with a verified connection to it, platform organisations and
  subscriptions, an organisations sync queued at start-up and, once it has finished, the
  organisations whose names match exactly mapped — the rest are left to map by hand.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import asdict
from datetime import UTC, datetime

from starlette.routing import Mount

from gateway import db
from gateway.auth import mint_token
from gateway.crypto import secret_box_from_settings
from gateway.demo_data import generate_halo_clients, generate_platform_data
from gateway.halopsa.simulator import SimulatorState, create_simulator_app
from gateway.logging import configure_logging
from gateway.models import (
    Connection,
    ConnectionStatus,
    Organization,
    OrganizationMapping,
    PsaOrganization,
    Seller,
    Subscription,
    SyncKind,
    SyncTrigger,
)
from gateway.services import Deps
from gateway.settings import Settings

logger = logging.getLogger(__name__)

DEMO_SELLER = "demo-seller"
DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret-0000"
SIMULATOR_MOUNT = "/halosim"
SIMULATOR_LATENCY_MS = 50


def run_demo(settings: Settings, *, host: str | None, port: int | None, organizations: int) -> None:
    import uvicorn

    from gateway.app import create_app
    from gateway.cli import uvicorn_options

    host = host or settings.host
    port = port or settings.port
    data_dir = settings.data_dir / "demo"
    shutil.rmtree(data_dir, ignore_errors=True)
    settings = settings.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": "",
            "redis_url": None,
            "in_process_scheduler": True,
        }
    )
    configure_logging(settings)
    state = SimulatorState()
    instance = state.add_instance(client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET)
    instance.set_faults(latency_ms=SIMULATOR_LATENCY_MS)
    for client in generate_halo_clients(organizations):
        instance.add_client(client.name, inactive=client.inactive)

    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    asyncio.run(_seed(settings, base, organizations))

    app = create_app(
        settings,
        extra_routes=[Mount(SIMULATOR_MOUNT, app=create_simulator_app(state))],
        on_started=_first_sync,
    )
    token = mint_token(settings, seller_id=DEMO_SELLER, roles=["SELLER_ADMIN"], subject="demo")
    # The token travels in the fragment (never sent to a server, never in a Referer); the app
    # swaps it for a short-lived session token and removes it from the address bar.
    app_link = f"{base}/#token={token}" if settings.web_app_enabled else "(WEB_APP is off)"
    print(
        f"\nhalo-gateway demo\n"
        f"  Web app:    {app_link}\n"
        f"  GraphiQL:   {base}/graphql\n"
        f"  Token:      {token}\n"
        f'  Header:     {{"Authorization": "Bearer {token}"}}\n'
        f"  HaloPSA simulator: {base}{SIMULATOR_MOUNT}/api (client id {DEMO_CLIENT_ID}, "
        f"secret {DEMO_CLIENT_SECRET})\n"
        "  Try: { syncOverview { lastSyncToPlatform { relative } organizations { state } } }\n"
        f"  Ctrl-C stops.\n",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_config=None, **uvicorn_options(settings))


async def _seed(settings: Settings, base_url: str, organizations: int) -> None:
    await db.migrate(settings)
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            await Seller.get_or_create(id=DEMO_SELLER)
            box = secret_box_from_settings(settings)
            await Connection.create(
                seller_id=DEMO_SELLER,
                client_id=DEMO_CLIENT_ID,
                client_secret_encrypted=box.encrypt(DEMO_CLIENT_SECRET),
                client_secret_last4=DEMO_CLIENT_SECRET[-4:],
                resource_server=f"{base_url}{SIMULATOR_MOUNT}/api",
                authorization_server=f"{base_url}{SIMULATOR_MOUNT}/auth",
                status=ConnectionStatus.VERIFIED,
                verified_at=datetime.now(UTC),
            )
            orgs, subs = generate_platform_data(organizations)
            await Organization.bulk_create(
                [
                    Organization(
                        seller_id=DEMO_SELLER,
                        external_id=o.external_id,
                        name=o.name,
                        reference=o.reference,
                        status=o.status,
                    )
                    for o in orgs
                ]
            )
            by_external = {
                o.external_id: o.id
                for o in await Organization.filter(seller_id=DEMO_SELLER).only("id", "external_id")
            }
            await Subscription.bulk_create(
                [
                    Subscription(
                        seller_id=DEMO_SELLER,
                        organization_id=by_external[s.organization_external_id],
                        **{k: v for k, v in asdict(s).items() if k != "organization_external_id"},
                    )
                    for s in subs
                ]
            )
            logger.info("demo data: %d organizations, %d subscriptions", len(orgs), len(subs))
    finally:
        await db.close_db(ctx)


async def _first_sync(deps: Deps) -> None:
    """Queue the organisations sync, then map exact name matches once it is done."""
    from gateway.services.sync import trigger_sync

    run = await trigger_sync(
        deps,
        DEMO_SELLER,
        SyncKind.ORGANIZATIONS,
        trigger=SyncTrigger.AUTOMATIC,
        triggered_by="demo",
    )
    asyncio.get_running_loop().create_task(_map_exact_matches(run.id))


async def _map_exact_matches(run_id: int) -> None:
    from gateway.models import SyncRun

    for _ in range(600):
        run = await SyncRun.get(id=run_id)
        if run.state.finished:
            break
        await asyncio.sleep(0.5)
    psa_by_name = {
        p.name: p for p in await PsaOrganization.filter(seller_id=DEMO_SELLER, present=True)
    }
    mapped = 0
    for org in await Organization.filter(seller_id=DEMO_SELLER).order_by("id"):
        psa = psa_by_name.pop(org.name, None)
        if psa is not None and mapped % 3 != 2:  # leave some for the seller to map
            await OrganizationMapping.create(
                seller_id=DEMO_SELLER, organization=org, psa_organization=psa, mapped_by="demo"
            )
        mapped += psa is not None
    logger.info("demo: mapped organizations with exactly matching names")
