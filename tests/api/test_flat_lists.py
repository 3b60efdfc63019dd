"""The one-loop path for lists of plain rows answers exactly what graphql-core's own does.

Each document runs on two schemas built from the same types: one with Strawberry's executor,
one with ``FlatListsExecutor``; data and errors (messages, paths) must be equal. The rows are
plain objects, as the services return them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache

from schema.flat_lists import FlatListsExecutor, served_as


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Inner:
    code: str
    size: int | None


@strawberry.type
class Row:
    id: strawberry.ID
    name: str
    colour: Colour
    maybe: int | None
    inner: Inner
    when: datetime

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


def _row(i: int, **overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "id": i,
        "name": f"row {i}",
        "colour": Colour.RED if i % 2 else Colour.BLUE,
        "maybe": None if i % 3 else i,
        "inner": SimpleNamespace(code=f"c{i}", size=None if i % 2 else i * 10),
        "when": datetime(2026, 11, 26, 12, i, tzinfo=UTC),
    }
    values.update(overrides)
    return SimpleNamespace(**values)


GOOD = [_row(i) for i in range(5)]
LISTS: dict[str, Any] = {
    "good": GOOD,
    "null_name": [*GOOD[:2], _row(7, name=None), *GOOD[2:]],
    "bad_enum": [*GOOD[:1], _row(8, colour="purple")],
    "missing_attribute": [*GOOD[:1], SimpleNamespace(id=9, name="no more")],
    "null_inner": [_row(10, inner=None)],
    "none_item": [GOOD[0], None],
    "tuple": tuple(GOOD),
    "int_out_of_range": [*GOOD[:1], _row(11, maybe=2**31)],
    "bool_as_int": [_row(12, maybe=True)],
}


@strawberry.type
class Query:
    @strawberry.field
    def rows(self, which: str = "good") -> list[Row]:
        return LISTS[which]

    @strawberry.field
    def maybe_rows(self, which: str = "good") -> list[Row | None] | None:
        return LISTS[which]

    @strawberry.field
    def generated(self) -> list[Row]:
        return (r for r in GOOD)  # type: ignore[return-value]


class Recording(FlatListsExecutor):
    """Notes which lists the one-loop path planned (True) or left to graphql-core."""

    planned: list[bool] = []

    def _list_plan(self, *args: Any) -> Any:
        plan = super()._list_plan(*args)
        Recording.planned.append(plan is not None)
        return plan


STOCK = strawberry.Schema(query=Query)
# With the parser's cache, as the gateway runs: a document text brings the same nodes again,
# and the loop's plan for them is kept.
FLAT = strawberry.Schema(query=Query, execution_context_class=Recording, extensions=[ParserCache])

FIELDS = "id name colour maybe when inner { code size }"
DOCUMENTS = {
    "leaves and nested": f"{{ rows {{ {FIELDS} }} }}",
    "aliases, typename": "{ rows { key: id __typename label: name inner { __typename c: code } } }",
    "fragments": """{ rows { ...F ... on Row { colour } } } fragment F on Row { id name }""",
    "skip and include": """query ($yes: Boolean!) { rows { id name @skip(if: $yes)
        maybe @include(if: $yes) } }""",
    "same field twice": "{ rows { id id name inner { code } inner { size } } }",
    "a resolver field": "{ rows { id shout } }",
    "null in a non-null field": f'{{ rows(which: "null_name") {{ {FIELDS} }} }}',
    "a value its enum refuses": '{ rows(which: "bad_enum") { id colour } }',
    "a missing attribute": '{ rows(which: "missing_attribute") { id name colour } }',
    "null non-null object": '{ rows(which: "null_inner") { id inner { code } } }',
    "null item, nullable": '{ maybeRows(which: "none_item") { id name } }',
    "null item, non-null": '{ rows(which: "none_item") { id name } }',
    "a tuple": '{ rows(which: "tuple") { id name } }',
    "a generator": "{ generated { id name } }",
    "an Int out of range": '{ rows(which: "int_out_of_range") { id maybe } }',
    "a bool as an Int": '{ rows(which: "bool_as_int") { id maybe } }',
}


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
async def test_the_loop_answers_as_graphql_core_does(document: str) -> None:
    variables = {"yes": True}
    stock = await STOCK.execute(document, variable_values=variables)
    flat = await FLAT.execute(document, variable_values=variables)
    assert flat.data == stock.data
    assert [e.formatted for e in flat.errors or []] == [e.formatted for e in stock.errors or []]


@pytest.mark.parametrize(
    ("document", "planned"),
    [
        (DOCUMENTS["leaves and nested"], True),
        (DOCUMENTS["aliases, typename"], True),
        (DOCUMENTS["fragments"], True),
        (DOCUMENTS["skip and include"], True),
        (DOCUMENTS["a resolver field"], False),
        (DOCUMENTS["a generator"], False),
    ],
    ids=["leaves", "typename", "fragments", "directives", "resolver", "generator"],
)
async def test_plain_rows_take_the_loop_and_others_do_not(document: str, planned: bool) -> None:
    Recording.planned.clear()
    result = await FLAT.execute(document, variable_values={"yes": False})
    assert result.errors is None
    assert Recording.planned == [planned]


def test_served_as_refuses_rows_that_lack_a_field() -> None:
    row = SimpleNamespace(code="c")  # no "size"
    with pytest.raises(TypeError, match="size"):
        served_as(Inner, [row])
    assert served_as(Inner, []) == []


@pytest.mark.parametrize("which", ["good", "null_name", "bad_enum", "missing_attribute", "good"])
async def test_one_document_answers_as_graphql_core_whatever_rows_it_meets(which: str) -> None:
    # Given one document text (planned once, then kept), run over rows of every kind
    document = f"query ($which: String!) {{ rows(which: $which) {{ {FIELDS} }} }}"
    variables = {"which": which}
    stock = await STOCK.execute(document, variable_values=variables)
    flat = await FLAT.execute(document, variable_values=variables)
    assert flat.data == stock.data
    assert [e.formatted for e in flat.errors or []] == [e.formatted for e in stock.errors or []]


async def test_directives_are_read_with_each_requests_variables() -> None:
    document = DOCUMENTS["skip and include"]
    for yes in (True, False, True):
        stock = await STOCK.execute(document, variable_values={"yes": yes})
        flat = await FLAT.execute(document, variable_values={"yes": yes})
        assert flat.data == stock.data
        assert set(flat.data["rows"][0]) == ({"id", "maybe"} if yes else {"id", "name"})
