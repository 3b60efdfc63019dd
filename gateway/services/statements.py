"""Hand-written SQL for the hot read paths, on SQLite or PostgreSQL alike.

The grid and the logs page are read far more than anything else and answer in one statement
each (rows, totals and flags as scalar subqueries). Building that statement through the ORM
costs more than running it, and the ORM cannot say "count as a subquery beside a LIMITed
page" anyway, so these few statements are written by hand. This module is what they share:
placeholders in the database's style, values as the database stores them (Tortoise keeps
datetimes as ``isoformat(" ")`` text on SQLite, booleans as 0/1), and the case-insensitive
"contains" that the search columns of migration 0010 make cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model


class Statement:
    """One statement's values, collected while its text is written: ``s.param(v)`` returns
    a numbered placeholder (``$n`` on PostgreSQL, ``?n`` on SQLite) and remembers ``v`` in
    the database's form. Numbered, so fragments may be written in any order."""

    def __init__(self, connection: BaseDBAsyncClient) -> None:
        self.connection = connection
        self.postgres = connection.capabilities.dialect == "postgres"
        self.values: list[Any] = []

    def param(self, value: Any) -> str:
        if isinstance(value, datetime) and not self.postgres:
            value = value.isoformat(" ")
        self.values.append(value)
        return f"${len(self.values)}" if self.postgres else f"?{len(self.values)}"

    def contains(self, column: str, term: str) -> str:
        """``column`` (a pre-lowered search column) contains ``term``, ignoring case.

        The term is lowered by the database's own ``lower()``, the function that filled the
        column, so both sides fold case alike (SQLite's folds ASCII only), and it is a bound
        value, never SQL. The test is the database's cheapest exact substring test per row
        (bench/bench_logs.py; a search reads the seller's index entries one by one):
        ``strpos`` on PostgreSQL (about half the time of ``LIKE '%…%'``), ``GLOB '*…*'``
        on SQLite (a third less than ``instr``), the term's GLOB characters escaped.
        """
        return self.contains_any((column,), term)

    def contains_any(self, columns: Sequence[str], term: str) -> str:
        """Any of ``columns`` contains ``term`` (see :meth:`contains`); the term is bound
        once, however many columns test it. A NULL column matches nothing."""
        if self.postgres:
            # A subquery, so it runs once: in a generic plan (a prepared statement after its
            # fifth run) lower($n) would be evaluated again for every entry tested.
            needle = f"(SELECT lower({self.param(term)}::text))"
            tests = [f"strpos({column}, {needle}) > 0" for column in columns]
        else:
            pattern = f"'*' || lower({self.param(_glob_escaped(term))}) || '*'"
            tests = [f"{column} GLOB {pattern}" for column in columns]
        return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"

    async def fetch(self, sql: str) -> Sequence[Any]:
        """The rows, each indexable by position (``sqlite3.Row`` / ``asyncpg.Record``).

        Outside a transaction, SQLite reads on its own read-only connection
        (``GatewaySqliteClient.read_rows``); a transaction reads its own writes."""
        read_rows = getattr(self.connection, "read_rows", None)
        if read_rows is not None:
            return cast(Sequence[Any], await read_rows(sql, self.values))
        _, rows = await self.connection.execute_query(sql, self.values)
        return rows


# --- a search's page and total -------------------------------------------------------------
#
# A search cannot know its total without testing every candidate entry, and that test per
# entry is what a search costs. The page walks the page's order (an index) and keeps the
# matches up to the end of the page: the "probe". If the walk ran out first, the probe holds
# every match and is the total; only a probe that filled needs the count. So a term with
# fewer matches than the page (one subscription's id) tests each entry once, where the
# count and the page each walked all of them before; a broad term stops its walk at the
# page and counts, as before. (Counting only past the probe's last row would make every
# search one pass, but PostgreSQL then estimated the log's remainder small and read it from
# the heap through the narrower index: 15–30 ms instead of 3.)


def probed_total(probe: str, size: str, full_count: str) -> str:
    """A search's total: the probe's rows when it holds fewer than ``size`` (its LIMIT),
    else ``full_count`` (the ``SELECT COUNT(*)`` of every match). Both databases evaluate
    only the branch the CASE takes (a PostgreSQL InitPlan runs when first needed; SQLite
    codes each subquery inside its branch)."""
    return (
        f"CASE WHEN (SELECT COUNT(*) FROM {probe}) < {size}"
        f" THEN (SELECT COUNT(*) FROM {probe}) ELSE ({full_count}) END"
    )


def _glob_escaped(term: str) -> str:
    """``term`` as a GLOB pattern that matches only itself: ``*``, ``?`` and ``[`` each in
    a bracket of its own (``]`` outside a bracket is already literal)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in term)


def statement_for(model: type[Model]) -> Statement:
    """A statement on the connection ``model`` reads from (the current transaction's, if any)."""
    return Statement(model._meta.db)


def to_datetime(value: Any) -> datetime:
    """A datetime read by hand-written SQL: text on SQLite, a datetime on PostgreSQL."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def as_datetime(value: Any) -> datetime | None:
    """:func:`to_datetime` for a column that may be NULL."""
    return None if value is None else to_datetime(value)
