"""The drift report as CSV (``halo-gateway drift``): one row per licence that differs.

Text cells go through the exports' spreadsheet guard (a licence named ``=SUM(…)`` by hand in
HaloPSA is not run as a formula); changes read ``field: ours → theirs``.
"""

from __future__ import annotations

import csv
from typing import TextIO

from gateway.models import DriftKind
from gateway.services.spreadsheet import spreadsheet_text
from gateway.services.sync.drift_report import DriftReport
from gateway.services.sync.journal import drift_changes_text

CSV_COLUMNS = (
    "organization_id",
    "organization_name",
    "halo_client_id",
    "halo_client_name",
    "halo_licence_id",
    "licence_name",
    "subscription_id",
    "subscription_name",
    "drift",
    "changes",
    "details",
)


def write_drift_csv(report: DriftReport, out: TextIO, kind: DriftKind | None = None) -> int:
    """One row per finding, in the report's order; returns the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for item in report.items:
        if kind is not None and item.kind is not kind:
            continue
        writer.writerow(
            [
                spreadsheet_text(item.organization_id),
                spreadsheet_text(item.organization_name),
                item.halo_client_id,
                spreadsheet_text(item.halo_client_name),
                item.halo_licence_id,
                spreadsheet_text(item.licence_name),
                spreadsheet_text(item.subscription_id),
                spreadsheet_text(item.subscription_name),
                item.kind.value,
                spreadsheet_text(drift_changes_text(item.changes)),
                spreadsheet_text(item.text),
            ]
        )
        rows += 1
    return rows
