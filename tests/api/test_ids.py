"""Numeric ids in GraphQL ``ID`` arguments: anything that cannot be a row is "not found",
before any query (an out-of-range number would be a database error on PostgreSQL)."""

from __future__ import annotations

import pytest

from gateway.errors import NotFound
from schema.ids import MAX_DB_INT, parse_int_id
from tests.conftest import assert_error_code

MISSING = NotFound("Sync run not found.", field="runId")


@pytest.mark.parametrize("value", ["1", " 42 ", 7, str(MAX_DB_INT)])
def test_an_id_that_can_be_a_row_is_its_number(value: object) -> None:
    assert parse_int_id(value, MISSING) == int(str(value))


@pytest.mark.parametrize("value", ["", "abc", "1.5", "0", "-3", str(MAX_DB_INT + 1), "9" * 40])
def test_an_id_that_cannot_be_a_row_is_the_callers_error(value: str) -> None:
    with pytest.raises(NotFound) as refused:
        parse_int_id(value, MISSING)
    assert refused.value is MISSING


@pytest.mark.parametrize("run_id", ["abc", str(2**31), "99999999999999999999"])
async def test_the_api_answers_not_found_for_ids_no_row_can_have(gateway, run_id: str) -> None:
    result = await gateway.gql(
        "mutation ($id: ID!) { cancelSync(runId: $id) { id } }", {"id": run_id}
    )
    error = assert_error_code(result, "NOT_FOUND")
    assert (error["message"], error["extensions"]["field"]) == ("Sync run not found.", "runId")
