"""The sync engine: organisations from HaloPSA, subscriptions to HaloPSA, idempotent and resumable.

``execute_run(run_id, deps)`` is what the ``run_sync`` actor calls. It is safe to call twice
for the same run (Dramatiq redelivers a message whose worker died):

1. it (re)claims the seller's lock for *this* run — a run that lost the lock stands down;
2. the subscriptions push records its **intent** in the ledger (``SyncedSubscription``,
   state PENDING) *before* each POST, and the licence id *after*;
3. on resume, PENDING intents are reconciled first: the mapped client's licences are listed
   and an unledgered licence matching the intent is adopted instead of creating another one
   (HaloPSA licences have no external-id field, see design/halopsa.md);
4. a payload whose hash equals the last one HaloPSA confirmed is not sent at all.

Failures are classified by reaction (style.md habit 6): a rejected record is logged as an
ERROR entry and counted, the rest go on; authentication, permission and "HaloPSA down after
retries" end the run FAILED with an entry that says why in a seller's words.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tortoise.transactions import in_transaction

from gateway import metrics
from gateway.db import current_connection_name
from gateway.halo import credentials_for, open_client
from gateway.halopsa import (
    HaloAuthError,
    HaloError,
    HaloPermissionError,
    HaloRateLimited,
    HaloUnavailable,
    LicenceWrite,
)
from gateway.logging import log_context
from gateway.models import (
    LedgerState,
    LogLevel,
    OrganizationMapping,
    PsaOrganization,
    RunState,
    Seller,
    Subscription,
    SyncedSubscription,
    SyncKind,
    SyncRun,
    SyncScope,
)
from gateway.services import Deps
from gateway.services import logs as product_log
from gateway.services.connection_state import require_verified_connection
from gateway.services.sync import claim_lock, event_for, now_utc, release_lock, renew_lease

logger = logging.getLogger(__name__)

# Records written per POST array: big enough to make the 300-calls-per-5-minutes budget go a
# long way, small enough that a rejected batch is cheap to bisect.
WRITE_BATCH_SIZE = 50
# Organisations whose subscriptions and ledger rows are read together: far fewer queries than
# one pair per organisation, and bounded memory for a seller with thousands of them.
ORGANIZATIONS_PER_READ = 50
# Progress events: at most one per this many seconds (and always at the end).
PROGRESS_INTERVAL_SECONDS = 0.25
# Unit prices keep 4 decimal places, half-up: 100.00 / 3 = 33.3333, so unit × quantity
# reproduces the total to the cent on an invoice (README "Unit prices").
UNIT_PRICE_QUANTUM = Decimal("0.0001")
MONEY_QUANTUM = Decimal("0.01")

CUSTOMERS_STARTED = "Customers sync started"
CUSTOMERS_COMPLETED = "Customers sync completed"
SUBSCRIPTIONS_STARTED = "Subscriptions sync started"
SUBSCRIPTIONS_COMPLETED = "Subscriptions sync completed"


class RunCancelled(Exception):
    pass


class LostLock(Exception):
    pass


class CannotContinue(Exception):
    """A run that cannot proceed for a reason of ours (not HaloPSA's); the text is for sellers."""


def unit_price(total: Decimal, quantity: int) -> Decimal:
    return (total / quantity).quantize(UNIT_PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def licence_payload(sub: Subscription, halo_client_id: int, unit_prices: bool) -> dict[str, Any]:
    """What HaloPSA should hold for this subscription (also what the hash is taken of)."""
    cost, price = Decimal(sub.cost_price), Decimal(sub.customer_price)
    if unit_prices and sub.quantity > 0:
        cost, price = unit_price(cost, sub.quantity), unit_price(price, sub.quantity)
    else:
        cost, price = cost.quantize(MONEY_QUANTUM), price.quantize(MONEY_QUANTUM)
    deleted = sub.deleted_at is not None
    status = "DELETED" if deleted else sub.status
    return {
        "client_id": halo_client_id,
        "name": sub.name,
        "start_date": sub.start_date.isoformat() if sub.start_date else None,
        "end_date": sub.end_date.isoformat() if sub.end_date else None,
        "count": sub.quantity,
        "billing_cycle": sub.billing_cycle,
        "term_duration": sub.term_duration,
        "status": status,
        "is_active": not deleted and status.upper() == "ACTIVE",
        "purchase_price": str(cost),
        "price": str(price),
    }


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def to_licence_write(payload: dict[str, Any], licence_id: int | None) -> LicenceWrite:
    return LicenceWrite(
        id=licence_id,
        client_id=payload["client_id"],
        name=payload["name"],
        start_date=date.fromisoformat(payload["start_date"]) if payload["start_date"] else None,
        end_date=date.fromisoformat(payload["end_date"]) if payload["end_date"] else None,
        count=payload["count"],
        billing_cycle=payload["billing_cycle"],
        term_duration=payload["term_duration"],
        status=payload["status"],
        is_active=payload["is_active"],
        purchase_price=Decimal(payload["purchase_price"]),
        price=Decimal(payload["price"]),
    )


def licence_matches(licence: Any, payload: dict[str, Any]) -> bool:
    """Does a licence found in HaloPSA hold exactly what an intent was about to send?"""

    def day(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return str(value)[:10]

    def money(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return (
        licence.name == payload["name"]
        and int(licence.count) == payload["count"]
        and day(licence.start_date) == payload["start_date"]
        and day(licence.end_date) == payload["end_date"]
        and money(licence.purchase_price) == Decimal(payload["purchase_price"])
        and money(licence.price) == Decimal(payload["price"])
    )


@dataclass
class Progress:
    """Counts of the run, flushed to the database and published as events."""

    run: SyncRun
    deps: Deps
    lease_seconds: float
    last_flush: float = 0.0

    async def step(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self.last_flush < PROGRESS_INTERVAL_SECONDS:
            return
        self.last_flush = time.monotonic()
        run = self.run
        await SyncRun.filter(id=run.id).update(
            total=run.total,
            processed=run.processed,
            created=run.created,
            updated=run.updated,
            unchanged=run.unchanged,
            skipped=run.skipped,
            failed=run.failed,
        )
        if not await renew_lease(run.seller_id, run.id, self.lease_seconds):  # type: ignore[attr-defined]
            raise LostLock()
        cancel = await SyncRun.filter(id=run.id).values_list("cancel_requested", flat=True)
        if cancel and cancel[0]:
            raise RunCancelled()
        await self.deps.bus.publish(event_for(run, "PROGRESS"))


async def execute_run(run_id: int, deps: Deps) -> None:
    run = await SyncRun.get_or_none(id=run_id)
    if run is None or run.state.finished:
        return  # deleted (enqueue failed) or already done: a duplicate delivery
    # Every process log line of the run, the HaloPSA client's included, names seller and run.
    with log_context(seller_id=run.seller_id, run_id=run.id):  # type: ignore[attr-defined]
        await _execute_run(run, deps)


async def _execute_run(run: SyncRun, deps: Deps) -> None:
    seller_id: str = run.seller_id  # type: ignore[attr-defined]
    lease = deps.settings.sync_lease_seconds
    if not await claim_lock(seller_id, run.id, now_utc(), lease):
        await _finish(run, deps, RunState.FAILED, "Another sync of this seller took over.")
        return
    if run.cancel_requested:
        await _finish(run, deps, RunState.CANCELLED, "Cancelled before it started.")
        return
    resumed = run.state is RunState.RUNNING
    if not resumed:
        seller = await Seller.get(id=seller_id)
        run.state = RunState.RUNNING
        run.started_at = now_utc()
        run.sync_unit_prices = seller.sync_unit_prices
    run.attempts += 1
    await run.save(update_fields=["state", "started_at", "sync_unit_prices", "attempts"])
    if not resumed:
        title = CUSTOMERS_STARTED if run.kind is SyncKind.ORGANIZATIONS else SUBSCRIPTIONS_STARTED
        await product_log.record(
            seller_id,
            LogLevel.INFO,
            title,
            product_log.format_details(
                **{"Reseller ID": seller_id, "Provider": product_log.PROVIDER},
                Trigger=run.trigger.value.lower(),
                Scope=_scope_text(run),
            ),
            run_id=run.id,
        )
    logger.info(
        "sync run %s started: %s, %s, attempt %d",
        run.id,
        run.kind.value.lower(),
        "resumed" if resumed else run.trigger.value.lower(),
        run.attempts,
        extra={"kind": run.kind.value, "trigger": run.trigger.value, "attempt": run.attempts},
    )
    await deps.bus.publish(event_for(run, "STARTED", message="Sync in progress"))

    progress = Progress(run, deps, lease)
    client = None
    try:
        connection = await require_verified_connection(seller_id)
        client = open_client(deps, credentials_for(deps, connection))
        async with client:
            if run.kind is SyncKind.ORGANIZATIONS:
                await sync_organizations(run, client, progress)
            else:
                await sync_subscriptions(run, client, progress)
    except RunCancelled:
        await _finish(run, deps, RunState.CANCELLED, "Cancelled by the user.", client=client)
    except LostLock:
        logger.warning("run %s lost the seller lock; standing down", run.id)
        run.message = "Another sync of this seller took over."
        await run.save(update_fields=["message"])
    except HaloError as exc:
        await _finish(run, deps, RunState.FAILED, seller_reason(exc), client=client)
    except CannotContinue as exc:
        await _finish(run, deps, RunState.FAILED, str(exc), client=client)
    except Exception as exc:
        logger.exception("sync run %s failed unexpectedly", run.id)
        await _finish(
            run,
            deps,
            RunState.FAILED,
            f"The sync stopped because of an internal error ({type(exc).__name__}). "
            "It can be started again.",
            client=client,
        )
    else:
        await _finish(run, deps, RunState.SUCCEEDED, None, client=client)


def seller_reason(exc: HaloError) -> str:
    """Why a run could not continue, in words a seller understands."""
    if isinstance(exc, HaloAuthError):
        return (
            "HaloPSA refused the credentials (client ID, secret or tenant). "
            "Check the connection settings."
        )
    if isinstance(exc, HaloPermissionError):
        return "The HaloPSA API agent lacks a permission needed for this sync."
    if isinstance(exc, HaloRateLimited):
        return (
            "HaloPSA kept answering 'rate limit reached'; "
            "the sync stopped and can be retried later."
        )
    if isinstance(exc, HaloUnavailable):
        return "HaloPSA could not be reached or kept failing after several retries."
    return f"HaloPSA answered with an error: {exc}"


def _scope_text(run: SyncRun) -> str:
    if run.scope is SyncScope.ALL:
        return "all organizations"
    return f"organization {run.organization_id}"  # type: ignore[attr-defined]


async def _finish(
    run: SyncRun, deps: Deps, state: RunState, message: str | None, *, client: Any = None
) -> None:
    seller_id: str = run.seller_id  # type: ignore[attr-defined]
    finished = now_utc()
    run.state = state
    run.message = message
    run.finished_at = finished
    started = run.started_at or finished
    run.duration_ms = int((finished - started).total_seconds() * 1000)
    if client is not None:
        stats = client.stats
        run.halo_calls += stats.calls
        run.halo_rate_limited += stats.rate_limited
        run.halo_retries += stats.retries
        run.halo_wait_seconds += stats.wait_seconds
    await run.save()
    await release_lock(seller_id, run.id)
    logger.log(
        logging.WARNING if state is RunState.FAILED else logging.INFO,
        "sync run %s %s in %d ms%s",
        run.id,
        state.value.lower(),
        run.duration_ms,
        f": {message}" if message else "",
        extra={
            "kind": run.kind.value,
            "state": state.value,
            "duration_ms": run.duration_ms,
            # Nested: "created" would clash with the LogRecord attribute of that name.
            "counts": {
                "total": run.total,
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "skipped": run.skipped,
                "failed": run.failed,
            },
            "halo": {
                "calls": run.halo_calls,
                "rate_limited": run.halo_rate_limited,
                "retries": run.halo_retries,
                "wait_seconds": round(run.halo_wait_seconds, 3),
            },
        },
    )
    metrics.observe_run(
        run.kind.value,
        state.value,
        {
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "skipped": run.skipped,
            "failed": run.failed,
        },
        {
            "calls": run.halo_calls,
            "rate_limited": run.halo_rate_limited,
            "retries": run.halo_retries,
            "wait_seconds": run.halo_wait_seconds,
        },
        run.duration_ms,
    )
    organizations = run.kind is SyncKind.ORGANIZATIONS
    counts = {
        "Reseller ID": seller_id,
        "Provider": product_log.PROVIDER,
        "Created": run.created,
        "Updated": run.updated,
        "Failed": run.failed,
    }
    if not organizations:
        counts["Skipped"] = run.skipped
        counts["Unchanged"] = run.unchanged
    counts["Duration (ms)"] = run.duration_ms
    counts["HaloPSA calls"] = run.halo_calls
    counts["Rate limited (429)"] = run.halo_rate_limited
    counts["Backoff (s)"] = round(run.halo_wait_seconds, 1)
    if state is RunState.SUCCEEDED:
        title = CUSTOMERS_COMPLETED if organizations else SUBSCRIPTIONS_COMPLETED
        await product_log.record(
            seller_id, LogLevel.INFO, title, product_log.format_details(**counts), run_id=run.id
        )
        phase = "COMPLETED"
    else:
        kind_text = "Customers" if organizations else "Subscriptions"
        verb = "cancelled" if state is RunState.CANCELLED else "failed"
        level = LogLevel.INFO if state is RunState.CANCELLED else LogLevel.ERROR
        await product_log.record(
            seller_id,
            level,
            f"{kind_text} sync {verb}",
            f"{message} " + product_log.format_details(**counts),
            run_id=run.id,
        )
        phase = "CANCELLED" if state is RunState.CANCELLED else "FAILED"
    await deps.bus.publish(event_for(run, phase))


# --- organisations: HaloPSA → platform ----------------------------------------------------


async def sync_organizations(run: SyncRun, client: Any, progress: Progress) -> None:
    seller_id: str = run.seller_id  # type: ignore[attr-defined]
    existing = {p.halo_id: p for p in await PsaOrganization.filter(seller_id=seller_id)}
    seen: set[int] = set()
    now = now_utc()
    page: list[Any] = []

    async def flush() -> None:
        creates: list[PsaOrganization] = []
        updates: list[PsaOrganization] = []
        for client_record in page:
            run.processed += 1
            name = (client_record.name or "").strip()
            if not name:
                run.failed += 1
                await product_log.record(
                    seller_id,
                    LogLevel.ERROR,
                    "Customer not synced",
                    f"HaloPSA client {client_record.id} has no name.",
                    run_id=run.id,
                )
                continue
            seen.add(client_record.id)
            row = existing.get(client_record.id)
            if row is None:
                row = PsaOrganization(
                    seller_id=seller_id,
                    halo_id=client_record.id,
                    name=name[:255],
                    inactive=bool(client_record.inactive),
                    present=True,
                    last_seen_at=now,
                )
                creates.append(row)
                existing[client_record.id] = row
                run.created += 1
            elif (
                row.name != name[:255]
                or row.inactive != bool(client_record.inactive)
                or not row.present
            ):
                row.name = name[:255]
                row.inactive = bool(client_record.inactive)
                row.present = True
                row.missing_since = None
                row.last_seen_at = now
                updates.append(row)
                run.updated += 1
            else:
                run.unchanged += 1
        if creates:
            await PsaOrganization.bulk_create(creates)
        if updates:
            await PsaOrganization.bulk_update(
                updates, fields=["name", "inactive", "present", "missing_since", "last_seen_at"]
            )
        page.clear()
        run.total = max(run.total, run.processed)
        await progress.step()

    async for client_record in client.iter_clients(include_inactive=True):
        page.append(client_record)
        if len(page) >= 100:
            await flush()
    await flush()
    # Clients that disappeared from HaloPSA: kept, flagged; their mappings show Response Error.
    vanished = [halo_id for halo_id, row in existing.items() if halo_id not in seen and row.present]
    if vanished:
        await PsaOrganization.filter(seller_id=seller_id, halo_id__in=vanished).update(
            present=False, missing_since=now
        )
        await product_log.record(
            seller_id,
            LogLevel.WARNING,
            "Customers missing from HaloPSA",
            f"{len(vanished)} previously synced HaloPSA organization(s) were not found: "
            + ", ".join(str(v) for v in sorted(vanished)[:20])
            + ("…" if len(vanished) > 20 else "")
            + ". Their mappings show Response Error.",
            run_id=run.id,
        )
    await progress.step(force=True)


# --- subscriptions: platform → HaloPSA ----------------------------------------------------


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
