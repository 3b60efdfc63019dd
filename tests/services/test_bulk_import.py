"""`halo-gateway import`: files in, through the mutations' checks, 1,000 rows per transaction.

Every test runs the real command (click's runner, settings from the environment) against a
real SQLite and PostgreSQL database, and looks at what an integrator sees: the command's
output and exit code, and the rows afterwards through the GraphQL API or the services.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from decimal import Decimal
from pathlib import Path

from gateway.models import Organization, Seller, Subscription
from gateway.services.organizations import Filters, list_organizations
from tests.support import data
from tests.support.cli import cli_env, run_cli

GRID = "{ organizations(pageSize: 100) { total rows { id name reference status } } }"
ORGS_CSV = (
    "id,name,reference,status\n"
    "org-1,Acme Ltd,R-1,ACTIVE\n"
    "org-2,Globex Inc,R-2,suspended\n"
    'org-3,"Initech, LLC",R-3,PENDING\n'
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(tmp_path: Path, name: str, records: list[dict]) -> Path:
    return write(tmp_path, name, "".join(json.dumps(r) + "\n" for r in records))


def summary(output: str) -> dict[str, int]:
    """The summary table's counts: {"created": 3, "updated": 0, ...}."""
    rows = re.findall(r"│\s*(created|updated|unchanged|invalid)\b[^│]*│\s*([\d,]+)\s*│", output)
    return {label: int(value.replace(",", "")) for label, value in rows}


def problems(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("line ")]


def sub(i: int, org_id: str = "org-1", **kw) -> dict:
    return {
        "id": f"sub-{i}",
        "organization_id": org_id,
        "name": f"Licence {i}",
        "quantity": 3,
        "billing_cycle": "Monthly",
        "term_duration": "1 Year",
        "status": "ACTIVE",
        "cost_price": "30.10",
        "customer_price": "36.50",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        **kw,
    }


async def test_a_csv_of_organisations_is_imported_and_shows_in_the_organizations_grid(
    gateway, migrated_db, tmp_path
) -> None:
    # A spreadsheet export: byte-order mark, CRLF line ends, headers in another spelling.
    text = "\ufeffID,Name,Reference,Status\r\n" + ORGS_CSV.split("\n", 1)[1].replace("\n", "\r\n")
    result = await run_cli(
        migrated_db, "import", str(write(tmp_path, "orgs.csv", text)), "--seller", "seller-a"
    )
    assert result.exit_code == 0, result.output
    assert summary(result.stdout) == {"created": 3, "updated": 0, "unchanged": 0, "invalid": 0}
    assert "organizations: 3 rows" in result.stdout
    grid = (await gateway.gql(GRID))["data"]["organizations"]
    assert grid["total"] == 3
    assert sorted((r["id"], r["name"], r["reference"], r["status"]) for r in grid["rows"]) == [
        ("org-1", "Acme Ltd", "R-1", "ACTIVE"),
        ("org-2", "Globex Inc", "R-2", "SUSPENDED"),
        ("org-3", "Initech, LLC", "R-3", "PENDING"),
    ]


async def test_importing_the_same_file_again_changes_nothing(migrated_db, tmp_path) -> None:
    path = write(tmp_path, "orgs.csv", ORGS_CSV)
    first = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")
    assert first.exit_code == 0, first.output
    stamps = await Organization.all().order_by("id").values_list("updated_at", flat=True)

    again = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")

    assert again.exit_code == 0, again.output
    assert summary(again.stdout) == {"created": 0, "updated": 0, "unchanged": 3, "invalid": 0}
    assert await Organization.all().order_by("id").values_list("updated_at", flat=True) == stamps
    renamed = write(tmp_path, "renamed.csv", ORGS_CSV.replace("Acme Ltd", "Acme Limited"))
    third = await run_cli(migrated_db, "import", str(renamed), "--seller", "seller-a")
    assert summary(third.stdout) == {"created": 0, "updated": 1, "unchanged": 2, "invalid": 0}


async def test_json_lines_of_subscriptions_round_trip_with_exact_prices(
    migrated_db, tmp_path
) -> None:
    org = await data.organization("seller-a", "org-1", "Acme Ltd")
    records = [
        sub(1),
        # JSON numbers keep their digits: 30.10 is stored as 30.10, not 30.0999999…
        {**sub(2), "cost_price": 30.10, "customer_price": 100, "currency": "eur"},
        {k: v for k, v in sub(3).items() if k not in ("start_date", "end_date")},
    ]
    path = jsonl(tmp_path, "subs.ndjson", records)

    result = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")

    assert result.exit_code == 0, result.output
    assert "subscriptions: 3 rows" in result.stdout
    assert summary(result.stdout) == {"created": 3, "updated": 0, "unchanged": 0, "invalid": 0}
    rows = {s.external_id: s for s in await Subscription.filter(organization_id=org.id)}
    assert (rows["sub-2"].cost_price, rows["sub-2"].customer_price, rows["sub-2"].currency) == (
        Decimal("30.10"),
        Decimal("100"),
        "EUR",
    )
    assert (rows["sub-1"].quantity, rows["sub-1"].billing_cycle, rows["sub-1"].currency) == (
        3,
        "Monthly",
        "USD",
    )
    assert rows["sub-3"].start_date is None and rows["sub-3"].end_date is None
    again = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")
    assert summary(again.stdout)["unchanged"] == 3


async def test_a_csv_of_subscriptions_is_stored_exactly_whatever_its_column_order(
    migrated_db, tmp_path
) -> None:
    # Given a spreadsheet's export: its own column order and spelling, no currency and no
    # start date column, names beyond ASCII, quantities written in several ways.
    org = await data.organization("seller-a", "org-1", "Acme Ltd")
    header = (
        "status,customer_price,Quantity,name,end_date,organisation_id,term_duration,id,"
        "billing_cycle,cost_price\n"
    )
    lines = [
        "ACTIVE,36.50,0007,Licence für Müller,2026-12-31,org-1,1 Year,sub-1,Monthly,30.10",
        'suspended,100," 8 ",Seats,,org-1,None,sub-2,annual,0.1235',
        "ACTIVE,1,1000000000,Max seats,,org-1,1 Month,sub-3,Monthly,1",
        "ACTIVE,1,2147483648,Too many,,org-1,1 Month,sub-4,Monthly,1",
        "ACTIVE,1,٣,Arabic-Indic three,,org-1,1 Month,sub-5,Monthly,1",
    ]
    path = write(tmp_path, "subs.csv", header + "\n".join(lines) + "\n")

    result = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")

    assert result.exit_code == 1
    assert problems(result.stdout) == ["line 5: Quantity: must be at most 2,147,483,647"]
    assert summary(result.stdout) == {"created": 4, "updated": 0, "unchanged": 0, "invalid": 1}
    stored = {s.external_id: s for s in await Subscription.filter(organization_id=org.id)}
    assert sorted(stored) == ["sub-1", "sub-2", "sub-3", "sub-5"]
    one, two = stored["sub-1"], stored["sub-2"]
    assert (one.name, one.quantity, one.status, one.billing_cycle, one.term_duration) == (
        "Licence für Müller",
        7,
        "ACTIVE",
        "Monthly",
        "1 Year",
    )
    assert (one.cost_price, one.customer_price, one.currency) == (
        Decimal("30.10"),
        Decimal("36.50"),
        "USD",
    )
    assert (one.start_date, str(one.end_date)) == (None, "2026-12-31")
    assert (two.quantity, two.status, two.billing_cycle, two.term_duration, two.end_date) == (
        8,
        "SUSPENDED",
        "Annual",
        "None",
        None,
    )
    assert (two.cost_price, two.customer_price) == (Decimal("0.1235"), Decimal("100"))
    assert stored["sub-3"].quantity == 1_000_000_000
    assert stored["sub-5"].quantity == 3
    again = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")
    assert summary(again.stdout) == {"created": 0, "updated": 0, "unchanged": 4, "invalid": 1}


async def test_bad_rows_are_reported_by_line_and_field_and_only_valid_rows_are_written(
    migrated_db, tmp_path
) -> None:
    text = (
        "id,name,reference,status\n"
        "org-1,Acme Ltd,R-1,ACTIVE\n"
        'org-2,"Globex\nInc",R-2,DONE\n'  # a quoted cell over two lines: lines 3-4
        "org-3,,R-3,ACTIVE\n"
        "org-4,Hooli,R-4,ACTIVE\n"
        "org-1,Acme again,R-1,ACTIVE\n"
        "org-5,Only three,values\n"
        ",,,\n"  # a spreadsheet's empty row: skipped
    )
    path = write(tmp_path, "orgs.csv", text)

    result = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")

    assert result.exit_code == 1
    assert problems(result.stdout) == [
        "line 3: status: must be one of ACTIVE, SUSPENDED, INACTIVE, PENDING",
        "line 5: name: is required",
        "line 7: id: repeats line 2",
        "line 8: line: has 3 values, the header 4 columns",
    ]
    assert summary(result.stdout) == {"created": 2, "updated": 0, "unchanged": 0, "invalid": 4}
    stored = await Organization.filter(seller_id="seller-a").order_by("external_id")
    assert [(o.external_id, o.name) for o in stored] == [("org-1", "Acme Ltd"), ("org-4", "Hooli")]


async def test_a_dry_run_counts_what_would_change_and_writes_nothing(migrated_db, tmp_path) -> None:
    await data.organization("seller-a", "org-1", "Acme Ltd", reference="R-1")
    path = write(tmp_path, "orgs.csv", ORGS_CSV + "org-4,Hooli,R-4,GONE\n")

    result = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a", "--dry-run")

    assert result.exit_code == 1  # one row is bad: a dry run says so as the import would
    assert problems(result.stdout) == [
        "line 5: status: must be one of ACTIVE, SUSPENDED, INACTIVE, PENDING"
    ]
    assert "dry run, nothing written" in result.stdout
    assert summary(result.stdout) == {"created": 2, "updated": 0, "unchanged": 1, "invalid": 1}
    assert await Organization.filter(seller_id="seller-a").count() == 1
    clean = write(tmp_path, "clean.csv", ORGS_CSV)
    fresh = await run_cli(migrated_db, "import", str(clean), "--seller", "seller-new", "--dry-run")
    assert fresh.exit_code == 0, fresh.output
    assert summary(fresh.stdout)["created"] == 3
    assert not await Seller.exists(id="seller-new")


async def test_all_or_nothing_writes_nothing_when_a_row_is_bad_and_everything_when_none_is(
    migrated_db, tmp_path
) -> None:
    bad = write(tmp_path, "bad.csv", ORGS_CSV + "org-4,Hooli,R-4,GONE\n")

    refused = await run_cli(
        migrated_db, "import", str(bad), "--seller", "seller-a", "--all-or-nothing"
    )

    assert refused.exit_code == 1
    assert problems(refused.stdout) == [
        "line 5: status: must be one of ACTIVE, SUSPENDED, INACTIVE, PENDING"
    ]
    assert "all or nothing: nothing written" in refused.stdout
    assert await Organization.all().count() == 0
    good = write(tmp_path, "good.csv", ORGS_CSV)
    accepted = await run_cli(
        migrated_db, "import", str(good), "--seller", "seller-a", "--all-or-nothing"
    )
    assert accepted.exit_code == 0, accepted.output
    assert summary(accepted.stdout)["created"] == 3
    assert await Organization.all().count() == 3


async def test_subscriptions_of_unknown_or_deleted_organisations_are_reported(
    migrated_db, tmp_path
) -> None:
    await data.organization("seller-a", "org-1", "Acme Ltd")
    gone = await data.organization("seller-a", "org-gone", "Gone Ltd")
    await Organization.filter(id=gone.id).update(deleted_at=gone.created_at)
    await data.organization("seller-b", "org-b", "Another seller's")
    path = jsonl(
        tmp_path,
        "subs.jsonl",
        [sub(1), sub(2, "org-unknown"), sub(3, "org-gone"), sub(4, "org-b")],
    )

    result = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")

    assert result.exit_code == 1
    assert problems(result.stdout) == [
        f"line {n}: organization_id: is not a known organization" for n in (2, 3, 4)
    ]
    assert await Subscription.all().values_list("external_id", flat=True) == ["sub-1"]


async def test_json_lines_that_are_not_records_are_reported_alone(migrated_db, tmp_path) -> None:
    await data.organization("seller-a", "org-1", "Acme Ltd")
    path = write(
        tmp_path,
        "subs.jsonl",
        json.dumps(sub(1))
        + "\n\n{not json\n[1, 2]\n"
        + json.dumps({**sub(2), "quantity": 2**31, "colour": "red"})
        + "\n"
        + json.dumps({**sub(3), "quantity": "2.5", "name": "nul\u0000byte"})
        + "\n",
    )

    result = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")

    assert result.exit_code == 1
    assert problems(result.stdout) == [
        "line 3: line: is not valid JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1))",
        "line 4: line: is not a JSON object",
        "line 5: colour: is not a field of this kind of record",
        "line 5: quantity: must be at most 2,147,483,647",
        "line 6: name: must not contain NUL characters",
        "line 6: quantity: must be a whole number",
    ]
    assert summary(result.stdout)["created"] == 1


async def test_bytes_that_are_not_utf8_are_a_bad_row_on_their_own_line(
    migrated_db, tmp_path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        b"id,name,reference,status\n"
        + b"".join(b"org-%d,Org %d,R-%d,ACTIVE\n" % (i, i, i) for i in range(1, 3000))
        + "org-x,Société Générale,R-x,ACTIVE\n".encode("latin-1")
        + "org-y,Société Générale,R-y,ACTIVE\n".encode()
    )

    result = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")

    assert result.exit_code == 1
    assert problems(result.stdout) == ["line 3001: name: is not valid UTF-8"]
    assert summary(result.stdout)["created"] == 3000
    assert (await Organization.get(external_id="org-y")).name == "Société Générale"


async def test_a_big_file_is_written_chunk_by_chunk_with_true_line_numbers(
    migrated_db, tmp_path
) -> None:
    # 2,500 rows: three chunks; line 1,502 (row 1,501) is bad, in the second chunk.
    lines = ["id,name,reference,status"] + [
        f"org-{i},Org {i},R-{i},{'NOPE' if i == 1501 else 'ACTIVE'}" for i in range(1, 2501)
    ]
    path = write(tmp_path, "orgs.csv", "\n".join(lines) + "\n")

    result = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")

    assert result.exit_code == 1
    assert problems(result.stdout) == [
        "line 1502: status: must be one of ACTIVE, SUSPENDED, INACTIVE, PENDING"
    ]
    assert summary(result.stdout) == {
        "created": 2499,
        "updated": 0,
        "unchanged": 0,
        "invalid": 1,
    }
    page = await list_organizations(
        "seller-a", Filters(search="Org 2500"), page_size=10, cooldown_minutes=60
    )
    assert page.total == 1
    assert await Organization.filter(seller_id="seller-a").count() == 2499


async def test_a_file_that_cannot_be_read_as_records_is_refused_whole(
    migrated_db, tmp_path
) -> None:
    cases = {
        "typo.csv": ("id,nam,reference,status\nx,y,z,ACTIVE\n", "Unknown column(s)"),
        "short.csv": ("id,name\nx,y\n", "Missing column(s) for organizations: reference"),
        "data.txt": ("id,name,reference,status\n", "Cannot tell the format of data.txt"),
        "empty.csv": ("", "empty.csv is empty"),
        "kind.jsonl": ("[1]\n", "pass --kind"),
    }
    for name, (text, message) in cases.items():
        result = await run_cli(
            migrated_db, "import", str(write(tmp_path, name, text)), "--seller", "seller-a"
        )
        assert result.exit_code == 2, (name, result.output)
        assert message in result.stderr, (name, result.stderr)
        assert result.stdout == ""
    assert await Organization.all().count() == 0


async def test_a_csv_the_parser_gives_up_on_mid_file_stops_at_that_line(
    migrated_db, tmp_path
) -> None:
    lines = [f"org-{i},Org {i},R-{i},ACTIVE" for i in range(1, 1501)]
    huge = 'org-huge,"' + "x" * 200_000 + '",R,ACTIVE'  # over the csv module's 128 KiB cell
    path = write(tmp_path, "orgs.csv", "id,name,reference,status\n" + "\n".join([*lines, huge]))

    careful = await run_cli(
        migrated_db, "import", str(path), "--seller", "seller-a", "--all-or-nothing"
    )
    assert careful.exit_code == 2
    assert "orgs.csv, line 1502: field larger than field limit" in careful.stderr
    assert await Organization.all().count() == 0

    result = await run_cli(migrated_db, "import", str(path), "--seller", "seller-a")
    assert result.exit_code == 2
    assert "orgs.csv, line 1502: field larger than field limit" in result.stderr
    assert "stopped there after handling 1,000 rows (1,000 created" in result.stderr
    assert await Organization.all().count() == 1000  # the first chunk's transaction


async def test_the_installed_command_keeps_piped_output_clean(migrated_db, tmp_path) -> None:
    path = write(tmp_path, "orgs.csv", ORGS_CSV + "org-4,Hooli,R-4,GONE\n")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update({k: v for k, v in cli_env(migrated_db).items() if v is not None})

    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "halo-gateway"),
        "import",
        str(path),
        "--seller",
        "seller-a",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)

    assert process.returncode == 1
    assert stderr.decode() == ""  # no progress bar when stderr is not a terminal
    assert problems(stdout.decode()) == [
        "line 5: status: must be one of ACTIVE, SUSPENDED, INACTIVE, PENDING"
    ]
    assert summary(stdout.decode())["created"] == 3
