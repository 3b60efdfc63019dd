"""The core's enums in the schema with a description per value: what GraphiQL and codegen
read, and a value the enum does not have refused before any schema is built."""

from __future__ import annotations

from enum import Enum

import pytest

from gateway.services.sync import Action, LicenceDecision, Reason
from schema import build_schema
from schema.enums import described

VALUES = "query ($name: String!) { __type(name: $name) { enumValues { name description } } }"


async def _values(name: str) -> dict[str, str | None]:
    result = await build_schema().execute(VALUES, variable_values={"name": name})
    assert result.errors is None, result.errors
    assert result.data is not None
    return {v["name"]: v["description"] for v in result.data["__type"]["enumValues"]}


async def test_the_previews_enums_are_the_pushs_own_with_a_word_on_each_value() -> None:
    reasons = await _values("PreviewReason")
    assert list(reasons) == [member.name for member in Reason]
    assert all(reasons.values()), reasons
    assert reasons["QUANTITY_ZERO"] == "Skipped: never sent to HaloPSA while its quantity is zero."
    actions = await _values("PreviewAction")
    assert list(actions) == [member.name for member in Action]
    assert actions["MARK_DELETED"] == "Sent once more with status DELETED, deactivated."
    assert actions["CREATE"] is None  # the name says it


async def test_a_licence_decision_is_the_ledgers_enum_with_its_decided_values_explained() -> None:
    decisions = await _values("ExistingLicenceDecision")
    assert list(decisions) == [member.name for member in LicenceDecision]
    assert decisions["UNDECIDED"] is None
    assert decisions["NOT_OURS"] == "It stays yours; the sync never touches it."


def test_a_description_for_a_value_the_enum_does_not_have_is_refused() -> None:
    class Colour(Enum):
        RED = "RED"

    with pytest.raises(ValueError, match="Colour has no member BLUE"):
        described(Colour, values={"RED": "Warm.", "BLUE": "Cold."})
