"""What a HaloPSA error says: the message found in whatever body HaloPSA answered with."""

from __future__ import annotations

import pytest

from gateway.halopsa import error_message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"[0].name": ["The name field is required."]}', "[0].name: The name field is required."),
        ('{"ClassName": "System.Exception", "Message": "Boom"}', "Boom"),
        ('{"error": "invalid_client", "error_description": "Bad"}', "Bad"),
        ('"plain json string"', "plain json string"),
        ("Service Unavailable", "Service Unavailable"),
    ],
)
def test_error_messages_are_parsed_from_every_body_shape(body, message) -> None:
    assert error_message(body) == message
