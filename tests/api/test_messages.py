"""Parameters as GraphQL answers them: strings, numbers as plain decimals, null when unknown."""

from __future__ import annotations

from schema.messages import MessageParam, message_params


def test_parameters_become_name_value_strings_in_their_order() -> None:
    params = {"created": 1234, "backoffSeconds": 1.5, "syncUnitPrices": True, "licenceId": None}
    assert message_params(params) == [
        MessageParam(name="created", value="1234"),
        MessageParam(name="backoffSeconds", value="1.5"),
        MessageParam(name="syncUnitPrices", value="true"),
        MessageParam(name="licenceId", value=None),
    ]
