"""Domain errors: what a service refuses, and the stable code a script can branch on.

Services raise these; one extension at the GraphQL edge (``schema.errors``) turns each into
an error with ``extensions.code`` (plus the error's ``data``) and masks everything else as an
internal error with an id. Resolvers never build GraphQL errors themselves.

    DomainError(code, message, **data)
    ├── Unauthenticated            UNAUTHENTICATED
    ├── Forbidden                  FORBIDDEN
    ├── NotFound                   NOT_FOUND
    ├── BadUserInput               BAD_USER_INPUT (field=…)
    ├── IntegrationNotConfigured   INTEGRATION_NOT_CONFIGURED
    ├── InvalidConnection          INVALID_CONNECTION
    ├── PsaOrganizationTaken       PSA_ORGANIZATION_TAKEN
    ├── OrganizationNotMapped      ORGANIZATION_NOT_MAPPED
    ├── SyncInProgress             SYNC_IN_PROGRESS
    ├── SyncCooldown               SYNC_COOLDOWN (retryAfterSeconds=…)
    ├── RateLimited                RATE_LIMITED (retryAfterSeconds=…)
    ├── BrokerUnavailable          BROKER_UNAVAILABLE
    ├── DatabaseBusy               DATABASE_BUSY (retryAfterSeconds=…)
    ├── QueryTooComplex            QUERY_TOO_COMPLEX
    ├── SessionTokensUnavailable   SESSION_TOKENS_UNAVAILABLE
    ├── SyncNotAwaitingApproval    SYNC_NOT_AWAITING_APPROVAL
    └── ReviewNotPending           REVIEW_NOT_PENDING
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"
    default_message: ClassVar[str] = "Something went wrong."

    def __init__(self, message: str | None = None, **data: Any) -> None:
        self.message = message or self.default_message
        self.data = data
        super().__init__(self.message)

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.data}


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    default_message = "Authentication required: send 'Authorization: Bearer <token>'."


class Forbidden(DomainError):
    code = "FORBIDDEN"
    default_message = (
        "Only Seller Admin and Seller Agent Admin users can use the HaloPSA integration."
    )


class NotFound(DomainError):
    code = "NOT_FOUND"
    default_message = "Not found."


class BadUserInput(DomainError):
    code = "BAD_USER_INPUT"
    default_message = "Invalid input."


class IntegrationNotConfigured(DomainError):
    code = "INTEGRATION_NOT_CONFIGURED"
    default_message = (
        "Configure and verify the HaloPSA connection settings before mapping or syncing."
    )


class InvalidConnection(DomainError):
    code = "INVALID_CONNECTION"
    default_message = "Invalid connection configuration."


class PsaOrganizationTaken(DomainError):
    code = "PSA_ORGANIZATION_TAKEN"
    default_message = "This PSA organization is already mapped to another organization."


class OrganizationNotMapped(DomainError):
    code = "ORGANIZATION_NOT_MAPPED"
    default_message = "Unmapped organizations cannot have their subscriptions synced."


class SyncInProgress(DomainError):
    code = "SYNC_IN_PROGRESS"
    default_message = "Sync in progress"


class SyncCooldown(DomainError):
    code = "SYNC_COOLDOWN"

    def __init__(self, retry_after_seconds: int) -> None:
        # Whole minutes, rounded up: "in 0 minutes" would invite a click that is refused.
        minutes = max(1, -(-retry_after_seconds // 60))
        super().__init__(
            f"You can trigger the next sync in {minutes} minutes",
            retryAfterSeconds=retry_after_seconds,
        )
        self.retry_after_seconds = retry_after_seconds
        self.minutes = minutes


class RateLimited(DomainError):
    code = "RATE_LIMITED"

    def __init__(self, retry_after_seconds: int, what: str = "requests") -> None:
        super().__init__(
            f"Too many {what}; try again in {retry_after_seconds} seconds.",
            retryAfterSeconds=retry_after_seconds,
        )
        self.retry_after_seconds = retry_after_seconds


class BrokerUnavailable(DomainError):
    code = "BROKER_UNAVAILABLE"
    default_message = (
        "The sync queue is unavailable right now; nothing was started. Try again shortly."
    )


# A lock held past the busy timeout (seconds) is a long write (a bulk import, a migration);
# a second later it is usually gone.
DATABASE_BUSY_RETRY_AFTER_SECONDS = 1


class DatabaseBusy(DomainError):
    """Another writer held the database past the busy timeout.

    The statement (or transaction) that waited changed nothing; a service whose writes form
    one transaction therefore changed nothing at all.
    """

    code = "DATABASE_BUSY"

    def __init__(self) -> None:
        super().__init__(
            "The database is busy; try again in a moment.",
            retryAfterSeconds=DATABASE_BUSY_RETRY_AFTER_SECONDS,
        )


class QueryTooComplex(DomainError):
    code = "QUERY_TOO_COMPLEX"
    default_message = "The query is too complex."


class SessionTokensUnavailable(DomainError):
    """The gateway verifies the platform's tokens with a public key and cannot sign its own."""

    code = "SESSION_TOKENS_UNAVAILABLE"
    default_message = "This gateway does not issue session tokens; keep using the platform's token."


class SyncNotAwaitingApproval(DomainError):
    """approveSync on a run the safety valve is not holding (any more)."""

    code = "SYNC_NOT_AWAITING_APPROVAL"
    default_message = "This sync run is not waiting for approval."


class ReviewNotPending(DomainError):
    """A day-one decision for an organisation whose HaloPSA licences await no review."""

    code = "REVIEW_NOT_PENDING"
    default_message = "This organization has no existing HaloPSA licences waiting for review."
