"""What the next subscriptions push does with one subscription: the decision, made in one place.

``push.py`` acts on a :class:`Decision` (writes, WARNING entries, counts); ``preview.py``
reports the same decision without acting on it. Both call :func:`plan_subscription`, so the
preview cannot drift from the push (``tests/services/sync/test_preview_property.py`` holds
them together; ``test_plan.py`` checks the table below).

Pure: no database, no HaloPSA. ``sub`` is anything with a subscription's fields (a
``Subscription`` row, or the preview's lighter rows); ``row`` anything with a ledger row's
``halo_licence_id``, ``state`` and ``payload_hash``.

    in HaloPSA?   deleted?   quantity   hash = confirmed?   →  action
    no            yes        any        —                   →  UNCHANGED (deleted before sent)
    no            no         0          —                   →  SKIPPED (quantity zero)
    any           any        any        yes                 →  UNCHANGED
    no            no         > 0        —                   →  CREATE
    yes           yes        any        no                  →  MARK_DELETED (status DELETED)
    yes           no         any        no                  →  UPDATE (count 0: with a WARNING)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateway.models import LedgerState, RunOutcome
from gateway.services.sync.licences import licence_payload, payload_hash


class Action(StrEnum):
    """What the push does with a subscription (MARK_DELETED is an update with status DELETED)."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    MARK_DELETED = "MARK_DELETED"
    UNCHANGED = "UNCHANGED"
    SKIPPED = "SKIPPED"


class Reason(StrEnum):
    """Why a decision is what it is, where the action alone does not say it.

    The first three are the push's own; the others are only the preview's (the push never
    sees an unmapped organisation, and learns the rest from HaloPSA as it goes).
    """

    QUANTITY_ZERO = "QUANTITY_ZERO"  # SKIPPED: never sent while its quantity is zero
    QUANTITY_ZERO_IN_HALO = "QUANTITY_ZERO_IN_HALO"  # UPDATE to count 0, with a WARNING
    DELETED_BEFORE_SENT = "DELETED_BEFORE_SENT"  # UNCHANGED: nothing to tell HaloPSA
    UNMAPPED = "UNMAPPED"  # SKIPPED: the organisation has no HaloPSA client
    HALO_CLIENT_MISSING = "HALO_CLIENT_MISSING"  # SKIPPED: its client is gone from HaloPSA
    REMAPPED = "REMAPPED"  # CREATE in the new client; the old client's licence stays
    AWAITING_READBACK = "AWAITING_READBACK"  # CREATE unless HaloPSA already stored it
    LAST_WRITE_UNCONFIRMED = "LAST_WRITE_UNCONFIRMED"  # UPDATE; HaloPSA's values unknown
    # SKIPPED: its HaloPSA client held licences before the first push; the seller reviews
    # them first (``existing.py``). The push's own, decided per organisation, not here.
    EXISTING_LICENCES_TO_REVIEW = "EXISTING_LICENCES_TO_REVIEW"


_OUTCOME = {
    Action.CREATE: RunOutcome.CREATED,
    Action.UPDATE: RunOutcome.UPDATED,
    Action.MARK_DELETED: RunOutcome.UPDATED,
    Action.UNCHANGED: RunOutcome.UNCHANGED,
    Action.SKIPPED: RunOutcome.SKIPPED,
}
_WRITES = frozenset({Action.CREATE, Action.UPDATE, Action.MARK_DELETED})


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: Reason | None = None
    # What HaloPSA should hold (None when the subscription is not looked at any further).
    payload: dict[str, Any] | None = None
    hash: str | None = None

    @property
    def writes(self) -> bool:
        return self.action in _WRITES

    @property
    def sent(self) -> tuple[dict[str, Any], str]:
        """The payload and hash a write sends (every write has both)."""
        if self.payload is None or self.hash is None:
            raise ValueError(f"a {self.action} decision sends nothing")
        return self.payload, self.hash

    @property
    def outcome(self) -> RunOutcome:
        """What the run counts for it (a mark-deleted is counted as updated)."""
        return _OUTCOME[self.action]


def plan_subscription(
    sub: Any, row: Any | None, halo_client_id: int, unit_prices: bool
) -> Decision:
    """The push's decision for ``sub`` in HaloPSA client ``halo_client_id``.

    ``row`` is the ledger row of (sub, this client), or None: after a remap the old
    client's row is not this one, so the subscription is created in the new client.
    """
    in_halo = row is not None and row.halo_licence_id is not None
    deleted = sub.deleted_at is not None
    if deleted and not in_halo:
        return Decision(Action.UNCHANGED, Reason.DELETED_BEFORE_SENT)
    if sub.quantity == 0 and not deleted and not in_halo:
        return Decision(Action.SKIPPED, Reason.QUANTITY_ZERO)
    payload = licence_payload(sub, halo_client_id, unit_prices)
    digest = payload_hash(payload)
    if row is not None and row.state == LedgerState.WRITTEN and row.payload_hash == digest:
        return Decision(Action.UNCHANGED, None, payload, digest)
    if not in_halo:
        return Decision(Action.CREATE, None, payload, digest)
    if deleted:
        return Decision(Action.MARK_DELETED, None, payload, digest)
    # Already in HaloPSA with quantity zero: leaving the old count would go on billing.
    reason = Reason.QUANTITY_ZERO_IN_HALO if sub.quantity == 0 else None
    return Decision(Action.UPDATE, reason, payload, digest)
