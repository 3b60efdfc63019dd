"""The drift report as CSV (`halo-gateway drift`): one row per licence that differs."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from gateway.models import DriftFinding, DriftKind, RunState, SyncKind, SyncRun, SyncTrigger
from gateway.services.sync import journal
from tests.support import data
from tests.support.cli import run_cli

HEADER = [
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
]
CHECKED = datetime(2026, 11, 25, 18, 20, tzinfo=UTC)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def scene() -> SyncRun:
    """A drift check that found M365's seats raised by hand, and a licence someone entered
    under Acme with a name that is a formula; an older check's finding it replaced."""
    acme = await data.organization("seller-a", "org-1", "Acme Ltd")
    await data.mapping(acme, await data.psa_organization("seller-a", 101, "Acme Limited"))
    m365 = await data.subscription(acme, "s1", name="M365")
    old = await SyncRun.create(
        seller_id="seller-a",
        kind=SyncKind.RECONCILE,
        trigger=SyncTrigger.SCHEDULED,
        state=RunState.SUCCEEDED,
        finished_at=datetime(2026, 11, 24, 18, 20, tzinfo=UTC),
    )
    run = await SyncRun.create(
        seller_id="seller-a",
        kind=SyncKind.RECONCILE,
        trigger=SyncTrigger.MANUAL,
        state=RunState.SUCCEEDED,
        processed=3,
        total=3,
        finished_at=CHECKED,
    )
    common = {"seller_id": "seller-a", "halo_client_id": 101, "found_at": CHECKED}
    await DriftFinding.create(
        **common,
        run_id=old.id,
        kind=DriftKind.DELETED,
        halo_licence_id=400,
        licence_name="Gone long ago",
    )
    await DriftFinding.create(
        **common,
        run_id=run.id,
        kind=DriftKind.EDITED,
        halo_licence_id=501,
        licence_name="M365",
        subscription=m365,
        organization=acme,
        changes=[{"field": "count", "ours": 10, "theirs": 12}],
    )
    await DriftFinding.create(
        **common,
        run_id=run.id,
        kind=DriftKind.FOREIGN,
        halo_licence_id=502,
        licence_name="=1+1",
        organization=acme,
    )
    return run


async def test_drift_writes_one_csv_row_per_finding_and_a_summary_on_stderr(migrated_db) -> None:
    run = await scene()

    result = await run_cli(migrated_db, "drift", "--seller", "seller-a")

    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == [
        HEADER,
        [
            "org-1",
            "Acme Ltd",
            "101",
            "Acme Limited",
            "501",
            "M365",
            "s1",
            "M365",
            "EDITED",
            "count: 10 → 12",
            journal.drift_edited([{"field": "count", "ours": 10, "theirs": 12}]),
        ],
        [
            "org-1",
            "Acme Ltd",
            "101",
            "Acme Limited",
            "502",
            "'=1+1",  # a spreadsheet must not run it
            "",
            "",
            "FOREIGN",
            "",
            journal.drift_foreign("Acme Limited"),
        ],
    ]
    assert result.stderr.splitlines() == [
        f"Drift check of 2026-11-25 18:20 UTC (run {run.id}): 3 licences read in HaloPSA; "
        "edited 1, deactivated 0, deleted 0, not written by this integration 1; 2 rows"
    ]


async def test_drift_of_one_kind_to_a_file(migrated_db, tmp_path) -> None:
    await scene()
    out = tmp_path / "drift.csv"

    result = await run_cli(
        migrated_db, "drift", "--seller", "seller-a", "--kind", "foreign", "-o", str(out)
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert [r[8] for r in rows(out.read_text(encoding="utf-8"))] == ["drift", "FOREIGN"]
    assert f"1 row written to {out}" in result.stderr


async def test_a_seller_without_a_drift_check_is_told_how_to_get_one(migrated_db) -> None:
    await data.seller("seller-a")
    result = await run_cli(migrated_db, "drift", "--seller", "seller-a")
    assert result.exit_code == 1
    assert "No drift check of seller 'seller-a' has succeeded yet" in result.stderr
