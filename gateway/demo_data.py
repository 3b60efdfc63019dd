"""Deterministic demo data: platform organisations with subscriptions, and HaloPSA clients.

Used by ``halo-gateway demo`` and the benchmarks. The same seed gives the same data. HaloPSA
client names overlap the platform's organisations (some exactly, some with the variations real
books have: "Ltd" vs "Limited", different case), plus a few HaloPSA-only clients.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

_PREFIXES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Massive",
    "Aperture",
    "Black Mesa",
    "Oceanic",
    "Gringotts",
    "Monarch",
    "Nakatomi",
    "Pied Piper",
    "Dunder",
    "Sterling",
    "Prestige",
    "Bluth",
    "Krusty",
    "Spacely",
    "Cogswell",
    "Duff",
    "Ollivander",
    "Zorg",
    "Virtucon",
    "Genco",
    "Kramerica",
]
_SUFFIXES = ["Ltd", "Inc", "GmbH", "LLC", "Group", "Partners", "Solutions", "Holdings"]
_VARIATIONS = {"Ltd": "Limited", "Inc": "Incorporated", "LLC": "L.L.C.", "GmbH": "GmbH"}
_PRODUCTS = [
    ("Microsoft 365 Business Basic", Decimal("6.00")),
    ("Microsoft 365 Business Standard", Decimal("12.50")),
    ("Microsoft 365 Business Premium", Decimal("22.00")),
    ("Microsoft 365 E3", Decimal("36.00")),
    ("Exchange Online (Plan 1)", Decimal("4.00")),
    ("Azure Plan", Decimal("150.00")),
    ("Acronis Cyber Protect Cloud", Decimal("9.90")),
    ("Dropbox Business", Decimal("15.00")),
    ("Adobe Creative Cloud", Decimal("79.99")),
    ("Google Workspace Business Starter", Decimal("7.20")),
]
_ORG_STATUSES = ["ACTIVE"] * 8 + ["SUSPENDED", "INACTIVE"]
_SUB_STATUSES = ["ACTIVE"] * 8 + ["SUSPENDED", "CANCELLED"]


@dataclass(frozen=True)
class DemoOrganization:
    external_id: str
    name: str
    reference: str
    status: str


@dataclass(frozen=True)
class DemoSubscription:
    external_id: str
    organization_external_id: str
    name: str
    start_date: date
    end_date: date
    quantity: int
    billing_cycle: str
    term_duration: str
    status: str
    cost_price: Decimal
    customer_price: Decimal
    currency: str = "USD"


@dataclass(frozen=True)
class DemoHaloClient:
    name: str
    inactive: bool


def organization_names(count: int, seed: int = 42) -> list[str]:
    rng = random.Random(seed)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = f"{rng.choice(_PREFIXES)} {rng.choice(_SUFFIXES)}"
        if name in seen:
            name = f"{name} {len(names) + 1}"
        seen.add(name)
        names.append(name)
    return names


def generate_platform_data(
    organizations: int = 60, seed: int = 42, subscriptions_per_org: tuple[int, int] = (2, 8)
) -> tuple[list[DemoOrganization], list[DemoSubscription]]:
    rng = random.Random(seed)
    orgs: list[DemoOrganization] = []
    subs: list[DemoSubscription] = []
    for i, name in enumerate(organization_names(organizations, seed), start=1):
        org = DemoOrganization(
            external_id=f"org-{i:05d}",
            name=name,
            reference=f"ORG-{100000 + i}",
            status=rng.choice(_ORG_STATUSES),
        )
        orgs.append(org)
        for j in range(rng.randint(*subscriptions_per_org)):
            product, unit_cost = rng.choice(_PRODUCTS)
            annual = rng.random() < 0.3
            quantity = 0 if rng.random() < 0.05 else rng.randint(1, 60)
            start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
            cost = (unit_cost * quantity * (12 if annual else 1)).quantize(Decimal("0.01"))
            margin = Decimal(rng.choice(["1.10", "1.15", "1.20", "1.25"]))
            subs.append(
                DemoSubscription(
                    external_id=f"sub-{i:05d}-{j + 1:02d}",
                    organization_external_id=org.external_id,
                    name=product,
                    start_date=start,
                    end_date=start + timedelta(days=365 * (3 if rng.random() < 0.1 else 1) - 1),
                    quantity=quantity,
                    billing_cycle="Annual" if annual else "Monthly",
                    term_duration=rng.choice(["1 Month", "1 Year", "3 Years"]),
                    status=rng.choice(_SUB_STATUSES),
                    cost_price=cost,
                    customer_price=(cost * margin).quantize(Decimal("0.01")),
                )
            )
    return orgs, subs


def generate_halo_clients(organizations: int = 60, seed: int = 42) -> list[DemoHaloClient]:
    """HaloPSA's customers for the same seed: most platform names, some varied, some extra."""
    rng = random.Random(seed + 1)
    clients: list[DemoHaloClient] = []
    for name in organization_names(organizations, seed):
        roll = rng.random()
        if roll < 0.15:
            continue  # a customer not (yet) in HaloPSA
        if roll < 0.35:
            prefix, _, suffix = name.rpartition(" ")
            name = f"{prefix.upper()} {_VARIATIONS.get(suffix, suffix)}"
        clients.append(DemoHaloClient(name=name, inactive=rng.random() < 0.08))
    for i in range(max(3, organizations // 10)):
        clients.append(DemoHaloClient(name=f"Internal Account {i + 1}", inactive=i % 3 == 2))
    return clients
