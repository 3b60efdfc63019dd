"""``viewer``: who the token says the caller is (handy for scripts checking their token)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.context import Context


@strawberry.type(description="The authenticated caller, as the token describes them.")
class Viewer:
    subject: str
    seller_id: strawberry.ID
    roles: list[str]


@strawberry.type
class Query:
    @strawberry.field(description="The caller of this request (requires a valid token).")
    def viewer(self, info: Info[Context, None]) -> Viewer:
        p = info.context.principal
        return Viewer(
            subject=p.subject, seller_id=strawberry.ID(p.seller_id), roles=sorted(p.roles)
        )
