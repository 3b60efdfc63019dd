"""``viewer``: who the token says the caller is; ``issueSessionToken`` for the web app."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from gateway.services import sessions
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


@strawberry.type(description="A short-lived token for the same caller (see issueSessionToken).")
class SessionToken:
    token: str
    expires_at: datetime


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Swap the caller's token for a short-lived one (same seller and roles), or "
        "renew that one; never valid past the expiry of the token the session started from."
    )
    def issue_session_token(self, info: Info[Context, None]) -> SessionToken:
        ctx = info.context
        issued = sessions.issue_session_token(ctx.deps.settings, ctx.principal)
        return SessionToken(token=issued.token, expires_at=issued.expires_at)
