"""Session tokens: what the web app swaps a handed-over token for, and renews.

The platform shell (or ``halo-gateway demo``'s link) hands the app a token that may live for
hours and may have passed through a URL. The app swaps it at once for a short-lived session
token (``SESSION_TOKEN_SECONDS``, 15 minutes by default) with the same subject, seller and
roles (and ``client_kind: browser``: a tab is a browser session, whoever handed the token
in), and renews that one before it runs out. Each session token carries ``session_until``: the
handed-over token's own expiry, which no renewal goes past, so a chain of renewals never
outlives what the platform granted.

Session tokens are signed with the gateway's HS secret. A deployment that verifies the
platform's RS/ES tokens with a public key cannot sign: the app then keeps the platform's
token and the shell renews it (README, "The web app").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.auth import ClientKind, Principal, mint_token
from gateway.errors import SessionTokensUnavailable
from gateway.settings import Settings


@dataclass(frozen=True)
class SessionToken:
    token: str
    expires_at: datetime


def issue_session_token(
    settings: Settings, principal: Principal, now: datetime | None = None
) -> SessionToken:
    if settings.jwt_public_key is not None or settings.jwt_algorithm.upper().startswith(
        ("RS", "ES", "PS")
    ):
        raise SessionTokensUnavailable()
    now = now or datetime.now(UTC)
    expires_at = now + timedelta(seconds=settings.session_token_seconds)
    until = principal.session_until or expires_at
    expires_at = min(expires_at, until)
    token = mint_token(
        settings,
        seller_id=principal.seller_id,
        roles=sorted(principal.roles),
        subject=principal.subject,
        ttl=expires_at - now,
        session_until=until,
        # The app's own session, whatever token it was swapped for: trusted documents only
        # (when enforced), never an integrator's ad-hoc queries from a tab.
        client_kind=ClientKind.BROWSER,
        client_name=principal.client_name,
    )
    return SessionToken(token=token, expires_at=expires_at.replace(microsecond=0))
