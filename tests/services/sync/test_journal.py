"""The words a seller reads about a run: why it stopped, how long it waits, what was skipped.
(The texts themselves are the seed's; these tests pin the parts that are computed.)"""

from __future__ import annotations

import pytest

from gateway.halopsa import (
    HaloAuthError,
    HaloError,
    HaloIncompleteRead,
    HaloPermissionError,
    HaloRateLimited,
    HaloRequestError,
    HaloUnavailable,
)
from gateway.models import SyncKind
from gateway.services.sync import journal


@pytest.mark.parametrize(
    ("error", "words", "code"),
    [
        (
            HaloAuthError("401 from /token"),
            "HaloPSA refused the credentials",
            "HALO_CREDENTIALS_REFUSED",
        ),
        (HaloPermissionError("403"), "lacks a permission", "HALO_PERMISSION_MISSING"),
        (HaloRateLimited("429"), "kept answering 'rate limit reached'", "HALO_RATE_LIMITED"),
        (HaloUnavailable("connect timeout"), "could not be reached", "HALO_UNAVAILABLE"),
        (
            HaloIncompleteRead("pages moved"),
            "HaloPSA answered with an error: pages moved",
            "HALO_ERROR",
        ),
        (
            HaloRequestError("Name is required"),
            "HaloPSA answered with an error: Name is required",
            "HALO_ERROR",
        ),
    ],
)
def test_why_a_run_stopped_is_said_by_the_kind_of_failure(
    error: HaloError, words: str, code: str
) -> None:
    reason = journal.seller_reason(error)
    assert words in reason.text
    assert reason.code == code
    if not isinstance(error, (HaloIncompleteRead, HaloRequestError)):
        assert error.message not in reason.text  # HaloPSA's own words stay out of the summary
        assert reason.params == {}
    else:
        assert reason.params == {"error": error.message}


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.2, "1 second"),
        (1, "1 second"),
        (45.4, "45 seconds"),
        (119, "119 seconds"),
        (120, "2 minutes"),
        (330, "6 minutes"),
    ],
)
def test_a_wait_for_the_rate_limit_is_said_in_seconds_then_minutes(
    seconds: float, said: str
) -> None:
    waiting = journal.rate_limit_waiting(SyncKind.SUBSCRIPTIONS, seconds, 1800)
    assert f"continues in {said};" in waiting.text
    assert "after 30 minutes in all" in waiting.text
    assert waiting.params == {
        "kind": "SUBSCRIPTIONS",
        "resumeInSeconds": round(seconds),
        "limitSeconds": 1800,
    }


def test_a_run_that_gave_up_on_the_rate_limit_says_how_far_it_got() -> None:
    gave_up = journal.rate_limit_gave_up(
        waited=1860, limit=1800, refused=42, processed=150, total=400, kind=SyncKind.SUBSCRIPTIONS
    )
    text = gave_up.text
    assert text.startswith("HaloPSA answered 'rate limit reached' for 31 minutes (42 requests ")
    assert "150 of 400 subscriptions were processed" in text
    assert (gave_up.code, gave_up.params["refused"], gave_up.params["total"]) == (
        "RATE_LIMIT_GAVE_UP",
        42,
        400,
    )


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        (SyncKind.ORGANIZATIONS, "Scheduled customers sync skipped"),
        (SyncKind.SUBSCRIPTIONS, "Scheduled subscriptions sync skipped"),
    ],
)
def test_a_skipped_scheduled_run_is_named_as_the_sync_page_names_it(
    kind: SyncKind, title: str
) -> None:
    assert journal.scheduled_skipped(kind) == title


def test_a_remap_names_every_licence_left_in_an_old_client() -> None:
    text = journal.preview_remapped([(501, "Acme Ltd"), (777, "Acme (old)")])
    assert "licence 501 in 'Acme Ltd', licence 777 in 'Acme (old)' stays there" in text


def test_clients_missing_from_halopsa_are_counted_and_the_first_twenty_named() -> None:
    few = journal.customers_missing([12, 3])
    assert few.text == (
        "2 previously synced HaloPSA organization(s) were not found: 3, 12. "
        "Their mappings show Response Error."
    )
    assert few.params == {"count": 2, "haloClientIds": "3, 12"}
    many = journal.customers_missing(list(range(100, 125))).text
    assert many.startswith("25 previously synced HaloPSA organization(s) were not found: 100, ")
    assert "119…. Their mappings" in many and "120" not in many
