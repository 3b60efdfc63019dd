"""Day one, the seller's side: review the licences a client held before the first push.

``existing.py`` found them and made the organisation's push wait. Here the seller sees them
beside the platform's subscriptions, with suggested pairs (same or similar name, same count,
same dates), and decides each licence:

* **claim** it for a subscription: the ledger owns it from then on (a row holding the licence
  id and the licence as HaloPSA had it), so the next push updates it in place — or leaves it
  alone when it already holds the platform's values — and never creates a second one;
* mark it **not ours**: it stays the seller's own, the sync never touches it;
* **create new**: every licence still undecided is not ours, and the subscriptions without a
  claimed licence are created by the next push.

When no licence is left undecided the review is RESOLVED and the organisation's push goes on
at the next sync. Decisions are all or nothing per call (one transaction, every pair checked
before anything is written) and each is a conditional UPDATE, so two sellers' clicks cannot
claim one licence twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from gateway.auth import Principal
from gateway.db import current_connection_name
from gateway.errors import BadUserInput, NotFound, OrganizationNotMapped, ReviewNotPending
from gateway.models import (
    ClientReview,
    ExistingLicence,
    LedgerState,
    LicenceDecision,
    LogLevel,
    Organization,
    OrganizationMapping,
    PsaOrganization,
    ReviewState,
    Subscription,
    SyncedSubscription,
)
from gateway.services import Deps, issues
from gateway.services import logs as product_log
from gateway.services.matching import Match, assign_best_first, normalize, score
from gateway.services.sync import journal
from gateway.services.sync.licences import payload_hash
from gateway.services.sync.runs import now_utc

# Decisions per call: a client with more licences than this is decided in several calls.
MAX_DECISIONS_PER_CALL = 1000
# A pair is suggested only when the names are at least this alike (matching.score, 0–100)…
MIN_NAME_SCORE = 60
# …and the pair's score (name 60 %, same count 20, same dates 20) reaches this.
MIN_PAIR_SCORE = 50
# Beyond this many licence × subscription pairs only exact names are compared (a client
# with hundreds of both would make every preview slow).
MAX_SCORED_PAIRS = 40_000


@dataclass(frozen=True, slots=True)
class PairSuggestion:
    subscription_id: str  # the platform's id
    subscription_name: str
    score: int
    reasons: list[str]


@dataclass(slots=True)
class ReviewLicence:
    halo_licence_id: int
    payload: dict[str, Any]
    decision: LicenceDecision
    subscription_id: str | None  # the claimed subscription (platform id)
    decided_by: str | None
    suggestion: PairSuggestion | None = None


@dataclass(frozen=True, slots=True)
class ReviewSubscription:
    id: str
    name: str
    quantity: int
    start_date: date | None
    end_date: date | None
    claimed_licence_id: int | None


@dataclass(slots=True)
class Review:
    organization_id: int | None
    organization_external_id: str | None
    organization_name: str | None
    halo_client_id: int
    halo_client_name: str | None
    state: ReviewState
    checked_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    licences: list[ReviewLicence] = field(default_factory=list)
    subscriptions: list[ReviewSubscription] = field(default_factory=list)

    @property
    def undecided(self) -> int:
        return sum(lic.decision is LicenceDecision.UNDECIDED for lic in self.licences)


# --- reading --------------------------------------------------------------------------------


async def reviews(
    seller_id: str,
    *,
    halo_client_ids: list[int] | None = None,
    states: tuple[ReviewState, ...] = (ReviewState.PENDING,),
) -> dict[int, Review]:
    """The seller's reviews in ``states`` (of these clients), by HaloPSA client id, with
    their licences, the organisation's subscriptions and suggested pairs."""
    query = ClientReview.filter(seller_id=seller_id, state__in=list(states))
    if halo_client_ids is not None:
        query = query.filter(halo_client_id__in=halo_client_ids)
    rows = await query.order_by("id")
    if not rows:
        return {}
    client_ids = [r.halo_client_id for r in rows]
    mapped = {
        m["psa_organization__halo_id"]: m
        for m in await OrganizationMapping.filter(
            seller_id=seller_id, psa_organization__halo_id__in=client_ids
        ).values(
            "organization_id",
            "organization__external_id",
            "organization__name",
            "psa_organization__halo_id",
        )
    }
    names = dict(
        await PsaOrganization.filter(seller_id=seller_id, halo_id__in=client_ids).values_list(
            "halo_id", "name"
        )
    )
    licences: dict[int, list[ExistingLicence]] = defaultdict(list)
    for lic in await ExistingLicence.filter(review_id__in=[r.id for r in rows]).order_by(
        "halo_licence_id"
    ):
        licences[lic.review_id].append(lic)
    org_ids = [m["organization_id"] for m in mapped.values()]
    subs: dict[int, list[Subscription]] = defaultdict(list)
    for sub in await Subscription.filter(
        organization_id__in=org_ids, deleted_at__isnull=True
    ).order_by("id"):
        subs[sub.organization_id].append(sub)
    found: dict[int, Review] = {}
    for row in rows:
        mapping = mapped.get(row.halo_client_id)
        org_subs = subs.get(mapping["organization_id"], []) if mapping else []
        found[row.halo_client_id] = _review(
            row, mapping, names.get(row.halo_client_id), licences[row.id], org_subs
        )
    return found


def _review(
    row: ClientReview,
    mapping: dict[str, Any] | None,
    client_name: str | None,
    licences: list[ExistingLicence],
    subs: list[Subscription],
) -> Review:
    external = {s.id: s.external_id for s in subs}
    claimed = {lic.subscription_id: lic.halo_licence_id for lic in licences if lic.subscription_id}
    review = Review(
        organization_id=mapping["organization_id"] if mapping else None,
        organization_external_id=mapping["organization__external_id"] if mapping else None,
        organization_name=mapping["organization__name"] if mapping else None,
        halo_client_id=row.halo_client_id,
        halo_client_name=client_name,
        state=row.state,
        checked_at=row.checked_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        licences=[
            ReviewLicence(
                halo_licence_id=lic.halo_licence_id,
                payload=lic.payload,
                decision=lic.decision,
                subscription_id=external.get(lic.subscription_id) if lic.subscription_id else None,
                decided_by=lic.decided_by,
            )
            for lic in licences
        ],
        subscriptions=[
            ReviewSubscription(
                id=s.external_id,
                name=s.name,
                quantity=s.quantity,
                start_date=s.start_date,
                end_date=s.end_date,
                claimed_licence_id=claimed.get(s.id),
            )
            for s in subs
        ],
    )
    if row.state is ReviewState.PENDING:
        _suggest(review)
    return review


def _suggest(review: Review) -> None:
    """Suggested pairs among the undecided licences and unclaimed subscriptions: best first,
    each licence and each subscription at most once (``matching.assign_best_first``)."""
    open_licences = [lic for lic in review.licences if lic.decision is LicenceDecision.UNDECIDED]
    open_subs = [s for s in review.subscriptions if s.claimed_licence_id is None]
    if not open_licences or not open_subs:
        return
    exact_only = len(open_licences) * len(open_subs) > MAX_SCORED_PAIRS
    sub_names = [normalize(s.name) for s in open_subs]
    scored: list[Match] = []
    for j, lic in enumerate(open_licences):
        lic_name = normalize(str(lic.payload.get("name") or ""))
        for i, sub in enumerate(open_subs):
            if exact_only and sub_names[i].key != lic_name.key:
                continue
            value, reasons = pair_score(lic.payload, sub, *score(sub_names[i], lic_name))
            if value >= MIN_PAIR_SCORE:
                scored.append(Match(i, j, value, "; ".join(reasons)))
    chosen = assign_best_first(
        [s.name for s in open_subs],
        [str(lic.payload.get("name") or "") for lic in open_licences],
        scored,
    )
    for match in chosen:
        sub = open_subs[match.platform]
        open_licences[match.psa].suggestion = PairSuggestion(
            sub.id, sub.name, match.score, match.reason.split("; ")
        )


def pair_score(
    licence: dict[str, Any], sub: ReviewSubscription, name_score: int, name_reason: str
) -> tuple[int, list[str]]:
    """How alike a licence and a subscription are: the name (60 %), the count (20), the dates
    (20). Below ``MIN_NAME_SCORE`` on the name, not a pair whatever the rest."""
    if name_score < MIN_NAME_SCORE:
        return 0, []
    reasons = [name_reason]
    value = name_score * 0.6
    if licence.get("count") == sub.quantity:
        value += 20
        reasons.append("same count")
    start = sub.start_date.isoformat() if sub.start_date else None
    end = sub.end_date.isoformat() if sub.end_date else None
    same = (licence.get("start_date") == start) + (licence.get("end_date") == end)
    if same == 2:
        reasons.append("same dates")
    elif same == 1:
        reasons.append("same start date" if licence.get("start_date") == start else "same end date")
    value += 10 * same
    return round(value), reasons


async def review_of(seller_id: str, organization_id: str) -> Review | None:
    """The review of the organisation's current HaloPSA client, in any state (None: the
    client was never checked, or held nothing we did not write)."""
    _, halo_client_id = await _mapped_client(seller_id, organization_id)
    found = await reviews(
        seller_id,
        halo_client_ids=[halo_client_id],
        states=(ReviewState.PENDING, ReviewState.RESOLVED),
    )
    return found.get(halo_client_id)


async def undecided_by_client(seller_id: str, halo_client_ids: list[int]) -> dict[int, int]:
    """Licences still to review, per HaloPSA client (the mapping grid's column)."""
    if not halo_client_ids:
        return {}
    rows = (
        await ExistingLicence.filter(
            review__seller_id=seller_id,
            review__state=ReviewState.PENDING,
            review__halo_client_id__in=halo_client_ids,
            decision=LicenceDecision.UNDECIDED,
        )
        .annotate(n=Count("id"))
        .group_by("review__halo_client_id")
        .values_list("review__halo_client_id", "n")
    )
    return {int(cid): int(n) for cid, n in rows}


# --- deciding -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    licence_id: int  # HaloPSA's licence id
    subscription_id: str  # the platform's subscription id


async def _mapped_client(seller_id: str, organization_id: str) -> tuple[Organization, int]:
    org = await Organization.get_or_none(
        seller_id=seller_id, external_id=organization_id, deleted_at__isnull=True
    )
    if org is None:
        raise NotFound("Organization not found.", field="organizationId")
    mapping = (
        await OrganizationMapping.filter(organization_id=org.id)
        .select_related("psa_organization")
        .first()
    )
    if mapping is None:
        raise OrganizationNotMapped()
    return org, mapping.psa_organization.halo_id


async def _pending(seller_id: str, organization_id: str) -> tuple[Organization, ClientReview]:
    org, halo_client_id = await _mapped_client(seller_id, organization_id)
    review = await ClientReview.get_or_none(
        seller_id=seller_id, halo_client_id=halo_client_id, state=ReviewState.PENDING
    )
    if review is None:
        raise ReviewNotPending()
    return org, review


def _check_count(n: int, name: str) -> None:
    if n == 0:
        raise BadUserInput(f"{name} must not be empty.", field=name)
    if n > MAX_DECISIONS_PER_CALL:
        raise BadUserInput(f"At most {MAX_DECISIONS_PER_CALL} {name} per call.", field=name)


async def _undecided(review: ClientReview, licence_ids: list[int]) -> dict[int, ExistingLicence]:
    """The review's licences ``licence_ids``, each still undecided, or the error that says
    which one is not."""
    if len(set(licence_ids)) != len(licence_ids):
        raise BadUserInput("A licence appears twice.", field="licenceId")
    found = {
        lic.halo_licence_id: lic
        for lic in await ExistingLicence.filter(
            review_id=review.id, halo_licence_id__in=licence_ids
        )
    }
    for licence_id in licence_ids:
        lic = found.get(licence_id)
        if lic is None:
            raise NotFound(
                f"Licence {licence_id} is not one of this organization's existing licences.",
                field="licenceId",
            )
        if lic.decision is not LicenceDecision.UNDECIDED:
            raise BadUserInput(
                f"Licence {licence_id} is already decided ({lic.decision.value}).",
                field="licenceId",
            )
    return found


async def _decide(lic: ExistingLicence, decision: LicenceDecision, by: str, **extra: Any) -> None:
    updated = await ExistingLicence.filter(id=lic.id, decision=LicenceDecision.UNDECIDED).update(
        decision=decision, decided_by=by, decided_at=now_utc(), **extra
    )
    if not updated:  # decided by someone else since it was read
        raise BadUserInput(f"Licence {lic.halo_licence_id} is already decided.", field="licenceId")


async def claim(
    deps: Deps, principal: Principal, organization_id: str, claims: list[Claim]
) -> Review:
    """Claim licences for subscriptions of the organisation: the ledger owns them now."""
    seller_id = principal.seller_id
    _check_count(len(claims), "pairs")
    if len({c.subscription_id for c in claims}) != len(claims):
        raise BadUserInput("A subscription appears twice.", field="subscriptionId")
    try:
        async with in_transaction(current_connection_name()):
            org, review = await _pending(seller_id, organization_id)
            licences = await _undecided(review, [c.licence_id for c in claims])
            subs = await _claimable(org, review, [c.subscription_id for c in claims])
            for item in claims:
                lic, sub = licences[item.licence_id], subs[item.subscription_id]
                await _decide(
                    lic, LicenceDecision.CLAIMED, principal.display, subscription_id=sub.id
                )
                await _into_ledger(seller_id, review.halo_client_id, sub, lic)
            await product_log.record(
                seller_id,
                LogLevel.INFO,
                journal.EXISTING_LICENCES_CLAIMED,
                journal.existing_licences_claimed(
                    org.name,
                    org.external_id,
                    [
                        (c.licence_id, subs[c.subscription_id].name, c.subscription_id)
                        for c in claims
                    ],
                    principal.display,
                ),
            )
            done = await _resolve_if_decided(org, review, principal)
    except IntegrityError as exc:  # a concurrent claim of one of these subscriptions
        raise BadUserInput(
            "A subscription was claimed meanwhile; read the review again.",
            field="subscriptionId",
        ) from exc
    return await _after(deps, seller_id, organization_id, review, done)


async def _claimable(
    org: Organization, review: ClientReview, subscription_ids: list[str]
) -> dict[str, Subscription]:
    subs = {
        s.external_id: s
        for s in await Subscription.filter(
            organization_id=org.id, external_id__in=subscription_ids, deleted_at__isnull=True
        )
    }
    ids = [s.id for s in subs.values()]
    claimed = await ExistingLicence.filter(
        review_id=review.id, subscription_id__in=ids
    ).values_list("subscription_id", flat=True)
    written = await SyncedSubscription.filter(
        subscription_id__in=ids,
        halo_client_id=review.halo_client_id,
        halo_licence_id__isnull=False,
    ).values_list("subscription_id", flat=True)
    taken = set(cast(list[int], claimed)) | set(cast(list[int], written))
    for external_id in subscription_ids:
        sub = subs.get(external_id)
        if sub is None:
            raise NotFound(
                f"Subscription {external_id} is not a subscription of this organization.",
                field="subscriptionId",
            )
        if sub.id in taken:
            raise BadUserInput(
                f"Subscription {external_id} already has a licence in this HaloPSA organization.",
                field="subscriptionId",
            )
    return subs


async def _into_ledger(
    seller_id: str, halo_client_id: int, sub: Subscription, lic: ExistingLicence
) -> None:
    """The claimed licence as the ledger's own: HaloPSA's values as the confirmed payload,
    so the next push sends only what differs — in place."""
    payload = dict(lic.payload)
    digest = payload_hash(payload)
    row = await SyncedSubscription.get_or_none(
        subscription_id=sub.id, halo_client_id=halo_client_id
    )
    if row is None:
        row = SyncedSubscription(
            seller_id=seller_id, subscription_id=sub.id, halo_client_id=halo_client_id
        )
    # (an existing row is a NOT_SENT one, from the runs that skipped it while it waited)
    row.halo_licence_id = lic.halo_licence_id
    row.state = LedgerState.WRITTEN
    row.intent, row.intent_hash, row.payload_hash = payload, digest, digest
    row.intent_mark = None
    row.written_at = now_utc()
    row.last_run_id = None
    row.run_outcome = None
    await row.save()


async def mark_not_ours(
    deps: Deps, principal: Principal, organization_id: str, licence_ids: list[int]
) -> Review:
    """These licences stay the seller's own; the sync never touches them."""
    seller_id = principal.seller_id
    _check_count(len(licence_ids), "licenceIds")
    async with in_transaction(current_connection_name()):
        org, review = await _pending(seller_id, organization_id)
        licences = await _undecided(review, licence_ids)
        for licence_id in licence_ids:
            await _decide(licences[licence_id], LicenceDecision.NOT_OURS, principal.display)
        await product_log.record(
            seller_id,
            LogLevel.INFO,
            journal.EXISTING_LICENCES_NOT_OURS,
            journal.existing_licences_not_ours(
                org.name, org.external_id, licence_ids, principal.display
            ),
        )
        done = await _resolve_if_decided(org, review, principal)
    return await _after(deps, seller_id, organization_id, review, done)


async def create_new(deps: Deps, principal: Principal, organization_id: str) -> Review:
    """Finish the review: every licence still undecided is not ours, and the subscriptions
    without a claimed licence are created by the next push."""
    seller_id = principal.seller_id
    async with in_transaction(current_connection_name()):
        org, review = await _pending(seller_id, organization_id)
        left = cast(
            list[int],
            await ExistingLicence.filter(
                review_id=review.id, decision=LicenceDecision.UNDECIDED
            ).values_list("halo_licence_id", flat=True),
        )
        if left:
            await ExistingLicence.filter(
                review_id=review.id, decision=LicenceDecision.UNDECIDED
            ).update(
                decision=LicenceDecision.NOT_OURS,
                decided_by=principal.display,
                decided_at=now_utc(),
            )
            await product_log.record(
                seller_id,
                LogLevel.INFO,
                journal.EXISTING_LICENCES_NOT_OURS,
                journal.existing_licences_not_ours(
                    org.name, org.external_id, sorted(left), principal.display
                ),
            )
        done = await _resolve_if_decided(org, review, principal)
    return await _after(deps, seller_id, organization_id, review, done)


async def _resolve_if_decided(
    org: Organization, review: ClientReview, principal: Principal
) -> bool:
    counts = {
        LicenceDecision(decision): int(n)
        for decision, n in await ExistingLicence.filter(review_id=review.id)
        .annotate(n=Count("id"))
        .group_by("decision")
        .values_list("decision", "n")
    }
    if counts.get(LicenceDecision.UNDECIDED):
        return False
    resolved = await ClientReview.filter(id=review.id, state=ReviewState.PENDING).update(
        state=ReviewState.RESOLVED, resolved_at=now_utc(), resolved_by=principal.display
    )
    if resolved:
        await product_log.record(
            principal.seller_id,
            LogLevel.INFO,
            journal.EXISTING_LICENCES_REVIEWED,
            journal.existing_licences_reviewed(
                org.name,
                org.external_id,
                counts.get(LicenceDecision.CLAIMED, 0),
                counts.get(LicenceDecision.NOT_OURS, 0),
                principal.display,
            ),
        )
    return bool(resolved)


async def _after(
    deps: Deps, seller_id: str, organization_id: str, review: ClientReview, done: bool
) -> Review:
    if done:
        await issues.review_settled(deps, seller_id, review.halo_client_id)
    found = await review_of(seller_id, organization_id)
    if found is None:  # pragma: no cover - the review was just read in the transaction
        raise ReviewNotPending()
    return found
