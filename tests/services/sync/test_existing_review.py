"""Day one, the seller's decisions (gateway/services/sync/existing_review.py): bad input is
refused with a code and writes nothing; suggested pairs follow name, count and dates."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gateway.models import ExistingLicence, LicenceDecision, LogEntry, LogLevel, SyncedSubscription
from gateway.services.matching import normalize, score
from gateway.services.sync.existing_review import ReviewSubscription, pair_score
from tests.conftest import assert_error_code
from tests.services.sync.test_existing_licences import (
    CLAIM,
    CREATE_NEW,
    NOT_OURS,
    REVIEW,
    _sync,
    acme_with_licences,
)
from tests.services.sync.test_push import FAST
from tests.support import data


@pytest.fixture
def gateway(gateway_factory, settings):
    return gateway_factory(settings.model_copy(update=FAST))


@pytest.fixture
async def waiting(connected, gateway) -> dict[str, Any]:
    """org-a waits for the review of two hand-entered licences; org-b has none to review."""
    given = await acme_with_licences(connected)
    await _sync(gateway)
    return given


def _pair(licence: int, subscription: str) -> dict[str, Any]:
    return {"licenceId": licence, "subscriptionId": subscription}


async def test_bad_claims_are_refused_with_a_code_and_write_nothing(waiting, gateway) -> None:
    e3, backup = waiting["e3"], waiting["backup"]
    cases = [
        ({"org": "org-a", "pairs": []}, "BAD_USER_INPUT", "pairs"),
        ({"org": "org-a", "pairs": [_pair(999999, "s1")]}, "NOT_FOUND", "licenceId"),
        (
            {"org": "org-a", "pairs": [_pair(e3, "s1"), _pair(e3, "s2")]},
            "BAD_USER_INPUT",
            "licenceId",
        ),
        (
            {"org": "org-a", "pairs": [_pair(e3, "s1"), _pair(backup, "s1")]},
            "BAD_USER_INPUT",
            "subscriptionId",
        ),
        # a good pair beside a subscription of another organisation: neither is written
        (
            {"org": "org-a", "pairs": [_pair(e3, "s1"), _pair(backup, "b1")]},
            "NOT_FOUND",
            "subscriptionId",
        ),
        ({"org": "nope", "pairs": [_pair(e3, "s1")]}, "NOT_FOUND", "organizationId"),
        ({"org": "org-b", "pairs": [_pair(e3, "b1")]}, "REVIEW_NOT_PENDING", None),
    ]
    for variables, code, field in cases:
        error = assert_error_code(await gateway.gql(CLAIM, variables), code)
        assert error["extensions"].get("field") == field, (variables, error)
    assert_error_code(await gateway.gql(NOT_OURS, {"org": "org-a", "ids": []}), "BAD_USER_INPUT")
    assert_error_code(await gateway.gql(NOT_OURS, {"org": "org-a", "ids": [1234]}), "NOT_FOUND")
    # Nothing half-written, and no ERROR entry for the seller's mistakes
    decisions = await ExistingLicence.all().values_list("decision", flat=True)
    assert set(decisions) == {LicenceDecision.UNDECIDED}
    assert await SyncedSubscription.filter(halo_licence_id=e3).count() == 0
    assert await LogEntry.filter(level=LogLevel.ERROR).count() == 0
    review = (await gateway.gql(REVIEW))["data"]["existingLicences"]
    assert (review["state"], review["undecided"]) == ("PENDING", 2)


async def test_decided_licences_and_finished_reviews_refuse_further_decisions(
    waiting, gateway
) -> None:
    e3 = waiting["e3"]
    assert "errors" not in await gateway.gql(CLAIM, {"org": "org-a", "pairs": [_pair(e3, "s1")]})
    # A licence is decided once; a subscription claims at most one licence
    error = assert_error_code(
        await gateway.gql(NOT_OURS, {"org": "org-a", "ids": [e3]}), "BAD_USER_INPUT"
    )
    assert "already decided" in error["message"]
    error = assert_error_code(
        await gateway.gql(CLAIM, {"org": "org-a", "pairs": [_pair(waiting["backup"], "s1")]}),
        "BAD_USER_INPUT",
    )
    assert error["extensions"]["field"] == "subscriptionId"
    # Creating new finishes the review; after that there is nothing to decide
    assert (await gateway.gql(CREATE_NEW, {"org": "org-a"}))["data"]["createNewLicences"] == {
        "state": "RESOLVED"
    }
    review = (await gateway.gql(REVIEW))["data"]["existingLicences"]
    decided = {lic["id"]: (lic["decision"], lic["subscriptionId"]) for lic in review["licences"]}
    assert decided == {e3: ("CLAIMED", "s1"), waiting["backup"]: ("NOT_OURS", None)}
    for mutation, variables in (
        (CREATE_NEW, {"org": "org-a"}),
        (NOT_OURS, {"org": "org-a", "ids": [waiting["backup"]]}),
    ):
        assert_error_code(await gateway.gql(mutation, variables), "REVIEW_NOT_PENDING")


async def test_an_unmapped_organisation_has_no_review_to_decide(migrated_db, gateway) -> None:
    await data.organization("seller-a", "org-u", "Unmapped")
    assert_error_code(await gateway.gql(CREATE_NEW, {"org": "org-u"}), "ORGANIZATION_NOT_MAPPED")


def _sub(name: str, quantity: int = 10, start: date | None = None) -> ReviewSubscription:
    return ReviewSubscription("s", name, quantity, start, None, None)


def _score(licence: dict[str, Any], sub: ReviewSubscription) -> tuple[int, list[str]]:
    return pair_score(licence, sub, *score(normalize(sub.name), normalize(licence["name"])))


def test_pairs_are_scored_on_name_count_and_dates() -> None:
    licence = {
        "name": "Microsoft 365 E3",
        "count": 10,
        "start_date": "2026-01-01",
        "end_date": None,
    }
    assert _score(licence, _sub("Microsoft 365 E3", 10, date(2026, 1, 1))) == (
        100,
        ["exact name after normalisation", "same count", "same dates"],
    )
    value, reasons = _score(licence, _sub("Microsoft 365 E3", 12))
    assert (value, reasons) == (70, ["exact name after normalisation", "same end date"])
    assert _score(licence, _sub("Microsoft 365 E5", 10))[0] < 50  # another product: no pair
    assert _score(licence, _sub("Acronis Backup", 10)) == (0, [])
