"""Every seller-visible text of an integration issue, defined once.

Each kind has a summary (what is wrong, in plain words) and what to do about it; the kinds
that are about one sync (overdue, failed) name it the way the sync page does ("Customers
sync" for organisations from HaloPSA, "Subscriptions sync" for subscriptions to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from gateway.messages import counted
from gateway.models import IssueKind, SyncKind

SYNC_NAMES = {
    SyncKind.ORGANIZATIONS.value: "customers sync",
    SyncKind.SUBSCRIPTIONS.value: "subscriptions sync",
    SyncKind.RECONCILE.value: "drift check",
}


@dataclass(frozen=True)
class IssueText:
    summary: str
    what_to_do: str


def _sync_name(subject: str) -> str:
    return SYNC_NAMES.get(subject, "sync")


def issue_text(kind: IssueKind, subject: str = "", *, at: time | None = None) -> IssueText:
    """The words of an issue; ``subject`` is the sync kind for the per-sync kinds."""
    if kind is IssueKind.CONNECTION_REJECTED:
        return IssueText(
            "HaloPSA rejected the connection: the API application's client ID or secret was "
            "revoked, changed or is wrong, or it lacks a permission the sync needs.",
            "In HaloPSA, check the API application (Configuration > Integrations > HaloPSA "
            "API): it must be active, with the permissions the integration asks for. Then save "
            "the connection settings again. The issue closes itself after the next sync that "
            "succeeds.",
        )
    if kind is IssueKind.HALO_UNREACHABLE:
        return IssueText(
            "HaloPSA could not be reached, or kept failing or timing out after several retries.",
            "Check that your HaloPSA instance is up and that its URL in the connection settings "
            "is right. Nothing needs to be redone: the next sync catches up, and the issue "
            "closes itself when one succeeds.",
        )
    if kind is IssueKind.RATE_LIMIT_EXHAUSTED:
        return IssueText(
            "HaloPSA kept answering 'rate limit reached', so the sync stopped before it was done.",
            "Another integration may be using most of your HaloPSA instance's API budget. "
            "Start the sync again later, or at a quieter time; the issue closes itself after "
            "the next sync that succeeds.",
        )
    if kind is IssueKind.RECORDS_REJECTED:
        return IssueText(
            "HaloPSA rejected some subscriptions; the others were written.",
            "Open the rejected records (or the Logs page, filtered on the run) to see what "
            "HaloPSA said about each one, correct them, and run the subscriptions sync again. "
            "The issue closes itself after a full subscriptions sync with no rejected record.",
        )
    if kind is IssueKind.SYNC_FAILED:
        name = _sync_name(subject)
        return IssueText(
            f"The {name} failed.",
            f"The reason is below. Start the {name} again; if it fails the same way, contact "
            "support with the run's id. The issue closes itself after the next "
            f"{name} that succeeds.",
        )
    if kind is IssueKind.SYNC_OVERDUE:
        name = _sync_name(subject)
        when = f" at {at:%H:%M} UTC" if at is not None else ""
        return IssueText(
            f"The daily {name} is overdue: it did not run{when}, or no scheduled run has "
            "succeeded for more than 26 hours.",
            f"A manual {name} brings your data up to date meanwhile. If this happens again, "
            "the schedule itself may be stopped: contact support. The issue closes itself "
            f"after the next scheduled {name} that succeeds.",
        )
    if kind is IssueKind.DRIFT_FOUND:
        return IssueText(
            "Licences in HaloPSA no longer hold what this integration wrote: some were "
            "edited, deactivated or deleted there by hand.",
            "Open the drift report to see each licence, field by field (what the integration "
            "wrote → what HaloPSA holds). The platform wins: the next sync that changes a "
            "subscription overwrites the hand edits of its licence, and HaloPSA rejects the "
            "next update of a deleted one. If an edit was right, make it on the platform. The "
            "issue closes itself after a drift check that finds none.",
        )
    if kind is IssueKind.SYNC_NEEDS_APPROVAL:
        return IssueText(
            "A subscriptions sync is waiting for your approval: it would lower seats or monthly "
            "value, or deactivate licences, more than your safety valve allows. Nothing was "
            "written to HaloPSA.",
            "Open the held run and its preview to see what it would change. Approve it if the "
            "change is right (it runs exactly that plan; if the data changed since, it is "
            "checked again), or cancel it and correct the platform's data. The issue closes "
            "itself when no run is waiting for approval.",
        )
    if kind is IssueKind.EXISTING_LICENCES_TO_REVIEW:
        return IssueText(
            "A newly mapped HaloPSA organization already holds licences this integration did "
            "not write; its subscriptions are not sent until you review them.",
            "Review them beside the platform's subscriptions (suggested pairs are shown): "
            "claim the licences that are these subscriptions (they are updated from then on, "
            "never duplicated), mark the rest as not ours, or create new ones. The issue "
            "closes itself when every licence is decided.",
        )
    raise ValueError(f"no text for issue kind {kind}")  # pragma: no cover - enum is closed


def overdue_detail(name: str, *, missed_at: str | None, last_success: str | None) -> str:
    """The detail line of an overdue issue: which slot was missed, when it last worked."""
    parts = []
    if missed_at is not None:
        parts.append(f"The scheduled {name} of {missed_at} did not run.")
    parts.append(
        f"Last successful scheduled {name}: {last_success}."
        if last_success
        else f"No scheduled {name} has succeeded yet."
    )
    return " ".join(parts)


def drift_detail(*, edited: int, deactivated: int, deleted: int, run_id: int) -> str:
    """The detail line of a drift issue: what the last drift check found."""
    return (
        f"{edited} edited, {deactivated} deactivated and {deleted} deleted in HaloPSA "
        f"(drift check run {run_id})."
    )


def existing_licences_detail(organization: str, client: str, client_id: int, undecided: int) -> str:
    """Which organisation waits for a day-one review, and how many licences are undecided
    (the issue's detail and the run's WARNING entry)."""
    return (
        f"HaloPSA organization '{client}' ({client_id}), mapped to '{organization}', already "
        f"holds {counted(undecided, 'licence')} this integration did not write. Its "
        "subscriptions are not sent until you review them: claim the licences that are these "
        "subscriptions (they are updated from then on, never duplicated), mark the rest as not "
        "ours, or create new ones."
    )
