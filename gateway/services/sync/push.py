"""Subscriptions out: the ledger's intents, POST batches, read-back and adoption.

Runs daily at 18:00 UTC and on demand (all organisations or one). Exactly once rests on
three things (README "Exactly once"):

1. **Intents.** Before a POST, each licence it will create or update is recorded in the ledger
   (``SyncedSubscription``: payload, hash, and for a create the *mark*, the highest licence id
   seen so far); after HaloPSA answers, the licence id.
2. **No blind resend.** A create whose answer is lost (timeout, reset, 500/502/504) or an
   array refused with 400 (HaloPSA may have stored the records before the bad one) is never
   sent again as it was: the client's licences are first read back, in full, after waiting
   at least the request timeout (HaloPSA may commit late).
3. **Adoption.** A licence read back that is newer than the intent's mark, owned by no ledger
   row of this seller, and holds exactly what the intent was about to send is taken as the
   one that create made — one licence per intent, never more. Only what is still missing is
   sent again. A resumed run (its worker died mid-POST) goes through the same adoption first,
   after the same wait (counted from when its newest pending intent was saved).

Before anything is written, two checks (README "Know before money moves"):

* the **safety valve** (``valve.py``) judges the run's plan — the preview's — and holds a
  run that would cut too much (``NeedsApproval``); a resumed attempt of a run whose plan
  passed does not ask again;
* **day one** (``existing.py``): a client this integration never wrote to is read once; if it
  holds licences we did not write, its organisation's subscriptions are skipped (one WARNING
  per organisation and run) until the seller has reviewed them.

Counts are the run's, not the attempt's: each subscription's ledger row is stamped with the
run and what it did (``run_outcome``), and a resumed attempt skips rows its run already
stamped, so created + updated + unchanged + skipped + failed = processed ≤ total.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from gateway.db import current_connection_name
from gateway.halopsa import (
    HaloIncompleteRead,
    HaloOutcomeUnknown,
    HaloRecordRejected,
    LicenceRecord,
)
from gateway.models import (
    LedgerState,
    LogLevel,
    OrganizationMapping,
    RunOutcome,
    Seller,
    Subscription,
    SyncedSubscription,
    SyncRun,
    SyncScope,
)
from gateway.services import logs as product_log
from gateway.services.sync import approvals, existing, journal, valve
from gateway.services.sync.licences import licence_matches, to_licence_write
from gateway.services.sync.plan import Reason, plan_subscription
from gateway.services.sync.preview import preview_sync
from gateway.services.sync.runs import CannotContinue, NeedsApproval, Progress, now_utc

logger = logging.getLogger(__name__)

# Records written per POST array: big enough to make the 300-calls-per-5-minutes budget go a
# long way, small enough that a rejected batch is cheap to bisect.
WRITE_BATCH_SIZE = 50
# Organisations whose subscriptions and ledger rows are read together: far fewer queries than
# one pair per organisation, and bounded memory for a seller with thousands of them.
ORGANIZATIONS_PER_READ = 50
# A read-back that HaloPSA keeps changing under us is tried this many times before the run
# stops (having sent nothing twice); each try waits the read-back delay first.
READBACK_TRIES = 3
# Lost answers in a row for the same records before the run gives up on HaloPSA for now.
MAX_RESENDS = 5

# What HaloPSA's answer changes on a ledger row.
_WRITTEN_FIELDS = [
    "halo_licence_id",
    "state",
    "payload_hash",
    "written_at",
    "updated_at",
    "last_run_id",
    "run_outcome",
]
_COUNT_FIELD = {
    RunOutcome.CREATED: "created",
    RunOutcome.UPDATED: "updated",
    RunOutcome.UNCHANGED: "unchanged",
    RunOutcome.SKIPPED: "skipped",
    RunOutcome.FAILED: "failed",
}


async def run_counts(run_id: int) -> dict[RunOutcome, int]:
    """What a run did, from the ledger rows it stamped (the counts a seller sees)."""
    rows = (
        await SyncedSubscription.filter(last_run_id=run_id, run_outcome__isnull=False)
        .annotate(n=Count("id"))
        .group_by("run_outcome")
        .values_list("run_outcome", "n")
    )
    return {RunOutcome(outcome): int(n) for outcome, n in rows}


async def load_run_counts(run: SyncRun) -> None:
    """Set the run's counts (and processed) from its ledger rows."""
    counts = await run_counts(run.id)
    for outcome, name in _COUNT_FIELD.items():
        setattr(run, name, counts.get(outcome, 0))
    run.processed = sum(counts.values())


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
    # The highest licence id seen in this attempt (HaloPSA numbers licences in order): taken
    # once before the first create, then raised by every id HaloPSA gives back.
    mark: int | None = None
    # Ledger rows whose outcome is settled without a write, stamped in one UPDATE per outcome.
    settled: dict[RunOutcome, list[int]] = field(default_factory=lambda: defaultdict(list))
    # Day one: HaloPSA clients whose organisation's push waits for the seller's review.
    waiting: dict[int, existing.Waiting] = field(default_factory=dict)

    @property
    def seller_id(self) -> str:
        return self.run.seller_id

    @property
    def readback_delay(self) -> float:
        settings = self.progress.deps.settings
        return max(settings.halo_readback_delay_seconds, settings.halo_timeout_seconds)

    async def targets(self) -> list[OrganizationMapping]:
        query = OrganizationMapping.filter(
            seller_id=self.seller_id, psa_organization__present=True
        ).select_related("organization", "psa_organization")
        if self.run.scope is SyncScope.ORGANIZATION:
            query = query.filter(organization_id=self.run.organization_id)
        return await query.order_by("organization_id")

    async def run_all(self) -> None:
        mappings = await self.targets()
        if self.run.scope is SyncScope.ORGANIZATION and not mappings:
            raise CannotContinue(journal.ORGANIZATION_NO_LONGER_MAPPED)
        org_ids = [m.organization_id for m in mappings]
        self.run.total = (
            await Subscription.filter(organization_id__in=org_ids).count() if org_ids else 0
        )
        # Pages learn the total now, before the checks and the first HaloPSA answer (seconds
        # on a slow HaloPSA).
        await self.progress.step(force=True)
        await self.safety_valve()
        self.waiting = await existing.clients_waiting(
            self.seller_id, mappings, self.client, self.run.id
        )
        await load_run_counts(self.run)  # a resumed attempt starts from what its run already did
        for start in range(0, len(mappings), ORGANIZATIONS_PER_READ):
            await self.push_organizations(mappings[start : start + ORGANIZATIONS_PER_READ])
        await self.flush()
        await self.stamp_settled()
        await load_run_counts(self.run)
        await self.progress.step(force=True)

    async def safety_valve(self) -> None:
        """Hold the run (``NeedsApproval``) if its plan cuts more than the seller allows,
        unless the seller approved exactly this plan; once passed, a resumed attempt of the
        run goes on without asking again."""
        run = self.run
        if run.valve_passed_at is not None:
            return
        seller = await Seller.get(id=self.seller_id)
        settings = valve.ValveSettings(
            seller.valve_enabled, seller.valve_max_drop_percent, seller.valve_max_deactivations
        )
        scope = run.organization_id if run.scope is SyncScope.ORGANIZATION else None
        plan = await preview_sync(self.seller_id, unit_prices=self.unit_prices)
        verdict = valve.check(plan, scope, settings)
        if verdict.tripped and verdict.plan_hash != run.approved_hash:
            raise NeedsApproval(verdict)
        run.plan_hash, run.valve_passed_at = verdict.plan_hash, now_utc()
        await SyncRun.filter(id=run.id).update(
            plan_hash=run.plan_hash, valve_passed_at=run.valve_passed_at
        )
        await approvals.supersede(self.progress.deps, run)

    def count(self, outcome: RunOutcome) -> None:
        name = _COUNT_FIELD[outcome]
        setattr(self.run, name, getattr(self.run, name) + 1)
        self.run.processed += 1

    async def push_organizations(self, mappings: list[OrganizationMapping]) -> None:
        """Push the subscriptions of a few organisations, read with one query each for
        subscriptions and ledger rows (not two queries per organisation)."""
        org_ids = [m.organization_id for m in mappings]
        subs_by_org: dict[int, list[Subscription]] = defaultdict(list)
        for sub in await Subscription.filter(organization_id__in=org_ids).order_by("id"):
            subs_by_org[sub.organization_id].append(sub)
        ledger_rows = {
            (row.subscription_id, row.halo_client_id): row
            for row in await SyncedSubscription.filter(
                seller_id=self.seller_id, subscription__organization_id__in=org_ids
            )
        }
        for mapping in mappings:
            halo_client_id = mapping.psa_organization.halo_id
            subs = subs_by_org.get(mapping.organization_id, [])
            # Only the rows of the *current* HaloPSA client: after a remap, licences in the
            # old client stay there and new ones are created in the new client.
            ledger = {
                sub.id: ledger_rows[(sub.id, halo_client_id)]
                for sub in subs
                if (sub.id, halo_client_id) in ledger_rows
            }
            if halo_client_id in self.waiting:
                await self.wait_for_review(mapping, subs, ledger)
                continue
            pending = [
                row
                for row in ledger.values()
                if row.state is LedgerState.PENDING and row.intent and not self.counted(row)
            ]
            if pending:
                # A worker died between sending these and recording HaloPSA's answer.
                await self.await_late_commits(pending)
                await self.adopt(halo_client_id, pending, wait=False)
            for sub in subs:
                await self.push_one(sub, mapping, halo_client_id, ledger.get(sub.id))
        await self.stamp_settled()

    async def wait_for_review(
        self,
        mapping: OrganizationMapping,
        subs: list[Subscription],
        ledger: dict[int, SyncedSubscription],
    ) -> None:
        """Day one: the client held licences we did not write. Skip the organisation's
        subscriptions (the preview's ``EXISTING_LICENCES_TO_REVIEW``) and say so once."""
        todo = [sub for sub in subs if not self.counted(ledger.get(sub.id))]
        if not todo:
            return  # an earlier attempt of this run did it
        waiting = self.waiting[mapping.psa_organization.halo_id]
        await product_log.record(
            self.seller_id,
            LogLevel.WARNING,
            journal.EXISTING_LICENCES_TO_REVIEW,
            journal.existing_licences_waiting(
                mapping.organization.name,
                mapping.organization.external_id,
                mapping.psa_organization.name,
                waiting.halo_client_id,
                waiting.undecided,
            ),
            run_id=self.run.id,
        )
        for sub in todo:
            await self.settle(sub, waiting.halo_client_id, ledger.get(sub.id), RunOutcome.SKIPPED)
            await self.progress.step()

    async def await_late_commits(self, pending: list[SyncedSubscription]) -> None:
        """Read a dead worker's writes back no sooner than a lost answer's would be.

        The POST may have gone out just before the worker died, and HaloPSA may commit it
        up to the request timeout plus the read-back delay later. A message is redelivered
        after the broker's heartbeat timeout (30 s), sooner than that (20 s + 20 s): read
        now and the batch would be sent again, then committed twice. The intent was saved
        just before the POST (``updated_at``), so wait until that much time has passed
        since; an intent of an older attempt costs no wait.
        """
        newest = max(row.updated_at for row in pending)
        settles = self.progress.deps.settings.halo_timeout_seconds + self.readback_delay
        wait = (newest - now_utc()).total_seconds() + settles
        if wait > 0:
            logger.info(
                "run %s: waiting %.1fs before reading back %d licence(s) a stopped attempt "
                "may have sent (HaloPSA may still commit them)",
                self.run.id,
                wait,
                len(pending),
            )
            await asyncio.sleep(wait)

    def counted(self, row: SyncedSubscription | None) -> bool:
        """Did an earlier attempt of this run already count this row?"""
        return row is not None and row.last_run_id == self.run.id and row.run_outcome is not None

    async def push_one(
        self,
        sub: Subscription,
        mapping: OrganizationMapping,
        halo_client_id: int,
        row: SyncedSubscription | None,
    ) -> None:
        if self.counted(row):
            return
        # The decision is plan.py's (the preview makes the same one); acting on it is ours.
        decision = plan_subscription(sub, row, halo_client_id, self.unit_prices)
        if not decision.writes:
            await self.settle(sub, halo_client_id, row, decision.outcome)
            if decision.reason is Reason.QUANTITY_ZERO:
                await product_log.record(
                    self.seller_id,
                    LogLevel.WARNING,
                    journal.SUBSCRIPTION_SKIPPED,
                    journal.subscription_skipped(
                        sub.name,
                        sub.external_id,
                        mapping.organization.name,
                        mapping.organization.external_id,
                    ),
                    run_id=self.run.id,
                )
            if decision.reason is not Reason.DELETED_BEFORE_SENT:
                await self.progress.step()
            return
        payload, digest = decision.sent
        if row is None:
            row = SyncedSubscription(
                seller_id=self.seller_id,
                subscription_id=sub.id,
                halo_client_id=halo_client_id,
                state=LedgerState.PENDING,
            )
        if decision.reason is Reason.QUANTITY_ZERO_IN_HALO:
            # Already in HaloPSA: leaving the old count would go on billing the customer.
            await product_log.record(
                self.seller_id,
                LogLevel.WARNING,
                journal.SUBSCRIPTION_QUANTITY_ZERO,
                journal.subscription_quantity_zero(
                    sub.name,
                    sub.external_id,
                    mapping.organization.name,
                    mapping.organization.external_id,
                    row.halo_licence_id,
                ),
                run_id=self.run.id,
            )
        create = row.halo_licence_id is None
        if create:
            row.state = LedgerState.PENDING
        row.intent = payload
        row.intent_hash = digest
        row.last_run_id = self.run.id
        row.run_outcome = None
        self.batch.append(PendingWrite(sub, row, payload, digest, create))
        if len(self.batch) >= WRITE_BATCH_SIZE:
            await self.flush()

    async def settle(
        self,
        sub: Subscription,
        halo_client_id: int,
        row: SyncedSubscription | None,
        outcome: RunOutcome,
    ) -> None:
        """Record an outcome that needed no write (a row is made for a never-sent one)."""
        self.count(outcome)
        if row is not None:
            self.settled[outcome].append(row.id)
            return
        await SyncedSubscription.create(
            seller_id=self.seller_id,
            subscription_id=sub.id,
            halo_client_id=halo_client_id,
            state=LedgerState.NOT_SENT,
            last_run_id=self.run.id,
            run_outcome=outcome,
        )

    async def stamp_settled(self) -> None:
        settled, self.settled = self.settled, defaultdict(list)
        for outcome, ids in settled.items():
            await SyncedSubscription.filter(id__in=ids).update(
                last_run_id=self.run.id, run_outcome=outcome
            )

    # --- writing ----------------------------------------------------------------------

    async def flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        if any(item.create for item in batch) and self.mark is None:
            self.mark = await self.client.highest_licence_id()
        for item in batch:
            if item.create:
                item.ledger.intent_mark = self.mark
        # Intent first: if the worker dies after HaloPSA answers, the resumed run finds these.
        # One transaction per batch: one commit instead of fifty.
        async with in_transaction(current_connection_name()):
            for item in batch:
                await item.ledger.save()
        await self.send(batch)
        await self.progress.step()

    async def send(self, items: list[PendingWrite], resends: int = 0) -> None:
        """POST ``items``; on a lost answer or a refused array, read back before resending."""
        writes = [
            to_licence_write(item.payload, None if item.create else item.ledger.halo_licence_id)
            for item in items
        ]
        try:
            ids = await self.client.post_licences(writes)
        except HaloOutcomeUnknown as exc:
            if resends >= MAX_RESENDS:
                raise
            logger.warning(
                "run %s: HaloPSA's answer to %d licence(s) was lost (%s); reading back "
                "before sending anything again",
                self.run.id,
                len(items),
                exc.cause,
            )
            missing = await self.reconcile(items, wait=True)
            if missing:
                await self.send(missing, resends + 1)
            return
        except HaloRecordRejected as exc:
            await self.rejected(items, exc, resends)
            return
        await self.record_written(list(zip(items, ids, strict=True)))

    async def rejected(
        self, items: list[PendingWrite], exc: HaloRecordRejected, resends: int
    ) -> None:
        if any(item.create for item in items):
            # HaloPSA may have stored the records before the one it refused. It answered,
            # so whatever it stored is there now: no need to wait for a late commit.
            missing = await self.reconcile(items, wait=False)
            if len(missing) < len(items):
                if missing:
                    await self.send(missing, resends)
                return
        if len(items) == 1:
            await self.record_failed(items[0], exc)
            return
        # Bisect: one bad record must not fail the forty-nine good ones.
        middle = len(items) // 2
        await self.send(items[:middle], resends)
        await self.send(items[middle:], resends)

    async def reconcile(self, items: list[PendingWrite], *, wait: bool) -> list[PendingWrite]:
        """Adopt what HaloPSA stored of ``items``; return the ones still to send.

        ``wait``: the answer was lost, so HaloPSA may still be committing; read after the
        read-back delay (at least the request timeout).
        """
        by_client: dict[int, list[SyncedSubscription]] = defaultdict(list)
        for item in items:
            if item.create:
                by_client[item.ledger.halo_client_id].append(item.ledger)
        adopted: set[int] = set()
        if wait and by_client:
            await asyncio.sleep(self.readback_delay)
        for halo_client_id, rows in by_client.items():
            adopted |= await self.adopt(halo_client_id, rows, wait=wait)
        return [item for item in items if id(item.ledger) not in adopted]

    async def adopt(
        self, halo_client_id: int, rows: list[SyncedSubscription], *, wait: bool
    ) -> set[int]:
        """Match intents to licences HaloPSA holds; returns ``id()`` of the rows adopted.

        A candidate is newer than the intent's mark, owned by no ledger row of this seller
        for this client, and holds exactly the intent's payload. Each licence is adopted
        once, so never more licences than intents.
        """
        licences = await self.read_back(halo_client_id, wait=wait)
        owned = set(
            cast(
                list[int],
                await SyncedSubscription.filter(
                    seller_id=self.seller_id,
                    halo_client_id=halo_client_id,
                    halo_licence_id__isnull=False,
                ).values_list("halo_licence_id", flat=True),
            )
        )
        adopted: list[tuple[SyncedSubscription, int]] = []
        for row in rows:
            intent = row.intent
            if intent is None:
                continue  # not reached: an intent is written before its create is sent
            mark = row.intent_mark or 0
            for licence in licences:
                if licence.id in owned or licence.id <= mark:
                    continue
                if licence_matches(licence, intent):
                    owned.add(licence.id)
                    adopted.append((row, licence.id))
                    logger.info(
                        "run %s adopted licence %s for subscription %s",
                        self.run.id,
                        licence.id,
                        row.subscription_id,
                    )
                    break
        if adopted:
            await self.record_adopted(adopted)
        return {id(row) for row, _ in adopted}

    async def read_back(self, halo_client_id: int, *, wait: bool) -> list[LicenceRecord]:
        for attempt in range(READBACK_TRIES):
            try:
                licences: list[LicenceRecord] = await self.client.read_licences(
                    client_id=halo_client_id
                )
                return licences
            except HaloIncompleteRead as exc:
                logger.warning(
                    "run %s: read-back of HaloPSA client %s incomplete (%s), try %d of %d",
                    self.run.id,
                    halo_client_id,
                    exc.message,
                    attempt + 1,
                    READBACK_TRIES,
                )
                if attempt + 1 < READBACK_TRIES:
                    await asyncio.sleep(self.readback_delay if wait else 1.0)
        raise CannotContinue(journal.READBACK_INCOMPLETE)

    # --- recording HaloPSA's answers ---------------------------------------------------

    async def record_written(self, written: list[tuple[PendingWrite, int]]) -> None:
        now = now_utc()
        rows = []
        for item, licence_id in written:
            self._mark_written(item.ledger, licence_id, item.hash, now)
            item.ledger.run_outcome = RunOutcome.CREATED if item.create else RunOutcome.UPDATED
            self.count(item.ledger.run_outcome)
            rows.append(item.ledger)
        async with in_transaction(current_connection_name()):
            # one UPDATE for the batch, not one per licence
            await SyncedSubscription.bulk_update(rows, fields=_WRITTEN_FIELDS)

    async def record_adopted(self, adopted: list[tuple[SyncedSubscription, int]]) -> None:
        now = now_utc()
        for row, licence_id in adopted:
            self._mark_written(row, licence_id, row.intent_hash, now)
            # Made by this run (an earlier attempt, or a lost answer): created. An intent
            # left by an earlier run that died: that run is over, this one found it in place.
            made_here = row.last_run_id == self.run.id
            row.last_run_id = self.run.id
            row.run_outcome = RunOutcome.CREATED if made_here else RunOutcome.UNCHANGED
            self.count(row.run_outcome)
        await SyncedSubscription.bulk_update([row for row, _ in adopted], fields=_WRITTEN_FIELDS)

    def _mark_written(
        self, row: SyncedSubscription, licence_id: int, digest: str | None, now: Any
    ) -> None:
        row.halo_licence_id = licence_id
        row.state = LedgerState.WRITTEN
        row.payload_hash = digest
        row.written_at = now
        row.updated_at = now
        self.mark = max(self.mark or 0, licence_id)

    async def record_failed(self, item: PendingWrite, exc: HaloRecordRejected) -> None:
        fields = ["run_outcome", "last_run_id"]
        if item.create:
            # HaloPSA answered and the read-back found nothing: no licence can come of this
            # create, so it is no intent for the next run to wait 40 s on and read back.
            item.ledger.intent = item.ledger.intent_hash = item.ledger.intent_mark = None
            fields += ["intent", "intent_hash", "intent_mark"]
        item.ledger.run_outcome = RunOutcome.FAILED
        item.ledger.last_run_id = self.run.id
        await item.ledger.save(update_fields=fields)
        self.count(RunOutcome.FAILED)
        await product_log.record(
            self.seller_id,
            LogLevel.ERROR,
            journal.SUBSCRIPTION_NOT_SYNCED,
            journal.subscription_rejected(
                item.subscription.name, item.subscription.external_id, exc.message
            ),
            run_id=self.run.id,
        )


async def sync_subscriptions(run: SyncRun, client: Any, progress: Progress) -> None:
    push = SubscriptionsPush(run, client, progress, unit_prices=bool(run.sync_unit_prices))
    await push.run_all()
