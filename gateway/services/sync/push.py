"""Subscriptions out: the ledger's intents, POST batches, adoption on resume.

Runs daily at 18:00 UTC and on demand (all organisations or one).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from gateway.db import current_connection_name
from gateway.models import (
    LedgerState,
    LogLevel,
    OrganizationMapping,
    Subscription,
    SyncedSubscription,
    SyncRun,
    SyncScope,
)
from gateway.services import logs as product_log
from gateway.services.sync.licences import (
    licence_matches,
    licence_payload,
    payload_hash,
    to_licence_write,
)
from gateway.services.sync.runs import CannotContinue, Progress, now_utc

logger = logging.getLogger(__name__)


# long way, small enough that a rejected batch is cheap to bisect.
WRITE_BATCH_SIZE = 50
# Organisations whose subscriptions and ledger rows are read together: far fewer queries than
# one pair per organisation, and bounded memory for a seller with thousands of them.
ORGANIZATIONS_PER_READ = 50
# Progress events: at most one per this many seconds (and always at the end).


# What HaloPSA's answer changes on a ledger row.
_WRITTEN_FIELDS = ["halo_licence_id", "state", "payload_hash", "written_at", "updated_at"]


@dataclass
class PendingWrite:
    subscription: Subscription
    ledger: SyncedSubscription
    payload: dict[str, Any]
    hash: str
    create: bool


@dataclass
class SubscriptionsPush:
    run: SyncRun
    client: Any
    progress: Progress
    unit_prices: bool
    batch: list[PendingWrite] = field(default_factory=list)

    @property
    def seller_id(self) -> str:
        return self.run.seller_id  # type: ignore[attr-defined]

    async def targets(self) -> list[OrganizationMapping]:
        query = OrganizationMapping.filter(
            seller_id=self.seller_id, psa_organization__present=True
        ).select_related("organization", "psa_organization")
        if self.run.scope is SyncScope.ORGANIZATION:
            query = query.filter(organization_id=self.run.organization_id)  # type: ignore[attr-defined]
        return await query.order_by("organization_id")

    async def run_all(self) -> None:
        mappings = await self.targets()
        if self.run.scope is SyncScope.ORGANIZATION and not mappings:
            raise CannotContinue("This organization is no longer mapped to a HaloPSA organization.")
        org_ids = [m.organization_id for m in mappings]  # type: ignore[attr-defined]
        self.run.total = (
            await Subscription.filter(organization_id__in=org_ids).count() if org_ids else 0
        )
        for start in range(0, len(mappings), ORGANIZATIONS_PER_READ):
            await self.push_organizations(mappings[start : start + ORGANIZATIONS_PER_READ])
        await self.flush()
        await self.progress.step(force=True)

    async def push_organizations(self, mappings: list[OrganizationMapping]) -> None:
        """Push the subscriptions of a few organisations, read with one query each for
        subscriptions and ledger rows (not two queries per organisation)."""
        org_ids = [m.organization_id for m in mappings]  # type: ignore[attr-defined]
        subs_by_org: dict[int, list[Subscription]] = defaultdict(list)
        for sub in await Subscription.filter(organization_id__in=org_ids).order_by("id"):
            subs_by_org[sub.organization_id].append(sub)  # type: ignore[attr-defined]
        ledger_rows = {
            (row.subscription_id, row.halo_client_id): row  # type: ignore[attr-defined]
            for row in await SyncedSubscription.filter(subscription__organization_id__in=org_ids)
        }
        for mapping in mappings:
            halo_client_id = mapping.psa_organization.halo_id
            subs = subs_by_org.get(mapping.organization_id, [])  # type: ignore[attr-defined]
            # Only the rows of the *current* HaloPSA client: after a remap, licences in the
            # old client stay there and new ones are created in the new client.
            ledger = {
                sub.id: ledger_rows[(sub.id, halo_client_id)]
                for sub in subs
                if (sub.id, halo_client_id) in ledger_rows
            }
            if any(row.state is LedgerState.PENDING for row in ledger.values()):
                await self.adopt_pending(halo_client_id, ledger)
            for sub in subs:
                await self.push_one(sub, mapping, halo_client_id, ledger.get(sub.id))

    async def adopt_pending(
        self, halo_client_id: int, ledger: dict[int, SyncedSubscription]
    ) -> None:
        """Resume after a crash: adopt licences HaloPSA created for our recorded intents."""
        pending = [
            row for row in ledger.values() if row.state is LedgerState.PENDING and row.intent
        ]
        if not pending:
            return
        owned = set(
            await SyncedSubscription.filter(
                halo_client_id=halo_client_id, halo_licence_id__isnull=False
            ).values_list("halo_licence_id", flat=True)
        )
        candidates = [lic async for lic in self.client.iter_licences(client_id=halo_client_id)]
        for row in pending:
            for licence in candidates:
                if licence.id in owned:
                    continue
                if licence_matches(licence, row.intent):  # type: ignore[arg-type]
                    owned.add(licence.id)
                    row.halo_licence_id = licence.id
                    row.state = LedgerState.WRITTEN
                    row.payload_hash = row.intent_hash
                    row.written_at = now_utc()
                    await row.save()
                    logger.info(
                        "run %s adopted licence %s for subscription %s",
                        self.run.id,
                        licence.id,
                        row.subscription_id,  # type: ignore[attr-defined]
                    )
                    break

    async def push_one(
        self,
        sub: Subscription,
        mapping: OrganizationMapping,
        halo_client_id: int,
        row: SyncedSubscription | None,
    ) -> None:
        if sub.deleted_at is not None and (row is None or row.halo_licence_id is None):
            # Gone before it ever reached HaloPSA: nothing to tell HaloPSA.
            self.run.processed += 1
            self.run.unchanged += 1
            return
        if sub.quantity == 0 and sub.deleted_at is None:
            self.run.processed += 1
            self.run.skipped += 1
            await product_log.record(
                self.seller_id,
                LogLevel.WARNING,
                "Subscription skipped",
                f"Subscription '{sub.name}' ({sub.external_id}) of organization "
                f"'{mapping.organization.name}' was not sent to HaloPSA "
                "because its Quantity is zero.",
                run_id=self.run.id,
            )
            await self.progress.step()
            return
        payload = licence_payload(sub, halo_client_id, self.unit_prices)
        digest = payload_hash(payload)
        if row is not None and row.state is LedgerState.WRITTEN and row.payload_hash == digest:
            self.run.processed += 1
            self.run.unchanged += 1
            await self.progress.step()
            return
        if row is None:
            row = SyncedSubscription(
                seller_id=self.seller_id,
                subscription_id=sub.id,
                halo_client_id=halo_client_id,
                state=LedgerState.PENDING,
            )
        create = row.halo_licence_id is None
        row.intent = payload
        row.intent_hash = digest
        row.last_run_id = self.run.id
        self.batch.append(PendingWrite(sub, row, payload, digest, create))
        if len(self.batch) >= WRITE_BATCH_SIZE:
            await self.flush()

    async def flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        # Intent first: if the worker dies after HaloPSA answers, the resumed run finds these.
        # One transaction per batch: one commit instead of fifty.
        async with in_transaction(current_connection_name()):
            for item in batch:
                await item.ledger.save()
        writes = [
            to_licence_write(item.payload, None if item.create else item.ledger.halo_licence_id)
            for item in batch
        ]
        outcomes = await self.client.write_licences(writes)
        written_at = now_utc()
        written: list[SyncedSubscription] = []
        async with in_transaction(current_connection_name()):
            for item, outcome in zip(batch, outcomes, strict=True):
                self.run.processed += 1
                if outcome.error is not None:
                    self.run.failed += 1
                    await product_log.record(
                        self.seller_id,
                        LogLevel.ERROR,
                        "Subscription not synced",
                        f"HaloPSA rejected subscription '{item.subscription.name}' "
                        f"({item.subscription.external_id}): {outcome.error.message}",
                        run_id=self.run.id,
                    )
                    continue
                item.ledger.halo_licence_id = outcome.licence_id
                item.ledger.state = LedgerState.WRITTEN
                item.ledger.payload_hash = item.hash
                item.ledger.written_at = written_at
                item.ledger.updated_at = written_at
                written.append(item.ledger)
                if item.create:
                    self.run.created += 1
                else:
                    self.run.updated += 1
            if written:  # one UPDATE for the batch, not one per licence
                await SyncedSubscription.bulk_update(written, fields=_WRITTEN_FIELDS)
        await self.progress.step()


async def sync_subscriptions(run: SyncRun, client: Any, progress: Progress) -> None:
    push = SubscriptionsPush(run, client, progress, unit_prices=bool(run.sync_unit_prices))
    await push.run_all()
