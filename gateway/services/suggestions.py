"""Mapping suggestions: which HaloPSA client is probably which platform organisation.

A seller with 800 customers should not click 800 times. This module proposes, for each
unmapped platform organisation, at most one unmapped HaloPSA organisation with a score from
0 to 100, and applies the proposals above a threshold through the same write path as a
manual map (``services.organizations.map_organization``).

The names are compared by :mod:`gateway.services.matching` (normalisation, score, blocking,
greedy assignment: pure, no database); this module loads the unmapped organisations of a
seller, pages the proposals and applies them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from gateway.auth import Principal
from gateway.db import current_connection_name
from gateway.errors import BadUserInput, NotFound, PsaOrganizationTaken
from gateway.messages import Message, MessageCode
from gateway.models import LogLevel, Organization, OrganizationMapping, PsaOrganization
from gateway.services import logs as product_log
from gateway.services import organizations
from gateway.services.connection_state import require_verified_connection
from gateway.services.matching import MAX_SCORE, MIN_SCORE_FLOOR, match_names
from gateway.services.paging import DEFAULT_PAGE_SIZE, Page, check_page

# Proposals shown by default: a missing or different legal form still shows (85, 95).
DEFAULT_SUGGEST_MIN_SCORE = 80
# Applying writes mappings in bulk: only pairs that differ at most by spelling details
# (an exact name after normalisation, or a missing legal form) by default.
DEFAULT_APPLY_MIN_SCORE = 90


@dataclass(frozen=True)
class SuggestedOrganization:
    id: str
    name: str
    reference: str
    status: str


@dataclass(frozen=True)
class SuggestedPsaOrganization:
    id: int
    name: str
    status: organizations.PsaStatus
    mapped: bool = False  # as the picker says it: suggestions only name unmapped ones


@dataclass(frozen=True)
class Suggestion:
    organization: SuggestedOrganization
    psa_organization: SuggestedPsaOrganization
    score: int
    reason: str


@dataclass(frozen=True)
class ApplyResult:
    mapped: int
    skipped: int
    rows: list[organizations.OrganizationRow]


def _check_min_score(min_score: int) -> None:
    if not MIN_SCORE_FLOOR <= min_score <= MAX_SCORE:
        raise BadUserInput(
            f"minScore must be between {MIN_SCORE_FLOOR} and {MAX_SCORE}.", field="minScore"
        )


async def _suggestions(seller_id: str, min_score: int) -> list[Suggestion]:
    """Every suggestion at or above ``min_score``, best first (then by organisation name)."""
    orgs = (
        await Organization.filter(
            seller_id=seller_id, deleted_at__isnull=True, mapping__id__isnull=True
        )
        .order_by("id")
        .values("external_id", "name", "reference", "status")
    )
    psas = (
        await PsaOrganization.filter(seller_id=seller_id, present=True, mappings__id__isnull=True)
        .order_by("id")
        .values("halo_id", "name", "inactive")
    )
    if not orgs or not psas:
        return []
    matches = await asyncio.to_thread(
        match_names, [o["name"] for o in orgs], [p["name"] for p in psas], min_score
    )
    suggestions = [
        Suggestion(
            SuggestedOrganization(
                orgs[m.platform]["external_id"],
                orgs[m.platform]["name"],
                orgs[m.platform]["reference"],
                orgs[m.platform]["status"],
            ),
            SuggestedPsaOrganization(
                psas[m.psa]["halo_id"],
                psas[m.psa]["name"],
                organizations.PsaStatus.of(psas[m.psa]["inactive"]),
            ),
            m.score,
            m.reason,
        )
        for m in matches
    ]
    suggestions.sort(key=lambda s: (-s.score, s.organization.name.casefold(), s.organization.id))
    return suggestions


async def suggest_mappings(
    seller_id: str,
    *,
    min_score: int = DEFAULT_SUGGEST_MIN_SCORE,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[Suggestion]:
    """A page of suggestions. Computed per request from the unmapped organisations: it is a
    read like the PSA picker, so it needs no verified connection (applying does)."""
    _check_min_score(min_score)
    # Pages as the mapping grid's, so a client can show suggestions in the same table.
    start = check_page(page, page_size)
    every = await _suggestions(seller_id, min_score)
    return Page(every[start : start + page_size], len(every), page, page_size)


class _Skip(Exception):
    """This suggestion no longer holds (mapped meanwhile): roll its transaction back."""


async def _apply_one(
    principal: Principal, s: Suggestion, cooldown_minutes: int
) -> organizations.OrganizationRow:
    """One suggestion in its own transaction, written by the manual map's code path.

    The platform organisation's row is locked first (``SELECT … FOR UPDATE`` on PostgreSQL;
    SQLite's transaction already holds the process's only connection). A concurrent manual
    mapping of it inserts a row referencing it, which needs a key-share lock on it: so either
    that mapping committed before the lock and the re-check below sees it, or it waits for
    this transaction. Without this, ``map_organization`` would *remap* an organisation that
    a person mapped a moment ago. A HaloPSA organisation taken meanwhile is caught by the
    re-check or, racing, by the unique constraint (``PsaOrganizationTaken``).
    """
    seller_id = principal.seller_id
    org = (
        await Organization.filter(
            seller_id=seller_id, external_id=s.organization.id, deleted_at__isnull=True
        )
        .select_for_update()
        .first()
    )
    if org is None or await OrganizationMapping.exists(organization_id=org.id):
        raise _Skip
    if await OrganizationMapping.exists(
        seller_id=seller_id, psa_organization__halo_id=s.psa_organization.id
    ):
        raise _Skip
    return await organizations.map_organization(
        principal, s.organization.id, s.psa_organization.id, cooldown_minutes=cooldown_minutes
    )


async def apply_suggested_mappings(
    principal: Principal, *, cooldown_minutes: int, min_score: int = DEFAULT_APPLY_MIN_SCORE
) -> ApplyResult:
    """Map every suggestion scoring at least ``min_score``, one transaction each.

    Each mapping goes through ``organizations.map_organization``, so the 1:1 constraints, the
    mapping history and the "Organization mapped" log entry are those of a manual map. One
    transaction per mapping (not one for all): a conflict rolls back only its own mapping, and
    the SQLite writer lock is never held for the whole batch. Suggestions that no longer hold
    when their turn comes (mapped by hand meanwhile, deleted, vanished from HaloPSA) are
    skipped and counted, not errors.
    """
    _check_min_score(min_score)
    seller_id = principal.seller_id
    await require_verified_connection(seller_id)
    mapped: list[organizations.OrganizationRow] = []
    skipped = 0
    for suggestion in await _suggestions(seller_id, min_score):
        try:
            async with in_transaction(current_connection_name()):
                mapped.append(await _apply_one(principal, suggestion, cooldown_minutes))
        except (_Skip, PsaOrganizationTaken, NotFound):
            skipped += 1
    if mapped or skipped:
        await product_log.record(
            seller_id,
            LogLevel.INFO,
            "Suggested mappings applied",
            Message(
                MessageCode.SUGGESTED_MAPPINGS_APPLIED,
                f"{len(mapped)} organizations mapped from suggestions scoring at least "
                f"{min_score} ({skipped} skipped: changed meanwhile) by {principal.subject}.",
                {
                    "mapped": len(mapped),
                    "minScore": min_score,
                    "skipped": skipped,
                    "by": principal.subject,
                },
            ),
        )
    return ApplyResult(len(mapped), skipped, mapped)
