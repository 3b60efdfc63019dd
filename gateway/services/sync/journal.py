"""Every seller-visible text of a sync run, in the seed's words, defined once.

Texts that go into the Logs or a run's message come as a :class:`~gateway.messages.Message`:
the words with their stable code and parameters (``gateway.messages``). Organisations are
named by name and public id (the grid's), never by a database id.
"""

from __future__ import annotations

from decimal import Decimal

from gateway.errors import SyncCooldown
from gateway.halopsa import (
    HaloAuthError,
    HaloError,
    HaloPermissionError,
    HaloRateLimited,
    HaloUnavailable,
)
from gateway.messages import Message, MessageCode, counted
from gateway.models import SyncKind, SyncScope
from gateway.services.issue_texts import existing_licences_detail
from gateway.services.logs import Detail

IN_PROGRESS_MESSAGE = "Sync in progress"
CUSTOMERS_STARTED = "Customers sync started"
CUSTOMERS_COMPLETED = "Customers sync completed"
SUBSCRIPTIONS_STARTED = "Subscriptions sync started"
SUBSCRIPTIONS_COMPLETED = "Subscriptions sync completed"
DRIFT_STARTED = "Drift check started"
DRIFT_COMPLETED = "Drift check completed"

# What a run of each kind is called in the seller's log and messages.
RUN_NAMES = {
    SyncKind.ORGANIZATIONS: "customers sync",
    SyncKind.SUBSCRIPTIONS: "subscriptions sync",
    SyncKind.RECONCILE: "drift check",
}
# What a run of each kind processes ("12 of 40 … were processed").
RUN_THINGS = {
    SyncKind.ORGANIZATIONS: "organizations",
    SyncKind.SUBSCRIPTIONS: "subscriptions",
    SyncKind.RECONCILE: "licences",
}
STARTED_TITLES = {
    SyncKind.ORGANIZATIONS: CUSTOMERS_STARTED,
    SyncKind.SUBSCRIPTIONS: SUBSCRIPTIONS_STARTED,
    SyncKind.RECONCILE: DRIFT_STARTED,
}
COMPLETED_TITLES = {
    SyncKind.ORGANIZATIONS: CUSTOMERS_COMPLETED,
    SyncKind.SUBSCRIPTIONS: SUBSCRIPTIONS_COMPLETED,
    SyncKind.RECONCILE: DRIFT_COMPLETED,
}


def finished_title(kind: SyncKind, verb: str) -> str:
    """ "Customers sync failed", "Drift check cancelled" …"""
    return f"{RUN_NAMES[kind].capitalize()} {verb}"


CUSTOMER_NOT_SYNCED = "Customer not synced"
CUSTOMERS_MISSING = "Customers missing from HaloPSA"
# How many ids of vanished clients an entry names (the rest is "…").
MISSING_CLIENTS_NAMED = 20

SUBSCRIPTION_SKIPPED = "Subscription skipped"
SUBSCRIPTION_QUANTITY_ZERO = "Subscription quantity set to zero"
SUBSCRIPTION_NOT_SYNCED = "Subscription not synced"

# --- what a run says (its message; its events carry it) -----------------------------------

SYNC_IN_PROGRESS = Message(MessageCode.SYNC_IN_PROGRESS, IN_PROGRESS_MESSAGE)


def cooldown_message(retry_after_seconds: int) -> Message:
    """What a sync button shows while its cooldown runs: the words of the SYNC_COOLDOWN
    refusal (``gateway.errors.SyncCooldown``), with the minutes as its parameter."""
    refusal = SyncCooldown(retry_after_seconds)
    return Message(MessageCode.SYNC_COOLDOWN, refusal.message, {"minutes": refusal.minutes})


ORGANIZATION_NO_LONGER_MAPPED = Message(
    MessageCode.ORGANIZATION_NO_LONGER_MAPPED,
    "This organization is no longer mapped to a HaloPSA organization.",
)
READBACK_INCOMPLETE = Message(
    MessageCode.READBACK_INCOMPLETE,
    "HaloPSA's list of licences kept changing while the sync checked what a lost answer had "
    "stored, so nothing was sent again. The sync can be started again.",
)
CANCELLED_BY_USER = Message(MessageCode.CANCELLED_BY_USER, "Cancelled by the user.")
CANCELLED_BEFORE_START = Message(MessageCode.CANCELLED_BEFORE_START, "Cancelled before it started.")
RUN_TAKEN_OVER = Message(MessageCode.RUN_TAKEN_OVER, "Another sync of this seller took over.")
RUN_ABANDONED = Message(
    MessageCode.RUN_ABANDONED,
    "The sync stopped unexpectedly (its worker was lost) and was abandoned.",
)


def internal_error(error_type: str) -> Message:
    return Message(
        MessageCode.INTERNAL_ERROR,
        f"The sync stopped because of an internal error ({error_type}). It can be started again.",
        {"errorType": error_type},
    )


def seller_reason(exc: HaloError) -> Message:
    """Why a run could not continue, in words a seller understands."""
    if isinstance(exc, HaloAuthError):
        return Message(
            MessageCode.HALO_CREDENTIALS_REFUSED,
            "HaloPSA refused the credentials (client ID, secret or tenant). "
            "Check the connection settings.",
        )
    if isinstance(exc, HaloPermissionError):
        return Message(
            MessageCode.HALO_PERMISSION_MISSING,
            "The HaloPSA API agent lacks a permission needed for this sync.",
        )
    if isinstance(exc, HaloRateLimited):
        return Message(
            MessageCode.HALO_RATE_LIMITED,
            "HaloPSA kept answering 'rate limit reached'; "
            "the sync stopped and can be retried later.",
        )
    if isinstance(exc, HaloUnavailable):
        return Message(
            MessageCode.HALO_UNAVAILABLE,
            "HaloPSA could not be reached or kept failing after several retries.",
        )
    return Message(
        MessageCode.HALO_ERROR, f"HaloPSA answered with an error: {exc}", {"error": str(exc)}
    )


# --- the Logs entries of a run ----------------------------------------------------------------


def scope_text(scope: SyncScope, organization_name: str | None, organization_id: str | None) -> str:
    """A run's scope as its Logs entry says it: the organisation by name and public id."""
    if scope is SyncScope.ALL:
        return "all organizations"
    if organization_id is None:  # the organisation was deleted since
        return "one organization"
    return f"organization '{organization_name}' ({organization_id})"


def scheduled_skipped(kind: SyncKind) -> str:
    return f"Scheduled {RUN_NAMES[kind]} skipped"


def scheduled_skipped_details(kind: SyncKind, reason: str, reason_code: str) -> Message:
    return Message(
        MessageCode.SCHEDULED_SYNC_SKIPPED,
        f"{reason}. The next scheduled sync or a manual one will catch up.",
        {"kind": kind.value, "reason": reason, "reasonCode": reason_code},
    )


def _subscription(name: str, external_id: str) -> dict[str, str]:
    return {"subscriptionName": name, "subscriptionId": external_id}


def subscription_skipped(
    name: str, external_id: str, organization: str, organization_id: str
) -> Message:
    return Message(
        MessageCode.SUBSCRIPTION_SKIPPED,
        f"Subscription '{name}' ({external_id}) of organization '{organization}' was not sent "
        "to HaloPSA because its Quantity is zero.",
        {
            **_subscription(name, external_id),
            "organizationName": organization,
            "organizationId": organization_id,
        },
    )


def subscription_quantity_zero(
    name: str, external_id: str, organization: str, organization_id: str, licence_id: int | None
) -> Message:
    return Message(
        MessageCode.SUBSCRIPTION_QUANTITY_ZERO,
        f"Subscription '{name}' ({external_id}) of organization '{organization}' now has a "
        f"Quantity of zero. Its HaloPSA licence {licence_id} was updated to a count of 0 so "
        "that the customer is no longer billed for it.",
        {
            **_subscription(name, external_id),
            "organizationName": organization,
            "organizationId": organization_id,
            "licenceId": licence_id,
        },
    )


def subscription_rejected(name: str, external_id: str, reason: str) -> Message:
    return Message(
        MessageCode.SUBSCRIPTION_NOT_SYNCED,
        f"HaloPSA rejected subscription '{name}' ({external_id}): {reason}",
        {**_subscription(name, external_id), "reason": reason},
    )


def customer_without_name(halo_client_id: int) -> Message:
    return Message(
        MessageCode.CUSTOMER_NOT_SYNCED,
        f"HaloPSA client {halo_client_id} has no name.",
        {"haloClientId": halo_client_id},
    )


def customers_missing(halo_ids: list[int]) -> Message:
    named = sorted(halo_ids)[:MISSING_CLIENTS_NAMED]
    return Message(
        MessageCode.CUSTOMERS_MISSING_FROM_HALO,
        f"{len(halo_ids)} previously synced HaloPSA organization(s) were not found: "
        + ", ".join(str(v) for v in named)
        + ("…" if len(halo_ids) > MISSING_CLIENTS_NAMED else "")
        + ". Their mappings show Response Error.",
        {"count": len(halo_ids), "haloClientIds": ", ".join(str(v) for v in named)},
    )


# --- HaloPSA's rate limit held the run up -------------------------------------------------

RATE_LIMIT_WAITING = "Waiting for HaloPSA's rate limit"


def _duration(seconds: float) -> str:
    if seconds < 120:
        whole = max(1, round(seconds))
        return "1 second" if whole == 1 else f"{whole} seconds"
    return f"{round(seconds / 60)} minutes"


def _waiting_params(kind: SyncKind, resume_in: float, limit: float) -> dict[str, str | int]:
    return {"kind": kind.value, "resumeInSeconds": round(resume_in), "limitSeconds": round(limit)}


def rate_limit_waiting_message(kind: SyncKind, resume_in: float, limit: float) -> Message:
    """The run's message (and its events') while it waits: the title's words."""
    return Message(
        MessageCode.RATE_LIMIT_WAITING, RATE_LIMIT_WAITING, _waiting_params(kind, resume_in, limit)
    )


def rate_limit_waiting(kind: SyncKind, resume_in: float, limit: float) -> Message:
    """The run is re-queued to continue once HaloPSA's rolling window admits requests."""
    return Message(
        MessageCode.RATE_LIMIT_WAITING,
        f"HaloPSA answered 'rate limit reached' (another integration may be using the "
        f"instance's request budget). The {RUN_NAMES[kind]} continues in {_duration(resume_in)}; "
        f"it stops if HaloPSA still refuses after {_duration(limit)} in all.",
        _waiting_params(kind, resume_in, limit),
    )


def rate_limit_gave_up(
    *, waited: float, limit: float, refused: int, processed: int, total: int, kind: SyncKind
) -> Message:
    """The run waited for HaloPSA's rate limit as long as a sync waits, and stops."""
    things = RUN_THINGS[kind]
    return Message(
        MessageCode.RATE_LIMIT_GAVE_UP,
        f"HaloPSA answered 'rate limit reached' for {_duration(waited)} ({refused} requests "
        f"refused), longer than the {_duration(limit)} a sync waits for it. {processed} of "
        f"{total} {things} were processed; the sync stopped and can be started again once "
        "HaloPSA accepts requests.",
        {
            "waitedSeconds": round(waited),
            "refused": refused,
            "limitSeconds": round(limit),
            "processed": processed,
            "total": total,
            "kind": kind.value,
        },
    )


# --- the preview (previewSync, `halo-gateway preview`): why a subscription gets its action ---

PREVIEW_QUANTITY_ZERO = "Quantity is zero: not sent to HaloPSA while it has no seats."
PREVIEW_DELETED_BEFORE_SENT = "Deleted before it ever reached HaloPSA: nothing to send."
PREVIEW_UNMAPPED = (
    "The organization is not mapped to a HaloPSA organization: its subscriptions are not synced."
)
PREVIEW_HALO_CLIENT_MISSING = (
    "The mapped HaloPSA organization was not found in HaloPSA by the last organizations sync "
    "(Response Error): its subscriptions are not synced."
)
PREVIEW_AWAITING_READBACK = (
    "HaloPSA's answer to an earlier sync was lost: the sync first reads this organization's "
    "licences back and creates the licence only if HaloPSA did not store it then."
)


def preview_quantity_zero_in_halo(licence_id: int | None) -> str:
    return (
        f"Quantity is now zero: HaloPSA licence {licence_id} will be set to a count of 0 so "
        "that the customer is no longer billed for it."
    )


def preview_mark_deleted(licence_id: int | None) -> str:
    return (
        f"Deleted on the platform: HaloPSA licence {licence_id} is sent once more with status "
        "DELETED and deactivated (nothing is deleted in HaloPSA)."
    )


def preview_remapped(old_licences: list[tuple[int, str]]) -> str:
    old = ", ".join(f"licence {licence} in '{client}'" for licence, client in old_licences)
    return (
        "The organization was remapped: the licence is created in its new HaloPSA "
        f"organization, and {old} stays there as it is (and goes on being billed)."
    )


def preview_last_write_unconfirmed(licence_id: int | None) -> str:
    return (
        f"HaloPSA did not confirm the last write to licence {licence_id}, so its current values "
        "are not known here; the sync sends the platform's values."
    )


PREVIEW_EXISTING_LICENCES = (
    "Its HaloPSA organization already held licences this integration did not write: nothing "
    "is sent until you review them (claim the ones that are these subscriptions, mark the "
    "rest as not ours, or create new ones)."
)


# --- day one: licences a HaloPSA client held before the first push ------------------------

EXISTING_LICENCES_TO_REVIEW = "Existing licences to review"
EXISTING_LICENCES_CLAIMED = "Existing licences claimed"
EXISTING_LICENCES_NOT_OURS = "Existing licences marked not ours"
EXISTING_LICENCES_REVIEWED = "Existing licences reviewed"
EXISTING_CHECK_INCOMPLETE = Message(
    MessageCode.EXISTING_CHECK_INCOMPLETE,
    "HaloPSA's list of licences kept changing while the sync checked what newly mapped "
    "HaloPSA organizations already hold, so nothing was sent. The sync can be started again.",
)


def _organization(name: str, organization_id: str) -> dict[str, str]:
    return {"organizationName": name, "organizationId": organization_id}


def existing_licences_waiting(
    organization: str, organization_id: str, client: str, client_id: int, undecided: int
) -> Message:
    """The run's WARNING entry says what the issue says (one text, defined with the issue's)."""
    return Message(
        MessageCode.EXISTING_LICENCES_TO_REVIEW,
        existing_licences_detail(organization, client, client_id, undecided),
        {
            **_organization(organization, organization_id),
            "psaOrganizationName": client,
            "haloClientId": client_id,
            "undecided": undecided,
        },
    )


def existing_licences_claimed(
    organization: str, organization_id: str, pairs: list[tuple[int, str, str]], by: str
) -> Message:
    claimed = "; ".join(f"licence {lic} → '{name}' ({ext})" for lic, name, ext in pairs)
    return Message(
        MessageCode.EXISTING_LICENCES_CLAIMED,
        f"Organization '{organization}': {claimed}. By: {by}",
        {
            **_organization(organization, organization_id),
            "licenceIds": ", ".join(str(lic) for lic, _name, _ext in pairs),
            "subscriptionIds": ", ".join(ext for _lic, _name, ext in pairs),
            "by": by,
        },
    )


def existing_licences_not_ours(
    organization: str, organization_id: str, licences: list[int], by: str
) -> Message:
    listed = ", ".join(str(lic) for lic in licences)
    return Message(
        MessageCode.EXISTING_LICENCES_NOT_OURS,
        f"Organization '{organization}': "
        + (f"licence {listed} stays" if len(licences) == 1 else f"licences {listed} stay")
        + f" yours; the sync never touches them. By: {by}",
        {**_organization(organization, organization_id), "licenceIds": listed, "by": by},
    )


def existing_licences_reviewed(
    organization: str, organization_id: str, claimed: int, not_ours: int, by: str
) -> Message:
    return Message(
        MessageCode.EXISTING_LICENCES_REVIEWED,
        f"Organization '{organization}': {counted(claimed, 'licence')} claimed, {not_ours} "
        "marked not ours. The next subscriptions sync sends its subscriptions: claimed "
        f"licences are updated in place, the others are created. By: {by}",
        {
            **_organization(organization, organization_id),
            "claimed": claimed,
            "notOurs": not_ours,
            "by": by,
        },
    )


# --- the safety valve -----------------------------------------------------------------------

SUBSCRIPTIONS_NEEDS_APPROVAL = "Subscriptions sync needs approval"
SUBSCRIPTIONS_APPROVED = "Subscriptions sync approved"
SUBSCRIPTIONS_CANCELLED = "Subscriptions sync cancelled"
NEEDS_APPROVAL_MESSAGE = Message(
    MessageCode.NEEDS_APPROVAL,
    "Held by the safety valve before writing anything: review the preview, then approve or "
    "cancel it.",
)
NOT_APPROVED = Message(MessageCode.NOT_APPROVED, "Not approved: cancelled by the user.")


def superseded(run_id: int) -> Message:
    return Message(
        MessageCode.SUPERSEDED,
        f"Superseded by run {run_id}, which planned again.",
        {"runId": str(run_id)},
    )


def _change(what: str, before: str | int, after: str | int, total: str | int) -> str | None:
    """``lower seats from 30 to 3 (67.5% of your total)``, or None when nothing moves (a held
    run names only what it would change)."""
    drop, whole = Decimal(str(before)) - Decimal(str(after)), Decimal(str(total))
    if not drop:
        return None
    share = f" ({abs(drop) / whole * 100:.1f}% of your total)" if whole else ""
    return f"{'lower' if drop > 0 else 'raise'} {what} from {before} to {after}{share}"


def needs_approval(
    *,
    seats: tuple[int, int, int],
    money: list[tuple[str, str, str, str]],
    deactivations: int,
    writes: int,
    max_drop_percent: int,
    max_deactivations: int,
) -> Message:
    """The ERROR entry of a held run: what it would have done, and why it waits (the money
    per currency is on the run, ``SyncRun.approval.money``)."""
    before, after, total = seats
    changes = [_change("seats", before, after, total)]
    changes += [
        _change(f"the {currency} monthly customer price", b, a, t) for currency, t, b, a in money
    ]
    parts = [part for part in changes if part]
    if deactivations:
        parts.append(f"deactivate {counted(deactivations, 'licence')}")
    return Message(
        MessageCode.NEEDS_APPROVAL,
        f"This sync would write {counted(writes, 'licence')} to HaloPSA: "
        + ", ".join(parts)
        + f". Your safety valve holds a sync that lowers seats or monthly value by more than "
        f"{max_drop_percent}% of your total, or deactivates more than {max_deactivations} "
        "licences. Nothing was written. Review the preview, then approve or cancel the run.",
        {
            "writes": writes,
            "seatsBefore": before,
            "seatsAfter": after,
            "seatsTotal": total,
            "deactivations": deactivations,
            "maxDropPercent": max_drop_percent,
            "maxDeactivations": max_deactivations,
        },
    )


def approved(run_id: int, by: str) -> Message:
    return Message(
        MessageCode.SUBSCRIPTIONS_SYNC_APPROVED,
        f"Run {run_id} was approved and runs the plan it showed. By: {by}",
        {"runId": str(run_id), "by": by},
    )


def held_cancelled(reason: Message, by: str | None) -> Message:
    """The entry of a held run dropped: why (not approved, superseded), and by whom."""
    return Message(
        MessageCode.SUBSCRIPTIONS_SYNC_CANCELLED,
        reason.text if by is None else f"{reason.text} By: {by}",
        {"reasonCode": reason.code.value, "reason": reason.text, **reason.params, "by": by},
    )


# --- drift (reconcile, `drift(page…)`, `halo-gateway drift`): one licence's finding, in words ---

DRIFT_FIELD_SEPARATOR = "; "


def show_value(value: object) -> str:
    """A licence field's value in a sentence or a CSV cell (``(none)``, ``true``, ``12``)."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def drift_changes_text(changes: list[dict[str, object]]) -> str:
    """``count: 10 → 12; price: 220.00 → 250.00`` (what we wrote → what HaloPSA holds)."""
    return DRIFT_FIELD_SEPARATOR.join(
        f"{c['field']}: {show_value(c['ours'])} → {show_value(c['theirs'])}" for c in changes
    )


def drift_edited(changes: list[dict[str, object]]) -> str:
    return (
        f"Edited in HaloPSA since this integration wrote it ({drift_changes_text(changes)}). "
        "The next sync that changes this subscription sends the platform's values and "
        "overwrites these edits (the platform wins); until then they stay."
    )


def drift_deactivated(changes: list[dict[str, object]]) -> str:
    return (
        f"Deactivated in HaloPSA since this integration wrote it ({drift_changes_text(changes)}). "
        "The next sync that changes this subscription makes it active again if the platform "
        "says so (the platform wins)."
    )


def drift_deleted(licence_id: int) -> str:
    return (
        f"Deleted from HaloPSA: licence {licence_id} is gone, but this integration still holds "
        "it as the licence of this subscription, so HaloPSA will reject the next update of it."
    )


def drift_foreign(client_name: str) -> str:
    return (
        f"Under the mapped HaloPSA organization '{client_name}', but not written by this "
        "integration (entered by hand or by another integration). If it bills the same thing "
        "as one of the platform's subscriptions, the customer may be billed twice."
    )


def drift_check_details(
    *, licences: int, edited: int, deactivated: int, deleted: int, foreign: int
) -> list[Detail]:
    """The counts of the drift check's summary entry in the Logs."""
    return [
        Detail("licencesRead", "Licences read", licences),
        Detail("edited", "Edited in HaloPSA", edited),
        Detail("deactivated", "Deactivated in HaloPSA", deactivated),
        Detail("deleted", "Deleted from HaloPSA", deleted),
        Detail("foreign", "Not written by this integration", foreign),
    ]
