"""The codes of what sellers read: stored codes read back, parameters keep their order."""

from __future__ import annotations

import pytest

from gateway.messages import MessageCode, merge_params, read_params, stored_params


@pytest.mark.parametrize(
    ("stored", "code"),
    [
        ("SUBSCRIPTION_SKIPPED", MessageCode.SUBSCRIPTION_SKIPPED),
        (None, MessageCode.LEGACY),  # written before codes existed
        ("", MessageCode.LEGACY),
        ("A_CODE_OF_A_NEWER_VERSION", MessageCode.LEGACY),
    ],
)
def test_a_stored_code_reads_back_and_anything_else_reads_legacy(
    stored: str | None, code: MessageCode
) -> None:
    assert MessageCode.of_stored(stored) is code


def test_parameters_are_stored_as_pairs_in_their_order() -> None:
    params = {"resellerId": "s-1", "created": 3, "backoffSeconds": 1.5, "licenceId": None}
    stored = stored_params(params)
    assert stored == [
        ["resellerId", "s-1"],
        ["created", 3],
        ["backoffSeconds", 1.5],
        ["licenceId", None],
    ]
    assert list(read_params(stored).items()) == list(params.items())
    assert read_params(None) == {}


def test_parts_of_one_text_may_name_a_parameter_twice_only_alike() -> None:
    assert merge_params({"a": 1, "b": 2}, {"b": 2, "c": 3}) == {"a": 1, "b": 2, "c": 3}
    with pytest.raises(ValueError, match="'b' given twice"):
        merge_params({"b": 2}, {"b": 3})
