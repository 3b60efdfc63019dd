"""HaloPSA: an async client and, beside it, a simulator of the real API.

A leaf package: it imports httpx (and Starlette in ``simulator``), nothing else of ours, so
it could be published on its own.
"""

from gateway.halopsa.check import ConnectionCheck, PermissionCheck, check_connection
from gateway.halopsa.client import HaloClient
from gateway.halopsa.errors import (
    HaloAuthError,
    HaloError,
    HaloIncompleteRead,
    HaloNotFound,
    HaloOutcomeUnknown,
    HaloPermissionError,
    HaloRateLimited,
    HaloRecordRejected,
    HaloRequestError,
    HaloRetriableError,
    HaloUnavailable,
    error_message,
)
from gateway.halopsa.ratelimit import InMemoryRateLimiter, RateLimiter, allowed_requests
from gateway.halopsa.records import (
    CallStats,
    ClientRecord,
    HaloCredentials,
    LicencePage,
    LicenceRecord,
    LicenceWrite,
    WriteOutcome,
)

__all__ = [
    "CallStats",
    "ClientRecord",
    "ConnectionCheck",
    "HaloAuthError",
    "HaloClient",
    "HaloCredentials",
    "HaloError",
    "HaloIncompleteRead",
    "HaloNotFound",
    "HaloOutcomeUnknown",
    "HaloPermissionError",
    "HaloRateLimited",
    "HaloRecordRejected",
    "HaloRequestError",
    "HaloRetriableError",
    "HaloUnavailable",
    "InMemoryRateLimiter",
    "LicencePage",
    "LicenceRecord",
    "LicenceWrite",
    "PermissionCheck",
    "RateLimiter",
    "WriteOutcome",
    "allowed_requests",
    "check_connection",
    "error_message",
]
