"""In-memory state of the HaloPSA simulator: instances, their clients, licences and faults.

One simulator serves several HaloPSA *instances* (each seller has its own HaloPSA): the
default one at the root (``/auth/token``, ``/api/…``) and named ones under ``/<name>/``.
Tests and the demo drive it through this Python API; out-of-process users through the
``/_sim/`` admin routes.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

DEFAULT_INSTANCE = "default"
# HaloPSA's hosted limit: 300 requests per rolling 5 minutes.
DEFAULT_RATE_LIMIT = (300, 300.0)
DEFAULT_TOKEN_TTL_SECONDS = 3600

# The permissions of a HaloPSA API application, as its Permissions tab names them
# (Configuration > Integrations > HaloPSA API > View Applications). "all" and "all:standard"
# grant every one of those the simulator knows.
ALL_PERMISSIONS = frozenset({"all"})
GRANTS_EVERYTHING = frozenset({"all", "all:standard"})

# What can go wrong with a licence write after (part of) it was stored:
#   reset    the records are stored, then the connection is closed without an answer
#   timeout  the records are stored, then the answer hangs (the client times out)
#   500/502/504  the records are stored, then a gateway/server error is answered
#   late     the answer hangs and the records appear a few seconds later (late commit)
#   partial  the first half of the array is stored, then 400 names a record of the rest
WRITE_FAULTS = ("reset", "timeout", "500", "502", "504", "late", "partial")


@dataclass
class Faults:
    """What goes wrong, set per instance at run time."""

    latency_ms: float = 0.0
    rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT
    error_rate: float = 0.0  # fraction of API requests answered 500/503
    error_statuses: tuple[int, ...] = (500, 503)
    drop_rate: float = 0.0  # fraction of API requests whose connection is dropped
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS
    reject_names: set[str] = field(default_factory=set)  # licences always rejected (400)
    revoked: bool = False  # credentials revoked: tokens refused, API answers 401
    fail_next: list[int] = field(default_factory=list)  # exact statuses for the next requests
    stall_next: list[float] = field(default_factory=list)  # seconds the next requests hang
    # API requests wait while this is set: a test holds a run mid-way until it has seen what
    # a run in progress shows, however busy the machine (a latency only makes that likely).
    hold: bool = False
    # Faults of licence writes (POST /SoftwareLicence) that happen *after* HaloPSA stored the
    # records, or part of them, so the caller cannot know what happened (WRITE_FAULTS):
    write_faults: dict[int, str] = field(default_factory=dict)  # Nth write (1-based) → fault
    write_fault_rate: float = 0.0  # fraction of writes that get one of write_fault_kinds
    write_fault_kinds: tuple[str, ...] = ("reset", "timeout", "502")
    # How long a "timeout" answer hangs: longer than any client timeout the tests use.
    lost_answer_stall_seconds: float = 30.0
    # "late": the answer hangs this long and is then a 504, while the records appear in the
    # data `late_commit_seconds` after the request arrived (a HaloPSA that commits late).
    late_answer_seconds: float = 30.0
    late_commit_seconds: float = 2.0
    # Another integration on the same instance: once this many licences were created here, it
    # keeps the rate-limit window full for this many seconds (429s then last that long plus a
    # window, as its requests age out). Decided on the request itself, so a test's spell of
    # 429s starts at an exact point of a run however busy the machine is.
    busy_after_creates: tuple[int, float] | None = None
    seed: int = 7

    def rng(self) -> random.Random:
        return random.Random(self.seed)


@dataclass
class Instance:
    name: str
    client_id: str
    client_secret: str
    tenant: str | None = None
    clients: dict[int, dict[str, Any]] = field(default_factory=dict)
    licences: dict[int, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    # What the API application may do; tokens carry it as their ``scope`` and every API
    # request needing another permission is answered 403.
    permissions: frozenset[str] = ALL_PERMISSIONS
    next_client_id: int = 1
    next_licence_id: int = 1
    writes: int = 0  # licence POSTs received, for Faults.write_faults
    busy_since: float | None = None  # when Faults.busy_after_creates's integration started
    requests: deque[float] = field(default_factory=deque)
    counters: dict[str, int] = field(default_factory=dict)
    _rng: random.Random = field(default_factory=lambda: random.Random(7))

    def count(self, what: str, n: int = 1) -> None:
        self.counters[what] = self.counters.get(what, 0) + n

    def add_client(self, name: str, *, inactive: bool = False, **extra: Any) -> dict[str, Any]:
        client = {
            "id": self.next_client_id,
            "name": name,
            "inactive": inactive,
            "toplevel_id": 1,
            "toplevel_name": "Customers",
            "ref": extra.pop("ref", f"C{self.next_client_id:05d}"),
            "datecreated": "2026-01-01T00:00:00",
            **extra,
        }
        self.clients[client["id"]] = client
        self.next_client_id += 1
        return client

    def add_licence(self, client_id: int, name: str, **fields: Any) -> dict[str, Any]:
        """A licence entered by hand in HaloPSA (not through the API: no request counted)."""
        licence = {
            "id": self.next_licence_id,
            "client_id": client_id,
            "name": name,
            "count": 1,
            "start_date": None,
            "end_date": None,
            "billing_cycle": "Monthly",
            "term_duration": "1 Year",
            "status": "ACTIVE",
            "is_active": True,
            "purchase_price": 0.0,
            "price": 0.0,
            **fields,
        }
        self.licences[licence["id"]] = licence
        self.next_licence_id += 1
        return licence

    def licences_of(self, client_id: int) -> list[dict[str, Any]]:
        return [lic for lic in self.licences.values() if lic["client_id"] == client_id]

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.faults.token_ttl_seconds
        return token

    def token_valid(self, token: str) -> bool:
        expires = self.tokens.get(token)
        return expires is not None and time.monotonic() < expires and not self.faults.revoked

    def set_faults(self, **changes: Any) -> None:
        for key, value in changes.items():
            if not hasattr(self.faults, key):
                raise ValueError(f"unknown fault {key!r}")
            if key == "reject_names":
                value = set(value)
            if key == "rate_limit" and value is not None:
                value = (int(value[0]), float(value[1]))
            if key == "busy_after_creates":
                self.busy_since = None
                value = None if value is None else (int(value[0]), float(value[1]))
            if key in ("error_statuses", "write_fault_kinds"):
                value = tuple(str(v) if key == "write_fault_kinds" else v for v in value)
            if key == "write_faults":
                value = {int(n): str(kind) for n, kind in dict(value).items()}
            if key in ("write_faults", "write_fault_kinds"):
                kinds = value.values() if isinstance(value, dict) else value
                unknown = [k for k in kinds if k not in WRITE_FAULTS]
                if unknown:
                    raise ValueError(f"unknown write fault {unknown[0]!r}")
            setattr(self.faults, key, value)
        if "seed" in changes:
            self._rng = random.Random(self.faults.seed)

    def set_permissions(self, permissions: list[str] | set[str] | frozenset[str]) -> None:
        self.permissions = frozenset(p.strip().lower() for p in permissions)

    def allows(self, permission: str) -> bool:
        return bool(self.permissions & GRANTS_EVERYTHING) or permission in self.permissions

    def roll(self) -> float:
        return self._rng.random()

    def next_write_fault(self) -> str | None:
        """The fault for the licence POST arriving now, if any (counts the write)."""
        self.writes += 1
        fault = self.faults.write_faults.pop(self.writes, None)
        kinds = self.faults.write_fault_kinds
        if fault is None and kinds and self.faults.write_fault_rate:
            hit = self.roll() < self.faults.write_fault_rate
            fault = kinds[int(self.roll() * len(kinds))] if hit else None
        return fault

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "clients": list(self.clients.values()),
            "licences": list(self.licences.values()),
            "counters": dict(self.counters),
        }


class SimulatorState:
    def __init__(self) -> None:
        self.instances: dict[str, Instance] = {}
        self.lock = threading.Lock()

    def add_instance(
        self,
        name: str = DEFAULT_INSTANCE,
        *,
        client_id: str = "halo-client",
        client_secret: str = "halo-secret",
        tenant: str | None = None,
    ) -> Instance:
        instance = Instance(
            name=name, client_id=client_id, client_secret=client_secret, tenant=tenant
        )
        self.instances[name.lower()] = instance
        return instance

    def instance(self, name: str = DEFAULT_INSTANCE) -> Instance:
        return self.instances[name.lower()]

    def reset(self) -> None:
        self.instances.clear()

    def seed_clients(
        self,
        instance: str,
        names: list[str] | int,
        *,
        inactive_ratio: float = 0.0,
        seed: int = 1,
    ) -> list[dict[str, Any]]:
        inst = self.instance(instance)
        rng = random.Random(seed)
        if isinstance(names, int):
            names = [f"Customer {i:05d}" for i in range(1, names + 1)]
        return [inst.add_client(n, inactive=rng.random() < inactive_ratio) for n in names]
