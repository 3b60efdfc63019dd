"""Rows for tests, written straight through the models (the platform's side of the data).

Tests that are *about* these rows' API (upserts, mapping) go through GraphQL instead; these
helpers only set the scene. Call them inside a bound Tortoise context (``migrated_db``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from gateway.crypto import secret_box_from_settings
from gateway.models import (
    ClientReview,
    Connection,
    ConnectionStatus,
    ExistingLicence,
    LicenceDecision,
    Organization,
    OrganizationMapping,
    PsaOrganization,
    ReviewState,
    Seller,
    Subscription,
)
from gateway.settings import Settings

# The credentials of the simulator's instances in the ``halo_sim`` fixture.
SIM_CLIENT_ID = "halo-client"
SIM_CLIENT_SECRET = "halo-secret-1234"


async def seller(
    seller_id: str = "seller-a", *, unit_prices: bool | None = None, valve: bool | None = None
) -> Seller:
    """The seller row. ``valve=False``: its safety valve off, for tests about other things
    that cut seats or money on purpose (quantity to zero, deletions, random changes)."""
    row, _ = await Seller.get_or_create(id=seller_id)
    changed = False
    if unit_prices is not None and row.sync_unit_prices != unit_prices:
        row.sync_unit_prices, changed = unit_prices, True
    if valve is not None and row.valve_enabled != valve:
        row.valve_enabled, changed = valve, True
    if changed:
        await row.save()
    return row


async def connection(
    settings: Settings,
    seller_id: str,
    *,
    resource_server: str,
    authorization_server: str,
    client_id: str,
    client_secret: str,
    tenant: str | None = None,
    status: ConnectionStatus = ConnectionStatus.VERIFIED,
) -> Connection:
    await seller(seller_id)
    box = secret_box_from_settings(settings)
    return await Connection.create(
        seller_id=seller_id,
        client_id=client_id,
        client_secret_encrypted=box.encrypt(client_secret),
        client_secret_last4=client_secret[-4:],
        resource_server=resource_server,
        authorization_server=authorization_server,
        tenant=tenant,
        status=status,
        verified_at=datetime.now(UTC) if status is ConnectionStatus.VERIFIED else None,
    )


async def simulator_connection(
    settings: Settings, seller_id: str, sim: Any, instance: str = "default"
) -> Connection:
    """A verified connection of ``seller_id`` to an instance of the ``halo_sim`` simulator."""
    api, auth = sim.urls(instance)
    return await connection(
        settings,
        seller_id,
        resource_server=api,
        authorization_server=auth,
        client_id=SIM_CLIENT_ID,
        client_secret=SIM_CLIENT_SECRET,
    )


async def organization(
    seller_id: str,
    external_id: str,
    name: str,
    *,
    reference: str | None = None,
    status: str = "ACTIVE",
) -> Organization:
    await seller(seller_id)
    return await Organization.create(
        seller_id=seller_id,
        external_id=external_id,
        name=name,
        reference=reference or f"REF-{external_id}",
        status=status,
    )


@dataclass
class SubscriptionFields:
    """A subscription's fields without a row, for the pure sync functions (``licence_payload``,
    ``plan_subscription``), which the preview also hands plain rows."""

    name: str = "Microsoft 365 E3"
    quantity: int = 3
    cost_price: Decimal = Decimal("90.00")
    customer_price: Decimal = Decimal("100.00")
    billing_cycle: str = "Monthly"
    term_duration: str = "1 Year"
    status: str = "ACTIVE"
    start_date: date | None = date(2026, 1, 1)
    end_date: date | None = date(2026, 12, 31)
    deleted_at: datetime | None = None


async def subscription(
    org: Organization,
    external_id: str,
    *,
    name: str = "Microsoft 365 Business Premium",
    quantity: int = 10,
    cost_price: str = "180.00",
    customer_price: str = "220.00",
    billing_cycle: str = "Monthly",
    term_duration: str = "1 Year",
    status: str = "ACTIVE",
    start_date: date | None = date(2026, 1, 1),
    end_date: date | None = date(2026, 12, 31),
    currency: str = "USD",
) -> Subscription:
    return await Subscription.create(
        seller_id=org.seller_id,  # type: ignore[attr-defined]
        organization=org,
        external_id=external_id,
        name=name,
        quantity=quantity,
        cost_price=Decimal(cost_price),
        customer_price=Decimal(customer_price),
        billing_cycle=billing_cycle,
        term_duration=term_duration,
        status=status,
        start_date=start_date,
        end_date=end_date,
        currency=currency,
    )


async def psa_organization(
    seller_id: str, halo_id: int, name: str, *, inactive: bool = False, present: bool = True
) -> PsaOrganization:
    await seller(seller_id)
    return await PsaOrganization.create(
        seller_id=seller_id, halo_id=halo_id, name=name, inactive=inactive, present=present
    )


async def mapping(org: Organization, psa: PsaOrganization, by: str = "test") -> OrganizationMapping:
    return await OrganizationMapping.create(
        seller_id=org.seller_id,  # type: ignore[attr-defined]
        organization=org,
        psa_organization=psa,
        mapped_by=by,
    )


async def mapped_subscriptions(
    seller_id: str, sim: Any, organizations: int, per_org: int
) -> list[Subscription]:
    """``organizations`` HaloPSA clients in the simulator instance ``sim``, each mapped to an
    organisation of ``seller_id`` holding ``per_org`` subscriptions (names unique: a licence's
    name tells which subscription it is). Bulk-inserted: thousands of rows in a second."""
    await seller(seller_id)
    clients = [sim.add_client(f"Customer {o:03d}") for o in range(organizations)]
    await Organization.bulk_create(
        [
            Organization(
                seller_id=seller_id,
                external_id=f"org-{o}",
                name=client["name"],
                reference=f"REF-{o}",
                status="ACTIVE",
            )
            for o, client in enumerate(clients)
        ]
    )
    await PsaOrganization.bulk_create(
        [PsaOrganization(seller_id=seller_id, halo_id=c["id"], name=c["name"]) for c in clients]
    )
    orgs = await Organization.filter(seller_id=seller_id).order_by("id")
    psas = await PsaOrganization.filter(seller_id=seller_id).order_by("halo_id")
    await OrganizationMapping.bulk_create(
        [
            OrganizationMapping(
                seller_id=seller_id,
                organization_id=org.id,
                psa_organization_id=psa.id,
                mapped_by="test",
            )
            for org, psa in zip(orgs, psas, strict=True)
        ]
    )
    await Subscription.bulk_create(
        [
            Subscription(
                seller_id=seller_id,
                organization_id=org.id,
                external_id=f"s{o}-{i}",
                name=f"Licence {o:03d}-{i:03d}",
                quantity=i % 9 + 1,
                cost_price=Decimal("18.00"),
                customer_price=Decimal("22.00"),
                billing_cycle="Monthly",
                term_duration="1 Year",
                status="ACTIVE",
                start_date=date(2026, 1, 1),
                end_date=date(2026, 12, 31),
            )
            for o, org in enumerate(orgs)
            for i in range(per_org)
        ],
        batch_size=1000,
    )
    return await Subscription.filter(seller_id=seller_id).order_by("id")


async def mapped_organization(
    seller_id: str, external_id: str, name: str, halo_client: dict[str, Any]
) -> Organization:
    """A platform organisation mapped to a simulator client (its PSA row made if missing)."""
    org = await organization(seller_id, external_id, name)
    psa = await PsaOrganization.get_or_none(seller_id=seller_id, halo_id=halo_client["id"])
    if psa is None:
        psa = await psa_organization(seller_id, halo_client["id"], halo_client["name"])
    await mapping(org, psa)
    return org


async def reviewed_client(
    seller_id: str, halo_client_id: int, *, not_ours: tuple[int, ...] = ()
) -> ClientReview:
    """A HaloPSA client whose day-one review is done: the licences ``not_ours`` (entered by
    hand) were marked not ours, so the first push goes ahead beside them."""
    review = await ClientReview.create(
        seller_id=seller_id,
        halo_client_id=halo_client_id,
        state=ReviewState.RESOLVED if not_ours else ReviewState.CLEAR,
        checked_at=datetime.now(UTC),
        resolved_at=datetime.now(UTC) if not_ours else None,
        resolved_by="test" if not_ours else None,
    )
    for licence_id in not_ours:
        await ExistingLicence.create(
            review=review,
            halo_licence_id=licence_id,
            payload={"client_id": halo_client_id, "name": "by hand"},
            decision=LicenceDecision.NOT_OURS,
            decided_by="test",
        )
    return review
