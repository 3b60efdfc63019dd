"""Every seller-visible text of a sync run, in the seed's words, defined once."""

from __future__ import annotations

from gateway.halopsa import (
    HaloAuthError,
    HaloError,
    HaloPermissionError,
    HaloRateLimited,
    HaloUnavailable,
)

IN_PROGRESS_MESSAGE = "Sync in progress"
CUSTOMERS_STARTED = "Customers sync started"
CUSTOMERS_COMPLETED = "Customers sync completed"
SUBSCRIPTIONS_STARTED = "Subscriptions sync started"
SUBSCRIPTIONS_COMPLETED = "Subscriptions sync completed"


def seller_reason(exc: HaloError) -> str:
    """Why a run could not continue, in words a seller understands."""
    if isinstance(exc, HaloAuthError):
        return (
            "HaloPSA refused the credentials (client ID, secret or tenant). "
            "Check the connection settings."
        )
    if isinstance(exc, HaloPermissionError):
        return "The HaloPSA API agent lacks a permission needed for this sync."
    if isinstance(exc, HaloRateLimited):
        return (
            "HaloPSA kept answering 'rate limit reached'; "
            "the sync stopped and can be retried later."
        )
    if isinstance(exc, HaloUnavailable):
        return "HaloPSA could not be reached or kept failing after several retries."
    return f"HaloPSA answered with an error: {exc}"
