"""The words of an integration issue: every kind says what is wrong and what to do, and the
kinds about one sync name it as the sync page does."""

from __future__ import annotations

from datetime import time

import pytest

from gateway.models import IssueKind, SyncKind
from gateway.services.issue_texts import issue_text, overdue_detail


@pytest.mark.parametrize("kind", list(IssueKind))
def test_every_kind_says_what_is_wrong_and_what_to_do(kind: IssueKind) -> None:
    text = issue_text(kind, SyncKind.SUBSCRIPTIONS.value, at=time(18, 23))
    assert text.summary.endswith(".") and text.what_to_do.endswith(".")
    assert text.summary != text.what_to_do


@pytest.mark.parametrize(
    ("subject", "name"),
    [
        (SyncKind.ORGANIZATIONS.value, "customers sync"),
        (SyncKind.SUBSCRIPTIONS.value, "subscriptions sync"),
    ],
)
def test_a_failed_or_overdue_sync_is_named_as_the_sync_page_names_it(
    subject: str, name: str
) -> None:
    assert issue_text(IssueKind.SYNC_FAILED, subject).summary == f"The {name} failed."
    # at the seller's own time (the slot's hour plus its offset in the spread window)
    overdue = issue_text(IssueKind.SYNC_OVERDUE, subject, at=time(8, 23))
    assert overdue.summary.startswith(f"The daily {name} is overdue: it did not run at 08:23 UTC")


def test_an_overdue_detail_says_which_slot_was_missed_and_when_it_last_worked() -> None:
    assert overdue_detail(
        "Subscriptions sync", missed_at="2026-06-01 18:00 UTC", last_success="2026-05-30 18:02 UTC"
    ) == (
        "The scheduled Subscriptions sync of 2026-06-01 18:00 UTC did not run. "
        "Last successful scheduled Subscriptions sync: 2026-05-30 18:02 UTC."
    )
    assert overdue_detail("Customers sync", missed_at=None, last_success=None) == (
        "No scheduled Customers sync has succeeded yet."
    )
