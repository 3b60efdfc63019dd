"""Per-request (or per-socket) context: who is calling and the services' dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket

from gateway.auth import Principal, authenticate
from gateway.errors import DomainError, Unauthenticated
from gateway.services import Deps
from gateway.services.sellers import ensure_seller


@dataclass
class Context:
    request: Request | WebSocket
    response: Any
    deps: Deps
    connection_params: dict[str, Any] | None = None
    _principal: Principal | None = None
    _auth_error: DomainError | None = None
    # Per-request caches of loaders and resolved rows (keep resolvers free of N+1 queries).
    loaders: dict[str, Any] = field(default_factory=dict)
    # A live subscription's part to run (schema.live); None: the whole subscription.
    live: Any = None

    @property
    def principal(self) -> Principal:
        """The caller; raises UNAUTHENTICATED / FORBIDDEN for fields that need one."""
        if self._principal is not None:
            return self._principal
        raise self._auth_error or Unauthenticated()

    @property
    def caller(self) -> Principal | None:
        """The caller if the token was good, else None (for the edge's own rules, which
        must not raise: trusted documents, cost, metrics)."""
        return self._principal

    @property
    def seller_id(self) -> str:
        return self.principal.seller_id

    async def authenticate(self, authorization: str | None) -> None:
        """Resolve the caller once; an error is kept and raised by the fields that need it."""
        if not authorization:
            return
        try:
            principal = authenticate(self.deps.settings, authorization)
        except DomainError as exc:
            self._auth_error = exc
            return
        await ensure_seller(principal.seller_id)
        self._principal = principal


def token_from_connection_params(params: dict[str, Any] | None) -> str | None:
    """graphql-transport-ws clients send ``{"Authorization": "Bearer …"}`` or ``{"token": "…"}``."""
    if not params:
        return None
    for key in ("Authorization", "authorization", "token", "authToken"):
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            return value
    headers = params.get("headers")
    if isinstance(headers, dict):
        return token_from_connection_params(headers)
    return None
