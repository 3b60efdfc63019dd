"""`halo-gateway preview`: what the next subscriptions sync would do, as CSV."""

from __future__ import annotations

import csv
import io

from gateway.models import LedgerState, SyncedSubscription
from gateway.services.sync import journal
from gateway.services.sync.licences import licence_payload, payload_hash
from tests.support import data
from tests.support.cli import run_cli

HEADER = [
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
]


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def scene() -> None:
    """Acme, mapped, with a licence in HaloPSA whose seats and price dropped since, and a
    subscription at quantity zero; an unmapped organisation whose name is a formula."""
    acme = await data.organization("seller-a", "org-1", "Acme Ltd")
    await data.mapping(acme, await data.psa_organization("seller-a", 101, "Acme Limited"))
    m365 = await data.subscription(
        acme, "s1", name="M365", quantity=10, cost_price="180.00", customer_price="220.00"
    )
    sent = licence_payload(m365, 101, unit_prices=False)
    await SyncedSubscription.create(
        seller_id="seller-a",
        subscription=m365,
        halo_client_id=101,
        halo_licence_id=501,
        state=LedgerState.WRITTEN,
        payload_hash=payload_hash(sent),
        intent=sent,
        intent_hash=payload_hash(sent),
    )
    m365.quantity, m365.customer_price = 8, "176.00"
    await m365.save()
    await data.subscription(acme, "s2", name="Spare", quantity=0)
    sly = await data.organization("seller-a", "org-2", '=HYPERLINK("http://x")')
    await data.subscription(sly, "s3", name="Backup", quantity=1, customer_price="9.99")


EXPECTED = [
    HEADER,
    [
        "org-2",
        '\'=HYPERLINK("http://x")',  # a spreadsheet must not run it
        "",
        "",
        "s3",
        "Backup",
        "SKIPPED",
        "UNMAPPED",
        journal.PREVIEW_UNMAPPED,
        "",
        "",
        "USD",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "",
    ],
    [
        "org-1",
        "Acme Ltd",
        "101",
        "Acme Limited",
        "s1",
        "M365",
        "UPDATE",
        "",
        "",
        "501",
        "count: 10 → 8; price: 220.00 → 176.00",
        "USD",
        "180.00",
        "180.00",
        "220.00",
        "176.00",
        "",
    ],
    [
        "org-1",
        "Acme Ltd",
        "101",
        "Acme Limited",
        "s2",
        "Spare",
        "SKIPPED",
        "QUANTITY_ZERO",
        journal.PREVIEW_QUANTITY_ZERO,
        "",
        "",
        "USD",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "",
    ],
]


async def test_preview_writes_one_csv_row_per_subscription_and_totals_on_stderr(
    migrated_db,
) -> None:
    await scene()

    result = await run_cli(migrated_db, "preview", "--seller", "seller-a")

    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == EXPECTED
    assert result.stderr.splitlines() == [
        "3 subscription(s): create 0, update 1, mark deleted 0, unchanged 0, skipped 2 "
        "(unit prices off)",
        "USD monthly: cost 180.00 → 180.00 (+0.00), customer price 220.00 → 176.00 (-44.00)",
    ]
    # Nothing was written: the ledger row is as it was
    row = await SyncedSubscription.get(halo_licence_id=501)
    assert (row.state, row.last_run_id) == (LedgerState.WRITTEN, None)


async def test_preview_to_a_file_and_of_one_organisation(migrated_db, tmp_path) -> None:
    await scene()
    out = tmp_path / "preview.csv"

    result = await run_cli(
        migrated_db, "preview", "--seller", "seller-a", "--organization", "org-1", "-o", str(out)
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert rows(out.read_text(encoding="utf-8")) == [EXPECTED[0], *EXPECTED[2:]]
    assert result.stderr.startswith(f"2 subscription(s) written to {out}: ")


async def test_an_unknown_seller_or_organisation_is_refused_in_words(migrated_db) -> None:
    await scene()

    nobody = await run_cli(migrated_db, "preview", "--seller", "nobody")
    no_org = await run_cli(migrated_db, "preview", "--seller", "seller-a", "--organization", "x")

    assert nobody.exit_code == 1 and "Seller 'nobody' not found." in nobody.stderr
    assert no_org.exit_code == 1 and "Organization not found." in no_org.stderr
