"""`halo-gateway export`: a seller's mappings and sync ledger as CSV, for their accountant."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import time_machine

from gateway.models import LedgerState, Organization, SyncedSubscription
from gateway.services.exports import ExportKind, export_csv
from tests.support import data
from tests.support.cli import run_cli

MAPPED_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
SYNCED_AT = datetime(2026, 11, 3, 18, 0, 5, tzinfo=UTC)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def mapped_organisations() -> None:
    """Three mappings of seller-a (one to an inactive and one to a vanished HaloPSA client),
    one of an organisation the platform deleted, and one of another seller."""
    with time_machine.travel(MAPPED_AT, tick=False):
        acme = await data.organization("seller-a", "org-1", "Acme Ltd", reference="R-1")
        await data.mapping(
            acme, await data.psa_organization("seller-a", 101, "Acme Limited"), "alice"
        )
        sly = await data.organization(
            "seller-a", "org-2", '=HYPERLINK("http://x")', reference="R-2"
        )
        await data.mapping(
            sly, await data.psa_organization("seller-a", 102, "Sly", inactive=True), "bob"
        )
        lost = await data.organization("seller-a", "org-3", "Lost Ltd", reference="R-3")
        await data.mapping(
            lost, await data.psa_organization("seller-a", 103, "Lost", present=False), "alice"
        )
        gone = await data.organization("seller-a", "org-4", "Gone Ltd", reference="R-4")
        await data.mapping(gone, await data.psa_organization("seller-a", 104, "Gone"), "alice")
        await Organization.filter(id=gone.id).update(deleted_at=MAPPED_AT)
        other = await data.organization("seller-b", "org-b", "Other", reference="R-B")
        await data.mapping(other, await data.psa_organization("seller-b", 201, "Other"), "carol")


async def test_the_mappings_export_lists_each_current_mapping_once(migrated_db) -> None:
    await mapped_organisations()

    result = await run_cli(migrated_db, "export", "--seller", "seller-a", "--what", "mappings")

    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == [
        [
            "organization_id",
            "organization_name",
            "organization_reference",
            "psa_organization_id",
            "psa_organization_name",
            "psa_organization_status",
            "mapped_at",
            "mapped_by",
        ],
        [
            "org-1",
            "Acme Ltd",
            "R-1",
            "101",
            "Acme Limited",
            "ACTIVE",
            "2026-11-02T09:30:00+00:00",
            "alice",
        ],
        # A name a spreadsheet would run as a formula is quoted with an apostrophe.
        [
            "org-2",
            '\'=HYPERLINK("http://x")',
            "R-2",
            "102",
            "Sly",
            "INACTIVE",
            "2026-11-02T09:30:00+00:00",
            "bob",
        ],
        [
            "org-3",
            "Lost Ltd",
            "R-3",
            "103",
            "Lost",
            "MISSING",
            "2026-11-02T09:30:00+00:00",
            "alice",
        ],
    ]


async def test_the_ledger_export_shows_what_halopsa_holds_for_each_subscription(
    migrated_db,
) -> None:
    org = await data.organization("seller-a", "org-1", "Acme Ltd")
    written = await data.subscription(
        org, "sub-1", quantity=3, cost_price="90.00", customer_price="100.00"
    )
    pending = await data.subscription(org, "sub-2", customer_price="33.3333")
    deleted = await data.subscription(org, "sub-3")
    await deleted.__class__.filter(id=deleted.id).update(deleted_at=SYNCED_AT)
    sent = {"count": 3, "purchase_price": "90.00", "price": "100.00"}
    await SyncedSubscription.create(
        seller_id="seller-a",
        subscription=written,
        halo_client_id=7,
        halo_licence_id=9001,
        state=LedgerState.WRITTEN,
        intent=sent,
        intent_hash="h1",
        payload_hash="h1",
        last_run_id=12,
        written_at=SYNCED_AT,
    )
    # Intent recorded, HaloPSA's answer not yet: nothing confirmed to show as sent.
    await SyncedSubscription.create(
        seller_id="seller-a",
        subscription=pending,
        halo_client_id=7,
        state=LedgerState.PENDING,
        intent={**sent, "count": 10},
        intent_hash="h2",
        last_run_id=13,
    )
    await SyncedSubscription.create(
        seller_id="seller-a",
        subscription=deleted,
        halo_client_id=7,
        halo_licence_id=9003,
        state=LedgerState.WRITTEN,
        intent=sent,
        intent_hash="h3",
        payload_hash="h3",
        last_run_id=12,
        written_at=SYNCED_AT,
    )

    result = await run_cli(migrated_db, "export", "--seller", "seller-a", "--what", "ledger")

    assert result.exit_code == 0, result.output
    header, *body = rows(result.stdout)
    table = [dict(zip(header, r, strict=True)) for r in body]
    assert [r["subscription_id"] for r in table] == ["sub-1", "sub-2", "sub-3"]
    assert table[0] == {
        "subscription_id": "sub-1",
        "subscription_name": "Microsoft 365 Business Premium",
        "organization_id": "org-1",
        "organization_name": "Acme Ltd",
        "halo_client_id": "7",
        "halo_licence_id": "9001",
        "state": "WRITTEN",
        "last_synced_at": "2026-11-03T18:00:05+00:00",
        "last_run_id": "12",
        "status": "ACTIVE",
        "quantity": "3",
        "cost_price": "90.00",
        "customer_price": "100.00",
        "currency": "USD",
        "billing_cycle": "Monthly",
        "term_duration": "1 Year",
        "deleted_at": "",
        "sent_count": "3",
        "sent_purchase_price": "90.00",
        "sent_price": "100.00",
    }
    assert (table[1]["state"], table[1]["halo_licence_id"], table[1]["last_synced_at"]) == (
        "PENDING",
        "",
        "",
    )
    assert (table[1]["customer_price"], table[1]["sent_count"]) == ("33.3333", "")
    assert (table[2]["deleted_at"], table[2]["halo_licence_id"]) == (
        "2026-11-03T18:00:05+00:00",
        "9003",
    )


async def test_export_writes_a_file_with_output_and_refuses_an_unknown_seller(
    migrated_db, tmp_path
) -> None:
    await mapped_organisations()
    target = tmp_path / "mappings.csv"

    result = await run_cli(
        migrated_db, "export", "--seller", "seller-a", "--what", "mappings", "-o", str(target)
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "wrote 3 mappings rows" in result.stderr
    assert [r[0] for r in rows(target.read_text(encoding="utf-8"))] == [
        "organization_id",
        "org-1",
        "org-2",
        "org-3",
    ]
    unknown = await run_cli(migrated_db, "export", "--seller", "nobody", "--what", "ledger")
    assert unknown.exit_code == 1
    assert "Seller 'nobody' not found." in unknown.stderr


async def test_pages_of_the_export_follow_each_other_without_gaps_or_repeats(migrated_db) -> None:
    for i in range(1, 8):
        org = await data.organization("seller-a", f"org-{i}", f"Org {i}")
        await data.mapping(org, await data.psa_organization("seller-a", 100 + i, f"Halo {i}"))
    out = io.StringIO()

    count = await export_csv("seller-a", ExportKind.MAPPINGS, out, page_size=2)

    assert count == 7
    assert [r[0] for r in rows(out.getvalue())[1:]] == [f"org-{i}" for i in range(1, 8)]
