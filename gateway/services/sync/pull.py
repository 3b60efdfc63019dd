"""Organisations in: HaloPSA clients become the seller's PSA organisations.

Runs daily at 08:00 UTC and on demand; no cooldown.
"""

from __future__ import annotations

from typing import Any

from gateway.models import (
    LogLevel,
    PsaOrganization,
    SyncRun,
)
from gateway.services import logs as product_log
from gateway.services.sync import journal
from gateway.services.sync.runs import Progress, now_utc


async def sync_organizations(run: SyncRun, client: Any, progress: Progress) -> None:
    seller_id: str = run.seller_id
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
                    journal.CUSTOMER_NOT_SYNCED,
                    journal.customer_without_name(client_record.id),
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
            journal.CUSTOMERS_MISSING,
            journal.customers_missing(vanished),
            run_id=run.id,
        )
    await progress.step(force=True)
