"""The drift report (gateway/services/sync/drift_report.py): the latest successful check's
findings, named and in the grid's order, and the hand edits the preview says a push overwrites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.errors import BadUserInput
from gateway.models import (
    DriftFinding,
    DriftKind,
    LedgerState,
    RunState,
    SyncedSubscription,
    SyncKind,
    SyncRun,
    SyncTrigger,
)
from gateway.services.sync.drift_report import drift_report, hand_edits
from tests.support import data

CHECKED = datetime(2026, 11, 25, 18, 20, tzinfo=UTC)


async def _check(state: RunState = RunState.SUCCEEDED, at: datetime = CHECKED) -> SyncRun:
    return await SyncRun.create(
        seller_id="seller-a",
        kind=SyncKind.RECONCILE,
        trigger=SyncTrigger.MANUAL,
        state=state,
        processed=40,
        finished_at=at,
    )


async def _finding(run: SyncRun, kind: DriftKind, licence: int, **extra) -> DriftFinding:
    return await DriftFinding.create(
        seller_id="seller-a",
        run_id=run.id,
        kind=kind,
        halo_licence_id=licence,
        halo_client_id=extra.pop("client", 101),
        licence_name=extra.pop("name", f"Licence {licence}"),
        found_at=run.finished_at,
        **extra,
    )


async def test_the_report_is_the_latest_successful_check_in_the_grids_order(migrated_db) -> None:
    # Given Zeta and acme (lower case sorts with A), an older check, and a failed newer one
    zeta = await data.organization("seller-a", "org-z", "Zeta")
    acme = await data.organization("seller-a", "org-a", "acme")
    await data.psa_organization("seller-a", 101, "Zeta Ltd")
    old = await _check(at=CHECKED - timedelta(days=1))
    await _finding(old, DriftKind.DELETED, 1)
    latest = await _check()
    await _check(RunState.FAILED, at=CHECKED + timedelta(hours=1))
    await _finding(latest, DriftKind.FOREIGN, 30, organization=zeta)
    await _finding(latest, DriftKind.FOREIGN, 20, client=999)  # its client no longer mapped
    await _finding(
        latest,
        DriftKind.EDITED,
        10,
        organization=acme,
        changes=[{"field": "count", "ours": 1, "theirs": 2}],
    )

    report = await drift_report("seller-a")

    assert (report.run.id, report.checked_at, report.licences_read) == (latest.id, CHECKED, 40)
    assert [(i.organization_name, i.halo_licence_id) for i in report.items] == [
        ("acme", 10),
        ("Zeta", 30),
        (None, 20),
    ]
    assert (report.counts.edited, report.counts.foreign, report.counts.total) == (1, 2, 3)
    assert report.items[1].halo_client_name == "Zeta Ltd"
    assert "count: 1 → 2" in report.items[0].text
    page = report.page(2, 10, DriftKind.FOREIGN)
    assert (page.items, page.total, page.range_text) == ([], 2, "0 of 2")
    with pytest.raises(BadUserInput):
        report.page(1, 7)


async def test_a_seller_without_a_successful_check_has_an_empty_report(migrated_db) -> None:
    await data.seller("seller-a")
    await _check(RunState.FAILED)
    report = await drift_report("seller-a")
    assert (report.run, report.items, report.counts.total) == (None, [], 0)
    assert await hand_edits("seller-a") == {}


async def test_hand_edits_leave_out_licences_written_since_the_check(migrated_db) -> None:
    org = await data.organization("seller-a", "org-a", "Acme")
    subs = [await data.subscription(org, f"s{i}") for i in range(2)]
    run = await _check()
    edit = [{"field": "count", "ours": 10, "theirs": 12}]
    for licence, sub, written in (
        (501, subs[0], CHECKED - timedelta(hours=1)),
        (502, subs[1], CHECKED + timedelta(hours=1)),
    ):
        await SyncedSubscription.create(
            seller_id="seller-a",
            subscription=sub,
            halo_client_id=101,
            halo_licence_id=licence,
            state=LedgerState.WRITTEN,
            written_at=written,
        )
        await _finding(run, DriftKind.EDITED, licence, subscription=sub, changes=edit)
    await _finding(run, DriftKind.DELETED, 503)

    # 502 was written by a push after the check: its edits are gone; a deletion is no edit
    assert await hand_edits("seller-a") == {501: edit}
