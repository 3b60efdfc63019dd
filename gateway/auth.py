"""Who is calling: a JWT from the platform becomes a :class:`Principal` scoped to one seller.

Tokens carry ``sub``, ``seller_id``, ``roles``, ``iss``, ``aud`` and ``exp``. Several keys may
verify (``JWT_SECRET`` as a comma-separated list, ``JWT_PUBLIC_KEY`` as several PEM blocks)
so keys rotate without a moment where valid tokens are refused; the first secret signs.

Only Seller Admin and Seller Agent Admin may use the integration (the seed's "User roles");
everything else is ``FORBIDDEN``, a missing or bad token is ``UNAUTHENTICATED``. Role names
are compared case- and separator-insensitively because platforms spell them "Seller Admin",
"SELLER_ADMIN" or "seller-admin".
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from gateway.errors import Forbidden, Unauthenticated
from gateway.settings import Settings


class Role(StrEnum):
    SELLER_ADMIN = "SELLER_ADMIN"
    SELLER_AGENT_ADMIN = "SELLER_AGENT_ADMIN"


ALLOWED_ROLES = frozenset(Role)


class ClientKind(StrEnum):
    """Who holds the token, as the platform signed it (the ``client_kind`` claim).

    A browser session may run only the trusted documents when they are enforced; an
    integrator's script may send its own queries, priced by cost. Absent means browser: the
    stricter side, so a token that forgot the claim is never let through an allow-list. Never
    taken from the ``Origin`` header, which any script can set.
    """

    BROWSER = "browser"
    INTEGRATOR = "integrator"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    seller_id: str
    roles: frozenset[str]
    # When the token stops being accepted (its ``exp`` plus the leeway): an open websocket
    # authenticated with it is closed then.
    expires_at: datetime | None = None
    # The latest moment a session started from this token may last: the ``session_until``
    # claim of a session token, else the token's own expiry (see services/sessions.py).
    session_until: datetime | None = None
    client_kind: ClientKind = ClientKind.BROWSER
    # The ``client_name`` claim, if any: a label for the per-operation metrics.
    client_name: str | None = None

    @property
    def display(self) -> str:
        return self.subject


# A page sends the same token with every request. Verifying it again each time cost ~0.25 ms
# of a grid request's ~2.5 ms of the gateway's own work (PyJWT checks on every call that an
# HS secret is not a PEM key, then the HMAC; an RSA signature costs more): a verified
# token's Principal is kept, by token and verification settings, for at most this long.
# Only the verification is saved: expiry is checked on every use.
VERIFIED_TOKEN_SECONDS = 60.0
# Tokens kept at most (the oldest go first): a few MB, whatever callers send.
VERIFIED_TOKENS_KEPT = 4096


class _VerifiedTokens:
    """Principals of tokens that passed verification, each trusted for
    ``VERIFIED_TOKEN_SECONDS`` from then. A clock that moved back before the verification
    (a token's ``nbf``) sends the token through PyJWT again. Only tokens that passed are
    kept: a bad token is verified, and refused, every time."""

    def __init__(self) -> None:
        self._entries: dict[tuple[object, ...], tuple[Principal, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...], now: datetime) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        principal, verified_at = entry
        if not verified_at <= now < verified_at + timedelta(seconds=VERIFIED_TOKEN_SECONDS):
            return None
        return principal

    def put(self, key: tuple[object, ...], principal: Principal, now: datetime) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (principal, now)
            while len(self._entries) > VERIFIED_TOKENS_KEPT:
                del self._entries[next(iter(self._entries))]


_verified = _VerifiedTokens()


def normalise_role(role: str) -> str:
    return re.sub(r"[\s\-]+", "_", role.strip()).upper()


def _verification_keys(settings: Settings) -> list[str]:
    if settings.jwt_public_key is not None:
        return settings.jwt_public_keys
    return settings.jwt_secrets


def _decode(settings: Settings, token: str) -> dict:
    """Verify with each key in turn; only a wrong signature moves on to the next key (an
    expired token or a wrong audience is refused whichever key signed it)."""
    keys = _verification_keys(settings)
    for index, key in enumerate(keys):
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[settings.jwt_algorithm],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                leeway=settings.jwt_leeway_seconds,
                options={"require": ["sub", "exp"]},
            )
        except jwt.InvalidSignatureError:
            if index == len(keys) - 1:
                raise
    raise jwt.InvalidTokenError("no verification key configured")


def authenticate(settings: Settings, authorization: str | None) -> Principal:
    """Turn an ``Authorization`` header value (or a bare token) into a Principal."""
    if not authorization:
        raise Unauthenticated()
    token = authorization.strip()
    scheme, _, rest = token.partition(" ")
    if rest and scheme.lower() == "bearer":
        token = rest.strip()
    elif rest:
        raise Unauthenticated("Unsupported authorization scheme: use 'Bearer <token>'.")
    # Everything the verification depends on, so settings with other keys verify anew.
    key = (
        token,
        settings.jwt_algorithm,
        settings.jwt_audience,
        settings.jwt_issuer,
        settings.jwt_leeway_seconds,
        *_verification_keys(settings),
    )
    now = datetime.now(UTC)
    principal = _verified.get(key, now)
    if principal is None:
        principal = _verify(settings, token)
        _verified.put(key, principal, now)
    elif principal.expires_at is not None and now >= principal.expires_at:
        # PyJWT's rule: refused once ``exp`` + leeway is reached (expires_at is that).
        raise Unauthenticated("The token has expired.")
    return principal


def _verify(settings: Settings, token: str) -> Principal:
    """The token's signature and claims checked by PyJWT, and its Principal."""
    try:
        claims = _decode(settings, token)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("The token is not valid.") from exc
    seller_id = claims.get("seller_id")
    roles = claims.get("roles")
    if not isinstance(seller_id, str | int) or str(seller_id).strip() == "":
        raise Unauthenticated("The token has no seller_id claim.")
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list):
        roles = []
    normalised = frozenset(normalise_role(str(r)) for r in roles)
    if not normalised & ALLOWED_ROLES:
        raise Forbidden()
    expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC) + timedelta(
        seconds=settings.jwt_leeway_seconds
    )
    limit = claims.get("session_until", claims["exp"])
    client_name = claims.get("client_name")
    return Principal(
        subject=str(claims["sub"]),
        seller_id=str(seller_id),
        roles=normalised,
        expires_at=expires_at,
        session_until=datetime.fromtimestamp(int(limit), UTC) if isinstance(limit, int) else None,
        client_kind=_client_kind(claims.get("client_kind")),
        client_name=(client_name.strip() or None) if isinstance(client_name, str) else None,
    )


def _client_kind(claim: object) -> ClientKind:
    if claim is None:
        return ClientKind.BROWSER
    if isinstance(claim, str):
        for kind in ClientKind:
            if claim.strip().lower() == kind.value:
                return kind
    # A typo must not quietly become either side: the platform fixes its token.
    raise Unauthenticated("The token's client_kind claim must be 'browser' or 'integrator'.")


def mint_token(
    settings: Settings,
    *,
    seller_id: str,
    roles: list[str],
    subject: str = "dev-user",
    ttl: timedelta = timedelta(hours=12),
    session_until: datetime | None = None,
    client_kind: ClientKind | None = None,
    client_name: str | None = None,
) -> str:
    """Sign a token with the first configured HS secret (development, scripts and tests)."""
    if settings.jwt_algorithm.upper().startswith(("RS", "ES", "PS")):
        raise ValueError("tokens for asymmetric algorithms are minted by the identity provider")
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "seller_id": seller_id,
        "roles": roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
    }
    if session_until is not None:
        claims["session_until"] = int(session_until.timestamp())
    if client_kind is not None:
        claims["client_kind"] = client_kind.value
    if client_name is not None:
        claims["client_name"] = client_name
    return jwt.encode(claims, settings.jwt_secrets[0], algorithm=settings.jwt_algorithm)
