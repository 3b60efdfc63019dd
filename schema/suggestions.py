"""Mapping suggestions: propose HaloPSA organisations for unmapped platform ones, apply them.

Scoring and assignment live in ``gateway.services.matching`` (the service on it is
``gateway.services.suggestions``), whose dataclasses carry these types' field names and are
served as they are (``served_as``). Applying goes through the manual map's service code, so
its rows are the grid's rows.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.services import suggestions as service
from gateway.services.paging import DEFAULT_PAGE_SIZE
from schema.context import Context
from schema.flat_lists import served_as
from schema.organizations import OrganizationRow, PsaOrganization
from schema.paging import page_totals


@strawberry.type(description="A platform organisation, as a suggestion names it.")
class SuggestedOrganization:
    id: strawberry.ID = strawberry.field(description="The platform's organisation id.")
    name: str
    reference: str = strawberry.field(description="Organization Reference #")
    status: str


@strawberry.type(
    description="A proposed mapping: an unmapped platform organisation and the "
    "unmapped HaloPSA organisation whose name matches it best."
)
class MappingSuggestion:
    organization: SuggestedOrganization
    psa_organization: PsaOrganization
    score: int = strawberry.field(
        description="0–100; 100 only for the exact name after normalisation (case, accents, "
        "punctuation, legal forms such as Ltd/Limited)."
    )
    reason: str = strawberry.field(
        description='Why, for a person: e.g. "exact name after normalisation", '
        '"same name, different legal form", "similar name".'
    )


@strawberry.type
class MappingSuggestionPage:
    suggestions: list[MappingSuggestion]
    total: int
    page: int
    page_size: int
    page_count: int
    range: str = strawberry.field(description='e.g. "1 – 20 of 236"')


@strawberry.type(description="What applySuggestedMappings did.")
class AppliedSuggestions:
    mapped: int
    skipped: int = strawberry.field(
        description="Suggestions that no longer held when their turn came (mapped by hand "
        "meanwhile, deleted, or gone from HaloPSA); nothing was written for them."
    )
    mappings: list[OrganizationRow] = strawberry.field(
        description="The grid rows of the organisations just mapped."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="Suggested mappings for the unmapped organisations, best first: each "
        f"HaloPSA organisation at most once. minScore: {service.MIN_SCORE_FLOOR}–"
        f"{service.MAX_SCORE}."
    )
    async def suggest_mappings(
        self,
        info: Info[Context, None],
        min_score: int = service.DEFAULT_SUGGEST_MIN_SCORE,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> MappingSuggestionPage:
        result = await service.suggest_mappings(
            info.context.seller_id, min_score=min_score, page=page, page_size=page_size
        )
        return MappingSuggestionPage(
            suggestions=served_as(MappingSuggestion, result.items), **page_totals(result)
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Map every suggestion scoring at least minScore, as mapOrganization would "
        "(same history and log entries). Suggestions taken meanwhile are skipped."
    )
    async def apply_suggested_mappings(
        self, info: Info[Context, None], min_score: int = service.DEFAULT_APPLY_MIN_SCORE
    ) -> AppliedSuggestions:
        result = await service.apply_suggested_mappings(
            info.context.principal,
            min_score=min_score,
            cooldown_minutes=info.context.deps.settings.sync_cooldown_minutes,
        )
        return AppliedSuggestions(
            mapped=result.mapped,
            skipped=result.skipped,
            mappings=served_as(OrganizationRow, result.rows),
        )
