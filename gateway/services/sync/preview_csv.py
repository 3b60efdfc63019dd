"""The preview as CSV (``halo-gateway preview``): one row per subscription, for a spreadsheet.

Text cells go through the exports' spreadsheet guard (a name starting with ``=`` is not run
as a formula); money is monthly, to the cent, as in the API. ``overwrites_hand_edits``: the
hand edits (found by the latest drift check) that the write sends the platform's values over.
"""

from __future__ import annotations

import csv
from typing import Any, TextIO

from gateway.services.spreadsheet import spreadsheet_text
from gateway.services.sync.journal import show_value
from gateway.services.sync.preview import SubscriptionPreview, SyncPreview

CSV_COLUMNS = (
    "organization_id",
    "organization_name",
    "halo_client_id",
    "halo_client_name",
    "subscription_id",
    "subscription_name",
    "action",
    "reason",
    "details",
    "halo_licence_id",
    "changes",
    "currency",
    "monthly_cost_before",
    "monthly_cost_after",
    "monthly_price_before",
    "monthly_price_after",
    "overwrites_hand_edits",
)


def write_preview_csv(preview: SyncPreview, out: TextIO) -> int:
    """One row per subscription, organisations in the preview's order; returns the rows.

    Money is monthly, to the cent; an empty amount is one the ledger does not know. Changes
    read ``field: old → new`` (``field: new`` for a create), separated by ``; ``.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for org in preview.organizations:
        for sub in org.subscriptions:
            shown = sub.money.shown
            known_before, known_after = sub.money.unknown_before == 0, sub.money.unknown_after == 0
            writer.writerow(
                [
                    spreadsheet_text(org.external_id),
                    spreadsheet_text(org.name),
                    _optional(org.halo_client_id),
                    spreadsheet_text(org.halo_client_name),
                    spreadsheet_text(sub.id),
                    spreadsheet_text(sub.name),
                    sub.action.value,
                    sub.reason.value if sub.reason else "",
                    spreadsheet_text(sub.reason_text),
                    _optional(sub.halo_licence_id),
                    spreadsheet_text(_changes_text(sub)),
                    sub.currency,
                    shown.cost_before if known_before else "",
                    shown.cost_after if known_after else "",
                    shown.price_before if known_before else "",
                    shown.price_after if known_after else "",
                    spreadsheet_text(_overwrites_text(sub)),
                ]
            )
            rows += 1
    return rows


def _optional(value: Any) -> str:
    return "" if value is None else str(value)


def _overwrites_text(sub: SubscriptionPreview) -> str:
    """``field: HaloPSA's value → the one sent`` for the hand edits the write overwrites."""
    return "; ".join(
        f"{c.field}: {show_value(c.before)} → {show_value(c.after)}" for c in sub.overwrites
    )


def _changes_text(sub: SubscriptionPreview) -> str:
    """``field: old → new; …``; a create lists ``field: new``; a value the ledger does not
    know reads ``(unknown)``, one that is empty ``(none)``."""

    show = show_value
    if sub.before is None and sub.before_known:  # a create: nothing before
        return "; ".join(f"{c.field}: {show(c.after)}" for c in sub.changes)
    old = show if sub.before_known else (lambda _: "(unknown)")
    return "; ".join(f"{c.field}: {old(c.before)} → {show(c.after)}" for c in sub.changes)
