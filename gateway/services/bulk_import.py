"""Platform data in from a file: ``halo-gateway import`` streams CSV or JSON lines into the DB.

The file is read row by row and handled in chunks of ``MAX_ITEMS_PER_CALL`` rows, so memory
stays flat whatever the file's size. Each chunk goes through the *same* validators and the
*same* one-transaction write path as the ``upsertOrganizations`` / ``upsertSubscriptions``
mutations (:mod:`gateway.services.upserts`); this module only turns text into the mutation's
items (the job GraphQL's type system does for the API) and decides what to do with bad rows:

* ``VALID_ROWS`` (default): a chunk's valid rows are written in one transaction, its invalid
  rows are reported (line, field, message) and not written; the caller exits non-zero.
* ``ALL_OR_NOTHING``: a first pass validates the whole file (streaming, nothing written); only
  if every row is valid does a second pass write it, chunk by chunk.
* ``DRY_RUN``: validates and counts what would be created / updated / unchanged; writes nothing.

Ids repeated inside one chunk are reported like the mutations do; across chunks the later
row simply wins (remembering every id would make memory grow with the file).

    file ──▶ ImportFile (format, kind, columns; rows with edge problems)
                 │ chunks of 1,000
                 ▼
             upserts.validate_*  ──▶ problems (line, field, message) ──▶ caller
                 │ valid rows
                 ▼
             upserts.write_*  (one transaction per chunk; on PostgreSQL one statement,
                               while the next chunk is read and checked)
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import json
import re
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from operator import itemgetter
from pathlib import Path
from typing import Any

from gateway.errors import BadUserInput
from gateway.services import upserts
from gateway.services.upserts import MAX_ITEMS_PER_CALL, UpsertResult

# A seller id is the primary key of ``seller`` (64 characters).
MAX_SELLER_ID_LENGTH = 64
# ``quantity`` is a 32-bit column, like GraphQL's Int that guards it in the API.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# One JSON line is one record of a dozen short fields; a longer line is not a record and must
# not be read into memory whole (the CSV reader has the same kind of cap per field).
MAX_JSON_LINE_CHARS = 1024 * 1024
# What the surrogateescape decoder makes of bytes that are not UTF-8.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_WHOLE_NUMBER = re.compile(r"\s*[+-]?\d+\s*")
# Rows read between two turns of the event loop: the previous chunk's write (COPY, the
# statement, the commit: a few round trips) moves on while this chunk is read and checked,
# instead of waiting for the next chunk's first query. ~10 turns per chunk cost nothing.
ROWS_PER_TURN = 100
# The cyclic garbage collector's youngest generation, while importing (see
# ``fewer_collections``): the default 700 new objects means a collection every ~100 rows.
GC_YOUNG_THRESHOLD = 10_000


class Kind(StrEnum):
    ORGANIZATIONS = "organizations"
    SUBSCRIPTIONS = "subscriptions"


class FileFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class ImportMode(StrEnum):
    VALID_ROWS = "valid-rows"
    ALL_OR_NOTHING = "all-or-nothing"
    DRY_RUN = "dry-run"


class Phase(StrEnum):
    CHECKING = "checking"  # dry run
    VALIDATING = "validating"  # first pass of all-or-nothing
    IMPORTING = "importing"


EXTENSIONS = {".csv": FileFormat.CSV, ".jsonl": FileFormat.JSONL, ".ndjson": FileFormat.JSONL}

# Column names are the GraphQL input fields; files may also spell them snake_case.
FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.ORGANIZATIONS: ("id", "name", "reference", "status"),
    Kind.SUBSCRIPTIONS: (
        "id",
        "organizationId",
        "name",
        "quantity",
        "billingCycle",
        "termDuration",
        "status",
        "costPrice",
        "customerPrice",
        "currency",
        "startDate",
        "endDate",
    ),
}
# Optional in the mutation too (currency defaults to USD, dates may be unknown).
OPTIONAL_FIELDS = frozenset({"currency", "startDate", "endDate"})
DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    message: str


@dataclass
class ImportReport:
    kind: Kind
    mode: ImportMode
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0  # rows with at least one problem
    # False when nothing was (or would be) written: a dry run, or all-or-nothing refused.
    written: bool = False
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Progress:
    phase: Phase
    rows: int
    bytes_read: int
    total_bytes: int


@dataclass(slots=True)
class _Row:
    line: int
    values: dict[str, Any]  # canonical field name -> raw value (str, or JSON scalars)
    columns: dict[str, str]  # canonical field name -> the name the file uses
    problems: list[tuple[str, str]] = field(default_factory=list)  # (canonical field, message)
    # Not a record at all (bad JSON, misaligned CSV): its own problem says it all, the
    # field checks would only add noise.
    broken: bool = False
    # A CSV row of plain text (no NUL character, no undecodable byte: checked once for the
    # whole line): its cells in the order of FIELDS[kind], "" for a column the file does
    # not have (the optional ones: the same as an empty cell), and ``values`` left empty.
    # Its item is built from them without checking each cell again, and without the dict.
    plain: tuple[str, ...] | None = None


def normalise_column(name: str) -> str:
    """``organization_id``, ``organizationId`` and ``Organisation ID`` are one column."""
    key = re.sub(r"[\s_\-]+", "", name.strip().lower())
    return key.replace("organisation", "organization")


_CANONICAL = {normalise_column(f): f for fields in FIELDS.values() for f in fields}


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from the file: the progress bar's position without a pre-scan."""

    def __init__(self, raw: io.FileIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer) or 0
        self.count += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class ImportFile:
    """One import file, open: its format, its kind and its rows, read lazily.

    Refuses the file as a whole (``BadUserInput``) when it cannot be read as the kind it
    claims: unknown format, unknown or missing columns, or a kind that cannot be told.
    """

    def __init__(self, path: Path, *, fmt: FileFormat | None = None, kind: Kind | None = None):
        self.path = path
        self.format = fmt or _format_of(path)
        self.total_bytes = path.stat().st_size
        self._counter = _CountingReader(io.FileIO(path, "rb"))
        # utf-8-sig: spreadsheets write a byte-order mark; newline="" as the csv module asks.
        # Bytes that are not UTF-8 become lone surrogates, reported on their own row and field
        # (a strict decoder fails a whole read-ahead block, far from the line at fault).
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._counter),
            encoding="utf-8-sig",
            errors="surrogateescape",
            newline="",
        )
        try:
            if self.format is FileFormat.CSV:
                self.kind, self._rows = self._open_csv(kind)
            else:
                self.kind, self._rows = self._open_jsonl(kind)
        except BaseException:
            self.close()
            raise

    @property
    def bytes_read(self) -> int:
        return self._counter.count

    def rows(self) -> Iterator[_Row]:
        return self._rows

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> ImportFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- CSV -------------------------------------------------------------------------------

    def _open_csv(self, kind: Kind | None) -> tuple[Kind, Iterator[_Row]]:
        reader = csv.reader(self._text)
        try:
            header = next(reader)
        except StopIteration:
            raise BadUserInput(f"{self.path.name} is empty.", field="file") from None
        except csv.Error as exc:
            raise BadUserInput(f"{self.path.name}, line 1: {exc}", field="file") from exc
        columns: dict[str, str] = {}
        unknown = []
        for name in header:
            canonical = _CANONICAL.get(normalise_column(name))
            if canonical is None:
                unknown.append(name)
            elif canonical in columns:
                raise BadUserInput(
                    f"Columns {columns[canonical]!r} and {name!r} are the same field.",
                    field=name,
                )
            else:
                columns[canonical] = name
        kind = kind or _kind_of(columns)
        allowed = FIELDS[kind]
        unknown += [name for canonical, name in columns.items() if canonical not in allowed]
        if unknown:
            raise BadUserInput(
                f"Unknown column(s) for {kind}: {', '.join(map(repr, unknown))}. "
                f"Columns: {', '.join(allowed)}.",
                field=unknown[0],
            )
        missing = [f for f in allowed if f not in columns and f not in OPTIONAL_FIELDS]
        if missing:
            raise BadUserInput(
                f"Missing column(s) for {kind}: {', '.join(missing)}.", field=missing[0]
            )
        order = [_CANONICAL[normalise_column(name)] for name in header]
        return kind, self._csv_rows(reader, order, columns, FIELDS[kind])

    def _csv_rows(
        self, reader: Any, order: list[str], columns: dict[str, str], fields: tuple[str, ...]
    ) -> Iterator[_Row]:
        width = len(order)
        # A plain row's cells in FIELDS order; a missing column reads the "" appended at
        # index ``width``.
        in_field_order = itemgetter(*(order.index(f) if f in order else width for f in fields))
        last_line = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise BadUserInput(
                    f"{self.path.name}, line {last_line + 1}: {exc}", field="file"
                ) from exc
            line, last_line = last_line + 1, reader.line_num  # a quoted cell may span lines
            text = "".join(cells)
            if not text.strip():
                continue  # a blank line, or a spreadsheet's empty row (",,,")
            if len(cells) != width:
                row = _Row(line, dict(zip(order, cells, strict=False)), columns)
                row.problems.append(
                    ("line", f"has {len(cells)} values, the header {width} columns")
                )
                row.broken = True
            elif "\x00" not in text and (text.isascii() or not _UNDECODABLE.search(text)):
                cells.append("")
                row = _Row(line, {}, columns, plain=in_field_order(cells))
            else:
                row = _Row(line, dict(zip(order, cells, strict=True)), columns)
            yield row

    # --- JSON lines ---------------------------------------------------------------------------

    def _open_jsonl(self, kind: Kind | None) -> tuple[Kind, Iterator[_Row]]:
        lines = self._jsonl_lines()
        peeked: list[tuple[int, str | None]] = []
        if kind is None:
            for number, text in lines:
                peeked.append((number, text))
                if text is None or text.strip():
                    kind = _kind_of_record(self.path, number, text)
                    break
            else:
                raise BadUserInput(f"{self.path.name} is empty.", field="file")

        def replay() -> Iterator[tuple[int, str | None]]:
            yield from peeked
            yield from lines

        return kind, self._jsonl_rows(replay(), FIELDS[kind])

    def _jsonl_lines(self) -> Iterator[tuple[int, str | None]]:
        """(line number, text), text None for a line too long to be a record."""
        number = 0
        while True:
            text = self._text.readline(MAX_JSON_LINE_CHARS + 1)
            if not text:
                return
            number += 1
            if len(text) > MAX_JSON_LINE_CHARS and not text.endswith("\n"):
                while text and not text.endswith("\n"):  # skip the rest, keeping nothing
                    text = self._text.readline(MAX_JSON_LINE_CHARS)
                yield number, None
                continue
            yield number, text

    def _jsonl_rows(
        self, lines: Iterator[tuple[int, str | None]], allowed: tuple[str, ...]
    ) -> Iterator[_Row]:
        for number, text in lines:
            if text is None:
                yield _broken(number, f"is longer than {MAX_JSON_LINE_CHARS:,} characters")
                continue
            if not text.strip():
                continue
            try:
                # Numbers keep their literal text: 12.10 stays "12.10", not a float.
                record = json.loads(text, parse_float=str, parse_constant=str)
            except ValueError as exc:
                yield _broken(number, f"is not valid JSON ({exc})")
                continue
            if not isinstance(record, dict):
                yield _broken(number, "is not a JSON object")
                continue
            row = _Row(number, {}, {})
            for key, value in record.items():
                canonical = _CANONICAL.get(normalise_column(key))
                if canonical not in allowed:
                    row.problems.append((key, "is not a field of this kind of record"))
                elif canonical in row.values:
                    row.problems.append((key, f"repeats {row.columns[canonical]!r}"))
                else:
                    row.values[canonical] = value
                    row.columns[canonical] = key
            yield row


def _broken(line: int, message: str) -> _Row:
    return _Row(line, {}, {}, [("line", message)], broken=True)


def _format_of(path: Path) -> FileFormat:
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise BadUserInput(
            f"Cannot tell the format of {path.name}: name it .csv, .jsonl or .ndjson, "
            "or pass --format.",
            field="format",
        )
    return fmt


def _kind_of(columns: dict[str, Any]) -> Kind:
    """Only subscriptions name an organisation."""
    return Kind.SUBSCRIPTIONS if "organizationId" in columns else Kind.ORGANIZATIONS


def _kind_of_record(path: Path, number: int, text: str | None) -> Kind:
    try:
        first = json.loads(text) if text is not None else None
    except ValueError:
        first = None
    if not isinstance(first, dict):
        raise BadUserInput(
            f"{path.name}, line {number}: not a JSON object, so the kind of records cannot "
            "be told; pass --kind.",
            field="kind",
        )
    keys: list[str] = list(first)  # a JSON object's keys are strings
    return _kind_of({_CANONICAL.get(normalise_column(k), k): k for k in keys})


# --- text to the mutation's items (what GraphQL's types do for the API) -------------------


def _complain(row: _Row, name: str, message: str) -> None:
    if not row.broken:
        row.problems.append((name, message))


def _string(row: _Row, name: str, *, default: str | None = "") -> str | None:
    value = row.values.get(name)
    if value is None or value == "":
        return default
    if type(value) is not str:  # JSON: an integer id is fine (as GraphQL's ID), else not
        if isinstance(value, bool) or not isinstance(value, int):
            _complain(row, name, "must be a string")
            return default
        value = str(value)
    if "\x00" in value:  # valid JSON/CSV, but PostgreSQL cannot store it
        _complain(row, name, "must not contain NUL characters")
    if not value.isascii() and _UNDECODABLE.search(value):
        _complain(row, name, "is not valid UTF-8")
    return value


def _quantity(row: _Row, value: Any) -> int:
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        value = int(value)
    if value is None or value == "":
        _complain(row, "quantity", "is required")
    elif isinstance(value, bool) or not isinstance(value, int):
        _complain(row, "quantity", "must be a whole number")
    elif not INT32_MIN <= value <= INT32_MAX:
        _complain(row, "quantity", f"must be at most {INT32_MAX:,}")
    else:
        return value
    return 0  # a placeholder the validators accept; the row is already bad


def _organization_item(row: _Row) -> upserts.OrganizationItem:
    if row.plain is not None:  # what _string() returns for text that needs no check
        id_, name, reference, status = row.plain  # FIELDS order
        return upserts.OrganizationItem(id=id_, name=name, reference=reference, status=status)
    return upserts.OrganizationItem(
        id=_string(row, "id") or "",
        name=_string(row, "name") or "",
        reference=_string(row, "reference") or "",
        status=_string(row, "status") or "",
    )


def _subscription_item(row: _Row) -> upserts.SubscriptionItem:
    if row.plain is not None:  # what _string() returns for text that needs no check
        (
            id_,
            organization_id,
            name,
            quantity,
            billing_cycle,
            term_duration,
            status,
            cost_price,
            customer_price,
            currency,
            start_date,
            end_date,
        ) = row.plain  # FIELDS order
        return upserts.SubscriptionItem(
            id=id_,
            organization_id=organization_id,
            name=name,
            start_date=start_date or None,
            end_date=end_date or None,
            # Up to 9 decimal digits (what _quantity's \d matches) is a whole number within
            # 32 bits; anything else goes through its checks.
            quantity=int(quantity)
            if quantity.isdecimal() and len(quantity) < 10
            else _quantity(row, quantity),
            billing_cycle=billing_cycle,
            term_duration=term_duration,
            status=status,
            cost_price=cost_price,
            customer_price=customer_price,
            currency=currency or DEFAULT_CURRENCY,
        )
    return upserts.SubscriptionItem(
        id=_string(row, "id") or "",
        organization_id=_string(row, "organizationId") or "",
        name=_string(row, "name") or "",
        start_date=_string(row, "startDate", default=None),
        end_date=_string(row, "endDate", default=None),
        quantity=_quantity(row, row.values.get("quantity")),
        billing_cycle=_string(row, "billingCycle") or "",
        term_duration=_string(row, "termDuration") or "",
        status=_string(row, "status") or "",
        cost_price=_string(row, "costPrice") or "",
        customer_price=_string(row, "customerPrice") or "",
        currency=_string(row, "currency", default=DEFAULT_CURRENCY) or DEFAULT_CURRENCY,
    )


# --- the import ----------------------------------------------------------------------------


async def import_file(
    seller_id: str,
    path: Path,
    *,
    kind: Kind | None = None,
    fmt: FileFormat | None = None,
    mode: ImportMode = ImportMode.VALID_ROWS,
    chunk_size: int = MAX_ITEMS_PER_CALL,
    on_problem: Callable[[RowProblem], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> ImportReport:
    """Import one file for one seller (see the module docstring for the modes).

    Raises ``BadUserInput`` when the file is refused as a whole; row problems go to
    ``on_problem`` as they are found and are counted in the report's ``invalid``.
    """
    seller_id = seller_id.strip()
    if not seller_id or len(seller_id) > MAX_SELLER_ID_LENGTH:
        raise BadUserInput(
            f"The seller id must be 1 to {MAX_SELLER_ID_LENGTH} characters.", field="seller"
        )
    if not 1 <= chunk_size <= MAX_ITEMS_PER_CALL:
        raise BadUserInput(f"Chunks hold 1 to {MAX_ITEMS_PER_CALL} rows.", field="chunkSize")
    started = time.monotonic()
    if mode is ImportMode.ALL_OR_NOTHING:
        check = await _pass(
            seller_id, path, kind, fmt, Phase.VALIDATING, chunk_size, on_problem, on_progress
        )
        if check.invalid:
            check.mode, check.seconds = mode, time.monotonic() - started
            return check
        kind = check.kind
        # Rows were checked against this very file a moment ago; the write pass validates
        # again anyway (the same code), so a concurrent change is reported, not stored.
    phase = Phase.CHECKING if mode is ImportMode.DRY_RUN else Phase.IMPORTING
    report = await _pass(seller_id, path, kind, fmt, phase, chunk_size, on_problem, on_progress)
    report.mode, report.seconds = mode, time.monotonic() - started
    return report


async def _pass(
    seller_id: str,
    path: Path,
    kind: Kind | None,
    fmt: FileFormat | None,
    phase: Phase,
    chunk_size: int,
    on_problem: Callable[[RowProblem], None] | None,
    on_progress: Callable[[Progress], None] | None,
) -> ImportReport:
    with ImportFile(path, fmt=fmt, kind=kind) as source:
        report = ImportReport(kind=source.kind, mode=ImportMode.VALID_ROWS)
        if source.kind is Kind.SUBSCRIPTIONS:
            await upserts.prepare_subscription_checks()
        chunk: list[_Row] = []
        writes = _Writes()

        async def flush() -> None:
            valid = await _check(seller_id, source.kind, chunk, phase, report, on_problem)
            chunk.clear()
            if valid is not None:
                await writes.start(_write(seller_id, source.kind, valid, phase, report))
            if on_progress is not None:
                on_progress(Progress(phase, report.rows, source.bytes_read, source.total_bytes))

        try:
            for row in source.rows():
                chunk.append(row)
                if len(chunk) >= chunk_size:
                    await flush()
                elif len(chunk) % ROWS_PER_TURN == 0:
                    await asyncio.sleep(0)
            if chunk:
                await flush()
            await writes.finish()
        except BadUserInput as exc:  # the file stopped being readable mid-way
            await writes.finish()
            if phase is Phase.IMPORTING and report.rows:
                exc.message += (
                    f" The import stopped there after handling {report.rows:,} rows "
                    f"({report.created:,} created, {report.updated:,} updated, "
                    f"{report.unchanged:,} unchanged, {report.invalid:,} invalid); "
                    "fix the file and run it again."
                )
            raise
        finally:
            writes.cancel()
        if on_progress is not None:  # the end of the file, even if it ended in blank lines
            on_progress(Progress(phase, report.rows, source.total_bytes, source.total_bytes))
    report.written = phase is Phase.IMPORTING
    return report


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Keep the garbage collector's work per row small while a big file streams through.

    For the import command to wrap itself in (an entry point's choice: it is process-wide,
    like logging). Each row makes a few container objects, and the rows of the chunks in
    flight live long enough to reach the oldest generation, so by default the collector
    traverses the whole heap (modules, models, the driver: ~110,000 objects) every few
    chunks and the young ones every ~100 rows: measured at 15-25 % of the import's Python
    time. Freezing what exists before the import takes the heap out of those traversals,
    and a larger young generation lets most rows die before they are ever traversed.
    Reference cycles are still collected, so memory stays flat. Both are undone on exit.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


class _Writes:
    """One chunk's write in flight while the next chunk is read and checked.

    Parsing and validating a chunk is Python's work, writing it mostly the database's: side
    by side, an import takes about the longer of the two instead of their sum. Writes still
    happen one at a time and in file order (a chunk's write starts once the previous one is
    done), so a later row wins as before; memory is two chunks instead of one.
    """

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def start(self, write: Coroutine[Any, Any, None]) -> None:
        await self.finish()
        self._task = asyncio.create_task(write)

    async def finish(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()


async def _check(
    seller_id: str,
    kind: Kind,
    rows: list[_Row],
    phase: Phase,
    report: ImportReport,
    on_problem: Callable[[RowProblem], None] | None,
) -> list[dict[str, Any]] | None:
    """Validate a chunk and report its problems; its valid rows, or None when only
    validating."""
    checked: upserts.Validated
    if kind is Kind.ORGANIZATIONS:
        checked = upserts.validate_organizations([_organization_item(r) for r in rows])
    else:
        checked = await upserts.validate_subscriptions(
            seller_id, [_subscription_item(r) for r in rows]
        )
    found: dict[int, list[RowProblem]] = {}
    for i, row in enumerate(rows):
        for name, message in row.problems:
            found.setdefault(i, []).append(
                RowProblem(row.line, row.columns.get(name, name), message)
            )
    for p in checked.problems:
        row = rows[p.index]
        if row.broken:
            continue
        message = p.message if p.repeats is None else f"repeats line {rows[p.repeats].line}"
        found.setdefault(p.index, []).append(
            RowProblem(row.line, row.columns.get(p.field, p.field), message)
        )
    report.rows += len(rows)
    report.invalid += len(found)
    if on_problem is not None:
        for i in sorted(found):
            for problem in found[i]:
                on_problem(problem)
    if phase is Phase.VALIDATING:
        return None
    return [values for i, values in enumerate(checked.rows) if i not in found]


async def _write(
    seller_id: str, kind: Kind, valid: list[dict[str, Any]], phase: Phase, report: ImportReport
) -> None:
    apply = phase is Phase.IMPORTING
    result: UpsertResult
    if kind is Kind.ORGANIZATIONS:
        result = await upserts.write_organizations(seller_id, valid, apply=apply)
    else:
        result = await upserts.write_subscriptions(seller_id, valid, apply=apply)
    report.created += result.created
    report.updated += result.updated
    report.unchanged += result.unchanged
