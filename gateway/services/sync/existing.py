"""Day one: before the first push to a HaloPSA client, look at what it already holds.

MSPs had these licences in HaloPSA before the integration: typed in by hand, or written by
another distributor's integration. Pushing beside them bills every customer twice. So the
first time a subscriptions run is about to push to a client, it reads the client's licences
once; if the client holds active licences this integration did not write, that organisation's
push waits (its subscriptions are skipped, the rest of the run goes on) until the seller has
reviewed them (``existing_review.py``: claim, not ours, create new). Nothing is ever adopted
automatically.

A client is checked once (``ClientReview``, UNIQUE per seller and client): CLEAR when it held
nothing foreign, PENDING otherwise. Clients this integration already wrote to (or tried to:
a ledger row with a licence or an intent) are not new, and are not checked.

The reads cost one request per new client, or the instance's licences in pages when that is
fewer (``HaloClient.read_licences_of``); a client with nothing new costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from gateway.db import current_connection_name
from gateway.halopsa import HaloIncompleteRead, LicenceRecord
from gateway.models import (
    ClientReview,
    ExistingLicence,
    LicenceDecision,
    OrganizationMapping,
    ReviewState,
    SyncedSubscription,
)
from gateway.services.sync import journal
from gateway.services.sync.licences import MONEY_QUANTUM, UNIT_PRICE_QUANTUM
from gateway.services.sync.runs import CannotContinue, now_utc

# Licence ids per query when asking which of them the ledger owns.
_IDS_PER_QUERY = 500
# A licence list HaloPSA keeps changing while it is read (another integration writing) is
# read this many times, this far apart, before the run stops having sent nothing.
READ_TRIES = 3
READ_RETRY_SECONDS = 1.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Waiting:
    """A client whose organisation's push waits for the seller's review."""

    halo_client_id: int
    undecided: int


def _price(value: Decimal | None) -> str:
    """A price as the ledger's payloads write it: 2 decimals, or 4 when it has more
    (``money.prices_per_unit`` reads unit prices from the 4)."""
    amount = value if value is not None else Decimal(0)
    if amount == amount.quantize(MONEY_QUANTUM):
        return str(amount.quantize(MONEY_QUANTUM))
    return str(amount.quantize(UNIT_PRICE_QUANTUM))


def record_payload(licence: LicenceRecord) -> dict[str, Any]:
    """A licence HaloPSA holds, in the ledger's payload shape (``licences.licence_payload``)."""
    return {
        "client_id": licence.client_id,
        "name": licence.name,
        "start_date": licence.start_date.isoformat() if licence.start_date else None,
        "end_date": licence.end_date.isoformat() if licence.end_date else None,
        "count": licence.count,
        "billing_cycle": licence.billing_cycle or "",
        "term_duration": licence.term_duration or "",
        "status": licence.status or "",
        "is_active": licence.is_active,
        "purchase_price": _price(licence.purchase_price),
        "price": _price(licence.price),
    }


async def clients_waiting(
    seller_id: str, mappings: list[OrganizationMapping], client: Any, run_id: int
) -> dict[int, Waiting]:
    """Check the clients of ``mappings`` not checked before; the ones whose push waits."""
    by_client = {m.psa_organization.halo_id: m for m in mappings}
    if not by_client:
        return {}
    ids = list(by_client)
    reviews = {
        r.halo_client_id: r
        for r in await ClientReview.filter(seller_id=seller_id, halo_client_id__in=ids)
    }
    written = set(
        cast(
            list[int],
            await SyncedSubscription.filter(seller_id=seller_id, halo_client_id__in=ids)
            .filter(Q(halo_licence_id__isnull=False) | Q(intent_hash__isnull=False))
            .distinct()
            .values_list("halo_client_id", flat=True),
        )
    )
    new = [cid for cid in ids if cid not in reviews and cid not in written]
    if new:
        held = await _read(client, new)
        owned = await _owned(seller_id, [lic.id for lics in held.values() for lic in lics])
        for cid in new:
            foreign = [lic for lic in held[cid] if lic.is_active and lic.id not in owned]
            reviews[cid] = await _record(
                seller_id, cid, by_client[cid].organization_id, foreign, run_id
            )
    pending = [r for r in reviews.values() if r.state is ReviewState.PENDING]
    if not pending:
        return {}
    counts = dict(
        await ExistingLicence.filter(
            review_id__in=[r.id for r in pending], decision=LicenceDecision.UNDECIDED
        )
        .annotate(n=Count("id"))
        .group_by("review_id")
        .values_list("review_id", "n")
    )
    return {r.halo_client_id: Waiting(r.halo_client_id, int(counts.get(r.id, 0))) for r in pending}


async def _read(client: Any, client_ids: list[int]) -> dict[int, list[LicenceRecord]]:
    """The new clients' licences, whole: a list HaloPSA changes while it is read is read
    again, and a check that cannot be trusted stops the run before anything is sent."""
    for attempt in range(READ_TRIES):
        try:
            held: dict[int, list[LicenceRecord]] = await client.read_licences_of(client_ids)
            return held
        except HaloIncompleteRead as exc:
            logger.warning(
                "day-one check of %d HaloPSA client(s) read an incomplete list (%s), try %d of %d",
                len(client_ids),
                exc.message,
                attempt + 1,
                READ_TRIES,
            )
            if attempt + 1 < READ_TRIES:
                await asyncio.sleep(READ_RETRY_SECONDS)
    raise CannotContinue(journal.EXISTING_CHECK_INCOMPLETE)


async def _owned(seller_id: str, licence_ids: list[int]) -> set[int]:
    owned: set[int] = set()
    for start in range(0, len(licence_ids), _IDS_PER_QUERY):
        chunk = licence_ids[start : start + _IDS_PER_QUERY]
        owned.update(
            cast(
                list[int],
                await SyncedSubscription.filter(
                    seller_id=seller_id, halo_licence_id__in=chunk
                ).values_list("halo_licence_id", flat=True),
            )
        )
    return owned


async def _record(
    seller_id: str,
    halo_client_id: int,
    organization_id: int,
    foreign: list[LicenceRecord],
    run_id: int,
) -> ClientReview:
    """The client's check, once: a second run that checked it meanwhile keeps its own."""
    state = ReviewState.PENDING if foreign else ReviewState.CLEAR
    try:
        async with in_transaction(current_connection_name()):
            review = await ClientReview.create(
                seller_id=seller_id,
                halo_client_id=halo_client_id,
                organization_id=organization_id,
                state=state,
                found_run_id=run_id,
                checked_at=now_utc(),
            )
            await ExistingLicence.bulk_create(
                [
                    ExistingLicence(
                        review_id=review.id,
                        halo_licence_id=lic.id,
                        payload=record_payload(lic),
                    )
                    for lic in sorted(foreign, key=lambda lic: lic.id)
                ]
            )
    except IntegrityError:
        return await ClientReview.get(seller_id=seller_id, halo_client_id=halo_client_id)
    return review
