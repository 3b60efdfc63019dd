"""The drift check (a run of kind RECONCILE): HaloPSA's licences, read once, against the ledger.

Reads every licence of the seller's HaloPSA instance in one paged listing, all clients at
once (``HaloClient.iter_licence_pages``: ⌈licences / 100⌉ requests, not one listing per
client), and reports per licence (``drift.py`` says how one is compared):

* **edited** — a licence this integration wrote whose fields HaloPSA now holds differently
  (fields, ours → theirs), or **deactivated** by hand;
* **deleted** — a licence the ledger holds that HaloPSA no longer has. A licence the listing
  did not show is looked up before it is called deleted (a deletion elsewhere during the
  read shifts the pages and can hide a licence from them): by id, or by listing its client
  when several of that client's are missing — at most one request per such client, which is
  the "+ clients" of the lower bound ⌈licences / 100⌉ + clients;
* **foreign** — a licence under a mapped client that this integration never wrote.

It writes nothing to HaloPSA. Its requests share the instance's rate budget with the pushes
(the process's shared limiter) and give way to them: it takes a slot only while a share of the
window is still free (``GIVE_WAY_SHARE``), so a push running beside it (another seller on the
same instance) keeps that share to itself. The report replaces the seller's previous one when
the check succeeds (one transaction), and is read with ``drift_report.py``.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from gateway.db import current_connection_name
from gateway.halopsa import HaloNotFound, LicenceRecord
from gateway.models import (
    DriftFinding,
    DriftKind,
    LedgerState,
    OrganizationMapping,
    SyncedSubscription,
    SyncRun,
)
from gateway.services.sync.drift import DriftChange, classify
from gateway.services.sync.runs import Progress, now_utc

logger = logging.getLogger(__name__)

# The share of HaloPSA's rate window the drift check leaves to pushes: it reads only while a
# third of the window (100 of 300 requests) is free. A push may fill the window; the check
# waits, it is never in a hurry.
GIVE_WAY_SHARE = 1 / 3
# Findings written per INSERT.
FINDINGS_PER_INSERT = 500


def give_way_slots(limit: int) -> int:
    """Slots of a ``limit``-request window the drift check leaves free for the pushes."""
    return math.ceil(limit * GIVE_WAY_SHARE)


@dataclass(slots=True)
class _Written:
    """A licence the ledger says this integration wrote."""

    subscription_id: int
    organization_id: int
    halo_client_id: int
    # The payload HaloPSA last confirmed (None: HaloPSA never confirmed the last write, so
    # what it should hold is not known and its fields are not compared).
    ours: dict[str, Any] | None


@dataclass
class Reconcile:
    run: SyncRun
    client: Any
    progress: Progress
    written: dict[int, _Written] = field(default_factory=dict)
    # HaloPSA client id → the platform organisation mapped to it.
    mapped: dict[int, int] = field(default_factory=dict)
    client_names: dict[int, str] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    findings: list[DriftFinding] = field(default_factory=list)

    @property
    def seller_id(self) -> str:
        return self.run.seller_id

    async def load(self) -> None:
        """The ledger's licences and the mapped clients (two queries)."""
        for row in await SyncedSubscription.filter(
            seller_id=self.seller_id, halo_licence_id__isnull=False
        ).values(
            "halo_licence_id",
            "subscription_id",
            "subscription__organization_id",
            "halo_client_id",
            "state",
            "payload_hash",
            "intent_hash",
            "intent",
        ):
            confirmed = (
                row["state"] == LedgerState.WRITTEN
                and row["payload_hash"] is not None
                and row["payload_hash"] == row["intent_hash"]
            )
            self.written[row["halo_licence_id"]] = _Written(
                subscription_id=row["subscription_id"],
                organization_id=row["subscription__organization_id"],
                halo_client_id=row["halo_client_id"],
                ours=row["intent"] if confirmed else None,
            )
        for mapping in await OrganizationMapping.filter(seller_id=self.seller_id).values(
            "organization_id", "psa_organization__halo_id", "psa_organization__name"
        ):
            halo_id = mapping["psa_organization__halo_id"]
            self.mapped[halo_id] = mapping["organization_id"]
            self.client_names[halo_id] = mapping["psa_organization__name"]

    async def run_all(self) -> None:
        run = self.run
        await self.load()
        run.total = run.processed = 0
        async for page in self.client.iter_licence_pages():
            listed = page.record_count or 0
            run.total = max(run.total, listed, run.processed + len(page.licences))
            for licence in page.licences:
                self.check(licence)
            run.processed += len(page.licences)
            await self.progress.step()
        await self.check_unseen()
        run.total = max(run.total, run.processed)
        await self.save()
        await self.progress.step(force=True)

    def check(self, licence: LicenceRecord) -> None:
        self.seen.add(licence.id)
        mine = self.written.get(licence.id)
        if mine is not None:
            kind, changes = classify(mine.ours, licence)
            if kind is not None:
                self.add(kind, licence.id, licence.client_id, licence.name, mine, changes)
        elif licence.client_id in self.mapped:
            organization_id = self.mapped[licence.client_id]
            self.findings.append(
                DriftFinding(
                    seller_id=self.seller_id,
                    run_id=self.run.id,
                    kind=DriftKind.FOREIGN,
                    halo_licence_id=licence.id,
                    halo_client_id=licence.client_id,
                    licence_name=licence.name[:255],
                    subscription_id=None,
                    organization_id=organization_id,
                    changes=[],
                    found_at=now_utc(),
                )
            )

    async def check_unseen(self) -> None:
        """Licences of the ledger the listing did not show: gone, or hidden from the pages by
        a change during the read (then they are checked like the others). One GET for a
        client missing one licence, one listing of the client for several: at most one
        request per such client (a client holds far fewer than 100 licences of ours)."""
        missing: dict[int, list[int]] = defaultdict(list)
        for licence_id in sorted(set(self.written) - self.seen):
            missing[self.written[licence_id].halo_client_id].append(licence_id)
        for halo_client_id, licence_ids in missing.items():
            found: dict[int, LicenceRecord] = {}
            if len(licence_ids) == 1:
                with contextlib.suppress(HaloNotFound):  # gone: not found
                    found[licence_ids[0]] = await self.client.get_licence(licence_ids[0])
            else:
                async for licence in self.client.iter_licences(client_id=halo_client_id):
                    found[licence.id] = licence
            for licence_id in licence_ids:
                licence = found.get(licence_id)
                if licence is None:
                    mine = self.written[licence_id]
                    name = (mine.ours or {}).get("name") or ""
                    self.add(DriftKind.DELETED, licence_id, mine.halo_client_id, name, mine, [])
                else:
                    self.run.processed += 1
                    self.check(licence)

    def add(
        self,
        kind: DriftKind,
        licence_id: int,
        halo_client_id: int,
        name: str,
        mine: _Written,
        changes: list[DriftChange],
    ) -> None:
        self.findings.append(
            DriftFinding(
                seller_id=self.seller_id,
                run_id=self.run.id,
                kind=kind,
                halo_licence_id=licence_id,
                halo_client_id=halo_client_id,
                licence_name=str(name)[:255],
                subscription_id=mine.subscription_id,
                organization_id=mine.organization_id,
                changes=[c.as_json() for c in changes],
                found_at=now_utc(),
            )
        )

    async def save(self) -> None:
        """The new report replaces the old one, all at once."""
        async with in_transaction(current_connection_name()):
            await DriftFinding.filter(seller_id=self.seller_id).delete()
            for start in range(0, len(self.findings), FINDINGS_PER_INSERT):
                await DriftFinding.bulk_create(self.findings[start : start + FINDINGS_PER_INSERT])
        logger.info(
            "drift check %s: %d licences read, %d findings",
            self.run.id,
            self.run.processed,
            len(self.findings),
            extra={"licences": self.run.processed, "findings": len(self.findings)},
        )


async def reconcile(run: SyncRun, client: Any, progress: Progress) -> None:
    await Reconcile(run, client, progress).run_all()
