"""The push's decision for one subscription, made in one place for the push and the preview:
plan.py's table, row by row. Pure: no database, no HaloPSA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from gateway.models import LedgerState, RunOutcome
from gateway.services.sync.licences import licence_payload, payload_hash
from gateway.services.sync.plan import Action, Decision, Reason, plan_subscription
from tests.support.data import SubscriptionFields as Sub

CLIENT = 7
DELETED = datetime(2026, 5, 1, tzinfo=UTC)


@dataclass
class Row:
    """A ledger row of (subscription, this HaloPSA client)."""

    halo_licence_id: int | None
    state: LedgerState = LedgerState.WRITTEN
    payload_hash: str | None = None


def _confirmed(sub: Sub) -> Row:
    """In HaloPSA as licence 501, holding what ``sub`` would send now."""
    return Row(501, LedgerState.WRITTEN, payload_hash(licence_payload(sub, CLIENT, False)))


def _stale() -> Row:
    """In HaloPSA as licence 501, holding something else."""
    return Row(501, LedgerState.WRITTEN, "an-older-hash")


@pytest.mark.parametrize(
    ("sub", "row", "action", "reason"),
    [
        (Sub(deleted_at=DELETED), None, Action.UNCHANGED, Reason.DELETED_BEFORE_SENT),
        (
            Sub(deleted_at=DELETED),
            Row(None, LedgerState.NOT_SENT),
            Action.UNCHANGED,
            Reason.DELETED_BEFORE_SENT,
        ),
        (Sub(quantity=0), None, Action.SKIPPED, Reason.QUANTITY_ZERO),
        (Sub(), None, Action.CREATE, None),
        (Sub(), Row(None, LedgerState.PENDING, None), Action.CREATE, None),
        (Sub(), _confirmed(Sub()), Action.UNCHANGED, None),
        (Sub(quantity=4), _confirmed(Sub()), Action.UPDATE, None),
        (Sub(quantity=0), _stale(), Action.UPDATE, Reason.QUANTITY_ZERO_IN_HALO),
        (Sub(deleted_at=DELETED), _stale(), Action.MARK_DELETED, None),
        (Sub(deleted_at=DELETED, quantity=0), _stale(), Action.MARK_DELETED, None),
    ],
    ids=[
        "deleted-never-sent",
        "deleted-row-not-sent",
        "quantity-zero-never-sent",
        "new",
        "create-pending",
        "confirmed",
        "changed",
        "quantity-dropped-to-zero",
        "deleted-after-sent",
        "deleted-with-quantity-zero",
    ],
)
def test_each_case_of_the_table_gets_its_action_and_reason(sub, row, action, reason) -> None:
    decision = plan_subscription(sub, row, CLIENT, unit_prices=False)
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.writes is (action in (Action.CREATE, Action.UPDATE, Action.MARK_DELETED))


def test_a_pending_write_is_sent_again_even_if_its_hash_is_the_payloads() -> None:
    digest = payload_hash(licence_payload(Sub(), CLIENT, False))
    decision = plan_subscription(Sub(), Row(501, LedgerState.PENDING, digest), CLIENT, False)
    assert decision.action is Action.UPDATE


def test_a_write_sends_the_payload_and_its_hash_and_the_rest_send_nothing() -> None:
    create = plan_subscription(Sub(), None, CLIENT, unit_prices=True)
    assert create.sent == (licence_payload(Sub(), CLIENT, True), create.hash)
    assert create.hash == payload_hash(create.sent[0])
    skipped = plan_subscription(Sub(quantity=0), None, CLIENT, unit_prices=True)
    with pytest.raises(ValueError, match="sends nothing"):
        _ = skipped.sent


def test_turning_unit_prices_on_updates_a_confirmed_licence() -> None:
    decision = plan_subscription(Sub(), _confirmed(Sub()), CLIENT, unit_prices=True)
    assert decision.action is Action.UPDATE


def test_the_same_subscription_in_another_client_is_created_there() -> None:
    decision = plan_subscription(Sub(), None, CLIENT + 1, unit_prices=False)
    assert decision.action is Action.CREATE and decision.sent[0]["client_id"] == CLIENT + 1


@pytest.mark.parametrize(
    ("action", "outcome"),
    [
        (Action.CREATE, RunOutcome.CREATED),
        (Action.UPDATE, RunOutcome.UPDATED),
        (Action.MARK_DELETED, RunOutcome.UPDATED),
        (Action.UNCHANGED, RunOutcome.UNCHANGED),
        (Action.SKIPPED, RunOutcome.SKIPPED),
    ],
)
def test_a_run_counts_a_mark_deleted_as_updated(action: Action, outcome: RunOutcome) -> None:
    assert Decision(action).outcome is outcome
