"""The stable codes of what a seller reads, and their parameters, defined once.

Every Logs entry, every sync event and every run message carries a :class:`MessageCode` and
its parameters beside the English text, so that a page can translate or render it without
parsing words. The texts stay the seed's and are built where they always were (the sync's in
``services/sync/journal.py``, the connection's in ``services/connection.py`` …); each builder
returns its code and parameters with the text (:class:`Message`).

Parameters are named in camelCase and hold JSON scalars. Organisations are named by their
public id (the grid's ``id``, the platform's own) and their name, never by a database id.
The list below is the contract: a code keeps its meaning and its parameters (new ones may be
added, none is renamed or dropped); a new kind of text gets a new code.

Nothing of ours is imported here: the event bus (``gateway.events``), the services and the
GraphQL edge all read the codes from this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

ParamValue = str | int | float | bool | None
Params = Mapping[str, ParamValue]


class MessageCode(StrEnum):
    """What a text says. Parameters of each (``name``), in the order the text uses them."""

    # --- the connection (Logs) ---
    # resellerId provider by result resultCode
    CONNECTION_TEST_SUCCEEDED = "CONNECTION_TEST_SUCCEEDED"
    CONNECTION_TEST_FAILED = "CONNECTION_TEST_FAILED"
    CONNECTION_NOT_SAVED = "CONNECTION_NOT_SAVED"  # resellerId by reason reasonCode
    CONNECTION_SAVED = "CONNECTION_SAVED"  # resellerId provider by resourceServer
    CONFIGURATION_UPDATED = "CONFIGURATION_UPDATED"  # resellerId syncUnitPrices by
    DAILY_DRIFT_CHECK_UPDATED = "DAILY_DRIFT_CHECK_UPDATED"  # resellerId dailyDriftCheck by
    # resellerId safetyValve maxDropPercent maxDeactivations by
    SAFETY_VALVE_UPDATED = "SAFETY_VALVE_UPDATED"
    # --- the mapping (Logs) ---
    # organizationId organizationName reference psaOrganizationId psaOrganizationName by
    ORGANIZATION_MAPPED = "ORGANIZATION_MAPPED"
    # … and previousPsaOrganizationId previousPsaOrganizationName
    ORGANIZATION_REMAPPED = "ORGANIZATION_REMAPPED"
    # organizationId organizationName reference psaOrganizationId psaOrganizationName by
    ORGANIZATION_UNMAPPED = "ORGANIZATION_UNMAPPED"
    SUGGESTED_MAPPINGS_APPLIED = "SUGGESTED_MAPPINGS_APPLIED"  # mapped minScore skipped by
    # --- a sync run's entries (Logs) ---
    # resellerId provider trigger scope organizationId organizationName
    CUSTOMERS_SYNC_STARTED = "CUSTOMERS_SYNC_STARTED"
    SUBSCRIPTIONS_SYNC_STARTED = "SUBSCRIPTIONS_SYNC_STARTED"
    DRIFT_CHECK_STARTED = "DRIFT_CHECK_STARTED"
    # resellerId provider created updated failed [skipped unchanged] durationMs haloCalls
    # rateLimited backoffSeconds
    CUSTOMERS_SYNC_COMPLETED = "CUSTOMERS_SYNC_COMPLETED"
    SUBSCRIPTIONS_SYNC_COMPLETED = "SUBSCRIPTIONS_SYNC_COMPLETED"
    # resellerId provider licencesRead edited deactivated deleted foreign durationMs haloCalls
    # rateLimited backoffSeconds
    DRIFT_CHECK_COMPLETED = "DRIFT_CHECK_COMPLETED"
    # reasonCode (a run message's code below), that message's parameters, then the counts
    CUSTOMERS_SYNC_FAILED = "CUSTOMERS_SYNC_FAILED"
    SUBSCRIPTIONS_SYNC_FAILED = "SUBSCRIPTIONS_SYNC_FAILED"
    CUSTOMERS_SYNC_CANCELLED = "CUSTOMERS_SYNC_CANCELLED"
    SUBSCRIPTIONS_SYNC_CANCELLED = "SUBSCRIPTIONS_SYNC_CANCELLED"  # … a held run's: and by
    DRIFT_CHECK_FAILED = "DRIFT_CHECK_FAILED"
    DRIFT_CHECK_CANCELLED = "DRIFT_CHECK_CANCELLED"
    # runId, the verdict's (NEEDS_APPROVAL) parameters, then the counts
    SUBSCRIPTIONS_SYNC_NEEDS_APPROVAL = "SUBSCRIPTIONS_SYNC_NEEDS_APPROVAL"
    SUBSCRIPTIONS_SYNC_APPROVED = "SUBSCRIPTIONS_SYNC_APPROVED"  # runId by
    CUSTOMER_NOT_SYNCED = "CUSTOMER_NOT_SYNCED"  # haloClientId
    CUSTOMERS_MISSING_FROM_HALO = "CUSTOMERS_MISSING_FROM_HALO"  # count haloClientIds
    # subscriptionName subscriptionId organizationName organizationId
    SUBSCRIPTION_SKIPPED = "SUBSCRIPTION_SKIPPED"
    # … and licenceId
    SUBSCRIPTION_QUANTITY_ZERO = "SUBSCRIPTION_QUANTITY_ZERO"
    SUBSCRIPTION_NOT_SYNCED = "SUBSCRIPTION_NOT_SYNCED"  # subscriptionName subscriptionId reason
    SCHEDULED_SYNC_SKIPPED = "SCHEDULED_SYNC_SKIPPED"  # kind reason reasonCode
    # --- day one: licences a HaloPSA client held before the first push (Logs) ---
    # organizationName organizationId psaOrganizationName haloClientId undecided
    EXISTING_LICENCES_TO_REVIEW = "EXISTING_LICENCES_TO_REVIEW"
    # organizationName organizationId licenceIds subscriptionIds by
    EXISTING_LICENCES_CLAIMED = "EXISTING_LICENCES_CLAIMED"
    EXISTING_LICENCES_NOT_OURS = "EXISTING_LICENCES_NOT_OURS"  # organizationName … licenceIds by
    # organizationName organizationId claimed notOurs by
    EXISTING_LICENCES_REVIEWED = "EXISTING_LICENCES_REVIEWED"
    # --- what a run says (its message, its events; RATE_LIMIT_WAITING also in Logs), and
    # what a sync button shows (SYNC_IN_PROGRESS, SYNC_COOLDOWN) ---
    SYNC_QUEUED = "SYNC_QUEUED"  # an event without a message: the run was queued
    SYNC_IN_PROGRESS = "SYNC_IN_PROGRESS"  # "Sync in progress"
    # minutes: "You can trigger the next sync in xx minutes" (a sync button's, a grid row's)
    SYNC_COOLDOWN = "SYNC_COOLDOWN"
    SYNC_PROGRESS = "SYNC_PROGRESS"  # an event without a message: counts moved
    SYNC_COMPLETED = "SYNC_COMPLETED"  # an event without a message: the run succeeded
    SYNC_FAILED = "SYNC_FAILED"  # a FAILED event without a message (none today)
    SYNC_CANCELLED = "SYNC_CANCELLED"  # a CANCELLED event without a message (none today)
    EVENTS_MISSED = "EVENTS_MISSED"  # RESYNC: events were missed, read the state again
    RATE_LIMIT_WAITING = "RATE_LIMIT_WAITING"  # kind resumeInSeconds limitSeconds
    # waitedSeconds refused limitSeconds processed total kind
    RATE_LIMIT_GAVE_UP = "RATE_LIMIT_GAVE_UP"
    HALO_CREDENTIALS_REFUSED = "HALO_CREDENTIALS_REFUSED"
    HALO_PERMISSION_MISSING = "HALO_PERMISSION_MISSING"
    HALO_RATE_LIMITED = "HALO_RATE_LIMITED"
    HALO_UNAVAILABLE = "HALO_UNAVAILABLE"
    HALO_ERROR = "HALO_ERROR"  # error (what HaloPSA said)
    ORGANIZATION_NO_LONGER_MAPPED = "ORGANIZATION_NO_LONGER_MAPPED"
    READBACK_INCOMPLETE = "READBACK_INCOMPLETE"
    EXISTING_CHECK_INCOMPLETE = "EXISTING_CHECK_INCOMPLETE"
    # held by the safety valve: writes seatsBefore seatsAfter seatsTotal deactivations
    # maxDropPercent maxDeactivations (the run's message has none; its entry has them)
    NEEDS_APPROVAL = "NEEDS_APPROVAL"
    NOT_APPROVED = "NOT_APPROVED"  # a held run cancelled
    SUPERSEDED = "SUPERSEDED"  # runId (the newer run that planned again)
    CANCELLED_BY_USER = "CANCELLED_BY_USER"
    CANCELLED_BEFORE_START = "CANCELLED_BEFORE_START"
    RUN_TAKEN_OVER = "RUN_TAKEN_OVER"  # another sync of the seller took over
    RUN_ABANDONED = "RUN_ABANDONED"  # its worker was lost
    INTERNAL_ERROR = "INTERNAL_ERROR"  # errorType
    # --- written before codes existed: only the text says what it is ---
    LEGACY = "LEGACY"

    @classmethod
    def of_stored(cls, value: str | None) -> MessageCode:
        """A stored code; rows written before codes existed (or by a newer version with a
        code this one does not know) read as LEGACY: the text is all there is."""
        try:
            return cls(value) if value else cls.LEGACY
        except ValueError:
            return cls.LEGACY


@dataclass(frozen=True)
class Message:
    """A seller-visible text with its code and parameters."""

    code: MessageCode
    text: str
    params: Params = field(default_factory=dict)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 licence``, ``3 licences``, ``1,200 licences``: a seller reads a count with its noun
    agreeing, never ``licence(s)``. ``plural`` for nouns that do not just take an "s"."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def merge_params(*parts: Params) -> dict[str, ParamValue]:
    """Parameters of a text made of several (a failure's reason, then the run's counts);
    a name appears once: two parts naming the same thing must agree."""
    merged: dict[str, ParamValue] = {}
    for part in parts:
        for name, value in part.items():
            if name in merged and merged[name] != value:
                raise ValueError(f"parameter {name!r} given twice: {merged[name]!r}, {value!r}")
            merged[name] = value
    return merged


def stored_params(params: Params) -> list[list[ParamValue]]:
    """``[[name, value], …]`` as a JSON column stores them: an array keeps the order
    (PostgreSQL's jsonb reorders the keys of an object)."""
    return [[name, value] for name, value in params.items()]


def read_params(stored: list[list[ParamValue]] | None) -> dict[str, ParamValue]:
    return {str(pair[0]): pair[1] for pair in stored or ()}
